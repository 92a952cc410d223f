"""Cycle benchmark: API calls against the floor, time against the rate-limit floor, with and
without HubSpot's latency.

    make bench            (or: python -m bench.sync_bench --companies 1000 10000 --latency-ms 150)

For each portal size it starts the sandbox HubSpot in its own process (HubSpot's limits: 100
requests per 10 s, 4 searches per second), runs ``renewal-worker --sync-now`` (sync → rules →
task emission) as a real process against a fresh SQLite cache, and reports:

- API calls per endpoint and in total, against the floor computed from the portal's data. The
  sync's floor: ⌈companies/100⌉ list pages + ⌈companies/1,000⌉ association batch reads (company →
  contact, with labels) + ⌈primary contacts/100⌉ batch reads + ⌈subscriptions/100⌉ list pages
  (each subscription's company inline) + the owners' pages (active and archived). Emission's:
  ⌈tasks/100⌉ batch creates;
- wall time against the rate-limit floor (calls ÷ 10 per second);
- 429s the sandbox sent, and the worker process's peak memory;
- a second run right after, with nothing changed: the sync's calls, and the read-back of the
  tasks the first run wrote (one search page per 200), and no task written;
- a third run "an hour later" (every record's last change moved an hour back in the sandbox),
  nothing changed: what a quiet portal costs per run.

``--latency-ms`` runs the largest portal once more with the sandbox answering each request that
much later (HubSpot: about 150 ms). The last line is for the largest portal:
``calls/floor=X.XX time/floor=Y.YY … latency_time/floor=Z.ZZ``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

RATE_PER_10S = 100
TOKEN = "bench-token"


def pages(count: int, size: int = 100) -> int:
    return max(1, math.ceil(count / size))


def floor_calls(summary: dict, tasks: int) -> dict[str, int]:
    objects = summary["objects"]
    companies, deals = objects.get("companies", {}), objects.get("deals", {})
    return {
        "account_details:account": 1,  # once per cache: the panel's record links need the portal id
        "list_owners:owners": pages(summary["owners"]["active"]) + pages(summary["owners"]["archived"]),
        "list_objects:companies": pages(companies.get("active", 0)),
        "batch_read_associations:companies": math.ceil(companies.get("active", 0) / 1000),
        "batch_read_objects:contacts": math.ceil(summary["primary_contacts"] / 100),
        "list_objects:deals": pages(deals.get("active", 0)),
        "batch_create_objects:tasks": math.ceil(tasks / 100),
    }


def sync_calls(calls: dict[str, int]) -> int:
    """Calls of the sync alone: everything but the tasks' endpoints."""
    return sum(n for name, n in calls.items() if not name.endswith(":tasks"))


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def _post(url: str, body: dict) -> None:
    urllib.request.urlopen(urllib.request.Request(url, data=json.dumps(body).encode(), method="POST"), timeout=30).close()


