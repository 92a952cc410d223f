"""``renewal-worker``: parse, configure logging, load settings, run. Nothing else lives here.

Exit codes: 0 success; 1 a run that failed (one line on stderr says why), including tasks that
could not be created; 2 a configuration error (every problem listed, each with its key); 130
interrupted (Ctrl-C: a run in hand is recorded as stopped). Every command answers a database it
cannot use, a reader that went away (``renewals | head -1``) and Ctrl-C with one line, never a
traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import ExitStack
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Callable, Sequence

from worker import logs
from worker.cli_parser import build_parser
from worker.safe_text import for_terminal, inert
from worker.settings import ConfigError, Settings, load_settings, secret_file_warnings

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_INTERRUPTED = 0, 1, 2, 130


def main(argv: Sequence[str] | None = None) -> int:
    # Everything this process creates (the cache, SQLite's -wal/-shm, lock files) holds client
    # names and emails: readable by its owner only.
    os.umask(0o077)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.sync_now and not args.command:
        parser.print_help(sys.stderr)
        return EXIT_CONFIG
    needs_token = (bool(args.sync_now) or args.command in {"run", "check-access", "init"}) and not args.demo
    try:
        settings = load_settings(args.config, require_token=needs_token, missing_ok=args.command == "init")
    except ConfigError as exc:
        print("renewal-worker: configuration error:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return EXIT_CONFIG
    secrets = [secret.get_secret_value() for secret in (settings.access_token, settings.webhook_url, settings.panel_auth) if secret]
    logs.configure(settings.logging.level, settings.logging.format, secrets=secrets)
    for warning in secret_file_warnings(os.environ):
        logs.get_logger().warning("settings.secret_file_readable", detail=warning)
    return _one_line_on_failure(lambda: _dispatch(args, settings), settings)


def _one_line_on_failure(command: Callable[[], int], settings: Settings) -> int:
    """What no command may end in: a traceback."""
    from worker.cache.db import DATABASE_ERRORS, CacheUnavailable
    from worker.cycle import explain

    try:
        return command()
    except KeyboardInterrupt:
        print("renewal-worker: interrupted (Ctrl-C); a run in hand is recorded as stopped and the next run resumes where it stopped", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`renewals | head -1`): nothing more to say to it, and nothing
        # left for Python to fail flushing at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except (*DATABASE_ERRORS, CacheUnavailable) as exc:
        print(f"renewal-worker: {for_terminal(explain(exc, settings))}", file=sys.stderr)
        return EXIT_FAILED


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.sync_now:
        return _sync_now(settings, demo=args.demo, full=args.full, dry_run=args.dry_run)
    if args.command == "run":
        return _run_daemon(settings, demo=args.demo)
    if args.command == "check-access":
        return _check_access(settings, demo=args.demo)
    if args.command == "init":
        return _init(settings, args)
    if args.demo:
        from worker.demo import demo_settings

        settings = demo_settings(settings, settings.hubspot.base_url)
    if args.command == "panel":
        return _panel(settings, *args.bind)
    return _report(settings, args)


def _panel(settings: Settings, host: str, port: int) -> int:
    """The panel until Ctrl-C or SIGTERM. It shows client names and emails: anything but a
    loopback address needs the panel's credentials (exit 2 otherwise)."""

    from worker.cache.db import Cache, CacheUnavailable
    from worker.config_sections import is_loopback
    from worker.reports.panel.server import serve

    if not is_loopback(host) and settings.panel_auth is None:
        print(
            f"renewal-worker: refusing to serve the panel on {host}:{port} without authentication: it shows client names "
            "and emails. Set RENEWAL_WORKER_PANEL_AUTH (or RENEWAL_WORKER_PANEL_AUTH_FILE) to user:password, or bind to 127.0.0.1",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    try:
        cache = Cache.existing(settings.database.url)
    except CacheUnavailable as exc:
        print(f"renewal-worker: {exc}", file=sys.stderr)
        return EXIT_FAILED
    try:
        credentials = settings.panel_auth.get_secret_value() if settings.panel_auth else None
        return serve(settings, cache, host, port, credentials=credentials)
    except OSError as exc:
        print(f"renewal-worker: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        cache.close()


def _sync_now(settings: Settings, *, demo: bool, full: bool, dry_run: bool) -> int:
    from worker.cycle import run_cycle
    from worker.progress import TerminalProgress

    with ExitStack() as stack:
        sandbox = None
        if demo:
            from worker.demo import demo_portal, demo_settings, fresh_demo_database

            sandbox = stack.enter_context(demo_portal())
            settings = demo_settings(settings, sandbox.url, client_tokens_dir=sandbox.client_tokens_dir)
            fresh_demo_database(settings)
        progress = TerminalProgress() if sys.stderr.isatty() else None
        result = run_cycle(settings, mode="full" if full else "auto", progress=progress, dry_run=dry_run, force_usage=True)
        if progress:
            progress.close()
        _notify(settings, result, dry_run=dry_run)
        chatty = sys.stdout.isatty() or demo or dry_run
        if chatty and (result.ok or result.emission is not None):
            _print_outcome(result, settings, dry_run=dry_run)
        if demo and sandbox is not None and result.ok:
            from worker.demo import print_demo_outcome

            print_demo_outcome(settings, sandbox)
    if not result.ok:
        print(f"renewal-worker: run failed: {for_terminal(result.error or 'unknown error')}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _run_daemon(settings: Settings, *, demo: bool) -> int:
    from scheduler.daemon import Daemon
    from scheduler.metrics import HealthServerError
    from worker.cache.db import CacheUnavailable

    with ExitStack() as stack:
        if demo:
            from worker.demo import demo_portal, demo_settings

            sandbox = stack.enter_context(demo_portal())
            settings = demo_settings(settings, sandbox.url, client_tokens_dir=sandbox.client_tokens_dir)
        try:
            return Daemon(settings).run()
        except (CacheUnavailable, HealthServerError) as exc:
            print(f"renewal-worker: cannot start: {exc}", file=sys.stderr)
            return EXIT_FAILED


def _check_access(settings: Settings, *, demo: bool) -> int:
    from worker import access

    with ExitStack() as stack:
        if demo:
            from worker.demo import demo_portal, demo_settings

            sandbox = stack.enter_context(demo_portal())
            settings = demo_settings(settings, sandbox.url, client_tokens_dir=sandbox.client_tokens_dir)
        ok, lines = access.run_with_own_gateway(settings)
    for line in lines:
        print(for_terminal(line))
    return EXIT_OK if ok else EXIT_FAILED


def _init(settings: Settings, args: argparse.Namespace) -> int:
    from worker.cycle import build_gateway
    from worker.demo import demo_portal, demo_settings
    from worker.onboarding import init
    from worker.rules.calendar import local_date
    from worker.settings import config_file_path
    from worker.sync.passes import utcnow

    if not args.yes and not sys.stdin.isatty():
        print("renewal-worker init: it asks a question per property: run it on a terminal, or add --yes to accept every proposal", file=sys.stderr)
        return EXIT_CONFIG
    path = config_file_path(args.config, os.environ)
    with ExitStack() as stack:
        reload: Callable[[Any], Settings] = lambda written: load_settings(written, require_token=not args.demo)  # noqa: E731
        if args.demo:
            sandbox = stack.enter_context(demo_portal())
            settings = demo_settings(settings, sandbox.url, client_tokens_dir=sandbox.client_tokens_dir)
            reload = lambda written: demo_settings(load_settings(written, require_token=False), sandbox.url, client_tokens_dir=sandbox.client_tokens_dir)  # noqa: E731
        flags = f"{'--demo ' if args.demo else ''}--config {path}"
        program = sys.argv[0] if os.path.basename(sys.argv[0]) == "renewal-worker" else "renewal-worker"
        if os.path.isabs(program) and program.startswith(os.getcwd() + os.sep):
            program = os.path.relpath(program)  # .venv/bin/renewal-worker, as `make demo` runs it
        run = init.InitRun(
            path=path, ask=None if args.yes else input, say=print, complain=lambda line: print(line, file=sys.stderr),
            today=local_date(utcnow(), settings.tz), environ=os.environ, reload=reload,
            next_command=f"{program} {flags} --sync-now --dry-run",
        )
        gateway = build_gateway(settings)
        try:
            return init.run(run, settings, gateway)
        finally:
            gateway.close()


def _check(settings: Settings) -> int:
    from scheduler.check import check
    from worker.cache.db import DATABASE_ERRORS, CacheUnavailable
    from worker.cycle import explain
    from worker.sync.passes import utcnow

    try:
        ok, message = check(settings, utcnow())
    except (*DATABASE_ERRORS, CacheUnavailable) as exc:
        ok, message = False, explain(exc, settings)
    print(message, file=sys.stdout if ok else sys.stderr)
    return EXIT_OK if ok else EXIT_FAILED


def _print_outcome(result: Any, settings: Settings, *, dry_run: bool) -> None:
    from worker import words
    from worker.labels import labels

    language = settings.reminders.language
    w = labels(language)
    counts = result.counts
    synced = ", ".join(w[f"count_{key}"].format(n=words.number(counts[key], language)) for key in ("companies", "contacts", "subscriptions") if key in counts)
    print(w["sync_line"].format(
        mode=result.mode, seconds=words.number(result.duration_s, language, 1),
        calls=words.plural(result.api.get("total_calls", 0), w["api_calls_count"], language), counts=synced or w["nothing_changed"],
    ))
    emission = result.emission
    if emission is None:
        return
    if dry_run:
        from worker.reports import table

        print(w["dry_run_line"].format(changes=words.plural(len(emission.changes), w["changes"], language)))
        rows = [
            [w.get(f"action_{c.action}", c.action), str(c.due or ""), w.get(f"priority_{c.priority}", c.priority), c.owner_id or w["none"], c.subject, c.reason or ""]
            for c in emission.changes
        ]
        if rows:
            print(table([w[key] for key in ("action", "due", "priority", "owner", "subject", "why")], rows, wrap={4: 80, 5: 60}))
        return
    print(w["tasks_line"].format(
        **{key: words.number(getattr(emission, key), language) for key in ("created", "recovered", "updated", "closed", "pending")},
        findings=words.number(counts.get("rule_findings", 0), language),
    ))


def _notify(settings: Settings, result: Any, *, dry_run: bool) -> None:
    if settings.webhook_url is None or dry_run:
        return
    from worker.notify import send_notifications

    send_notifications(settings, result)


def _report(settings: Settings, args: argparse.Namespace) -> int:
    if args.command == "check":
        return _check(settings)
    from worker.cache.db import DATABASE_ERRORS, CacheUnavailable
    from worker.cycle import explain

    try:
        text, data = _report_output(settings, args)
    except (*DATABASE_ERRORS, CacheUnavailable) as exc:
        print(f"renewal-worker: {explain(exc, settings)}{_demo_hint(exc, args)}", file=sys.stderr)
        return EXIT_FAILED
    if getattr(args, "json", False):
        print(json.dumps(inert(data), indent=2, default=_json_default, ensure_ascii=False))
    else:
        sys.stdout.write(text() if callable(text) else text)
        if not getattr(args, "csv", False):
            sys.stdout.write("\n")
    return EXIT_OK


def _demo_hint(exc: Exception, args: argparse.Namespace) -> str:
    """No cache here, but `make demo` left one: the reader most likely forgot --demo."""
    from pathlib import Path

    from worker.cache.db import CacheUnavailable, sqlite_path
    from worker.demo import DEMO_DATABASE_URL

    demo_cache = sqlite_path(DEMO_DATABASE_URL)
    if isinstance(exc, CacheUnavailable) and not args.demo and demo_cache is not None and Path(demo_cache).is_file():
        return f" (the demo's cache is here: add --demo, e.g. `renewal-worker {args.command} --demo`)"
    return ""


def _report_output(settings: Settings, args: argparse.Namespace) -> tuple[str | Callable[[], str], dict[str, Any]]:
    from worker import reports
    from worker.cache.db import Cache
    from worker.reports.status import render_status, status_data
    from worker.rules.calendar import local_date
    from worker.sync.passes import utcnow

    # Tables for people in the configured language; --json and --csv stay as documented.
    language = settings.reminders.language
    if args.command == "status":
        data = status_data(settings.database.url)
        return (lambda: render_status(data, language)), data
    cache = Cache.existing(settings.database.url)
    try:
        with cache.transaction() as session:
            if args.command == "renewals":
                within = args.within if args.within is not None else settings.reminders.horizon_days
                data = reports.renewals_data(session, settings, local_date(utcnow(), settings.tz), within)
                if args.csv:
                    return reports.renewals_csv(data), data
                return (lambda: reports.render_renewals(data, language)), data
            if args.command == "findings":
                data = reports.findings_data(session, include_resolved=args.all)
                return (lambda: reports.render_findings(data, language)), data
            data = reports.tasks_data(session, states=args.state)
            return (lambda: reports.render_tasks(data, language)), data
    finally:
        cache.close()


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
