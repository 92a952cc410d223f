"""Which object carries the renewals, and what every role's property is: the plan ``init`` shows
and writes. Pure, from what ``discover.py`` read.

An object type can carry renewals when the token reads it, it holds records, its records are
tied to companies and one of its properties is a renewal date. Among those, the one whose
properties best fit the roles is proposed for ``[subscriptions]`` (HubSpot subscriptions of the
clients), and a second one that is about services (HubSpot's services or partner services, or
an object that says so in its name) for ``[services]`` (the partner's own contracts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from integrations.hubspot.objects import object_type_name
from integrations.hubspot.types import AssociationLabel
from worker.config_sections import ServiceProperties, SubscriptionProperties
from worker.onboarding.discover import Discovery, ObjectFindings
from worker.onboarding.propose import ROLES, Proposal, cancelled_statuses, communication_values, propose, words_of

SUBSCRIPTION_ROLES = tuple(role for role in ROLES if role.key in SubscriptionProperties.model_fields)
SERVICE_ROLES = tuple(role for role in ROLES if role.key in ServiceProperties.model_fields)
# How much each role says that an object carries renewals (the renewal date above all).
_WEIGHTS = {"renewal_date": 3.0, "current_price": 1.0, "renewal_price": 1.0, "products": 1.0, "deadline": 1.0,
            "communication_owner": 1.0, "contact_tier": 1.0}
_SERVICE_TYPES = {"services", "partner_services"}
PRIMARY_WORDS = ("primary", "principal", "main", "primario")


@dataclass(frozen=True)
class SourcePlan:
    """One kind of renewal: where it is read from, each role's property and the option values."""

    section: str  # subscriptions | services
    found: ObjectFindings
    proposals: tuple[Proposal, ...]
    values: Mapping[str, object]  # [section.values] keys it could tell from the options
    fit: float


@dataclass(frozen=True)
class InitPlan:
    subscriptions: SourcePlan | None
    services: SourcePlan | None
    candidates: tuple[ObjectFindings, ...]  # every object that could carry renewals, best first
    association_label: str | None  # the primary contact's label; None: none recognised


def is_about_services(found: ObjectFindings) -> bool:
    return object_type_name(found.object_type) in _SERVICE_TYPES or " servic" in words_of(found.label)


def source_plan(found: ObjectFindings, section: str) -> SourcePlan:
    """The proposals for ``found`` read as ``section``; fit 0 when it cannot carry renewals."""
    roles = SUBSCRIPTION_ROLES if section == "subscriptions" else SERVICE_ROLES
    proposals = tuple(propose(found.definitions, found.samples, roles))
    by_role = {p.role: p for p in proposals}
    definitions = {d.name: d for d in found.definitions}
    values: dict[str, object] = {}
    if section == "subscriptions":
        chosen = definitions.get(by_role["communication_owner"].name or "")
        for meaning, value in communication_values(chosen).items():
            values[f"communication_owner_{meaning}"] = value
    cancelled = cancelled_statuses(definitions.get(by_role["status"].name or ""))
    if cancelled:
        values["cancelled_statuses"] = cancelled
    return SourcePlan(section, found, proposals, values, _fit(found, by_role))


def _fit(found: ObjectFindings, by_role: Mapping[str, Proposal]) -> float:
    if not found.readable or not found.count or not found.with_company or by_role["renewal_date"].name is None:
        return 0.0
    weights = {role: weight for role, weight in _WEIGHTS.items() if role in by_role}
    roles_fit = sum(weight * by_role[role].sureness for role, weight in weights.items()) / sum(weights.values())
    return round(roles_fit * found.with_company / max(found.sampled, 1), 3)


def plan(discovery: Discovery) -> InitPlan:
    as_subscriptions = {f.object_type: source_plan(f, "subscriptions") for f in discovery.readable}
    usable = sorted((p for p in as_subscriptions.values() if p.fit > 0), key=lambda p: (-p.fit, p.found.object_type))
    # HubSpot subscriptions are the clients'; the partner's services are the second kind. An
    # object about services carries the subscriptions only when nothing else does.
    subscriptions = next((p for p in usable if not is_about_services(p.found)), usable[0] if usable else None)
    services = None
    for candidate in usable:
        if candidate is not subscriptions and is_about_services(candidate.found):
            services = source_plan(candidate.found, "services")
            break
    return InitPlan(subscriptions, services, tuple(p.found for p in usable), primary_label(discovery.contact_labels))


def primary_label(labels: tuple[AssociationLabel, ...]) -> str | None:
    """The company → contact label that names the primary contact: the portal's own one when it
    has one ("Contacto principal"), else HubSpot's built-in "Primary"."""
    named = [label for label in labels if label.label and any(f" {w}" in words_of(label.label) for w in PRIMARY_WORDS)]
    own = [label for label in named if label.category != "HUBSPOT_DEFINED"]
    chosen = (own or named)[:1]
    return chosen[0].label if chosen else None
