"""Every command ends in one line, never a traceback: a database it cannot use, a reader that went
away, Ctrl-C during a run (exit 130, the run recorded as stopped with its reason)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from sqlmodel import select

from integrations.hubspot.sandbox import PortalSpec, SandboxHubSpot, generate_portal
from integrations.hubspot.sandbox.server import ALL_SCOPES
from tests.clock import child_env
from tests.conftest import free_port
from tests.test_cli import TOKEN, live_sandbox, run_cli, sandbox_config  # noqa: F401 - the fixture
from worker.cache.db import Cache
from worker.cache.models import Run


def _one_line(done, code: int) -> str:
    assert done.returncode == code, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("renewal-worker:")]
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.mark.parametrize("command", [["renewals"], ["status"], ["findings", "--json"], ["panel", "--bind", "127.0.0.1:0"]])
def test_a_file_that_is_not_a_database_is_one_line(tmp_path, command):
    (tmp_path / "cache.db").write_bytes(b"this is a spreadsheet, not a database\n" * 100)
    config = f'[database]\nurl = "sqlite:///{tmp_path / "cache.db"}"\n'
    line = _one_line(run_cli(tmp_path, *command, config=config, token=None), 1)
    assert "database" in line


@pytest.mark.parametrize("command", [["renewals"], ["panel", "--bind", "127.0.0.1:0"]])
def test_an_unreachable_postgresql_is_one_line(tmp_path, command):
    config = f'[database]\nurl = "postgresql+psycopg://rw:S3cret@127.0.0.1:{free_port()}/renewals"\n'
    line = _one_line(run_cli(tmp_path, *command, config=config, token=None), 1)
    assert "S3cret" not in line


def test_a_reader_that_goes_away_ends_quietly(live_sandbox, tmp_path):
    config = sandbox_config(live_sandbox, tmp_path)
    assert run_cli(tmp_path, "--sync-now", config=config).returncode == 0
    process = subprocess.Popen(
        [sys.executable, "-m", "worker", "--config", str(tmp_path / "config.toml"), "renewals"],
        cwd=tmp_path, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    process.stdout.close()  # `renewals | head -0`: nobody reads
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0 and "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr


def test_ctrl_c_during_a_run_is_exit_130_and_the_run_is_recorded_as_stopped(tmp_path):
    portal = generate_portal(PortalSpec(companies=200, seed=3))
    with SandboxHubSpot(portal, tokens={TOKEN: ALL_SCOPES}, requests_per_10s=10_000, search_requests_per_s=1_000, latency_s=0.25) as server:
        (tmp_path / "config.toml").write_text(sandbox_config(server, tmp_path).replace("[database]", "page_size = 10\n[database]"), encoding="utf-8")
        process = subprocess.Popen(
            [sys.executable, "-m", "worker", "--config", str(tmp_path / "config.toml"), "--sync-now"],
            cwd=tmp_path, env=child_env(HUBSPOT_ACCESS_TOKEN=TOKEN), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        deadline = time.monotonic() + 60
        while sum(server.stats.calls.values()) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert "interrupted (Ctrl-C)" in stderr
    cache = Cache(f"sqlite:///{tmp_path / 'cache.db'}")
    try:
        with cache.transaction() as session:
            run = session.exec(select(Run).order_by(Run.id.desc())).first()
        assert run.outcome == "stopped" and run.error.startswith("interrupted (Ctrl-C)")
    finally:
        cache.close()
