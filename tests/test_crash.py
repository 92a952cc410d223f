"""kill -9 at seeded points of real ``--sync-now`` processes, and two processes at once: each
task exists exactly once in HubSpot and the cache ends as a clean run leaves it."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlmodel import select

from integrations.hubspot.sandbox import Fault, PortalSpec, SandboxHubSpot, generate_portal
from integrations.hubspot.sandbox.server import ALL_SCOPES
from tests.clock import child_env, now
from tests.emission_helpers import assert_exactly_once, ledger_rows
from tests.test_cli import TOKEN, run_cli, sandbox_config
from tests.test_sync import snapshot
from worker.cache.db import Cache
from worker.cache.models import Run

# About 150 tasks: emission spans two create batches. A fixed "now": every test's portal is the
# same portal, timestamps included, so caches can be compared with the clean run's. Both kinds
# of renewal: the service contracts' stream is killed and resumed too.
SPEC = PortalSpec(companies=110, seed=21, now=now().replace(microsecond=0), service_contracts=True)
SEED = 20261125
KILL_POINTS = 20
PAGE_SIZE = 10


def _serve():
    return SandboxHubSpot(generate_portal(SPEC), tokens={TOKEN: ALL_SCOPES}, requests_per_10s=10_000, search_requests_per_s=1_000)


def _config(server, directory: Path, db_url: str | None = None) -> str:
    config = sandbox_config(server, directory, extra="[services]").replace("[database]", f"page_size = {PAGE_SIZE}\n[database]")
    if db_url:
        config = config.replace(f'url = "sqlite:///{directory / "cache.db"}"', f'url = "{db_url}"')
    return config.replace("[logging]", "[reminders]\nemission_lock_wait_s = 60\n[logging]")


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    """A run nobody interrupts: the reference cache and the number of API calls a run makes."""
    directory = tmp_path_factory.mktemp("clean")
    with _serve() as server:
        done = run_cli(directory, "--sync-now", config=_config(server, directory))
        assert done.returncode == 0, done.stderr
        calls = sum(server.stats.calls.values())
        tasks = len(server.portal.table("tasks"))
    reference = snapshot(Cache(f"sqlite:///{directory / 'cache.db'}"))
    assert reference["service_contracts"] and reference["subscriptions"]  # both kinds in every comparison
    return {"snapshot": reference, "calls": calls, "tasks": tasks}


def kill_points(calls_in_a_run: int) -> list[int]:
    """Where to kill: spread over a whole run (owners, sync pages, association and contact reads,
    the create batches at its end), drawn with a fixed seed so a failure can be replayed."""
    rng = random.Random(SEED)
    last = calls_in_a_run - 1
    tail = list(range(last - 3, last + 1))  # the last calls of a run are emission's
    return sorted(rng.sample(range(2, last - 3), KILL_POINTS - len(tail))) + tail


def _env() -> dict[str, str]:
    return child_env(HUBSPOT_ACCESS_TOKEN=TOKEN)


def _start(directory: Path, *, capture: bool = False) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "worker", "--config", str(directory / "config.toml"), "--sync-now"],
        cwd=directory, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE if capture else subprocess.DEVNULL, text=True,
    )


def _kill_when(process: subprocess.Popen, ready, what: str) -> None:
    deadline = time.monotonic() + 60
    while not ready() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.002)
    assert process.poll() is None, f"the run ended before it could be killed ({what})"
    process.send_signal(signal.SIGKILL)
    process.wait()


def _rerun_and_check(server, directory: Path, clean_run) -> None:
    server.faults.clear()
    rerun = run_cli(directory, "--sync-now", config=(directory / "config.toml").read_text())
    assert rerun.returncode == 0, rerun.stderr
    cache = Cache(f"sqlite:///{directory / 'cache.db'}")
    tasks = assert_exactly_once(server.portal, cache)
    assert len(tasks) == clean_run["tasks"]
    assert {r.state for r in ledger_rows(cache)} == {"open"}
    assert snapshot(cache) == clean_run["snapshot"]
    cache.close()


@pytest.mark.slow
@pytest.mark.parametrize("point", range(KILL_POINTS))
def test_kill_9_at_a_seeded_point_then_rerun(clean_run, tmp_path, point):
    kill_after_calls = kill_points(clean_run["calls"])[point]
    with _serve() as server:
        (tmp_path / "config.toml").write_text(_config(server, tmp_path))
        # Slow answers, so that the kill lands inside the run rather than after it.
        server.add_fault(Fault("slow", delay_s=0.03, times=100_000))
        process = _start(tmp_path)
        _kill_when(process, lambda: sum(server.stats.calls.values()) >= kill_after_calls, f"after {kill_after_calls} calls")
        killed = Cache(f"sqlite:///{tmp_path / 'cache.db'}")
        with killed.transaction() as session:
            assert [run.outcome for run in session.exec(select(Run)).all()] == ["running"]  # it died mid-run
        killed.close()
        _rerun_and_check(server, tmp_path, clean_run)


@pytest.mark.slow
def test_kill_9_after_hubspot_created_the_batch_but_before_the_answer(clean_run, tmp_path):
    """The hard case: HubSpot made the tasks, the worker died before recording their ids."""
    with _serve() as server:
        (tmp_path / "config.toml").write_text(_config(server, tmp_path))
        server.add_fault(Fault("slow", match="batch/create", delay_s=5, processed=True, times=10))
        process = _start(tmp_path)
        _kill_when(process, lambda: len(server.portal.table("tasks")) > 0, "once HubSpot holds tasks")
        cache = Cache(f"sqlite:///{tmp_path / 'cache.db'}")
        pending = [r for r in ledger_rows(cache) if r.state == "pending"]
        assert pending and all(r.attempts == 1 and r.task_id is None for r in pending)
        cache.close()
        _rerun_and_check(server, tmp_path, clean_run)


@pytest.mark.slow
def test_two_sync_now_processes_started_together_create_no_duplicate(tmp_path, db_url):
    with _serve() as server:
        config = _config(server, tmp_path, db_url)
        (tmp_path / "config.toml").write_text(config)
        first, second = _start(tmp_path, capture=True), _start(tmp_path, capture=True)
        outcomes = [(p.wait(timeout=120), p.stderr.read()) for p in (first, second)]
        assert [code for code, _ in outcomes] == [0, 0], [line for _, err in outcomes for line in err.splitlines() if "run failed" in line]
        cache = Cache(db_url)
        tasks = assert_exactly_once(server.portal, cache)
        assert len(tasks) > 50
        cache.close()