def run_one(companies: int, seed: int, workdir: Path, latency_ms: float = 0.0) -> dict:
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "integrations.hubspot.sandbox", "--companies", str(companies), "--seed", str(seed),
         "--requests-per-10s", str(RATE_PER_10S), "--search-requests-per-s", "4", "--token", TOKEN,
         "--latency-ms", str(latency_ms)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        line = sandbox.stdout.readline().strip()
        if not line.startswith("READY "):
            raise RuntimeError(f"sandbox did not start: {line!r}")
        url = line.split(" ", 1)[1]
        summary = get_json(f"{url}/_sandbox/summary")
        database = workdir / f"bench-{companies}-{latency_ms:g}ms.db"
        config = workdir / f"bench-{companies}-{latency_ms:g}ms.toml"
        config.write_text(
            f'[hubspot]\nbase_url = "{url}"\nrequests_per_10s = {RATE_PER_10S}\nsearch_requests_per_s = 4\n'
            f'[database]\nurl = "sqlite:///{database}"\n[logging]\nlevel = "warning"\nformat = "json"\n'
        )
        wall_s, usage = _sync_now(config)
        panel_app = _panel_app(config) if not latency_ms else None
        stats = get_json(f"{url}/_sandbox/stats")
        tasks = get_json(f"{url}/_sandbox/summary")["objects"].get("tasks", {}).get("active", 0)
        # A second run with nothing changed: an incremental sync, then every open task read
        # back (⌈open tasks/100⌉ batch reads) before the planner decides that nothing is to do.
        _post(f"{url}/_sandbox/reset-stats", {})
        again_s, _ = _sync_now(config)
        again = get_json(f"{url}/_sandbox/stats")
        # A third run an hour later with nothing changed in between: every record's last change
        # moved an hour back (the sandbox's age control) instead of waiting for it.
        _post(f"{url}/_sandbox/age", {"seconds": 3600})
        _post(f"{url}/_sandbox/reset-stats", {})
        quiet_s, _ = _sync_now(config)
        quiet = get_json(f"{url}/_sandbox/stats")
        panel = _panel_timings(config, panel_app) if not latency_ms else {}
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)
    floor = floor_calls(summary, tasks)
    calls = stats["total_calls"]
    floor_total = sum(floor.values())
    return {
        "companies": companies,
        "latency_ms": latency_ms,
        "sync_calls": sync_calls(stats["calls"]),
        "sync_floor": sum(n for name, n in floor.items() if not name.endswith(":tasks")),
        "again_sync_calls": sync_calls(again["calls"]),
        "subscriptions": summary["objects"].get("deals", {}).get("active", 0),
        "primary_contacts": summary["primary_contacts"],
        "tasks": tasks,
        "task_calls": stats["calls"].get("batch_create_objects:tasks", 0),
        "calls": stats["calls"],
        "floor": floor,
        "total_calls": calls,
        "floor_calls": floor_total,
        "wall_s": wall_s,
        "time_floor_s": floor_total * 10 / RATE_PER_10S,
        "rate_limited": stats["rate_limited"],
        "peak_mb": usage.ru_maxrss / 1024,
        "again_calls": again["total_calls"],
        "again_s": again_s,
        "read_back_calls": again["calls"].get("batch_read_objects:tasks", 0) + again["calls"].get("search_objects:tasks", 0),
        "again_writes": sum(n for name, n in again["calls"].items() if name.startswith(("batch_create", "batch_update"))),
        "quiet_calls": quiet["calls"],
        "panel": panel,
        "quiet_s": quiet_s,
    }


def _panel_app(config: Path):
    """The panel over the bench's cache, in this process, started as ``renewal-worker panel``
    starts it (its renewals read in the background): how long until it is ready, then its first
    views: the very first of a new process (templates compiled, locale data loaded), the same page
    again, and the week. Also the first view of a panel that was not warmed."""
    from starlette.testclient import TestClient

    from worker.cache.db import Cache
    from worker.reports.panel.app import build_app
    from worker.settings import load_settings

    settings = load_settings(config_path=config, environ={"HUBSPOT_ACCESS_TOKEN": TOKEN})
    cold = TestClient(build_app(settings, Cache.existing(settings.database.url)))  # no lifespan: nothing warmed
    cold_ms = _timed(cold, "/")
    started = time.perf_counter()
    app = build_app(settings, Cache.existing(settings.database.url))
    client = TestClient(app).__enter__()  # runs the app's start-up, as uvicorn does
    app.state.warm.wait(60)
    ready_ms = round((time.perf_counter() - started) * 1000, 1)
    client.timings = {  # type: ignore[attr-defined]
        "ready_ms": ready_ms, "first_view_ms": _timed(client, "/"), "same_view_ms": _timed(client, "/"),
        "week_first_ms": _timed(client, "/week"), "cold_first_view_ms": cold_ms,
    }
    return client


def _panel_timings(config: Path, client) -> dict:
    """After more runs: the first views (the renewals brought up to date), then the other pages."""
    timings = dict(client.timings)
    timings["after_a_run_ms"] = _timed(client, "/")
    timings["week_after_a_run_ms"] = _timed(client, "/week")
    timings["sorted_page_3_ms"] = _timed(client, "/?sort=client&page=3")
    timings["owner_filter_ms"] = _timed(client, "/?within=365&findings=1")
    timings["client_ms"] = _timed(client, "/clients/" + client.get("/").text.split('href="/clients/')[1].split("?")[0])
    timings["findings_ms"] = _timed(client, "/findings")
    timings["tasks_ms"] = _timed(client, "/tasks")
    client.__exit__(None, None, None)
    return timings


def _timed(client, path: str) -> float:
    started = time.perf_counter()
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return round((time.perf_counter() - started) * 1000, 1)


