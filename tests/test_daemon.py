"""``renewal-worker run`` as ops run it: real processes, real signals, two copies on one database."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlmodel import select

from integrations.hubspot.sandbox import Fault, PortalSpec, SandboxHubSpot, generate_portal
from integrations.hubspot.sandbox.server import ALL_SCOPES
from tests.clock import child_env
from tests.conftest import free_port
from tests.emission_helpers import assert_exactly_once
from tests.test_cli import TOKEN, run_cli, sandbox_config
from worker.cache.db import Cache
from worker.cache.models import DaemonHeartbeat, Run


def daemon_config(server, directory: Path, db_url: str | None = None, **schedule) -> str:
    values = {"sync_interval_s": 1, "rules_cron": '"*/2 * * * * *"', "full_sync_cron": '"0 3 * * sun"', "lease_check_s": 0.5, "shutdown_grace_s": 10, **schedule}
    config = sandbox_config(server, directory).replace("[logging]", "[schedule]\n" + "\n".join(f"{k} = {v}" for k, v in values.items()) + "\n[logging]")
    if db_url:
        config = config.replace(f'url = "sqlite:///{directory / "cache.db"}"', f'url = "{db_url}"')
    return config.replace('level = "debug"', 'level = "info"')


@pytest.fixture
def server():
    with SandboxHubSpot(generate_portal(PortalSpec(companies=40, seed=9)), tokens={TOKEN: ALL_SCOPES}, requests_per_10s=10_000, search_requests_per_s=1_000) as s:
        yield s


def start_daemon(directory: Path, config: str, *, name: str = "config.toml") -> subprocess.Popen:
    (directory / name).write_text(config)
    env = child_env(HUBSPOT_ACCESS_TOKEN=TOKEN)
    log = open(directory / f"{name}.log", "w")
    return subprocess.Popen([sys.executable, "-m", "worker", "--config", str(directory / name), "run"], cwd=directory, env=env, stdout=log, stderr=subprocess.STDOUT)


def events(directory: Path, name: str = "config.toml") -> list[dict]:
    lines = (directory / f"{name}.log").read_text().splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def wait_for(condition, timeout_s: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def heartbeats(db_url: str) -> list[DaemonHeartbeat]:
    cache = Cache(db_url)
    try:
        with cache.transaction() as session:
            return list(session.exec(select(DaemonHeartbeat)).all())
    finally:
        cache.close()


def runs(db_url: str) -> list[Run]:
    cache = Cache(db_url)
    try:
        with cache.transaction() as session:
            return list(session.exec(select(Run).order_by(Run.id)).all())
    finally:
        cache.close()


def test_sigterm_lets_the_job_in_hand_stop_at_a_safe_point_and_exits_0(server, tmp_path):
    db_url = f"sqlite:///{tmp_path / 'cache.db'}"
    server.add_fault(Fault("slow", delay_s=0.15, times=100_000))  # a sync long enough to interrupt
    process = start_daemon(tmp_path, daemon_config(server, tmp_path).replace("page_size = 100", "").replace("[database]", "page_size = 5\n[database]"))
    wait_for(lambda: sum(server.stats.calls.values()) >= 6, what="the first sync to be under way")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0
    names = [e["event"] for e in events(tmp_path)]
    assert "daemon.stopping" in names and names[-1] == "daemon.stopped"
    assert events(tmp_path)[-1]["clean"] is True
    (run,) = runs(db_url)
    assert run.outcome == "stopped" and "stopped for shutdown" in run.error  # recorded, not left "running"
    assert [(h.role, h.stopped_at is not None) for h in heartbeats(db_url)] == [("stopped", True)]
    # The interrupted pass resumes where it stopped on the next run.
    server.faults.clear()
    done = run_cli(tmp_path, "--sync-now", config=(tmp_path / "config.toml").read_text())
    assert done.returncode == 0, done.stderr


def test_a_second_signal_exits_at_once(server, tmp_path):
    server.add_fault(Fault("slow", delay_s=2.0, times=100_000))
    process = start_daemon(tmp_path, daemon_config(server, tmp_path, shutdown_grace_s=60))
    wait_for(lambda: sum(server.stats.calls.values()) >= 1, what="a job in hand")
    process.send_signal(signal.SIGTERM)
    # The first signal has been handled once the main loop says it is stopping.
    wait_for(lambda: any(e["event"] == "daemon.stopping" for e in events(tmp_path)), what="the graceful stop to begin")
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=5) == 130
    assert time.monotonic() - started < 2


def test_sigint_is_handled_like_sigterm(server, tmp_path):
    process = start_daemon(tmp_path, daemon_config(server, tmp_path))
    wait_for(lambda: any(e["event"] == "daemon.leading" for e in events(tmp_path)), what="the daemon to lead")
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=15) == 0


def test_health_endpoints_and_check(server, tmp_path):
    db_url = f"sqlite:///{tmp_path / 'cache.db'}"
    port = free_port()
    config = daemon_config(server, tmp_path).replace("[logging]", f'[http]\nbind = "127.0.0.1:{port}"\n[logging]')
    assert run_cli(tmp_path, "check", config=config).returncode == 1  # nothing running yet
    process = start_daemon(tmp_path, config)
    try:
        wait_for(lambda: any(r.kind.startswith("rules:") and r.outcome == "ok" for r in runs(db_url)), what="a rules run")
        health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read())
        assert health["status"] == "ok" and health["role"] == "leader"
        panel = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
        assert panel.status == 200 and "<h1>Renewals" in panel.read().decode()  # the panel, beside the health endpoints
        assert "default-src 'none'" in panel.headers["Content-Security-Policy"]
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        assert 'renewal_worker_runs_total{job="rules",outcome="ok"}' in metrics
        assert "renewal_worker_leader 1.0" in metrics
        created = float(metrics.split('renewal_worker_tasks_total{action="created"} ')[1].split()[0])
        assert created == len(server.portal.table("tasks")) > 0
        assert "renewal_worker_open_findings" in metrics and "renewal_worker_hubspot_api_calls_total" in metrics
        done = run_cli(tmp_path, "check", config=config)
        assert done.returncode == 0 and done.stdout.startswith("ok: heartbeat"), done.stderr
        # HubSpot starts failing: the next run fails, and so does the health check.
        server.add_fault(Fault("status", status=503, times=100_000))
        wait_for(lambda: _latest_sync_failed(db_url), what="a failed sync run")
        failing = run_cli(tmp_path, "check", config=config)
        # The sync fails, and so does the rules job (it reads the tasks back before writing).
        assert failing.returncode == 1 and "failed" in failing.stderr
        assert "the last sync run" in failing.stderr or "the last rules run" in failing.stderr
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    assert run_cli(tmp_path, "check", config=config).returncode == 1  # stopped: no live heartbeat


def _latest_sync_failed(db_url: str) -> bool:
    finished = [r for r in runs(db_url) if r.kind.startswith("sync:") and r.finished_at]
    return bool(finished) and max(finished, key=lambda r: r.finished_at).outcome == "failed"


@pytest.mark.slow
def test_two_daemons_one_leader_and_the_standby_takes_over(server, tmp_path, db_url):
    config = daemon_config(server, tmp_path, db_url)
    first = start_daemon(tmp_path, config, name="a.toml")
    wait_for(lambda: any(h.role == "leader" for h in heartbeats(db_url)), what="a leader")
    second = start_daemon(tmp_path, config, name="b.toml")
    try:
        wait_for(lambda: len(heartbeats(db_url)) == 2, what="the standby's heartbeat")

        def finished(job: str) -> list:
            return [(r.started_at, r.finished_at) for r in runs(db_url) if r.kind.startswith(job + ":") and r.finished_at]

        # Both run side by side until the leader has finished each job twice.
        wait_for(lambda: all(len(finished(job)) >= 2 for job in ("sync", "rules")), what="two runs of each job")
        roles = sorted(h.role for h in heartbeats(db_url))
        assert roles == ["leader", "standby"]
        assert not any(e["event"] == "daemon.leading" for e in events(tmp_path, "b.toml"))
        # Never the same job at the same time: each job's runs are strictly one after another.
        for job in ("sync", "rules"):
            spans = finished(job)
            assert len(spans) >= 2
            assert all(earlier[1] <= later[0] for earlier, later in zip(spans, spans[1:]))
        # The leader dies hard: the standby leads within the lease check interval.
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed_at = time.monotonic()
        wait_for(lambda: any(e["event"] == "daemon.leading" for e in events(tmp_path, "b.toml")), timeout_s=10, what="the takeover")
        assert time.monotonic() - killed_at < 5
        runs_before = len(runs(db_url))
        wait_for(lambda: len(runs(db_url)) > runs_before + 2, what="the new leader's runs")
        cache = Cache(db_url)
        assert_exactly_once(server.portal, cache)
        cache.close()
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=15)


@pytest.mark.postgres
def test_moving_the_cache_to_postgresql_keeps_the_ledger(server, tmp_path, postgres):
    """The README's move to PostgreSQL: copy, point the config at it, and no task is made twice."""
    from worker.cache.copy import copy_cache

    config = sandbox_config(server, tmp_path)
    assert run_cli(tmp_path, "--sync-now", config=config).returncode == 0
    before = len(server.portal.table("tasks"))
    target = postgres.new_database()
    copied = copy_cache(f"sqlite:///{tmp_path / 'cache.db'}", target)
    assert copied["task_ledger"] == before and copied["runs"] == 1
    moved = config.replace(f'url = "sqlite:///{tmp_path / "cache.db"}"', f'url = "{target}"')
    done = run_cli(tmp_path, "--sync-now", config=moved)
    assert done.returncode == 0, done.stderr
    assert len(server.portal.table("tasks")) == before
    assert json.loads(run_cli(tmp_path, "status", "--json", config=moved).stdout)["runs"][0]["id"] == 2


