"""``renewal-worker check-access``: can this token and this config run the worker? Read-only.

One line per capability, from one or a few calls each: read companies, contacts, owners and the
configured subscription object type; the primary-contact association label; every mapped
property exists on its object with a type the rules can read (a typo gets "did you mean …?");
and the tasks, as far as that can be told without writing one. It never writes to HubSpot.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Callable

from integrations.hubspot.errors import Forbidden, HubSpotError, NotFound
from integrations.hubspot.gateway import HubSpotGateway
from worker.normalize import CONTACT_PROPERTIES
from worker.settings import ServiceSettings, Settings, SubscriptionSettings

OK, MISSING_SCOPE, NOT_FOUND, WRONG_TYPE, UNKNOWN = "ok", "missing scope", "not found", "wrong type", "unverified"

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
    status: str  # ok | missing scope | not found | wrong type | unverified
    detail: str = ""

    @property
    def blocks(self) -> bool:
        """Whether the worker cannot run with this as it is."""
        return self.status not in {OK, UNKNOWN}

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
    tasks = _probe("read tasks", lambda: gateway.list_objects("tasks", ["hs_task_subject"], limit=1))
    lines.append(tasks)
    if tasks.status == OK:
        lines.extend(_task_properties(gateway, settings.reminders.task_properties))
        lines.append(AccessLine(
            "create and update tasks", UNKNOWN,
            f"cannot be verified without writing one: the token needs {TASK_WRITE_SCOPE}; a property the portal's rules "
            "require on tasks is named by the first refused create, which stops the run",
        ))
    return lines


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


def run(settings: Settings, gateway: HubSpotGateway) -> tuple[bool, list[str]]:
    """(the worker can run, the lines to print). A token HubSpot rejects outright is one line."""
    try:
        lines = check_access(gateway, settings)
    except HubSpotError as exc:
        from worker.cycle import explain

        return False, [f"{'failed':<13} {explain(exc, settings)}"]
    return not any(line.blocks for line in lines), [str(line) for line in lines]
