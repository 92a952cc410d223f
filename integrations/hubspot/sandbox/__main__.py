"""Run the sandbox HubSpot as its own process (the benchmark keeps it out of the worker's memory).

    python -m integrations.hubspot.sandbox --companies 10000 --seed 1

Prints ``READY <url>`` once it listens; stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from integrations.hubspot.sandbox import DEMO_TOKEN, PortalSpec, SandboxHubSpot, generate_portal
from integrations.hubspot.sandbox.server import ALL_SCOPES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m integrations.hubspot.sandbox")
    parser.add_argument("--companies", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--requests-per-10s", type=int, default=100)
    parser.add_argument("--search-requests-per-s", type=int, default=4)
    parser.add_argument("--token", default=DEMO_TOKEN)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="answer each API request this much later (HubSpot: ~150)")
    parser.add_argument("--hostile-showcase", action="store_true", help="put every hostile value on some record (the soak)")
    parser.add_argument("--service-contracts", action="store_true", help="the partner's service contracts too (HubSpot's services object)")
    args = parser.parse_args(argv)

    spec = PortalSpec(companies=args.companies, seed=args.seed, hostile_showcase=args.hostile_showcase, service_contracts=args.service_contracts)
    portal = generate_portal(spec)
    server = SandboxHubSpot(
        portal,
        tokens={args.token: ALL_SCOPES},
        requests_per_10s=args.requests_per_10s,
        search_requests_per_s=args.search_requests_per_s,
        port=args.port,
        latency_s=args.latency_ms / 1000,
    ).start()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(f"READY {server.url}", flush=True)
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
