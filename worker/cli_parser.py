"""The command line's grammar: ``renewal-worker``'s options and commands, each with its help.
``worker.cli`` runs what it parses."""

from __future__ import annotations

import argparse
from typing import Any


def _days(text: str) -> int:
    """A number of days a calendar can hold: argparse turns the error into one line, exit 2."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of days: {text!r}") from None
    if not 0 <= value <= 3650:
        raise argparse.ArgumentTypeError(f"{value} is outside 0..3650 days")
    return value


def _bind(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, such as 127.0.0.1:8765 (got {text!r})")
    return host, int(port)


def _global_options(parser: argparse.ArgumentParser, default: Any) -> None:
    """The options every command takes, before or after its name (``renewals --demo``). After
    the name they default to SUPPRESS, so that they never undo the same option given before it."""
    flag = {} if default is None else {"default": default}
    parser.add_argument("--config", metavar="PATH", help="TOML settings file (default: $RENEWAL_WORKER_CONFIG or ./config.toml)", **flag)
    parser.add_argument("--demo", action="store_true", help="use the built-in sandbox HubSpot with sample data (no token, no network)", **flag)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="renewal-worker",
        description="Keeps a HubSpot Solutions Partner on top of every client renewal.",
        epilog="New here? `renewal-worker init` finds your portal's renewals and writes config.toml; then `renewal-worker check-access` and `renewal-worker --sync-now --dry-run`.",
    )
    _global_options(parser, None)
    parser.add_argument("--sync-now", action="store_true", help="run one cycle now (sync → rules → tasks) and exit: 0 ok, 1 failed, 2 config error")
    parser.add_argument("--full", action="store_true", help="with --sync-now: a full pass that also reconciles archived and deleted records")
    parser.add_argument("--dry-run", action="store_true", help="with --sync-now: compute and print the task plan, write nothing to HubSpot")
    shared = argparse.ArgumentParser(add_help=False)
    _global_options(shared, argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_with_parents(shared))
    init = command(commands, "init", help="first setup: find where this portal keeps renewals, propose each property, write the config, check access",
        description="Looks at the portal (read-only): which objects the token can read, which carries the renewals, and which "
        "property plays each role; shows each proposal with its evidence and asks (Enter accepts); writes the config file "
        "(--config, default ./config.toml; created if absent, its other keys kept), then runs check-access.",
    )
    init.add_argument("--yes", action="store_true", help="accept every proposal without asking (scripts, the demo)")
    status = command(commands, "status", help="last runs, sync watermarks and what the cache holds")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    renewals = command(commands, "renewals", help="upcoming renewals: the partner dashboard's table, from the cache")
    renewals.add_argument("--within", type=_days, metavar="DAYS", help="renewals this many days ahead, 0 to 3650 (default: [reminders] horizon_days)")
    output = renewals.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="machine-readable output")
    output.add_argument("--csv", action="store_true", help="CSV, for a spreadsheet")
    findings = command(commands, "findings", help="what is wrong in the data (open findings)")
    findings.add_argument("--json", action="store_true", help="machine-readable output")
    findings.add_argument("--all", action="store_true", help="include resolved findings")
    tasks = command(commands, "tasks", help="the tasks the worker created in HubSpot (its ledger)")
    tasks.add_argument("--json", action="store_true", help="machine-readable output")
    tasks.add_argument(
        "--state", choices=["pending", "open", "closed", "completed_in_hubspot", "dismissed"], action="append",
        help="only these states (repeatable): pending (written to HubSpot but not yet confirmed: the next run settles it), open in HubSpot, closed by the worker, completed or deleted (dismissed) by a person",
    )
    panel = command(commands, "panel", help="the renewals panel: a read-only web page over the cache (default http://127.0.0.1:8765)")
    panel.add_argument(
        "--bind", metavar="HOST:PORT", default="127.0.0.1:8765", type=_bind,
        help="where to listen (default 127.0.0.1:8765; port 0: any free port); any other than loopback needs RENEWAL_WORKER_PANEL_AUTH",
    )
    command(commands, "run", help="the daemon: scheduled sync, rules and tasks until SIGTERM (see [schedule])")
    command(commands, "check", help="health check for containers: exit 0 if a daemon's heartbeat is fresh and the last run did not fail")
    command(commands, "check-access",
        help="preflight for a new token and config, read-only: one line per capability; exit 0 when the worker can run, 1 otherwise",
    )
    return parser


def command(commands: Any, name: str, help: str, **kwargs: Any) -> argparse.ArgumentParser:  # noqa: A002 - argparse's word
    """A command whose ``--help`` opens with what it does (its one-line help, unless it has more to say)."""
    return commands.add_parser(name, help=help, description=kwargs.pop("description", help[0].upper() + help[1:] + "."), **kwargs)


def _with_parents(shared: argparse.ArgumentParser) -> type[argparse.ArgumentParser]:
    class CommandParser(argparse.ArgumentParser):
        def __init__(self, *args: Any, **kwargs: Any):
            kwargs.setdefault("parents", [shared])
            super().__init__(*args, **kwargs)

    return CommandParser
