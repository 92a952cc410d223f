"""Soak test of the daemon: ``make soak`` (or ``python -m bench.soak --seconds 300``).

The sandbox HubSpot runs as its own process with seeded chaos (429s, 503s before and after
processing, resets before and after processing, cut answers) and a stream of realistic edits
(renewal dates, prices, bounced and fixed emails, cancellations, owners deactivated and back),
on subscriptions and on the partner's service contracts alike.
``renewal-worker run`` runs against it on 1-second schedules (sync every second, rules and
emission every second, a full reconcile every 20 s). At the end the daemon gets SIGTERM and the
soak checks what a user would: exit 0, no task twice in HubSpot, every open ledger row matches a
task there, no unhandled error, memory flat. The last line sums it up; it exits 1 on a failure.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

TOKEN = "soak-token"


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _get(url: str, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
        return json.loads(response.read())


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _all_tasks(url: str) -> list[dict]:
    tasks, after = [], None
    while True:
        page = _get(f"{url}/crm/objects/2026-09/tasks?limit=100&archived=false" + (f"&after={after}" if after else ""), TOKEN)
        tasks.extend(page["results"])
        after = (page.get("paging") or {}).get("next", {}).get("after")
        if not after:
            return tasks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak")
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--companies", type=int, default=300)
    parser.add_argument("--chaos", type=float, default=0.08, help="share of API requests that get a fault")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    from worker.tasks.texts import find_marker

    workdir = Path(tempfile.mkdtemp(prefix="rw-soak-"))
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "integrations.hubspot.sandbox", "--companies", str(args.companies), "--seed", str(args.seed), "--hostile-showcase",
         "--requests-per-10s", "1000", "--search-requests-per-s", "50", "--token", TOKEN, "--service-contracts"],
        stdout=subprocess.PIPE, text=True,
    )
    daemon = None
    try:
        url = sandbox.stdout.readline().strip().split(" ", 1)[1]
        _post(f"{url}/_sandbox/chaos", {"rate": args.chaos, "seed": args.seed})
        config = workdir / "config.toml"
        config.write_text(
            f'[hubspot]\nbase_url = "{url}"\nrequests_per_10s = 1000\nsearch_requests_per_s = 50\nbackoff_initial_s = 0.05\nbackoff_max_s = 0.5\n'
            f'[database]\nurl = "sqlite:///{workdir / "soak.db"}"\n'
            '[schedule]\nsync_interval_s = 1\nrules_cron = "* * * * * *"\nfull_sync_cron = "*/20 * * * * *"\nlease_check_s = 1\nshutdown_grace_s = 20\n'
            '[logging]\nformat = "json"\nlevel = "info"\n'
            # Both kinds of renewal: the portal's edits reach the service contracts too.
            '[services]\n[services.properties]\ncurrency = "service_currency_code"\n'
            'discount_percent = "renewal_discount_percent"\ndiscount_end_date = "renewal_discount_end_date"\n'
        )
        log_path = workdir / "daemon.log"
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("HUBSPOT_", "RENEWAL_WORKER"))}, "HUBSPOT_ACCESS_TOKEN": TOKEN}
        with open(log_path, "w") as log:
            daemon = subprocess.Popen([sys.executable, "-m", "worker", "--config", str(config), "run"], env=env, stdout=log, stderr=subprocess.STDOUT)
        samples: list[tuple[float, float]] = []
        edits = 0
        started = time.monotonic()
        while time.monotonic() - started < args.seconds:
            time.sleep(1)
            if daemon.poll() is not None:
                raise RuntimeError(f"the daemon died: exit {daemon.returncode}")
            samples.append((time.monotonic() - started, _rss_mb(daemon.pid)))
            if int(time.monotonic() - started) % 3 == 0:
                edits += len(_post(f"{url}/_sandbox/mutate", {"seed": args.seed, "count": 5})["done"])
        daemon.send_signal(signal.SIGTERM)
        exit_code = daemon.wait(timeout=60)
        _post(f"{url}/_sandbox/chaos", {"rate": 0, "seed": 0})
        stats = _get(f"{url}/_sandbox/stats")
        tasks = _all_tasks(url)
    finally:
        if daemon is not None and daemon.poll() is None:
            daemon.kill()
        sandbox.terminate()
        sandbox.wait(timeout=30)

    events = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    cycles = [e for e in events if e.get("event") == "cycle.finished"]
    runs = Counter((e.get("job"), e.get("outcome")) for e in cycles)
    unhandled = [e for e in events if e.get("level") in {"error", "critical"}]
    markers = Counter(find_marker((t.get("properties") or {}).get("hs_task_body")) for t in tasks)
    duplicates = {m: n for m, n in markers.items() if m and n > 1}
    ledger_mismatch = _ledger_mismatches(workdir / "soak.db", {find_marker((t.get("properties") or {}).get("hs_task_body")): t["id"] for t in tasks})
    totals = Counter()
    for e in cycles:
        for key in ("tasks_created", "tasks_recovered", "tasks_updated", "tasks_closed"):
            totals[key] += (e.get("counts") or {}).get(key, 0)
    warm = [mb for t, mb in samples if t >= 60]  # imports, caches and the first full pass settle first
    third = max(1, len(warm) // 3)
    early, late = statistics.median(warm[:third]), statistics.median(warm[-third:])
    growth = late - early

    print(f"\n== soak: {args.seconds}s, {args.companies} companies, chaos {args.chaos:.0%}, {edits} portal edits")
    for (job, outcome), n in sorted(runs.items(), key=str):
        print(f"  runs {job:<10} {outcome:<7} {n}")
    print(f"  tasks: {totals['tasks_created']} created, {totals['tasks_recovered']} recovered by marker, {totals['tasks_updated']} updated, {totals['tasks_closed']} closed; {len(tasks)} in HubSpot")
    print(f"  API requests {stats['total_calls']}, faults injected {stats['faults_applied']}, 429s sent {stats['rate_limited']}")
    print(f"  memory (RSS): {samples[0][1]:.0f} MB at start, median {early:.0f} MB after warm-up, {late:.0f} MB at the end (+{growth:.1f} MB), max {max(mb for _, mb in samples):.0f} MB")
    marks = [f"{t:.0f}s {mb:.0f}" for t, mb in samples if int(t) % 30 == 0]
    print(f"  RSS every 30 s (MB): {', '.join(marks)}")
    print(f"  duplicates {len(duplicates)}; ledger rows without their task {len(ledger_mismatch)}; unhandled errors {len(unhandled)}; exit code {exit_code}")
    for event in unhandled[:5]:
        print(f"    {event.get('event')}: {event.get('error')}")
    ok = exit_code == 0 and not duplicates and not ledger_mismatch and not unhandled and growth < 15
    print(f"\nsoak={'ok' if ok else 'FAILED'} seconds={args.seconds} duplicates={len(duplicates)} unhandled={len(unhandled)} rss_growth_mb={growth:.1f} faults={stats['faults_applied']}")
    return 0 if ok else 1


def _ledger_mismatches(database: Path, tasks_by_marker: dict) -> list[str]:
    import sqlite3

    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT key, marker, task_id FROM task_ledger WHERE state = 'open'").fetchall()
    return [key for key, marker, task_id in rows if tasks_by_marker.get(marker) != task_id]


if __name__ == "__main__":
    sys.exit(main())