@pytest.mark.postgres
def test_a_leader_that_loses_its_database_connection_steps_down_and_leads_again(server, tmp_path, postgres):
    import psycopg

    db_url = postgres.new_database()
    process = start_daemon(tmp_path, daemon_config(server, tmp_path, db_url))
    try:
        wait_for(lambda: any(e["event"] == "daemon.leading" for e in events(tmp_path)), what="the daemon to lead")
        # A PostgreSQL restart or failover, as the daemon sees it: every connection cut.
        plain = db_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        wait_for(lambda: any(e["event"] == "daemon.lease_lost" for e in events(tmp_path)), what="the lost lease to be noticed")
        wait_for(lambda: sum(e["event"] == "daemon.leading" for e in events(tmp_path)) >= 2, what="leading again")
        assert process.poll() is None
        before = len(runs(db_url))
        wait_for(lambda: len(runs(db_url)) > before + 1, what="jobs after the reconnect")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0


def test_an_open_listener_without_panel_credentials_serves_health_but_not_the_panel(server, tmp_path):
    port = free_port()
    config = daemon_config(server, tmp_path).replace("[logging]", f'[http]\nbind = "0.0.0.0:{port}"\n[logging]')
    process = start_daemon(tmp_path, config)
    try:
        wait_for(lambda: any(e["event"] == "daemon.panel_not_served" for e in events(tmp_path)), what="the panel's refusal in the log")
        wait_for(lambda: _status(f"http://127.0.0.1:{port}/healthz") in {200, 503}, what="the health endpoint")
        assert _status(f"http://127.0.0.1:{port}/") == 404  # no client names on an open port
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def _status(url: str) -> int | None:
    import urllib.error

    try:
        return urllib.request.urlopen(url, timeout=5).status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None