def _sync_now(config: Path) -> tuple[float, os.struct_rusage]:
    env = {**os.environ, "HUBSPOT_ACCESS_TOKEN": TOKEN}
    started = time.monotonic()
    worker = subprocess.Popen([sys.executable, "-m", "worker", "--config", str(config), "--sync-now"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(worker.pid, 0)
    wall_s = time.monotonic() - started
    stderr = worker.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"sync failed:\n{stderr}")
    return wall_s, usage


def print_result(result: dict) -> None:
    latency = f", {result['latency_ms']:g} ms per request" if result["latency_ms"] else ", no latency"
    print(f"\n== portal: {result['companies']:,} companies, {result['subscriptions']:,} subscriptions, {result['primary_contacts']:,} primary contacts{latency}")
    print(f"  {'endpoint':<38}{'calls':>8}{'floor':>8}")
    for name in sorted(set(result["calls"]) | set(result["floor"])):
        print(f"  {name:<38}{result['calls'].get(name, 0):>8}{result['floor'].get(name, 0):>8}")
    print(f"  {'sync':<38}{result['sync_calls']:>8}{result['sync_floor']:>8}   calls/floor {result['sync_calls'] / result['sync_floor']:.2f}")
    print(f"  {'total':<38}{result['total_calls']:>8}{result['floor_calls']:>8}   calls/floor {result['total_calls'] / result['floor_calls']:.2f}")
    print(f"  wall time {result['wall_s']:.1f}s; rate-limit floor {result['time_floor_s']:.1f}s ({result['floor_calls']} calls at {RATE_PER_10S}/10s); time/floor {result['wall_s'] / result['time_floor_s']:.2f}")
    print(f"  tasks created {result['tasks']:,} in {result['task_calls']} create calls (floor ⌈tasks/100⌉ = {math.ceil(result['tasks'] / 100)})")
    print(f"  429s {result['rate_limited']}; worker peak memory {result['peak_mb']:.0f} MB")
    print(
        f"  second run, nothing changed: {result['again_calls']} calls in {result['again_s']:.1f}s: sync {result['again_sync_calls']}, "
        f"task read-back {result['read_back_calls']}; task writes {result['again_writes']}"
    )
    if result["panel"]:
        p = result["panel"]
        print(
            f"  panel (server side, goal < 300 ms): ready {p['ready_ms']:.0f} ms after it starts (renewals read in the background); "
            f"renewals page first view {p['first_view_ms']:.0f} ms, same view again {p['same_view_ms']:.0f} ms, "
            f"first view after a run {p['after_a_run_ms']:.0f} ms; week first view {p['week_first_ms']:.0f} ms, after a run {p['week_after_a_run_ms']:.0f} ms; "
            f"a view before the panel is ready {p['cold_first_view_ms']:.0f} ms"
        )
        print(
            f"  panel, other pages: sorted page 3 {p['sorted_page_3_ms']:.0f} ms, 365 days with findings {p['owner_filter_ms']:.0f} ms, "
            f"a client {p['client_ms']:.0f} ms, findings {p['findings_ms']:.0f} ms, tasks {p['tasks_ms']:.0f} ms"
        )
    quiet = result["quiet_calls"]
    print(
        f"  an hour later, nothing changed: {sum(quiet.values())} calls in {result['quiet_s']:.1f}s: sync {sync_calls(quiet)}, "
        f"tasks {sum(quiet.values()) - sync_calls(quiet)}; by endpoint: {', '.join(f'{k} {v}' for k, v in sorted(quiet.items()))}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sync_bench")
    parser.add_argument("--companies", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--latency-ms", type=float, default=150.0, help="the largest portal once more at this latency (0: skip)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="rw-bench-") as workdir:
        results = [run_one(n, args.seed, Path(workdir)) for n in args.companies]
        slow = run_one(args.companies[-1], args.seed, Path(workdir), args.latency_ms) if args.latency_ms else None
    for result in results + ([slow] if slow else []):
        print_result(result)
    last = results[-1]
    summary = (
        f"\ncalls/floor={last['total_calls'] / last['floor_calls']:.2f} sync_calls/floor={last['sync_calls'] / last['sync_floor']:.2f} "
        f"time/floor={last['wall_s'] / last['time_floor_s']:.2f} 429s={last['rate_limited']} peak_mb={last['peak_mb']:.0f} "
        f"task_calls={last['task_calls']}/{math.ceil(last['tasks'] / 100)} again_sync_calls={last['again_sync_calls']} "
        f"quiet_calls={sum(last['quiet_calls'].values())}"
    )
    if last["panel"]:
        p = last["panel"]
        summary += (
            f" panel_first_ms={p['first_view_ms']:.0f} panel_after_run_ms={p['after_a_run_ms']:.0f}"
            f" week_first_ms={p['week_first_ms']:.0f} week_after_run_ms={p['week_after_a_run_ms']:.0f} panel_ready_ms={p['ready_ms']:.0f}"
        )
    if slow:
        summary += f" latency_{slow['latency_ms']:g}ms_time/floor={slow['wall_s'] / slow['time_floor_s']:.2f} latency_429s={slow['rate_limited']}"
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
