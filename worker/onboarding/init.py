"""``renewal-worker init``: discover the portal, propose, ask, write the config, check access.

Reads HubSpot only (a few calls per object type); writes one file, the config, and only once
what it wrote has passed the same validation every command applies (a temporary file beside it,
then an atomic rename: an interrupted ``init`` leaves the old file as it was). Every failure is
one line and nothing written.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable, Mapping

from integrations.hubspot.errors import HubSpotError
from integrations.hubspot.gateway import HubSpotGateway
from worker.onboarding.choose import plan
from worker.onboarding.config_file import updated_config
from worker.onboarding.discover import Discovery, discover
from worker.errors import FixTheConfig
from worker.onboarding.interview import Ask, Say, settle
from worker.safe_text import for_terminal
from worker.settings import ConfigError, Settings, load_settings

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


@dataclass(frozen=True)
class InitRun:
    """Where ``init`` writes and how it talks; the settings it was started with give the
    portal's address, the token and the database."""

    path: Path
    ask: Ask | None  # None: --yes, every proposal accepted
    say: Say
    complain: Say  # the one line a failure ends with (stderr)
    today: date
    environ: Mapping[str, str]
    # The written config as the commands will read it (the demo points it at its sandbox).
    reload: Callable[[Path], Settings]
    next_command: str


class InitFailed(FixTheConfig):
    """Nothing was written; the message says why, in one line."""


def run(init: InitRun, settings: Settings, gateway: HubSpotGateway) -> int:
    try:
        discovery = discover(gateway)
    except HubSpotError as exc:
        from worker.cycle import explain

        return _fail(init, f"cannot look at the portal: {explain(exc, settings)}")
    _show_discovery(discovery, init.say)
    proposal = plan(discovery)
    if not discovery.readable:
        return _fail(init, "the token can read none of the objects that carry renewals; grant it one of the scopes above and run init again")
    if proposal.subscriptions is None:
        return _fail(init, _no_candidate(discovery))
    try:
        choices = settle(proposal, init.ask, init.say)
    except EOFError:
        return _fail(init, "stopped before the end (input closed); nothing was written")
    existing = init.path.read_text(encoding="utf-8") if init.path.exists() else ""
    try:
        _write_checked(init.path, updated_config(existing, choices, init.today), init.environ)
    except InitFailed as exc:
        return _fail(init, str(exc), EXIT_CONFIG)
    init.say("")
    init.say(f"Wrote {init.path}.")
    return _check_access(init)


def _show_discovery(discovery: Discovery, say: Say) -> None:
    say("What this token can read:")
    for found in discovery.objects:
        if found.problem:
            state = found.problem
        elif not found.count:
            state = "no records"
        else:
            state = f"{found.count} records, {found.with_company} of {found.sampled} looked at tied to a company"
        say(f"  {for_terminal(found.label):<44} {found.object_type:<18} {for_terminal(state)}")
    for note in discovery.notes:
        say(f"  ({for_terminal(note)})")


def _no_candidate(discovery: Discovery) -> str:
    return (
        "no object in this portal carries renewals: none has records tied to companies with a property that names a "
        "renewal date (a date whose name or label says renewal, renovación). Create that property on the object that "
        "holds the clients' subscriptions, or set [subscriptions] by hand (config.example.toml)"
    )


def _write_checked(path: Path, text: str, environ: Mapping[str, str]) -> None:
    """Write ``text`` to ``path`` only if the commands would accept it."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InitFailed(f"cannot write {path}: the folder {folder} does not exist")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        try:
            load_settings(temporary, environ, require_token=False)
        except ConfigError as exc:
            raise InitFailed(f"the config init would write is refused ({exc}); {path} was left as it was") from None
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)


def _check_access(init: InitRun) -> int:
    from worker import access

    try:
        settings = init.reload(init.path)
    except ConfigError as exc:
        return _fail(init, f"{init.path} was written but cannot be read back: {exc}", EXIT_CONFIG)
    init.say("")
    init.say("check-access with the new config:")
    ok, lines = access.run_with_own_gateway(settings)
    for line in lines:
        init.say(f"  {for_terminal(line)}")
    init.say("")
    if ok:
        init.say(f"Next, see what the worker would do (it writes nothing to HubSpot): {init.next_command}")
        return EXIT_OK
    init.say(f"Fix what check-access reports above (the config is in {init.path}), then: {init.next_command}")
    return EXIT_FAILED


def _fail(init: InitRun, message: str, code: int = EXIT_FAILED) -> int:
    init.complain(f"renewal-worker init: {for_terminal(message)}")
    return code
