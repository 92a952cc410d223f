"""``renewal-worker``: parse, configure logging, load settings, run. Nothing else lives here.

Exit codes: 0 success; 1 a run that failed (one line on stderr says why); 2 a configuration error
(every problem listed, each with its key).
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import ExitStack
from datetime import datetime
from typing import Any, Sequence

from worker import logs
from worker.settings import ConfigError, Settings, load_settings

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="renewal-worker",
        description="Keeps a HubSpot Solutions Partner on top of every client renewal.",
    )
    parser.add_argument("--config", metavar="PATH", help="TOML settings file (default: $RENEWAL_WORKER_CONFIG or ./config.toml)")
    parser.add_argument("--demo", action="store_true", help="use the built-in sandbox HubSpot with sample data (no token, no network)")
    parser.add_argument("--sync-now", action="store_true", help="run one complete cycle now and exit (0 ok, 1 failed, 2 config error)")
    parser.add_argument("--full", action="store_true", help="with --sync-now: a full pass that also reconciles archived and deleted records")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    status = commands.add_parser("status", help="last runs, sync watermarks and what the cache holds")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.sync_now and not args.command:
        parser.print_help(sys.stderr)
        return EXIT_CONFIG
    needs_token = bool(args.sync_now) and not args.demo
    try:
        settings = load_settings(args.config, require_token=needs_token)
    except ConfigError as exc:
        print("renewal-worker: configuration error:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return EXIT_CONFIG
    secrets = [settings.access_token.get_secret_value()] if settings.access_token else []
    logs.configure(settings.logging.level, settings.logging.format, secrets=secrets)
    if args.command == "status":
        return _status(_demo_database(settings) if args.demo else settings, as_json=args.json)
    return _sync_now(settings, demo=args.demo, full=args.full)


def _demo_database(settings: Settings) -> Settings:
    from worker.demo import demo_settings

    return demo_settings(settings, settings.hubspot.base_url)


def _sync_now(settings: Settings, *, demo: bool, full: bool) -> int:
    from worker.cycle import run_cycle
    from worker.progress import TerminalProgress

    with ExitStack() as stack:
        if demo:
            from worker.demo import demo_portal, demo_settings

            sandbox = stack.enter_context(demo_portal())
            settings = demo_settings(settings, sandbox.url)
        progress = TerminalProgress() if sys.stderr.isatty() else None
        result = run_cycle(settings, mode="full" if full else "auto", progress=progress)
        if progress:
            progress.close()
    if not result.ok:
        print(f"renewal-worker: run failed: {result.error}", file=sys.stderr)
        return EXIT_FAILED
    if sys.stdout.isatty() or demo:
        counts = ", ".join(f"{key} {value:,}" for key, value in sorted(result.counts.items()))
        print(f"sync ({result.mode}) ok in {result.duration_s:.1f}s, {result.api.get('total_calls', 0)} API calls: {counts}")
    return EXIT_OK


def _status(settings: Settings, *, as_json: bool) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from worker.cycle import explain
    from worker.report import status_data

    try:
        data = status_data(settings.database.url)
    except SQLAlchemyError as exc:
        print(f"renewal-worker: {explain(exc, settings)}", file=sys.stderr)
        return EXIT_FAILED
    if as_json:
        print(json.dumps(data, indent=2, default=_json_default, ensure_ascii=False))
    else:
        from worker.report import render_status

        print(render_status(data))
    return EXIT_OK


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
