"""Which of a portal's properties plays each role the worker reads: the proposals ``renewal-worker
init`` will show (issue 22; the command that asks, writes the config and runs check-access is
``init.py``; which object carries the renewals is ``choose.py``).

Pure: from the properties API's definitions (name, label, type, description, options) and a few
sample values, a proposal per role with how sure it is and why, in English or Spanish portals.
A role's property must have the type the rules read (a renewal date is a date, a price a number);
among those, names, labels and descriptions that say the role's words win, and sample values that
look right (currency codes, links) add to it. One property plays one role.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from integrations.hubspot.types import PropertyDefinition

DATES = frozenset({"date", "datetime"})
NUMBERS = frozenset({"number"})
TEXT = frozenset({"string", "enumeration"})


@dataclass(frozen=True)
class Role:
    """A role and how to recognise its property: the types it may have, and word groups of which
    each one matched adds to the score (every group matched: a sure proposal)."""

    key: str
    types: frozenset[str]
    groups: tuple[tuple[str, ...], ...]
    avoid: tuple[str, ...] = ()  # words that say it is another role's property
    what: str = ""  # what to look for, in the config file's comment when nothing fits


ROLES: tuple[Role, ...] = (
    # A date role's property is a date already (its type says so): its words need only say which.
    Role("renewal_date", DATES, (("renewal", "renovacion", "renueva", "renov"),),
         ("deadline", "tope", "discount", "descuento", "end", "fin", "notice", "preaviso", "limite", "cancel",
          "last", "previous", "ultima", "anterior", "first", "primera", "start", "inicio"),
         "a date property: the day the subscription renews"),
    Role("deadline", DATES, (("deadline", "tope", "notice", "preaviso", "cancel", "limite"),), ("discount", "descuento"),
         "a date property: the last day to cancel or renegotiate"),
    Role("products", TEXT, (("product", "producto", "hub", "service", "servicio", "name", "nombre"),), ("currency", "moneda", "divisa", "owner", "propietario", "manager", "stage", "status", "estado"),
         "the products that renew (text or multiple choice)"),
    Role("current_price", NUMBERS, (("price", "precio", "amount", "importe", "mrr", "cuota", "fee", "tarifa"), ("current", "actual", "now", "monthly", "mensual", "vigente")), ("renewal", "renov", "discount", "descuento"),
         "a number: the monthly price the client pays now"),
    Role("renewal_price", NUMBERS, (("price", "precio", "amount", "importe", "cuota", "fee", "tarifa", "mrr"), ("renewal", "renov", "new", "nuevo")), ("discount", "descuento"),
         "a number: the monthly price after the renewal"),
    Role("currency", TEXT, (("currency", "moneda", "divisa"),), (), "the price's currency (an ISO 4217 code)"),
    Role("communication_owner", frozenset({"enumeration", "string"}), (("communication", "comunicacion", "comunica"), ("owner", "responsable", "who", "quien")), (),
         "who talks to the client about the renewal: HubSpot or the partner (a choice)"),
    Role("contact_tier", NUMBERS, (("tier", "nivel", "limit", "limite"), ("contact", "contacto")), ("used", "usados"),
         "a number: the contacts the subscription's tier includes"),
    Role("contacts_used", NUMBERS, (("contact", "contacto"), ("used", "usados", "count", "numero")), ("tier", "nivel"),
         "a number: the marketing contacts in use"),
    Role("emails_sent", NUMBERS, (("email", "correo", "mail"), ("sent", "enviados", "month", "mes")), (),
         "a number: marketing emails sent this month"),
    Role("status", frozenset({"enumeration"}), (("stage", "status", "estado", "etapa", "fase"),), ("communication", "comunicacion"),
         "the record's stage or status (a choice)"),
    Role("owner", frozenset({"enumeration", "string"}), (("owner", "propietario"),), ("communication", "comunicacion", "renewal", "manager"),
         "the record's owner (HubSpot owner)"),
    Role("discount_percent", NUMBERS, (("discount", "descuento"), ("percent", "porcentaje", "%")), ("end", "fin"), "a number: the discount in percent"),
    Role("discount_end_date", DATES, (("discount", "descuento"), ("end", "fin", "until", "hasta", "expires")), (), "a date: when the discount ends"),
    Role("renewal_manager", frozenset({"string", "enumeration"}), (("manager", "manager", "gestor", "mánager"), ("renewal", "renovacion")), (),
         "text: HubSpot's renewal manager assigned to the partner"),
    Role("renewal_options_url", frozenset({"string"}), (("option", "opcion", "quote", "presupuesto"), ("url", "link", "enlace", "renewal", "renovacion")), (),
         "text: the link to the client's renewal options"),
)
ROLE_KEYS = tuple(role.key for role in ROLES)
SURE, LIKELY = 0.8, 0.5


@dataclass(frozen=True)
class Proposal:
    role: str
    name: str | None  # the property proposed; None: nothing fits
    sureness: float  # 0..1
    evidence: str  # label, type and sample values, for a person to judge
    alternatives: tuple[str, ...] = ()  # the next candidates, best first


def words_of(*texts: str) -> str:
    """Lower-case words without accents, separators as spaces: 'Fecha_de renovación' → 'fecha de renovacion'."""
    joined = " ".join(texts)
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", joined) if not unicodedata.combining(ch))
    return " " + " ".join(re.split(r"[^a-z0-9%]+", plain.casefold())) + " "


def score(role: Role, definition: PropertyDefinition, samples: Sequence[str] = ()) -> float:
    if definition.type not in role.types:
        return 0.0
    text = words_of(definition.name, definition.label, definition.description)
    # Each group's first words are its surest: "product" says more than "name".
    hits = [next((index for index, word in enumerate(group) if f" {word}" in text), None) for group in role.groups]
    matched = [index for index in hits if index is not None]
    if not matched:
        return 0.0
    value = 0.9 * len(matched) / len(role.groups) - 0.02 * sum(matched)
    if any(f" {word}" in text for word in role.avoid):
        value -= 0.4
    value += 0.1 * _samples_fit(role.key, samples)
    return max(0.0, min(value, 1.0))


def _samples_fit(role: str, samples: Sequence[str]) -> float:
    shown = [s for s in samples if s]
    if not shown:
        return 0.0
    checks = {
        "currency": lambda s: bool(re.fullmatch(r"[A-Z]{3}", s.strip())),
        "renewal_options_url": lambda s: s.startswith(("https://", "http://")),
    }
    check = checks.get(role)
    # Only values that say the role (a currency code, a link) count: any date property holds
    # dates, so dates would promote a delivery date to a renewal date.
    return 0.0 if check is None else sum(1 for s in shown if check(s)) / len(shown)


def propose(
    definitions: Iterable[PropertyDefinition], samples: Mapping[str, Sequence[str]], roles: Sequence[Role] = ROLES
) -> list[Proposal]:
    """A proposal per role, each property playing one role at most (the best-scored pairs first)."""
    definitions = list(definitions)
    scored = sorted(
        ((score(role, d, samples.get(d.name, ())), role.key, d.name) for role in roles for d in definitions),
        key=lambda item: (-item[0], ROLE_KEYS.index(item[1]) if item[1] in ROLE_KEYS else 99, item[2]),
    )
    by_name = {d.name: d for d in definitions}
    chosen: dict[str, tuple[str, float]] = {}
    taken: set[str] = set()
    for value, role, name in scored:
        # Below "likely" (half a role's words): an alternative to show, never a proposal.
        if value < LIKELY or role in chosen or name in taken:
            continue
        chosen[role] = (name, value)
        taken.add(name)
    proposals = []
    for role in roles:
        ranked = [name for value, key, name in scored if key == role.key and value > 0]
        if role.key not in chosen:
            proposals.append(Proposal(role.key, None, 0.0, f"nothing fits: look for {role.what}", tuple(ranked[:3])))
            continue
        name, value = chosen[role.key]
        definition = by_name[name]
        shown = ", ".join(repr(s) for s in list(samples.get(name, ()))[:3]) or "no sample value"
        evidence = f"{definition.label!r} ({definition.type}); samples: {shown}"
        proposals.append(Proposal(role.key, name, round(value, 2), evidence, tuple(n for n in ranked if n != name)[:3]))
    return proposals


HUBSPOT_WORDS = ("hubspot",)
PARTNER_WORDS = ("partner", "socio", "agency", "agencia")
CANCELLED_WORDS = ("cancel", "lost", "perdid", "churn", "baja", "closed lost")


def communication_values(definition: PropertyDefinition | None) -> dict[str, str]:
    """The option values that mean HubSpot and the partner communicate (from the options' labels
    and values); empty for a role with no options."""
    found: dict[str, str] = {}
    for option in definition.options if definition else ():
        text = words_of(option.value, option.label)
        if "hubspot" not in found and any(f" {w}" in text for w in HUBSPOT_WORDS):
            found["hubspot"] = option.value
        elif "partner" not in found and any(f" {w}" in text for w in PARTNER_WORDS):
            found["partner"] = option.value
    return found


def cancelled_statuses(definition: PropertyDefinition | None) -> tuple[str, ...]:
    """The status options that mean the renewal will not happen (cancelled, lost)."""
    return tuple(
        option.value for option in (definition.options if definition else ())
        if any(word in words_of(option.value, option.label) for word in CANCELLED_WORDS)
    )
