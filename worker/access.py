"""``renewal-worker check-access``: can this token and this config run the worker? Read-only.

One line per capability, from one or a few calls each: read companies, contacts, owners and the
configured subscription object type; the primary-contact association label; every mapped
property exists on its object with a type the rules can read (a typo gets "did you mean …?");
and the tasks, as far as that can be told without writing one. It never writes to HubSpot.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from integrations.hubspot.errors import AuthFailed, Forbidden, HubSpotError, NotFound
from integrations.hubspot.gateway import HubSpotGateway
from worker.sync.normalize import CONTACT_PROPERTIES
from worker.usage.measure import Client, WrongPortal, client_gateway, portal_id_of, read_portal, read_token
from worker.settings import ServiceSettings, Settings, SubscriptionSettings

OK, MISSING_SCOPE, NOT_FOUND, WRONG_TYPE, UNKNOWN = "ok", "missing scope", "not found", "wrong type", "unverified"
REVOKED, WRONG_PORTAL = "revoked", "wrong portal"

# What the rules read each mapped property as, and the HubSpot types that hold it.
_READABLE_AS = {
    "renewal_date": ("a date", {"date", "datetime"}),
    "deadline": ("a date", {"date", "datetime"}),
    "current_price": ("a number", {"number"}),
    "renewal_price": ("a number", {"number"}),
    "contact_tier": ("a number", {"number"}),
    "contacts_used": ("a number", {"number"}),
    "emails_sent": ("a number", {"number"}),
    "discount_percent": ("a number", {"number"}),
    "discount_end_date": ("a date", {"date", "datetime"}),
}
# HubSpot's specs list tasks under the contacts scopes: reading them back and writing them.
TASK_WRITE_SCOPE = "crm.objects.contacts.write"


@dataclass(frozen=True)
class AccessLine:
    capability: str
    status: str  # ok | missing scope | not found | wrong type | unverified | revoked | wrong portal
    detail: str = ""
    # A client portal that cannot be read is that client's finding, not a reason not to run.
    blocking: bool = True

    @property
    def blocks(self) -> bool:
        """Whether the worker cannot run with this as it is."""
        return self.blocking and self.status not in {OK, UNKNOWN}

    def __str__(self) -> str:
        return f"{self.status:<13} {self.capability}" + (f": {self.detail}" if self.detail else "")


def check_access(gateway: HubSpotGateway, settings: Settings) -> list[AccessLine]:
    lines = [
        _probe("read owners", lambda: gateway.list_owners(limit=1)),
        _probe("read companies", lambda: gateway.list_objects("companies", ["name"], limit=1)),
        _probe("read contacts", lambda: gateway.list_objects("contacts", list(CONTACT_PROPERTIES[:1]), limit=1)),
    ]
    for source in settings.renewal_sources:
        lines.append(_probe(
            f"read {_SECTION[source.kind]} ({source.object_type})",
            lambda object_type=source.object_type: gateway.list_objects(object_type, [], limit=1),
            section=_SECTION[source.kind],
        ))
    lines.append(_association_label(gateway, settings.primary_contact.association_label))
    for source in settings.renewal_sources:
        lines.extend(_properties(gateway, source))
    tasks = _probe("read tasks", gateway.read_any_task)
    lines.append(tasks)
    if tasks.status == OK:
        lines.extend(_task_properties(gateway, settings.reminders.task_properties))
        lines.append(AccessLine(
            "create and update tasks", UNKNOWN,
            f"cannot be verified without writing one: the token needs {TASK_WRITE_SCOPE}; a property the portal's rules "
            "require on tasks is named by the first refused create, which stops the run",
        ))
    if settings.client_portals is not None:
        lines.extend(client_portal_lines(gateway, settings))
    return lines


def client_portal_lines(gateway: HubSpotGateway, settings: Settings, *, gateway_for: Callable[..., HubSpotGateway] = client_gateway) -> list[AccessLine]:
    """[client_portals]: the company property holding each client's portal id, then one line per
    token file (ok / revoked / missing scope / wrong portal), from reads only."""
    portals = settings.client_portals
    assert portals is not None
    prop = portals.portal_id_property
    lines = [_company_property(gateway, prop)]
    folder = Path(portals.tokens_dir)
    if not folder.is_dir():
        return lines + [AccessLine("client portals", NOT_FOUND, f"[client_portals] tokens_dir {folder} is not a folder", blocking=False)]
    files = sorted(folder.glob("*.token"))
    if not files:
        return lines + [AccessLine("client portals", UNKNOWN, f"no <portal id>.token file in {folder} yet", blocking=False)]
    now = datetime.now(timezone.utc)
    for path in files:
        portal_id = portal_id_of(path.stem)
        capability = f"client portal {path.stem}"
        if portal_id is None:
            lines.append(AccessLine(capability, NOT_FOUND, f"{path.name}: the file name must be a HubSpot portal id (digits).token", blocking=False))
            continue
        token, problem = read_token(portals, portal_id)
        if token is None:
            lines.append(AccessLine(capability, NOT_FOUND, problem, blocking=False))
            continue
        client = gateway_for(portals, token)
        try:
            # The reading a run makes (its estimates aside): what check-access vouches for.
            read_portal(client, Client("", portal_id), now, settings.tz, first=False)
            lines.append(AccessLine(capability, OK, "contacts and marketing emails readable", blocking=False))
        except WrongPortal as exc:
            lines.append(AccessLine(capability, WRONG_PORTAL, f"the token answers for portal {exc.answered}", blocking=False))
        except AuthFailed:
            lines.append(AccessLine(capability, REVOKED, "the service key was rejected (401): create a new one in that portal", blocking=False))
        except Forbidden as exc:
            lines.append(AccessLine(capability, MISSING_SCOPE, ", ".join(exc.missing_scopes) or "HubSpot did not name it", blocking=False))
        except HubSpotError as exc:
            lines.append(AccessLine(capability, UNKNOWN, f"not answered: {type(exc).__name__}", blocking=False))
        finally:
            client.close()
    return lines


def _company_property(gateway: HubSpotGateway, name: str) -> AccessLine:
    capability = f"[client_portals] portal_id_property = {name!r}"
    try:
        types = gateway.property_types("companies")
    except Forbidden as exc:
        return AccessLine(capability, MISSING_SCOPE, ", ".join(exc.missing_scopes))
    if name in types:
        return AccessLine(capability, OK)
    return AccessLine(capability, NOT_FOUND, f"companies have no such property{_did_you_mean(name, list(types))}")


def _task_properties(gateway: HubSpotGateway, fixed: dict[str, str]) -> list[AccessLine]:
    """Each property ``[reminders.task_properties]`` sets on new tasks exists on tasks."""
    if not fixed:
        return []
    try:
        types = gateway.property_types("tasks")
    except Forbidden as exc:
        return [AccessLine("properties of tasks", MISSING_SCOPE, ", ".join(exc.missing_scopes))]
    return [
        AccessLine(f"[reminders.task_properties] {name}", OK) if name in types
        else AccessLine(f"[reminders.task_properties] {name}", NOT_FOUND, f"tasks have no such property{_did_you_mean(name, list(types))}")
        for name in fixed
    ]


# The config section of each kind of renewal.
_SECTION = {"subscription": "subscriptions", "service": "services"}


def _probe(capability: str, call: Callable[[], object], *, section: str = "subscriptions") -> AccessLine:
    try:
        call()
    except Forbidden as exc:
        return AccessLine(capability, MISSING_SCOPE, ", ".join(exc.missing_scopes) or "HubSpot did not name it")
    except NotFound:
        return AccessLine(capability, NOT_FOUND, f"HubSpot knows no such object type: check [{section}] object_type")
    return AccessLine(capability, OK)


def _association_label(gateway: HubSpotGateway, label: str) -> AccessLine:
    capability = f'primary contact label "{label}"'
    try:
        specs = gateway.association_labels("companies", "contacts")
    except Forbidden as exc:
        return AccessLine(capability, MISSING_SCOPE, ", ".join(exc.missing_scopes))
    names = [spec.label for spec in specs if spec.label]
    if any(name.casefold() == label.casefold() for name in names):
        return AccessLine(capability, OK)
    return AccessLine(capability, NOT_FOUND, f"no company-to-contact label has this name{_did_you_mean(label, names)}")


def _properties(gateway: HubSpotGateway, source: SubscriptionSettings | ServiceSettings) -> list[AccessLine]:
    sub_type = source.object_type
    mapping = source.properties.model_dump()
    try:
        types = gateway.property_types(sub_type)
    except Forbidden as exc:
        return [AccessLine(f"properties of {sub_type}", MISSING_SCOPE, ", ".join(exc.missing_scopes))]
    except NotFound:
        return [AccessLine(f"properties of {sub_type}", NOT_FOUND, "HubSpot knows no such object type")]
    lines = []
    for key, name in mapping.items():
        if not name:
            continue  # an optional property left unmapped
        capability = f"[{_SECTION[source.kind]}.properties] {key} = {name!r}"
        if name not in types:
            lines.append(AccessLine(capability, NOT_FOUND, f"{sub_type} has no such property{_did_you_mean(name, list(types))}"))
            continue
        wanted, accepted = _READABLE_AS.get(key, (None, set()))
        if wanted and types[name] not in accepted:
            lines.append(AccessLine(capability, WRONG_TYPE, f"it is a {types[name]} property; the rules read it as {wanted}"))
            continue
        lines.append(AccessLine(capability, OK))
    return lines


def _did_you_mean(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f": did you mean {close[0]!r}?" if close else ""


def run_with_own_gateway(settings: Settings) -> tuple[bool, list[str]]:
    """``run`` through a gateway of its own, closed after (the command, and ``init``'s last step)."""
    from worker.cycle import build_gateway

    gateway = build_gateway(settings)
    try:
        return run(settings, gateway)
    finally:
        gateway.close()


def run(settings: Settings, gateway: HubSpotGateway) -> tuple[bool, list[str]]:
    """(the worker can run, the lines to print). A token HubSpot rejects outright is one line."""
    try:
        lines = check_access(gateway, settings)
    except HubSpotError as exc:
        from worker.cycle import explain

        return False, [f"{'failed':<13} {explain(exc, settings)}"]
    return not any(line.blocks for line in lines), [str(line) for line in lines]
