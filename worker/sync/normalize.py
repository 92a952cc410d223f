"""HubSpot's raw property strings → typed cache columns, plus a finding for every value that
doesn't parse. Pure functions: no I/O, no clock.

A malformed value never aborts a sync: the typed column stays empty, the raw value is kept in
the row's ``properties``, and a ``DataProblem`` tells the partner what to fix and where.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

from integrations.hubspot.pipelines import pipeline_property
from integrations.hubspot.types import CrmRecord, Owner
from worker.settings import ServiceSettings, SubscriptionSettings

MAX_SHOWN_VALUE = 200  # a finding quotes at most this much of a bad value
# ASCII digits only: Python's \d, int() and Decimal() also read "２０２６" (full-width) and other
# scripts' digits, which a person typed by mistake and a spreadsheet would not read as a number.
_PLAIN_DECIMAL = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")
# The cache's integer columns are 32-bit on PostgreSQL: a count beyond that is not a count.
MAX_COUNT = 2_147_483_647
# A monthly price beyond a trillion is a typo or hostile, and would not survive float reports.
MAX_PRICE = Decimal("1e12")


@dataclass(frozen=True)
class DataProblem:
    rule: str  # data.malformed_value | data.missing_value | data.unknown_value | ...
    field: str
    value: str | None
    message: str


def _shown(raw: str | None) -> str | None:
    if raw is None:
        return None
    return raw if len(raw) <= MAX_SHOWN_VALUE else raw[:MAX_SHOWN_VALUE] + "…"


def parse_date(raw: str | None) -> tuple[date | None, str | None]:
    """HubSpot date properties arrive as YYYY-MM-DD, as ISO datetimes or (older portals) as
    epoch milliseconds at midnight UTC. Returns (date, None) or (None, why)."""
    if raw is None or not raw.strip():
        return None, None
    text = raw.strip()
    if not text.isascii():
        return None, "not a valid date (expected YYYY-MM-DD)"
    if text.isdigit():
        try:
            return datetime.fromtimestamp(int(text) / 1000, tz=timezone.utc).date(), None
        except (OverflowError, OSError, ValueError):
            return None, "not a valid date (epoch milliseconds out of range)"
    try:
        if len(text) == 10:
            return date.fromisoformat(text), None
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc).date(), None
    except ValueError:
        return None, "not a valid date (expected YYYY-MM-DD)"
    except OverflowError:
        # 0001-01-01T00:00:00+05:00 is before year 1 in UTC; 9999-12-31T23:00-05:00 after 9999.
        return None, "not a valid date (out of range)"


def parse_money(raw: str | None) -> tuple[Decimal | None, str | None]:
    if raw is None or not raw.strip():
        return None, None
    text = raw.strip()
    if not _PLAIN_DECIMAL.match(text):
        # '1.234,50' could mean 1234.50 or 1.23450: guessing a price is worse than asking.
        return None, "not a plain number (use digits and a dot for decimals, e.g. 1234.50)"
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None, "not a number"
    if value.is_signed():  # "-0" too: a sign on a price is a typo, not a free renewal
        return None, "a negative price"
    if value >= MAX_PRICE:
        return None, "out of range (a trillion or more)"
    return value, None


def parse_percent(raw: str | None) -> tuple[Decimal | None, str | None]:
    """A discount in percent: a plain number from 0 to 100 (a trailing % is accepted)."""
    if raw is None or not raw.strip():
        return None, None
    value, why = parse_money(raw.strip().removesuffix("%").strip())
    if why:
        return None, why.replace("a negative price", "a negative percentage")
    if value is not None and value > 100:
        return None, "out of range (more than 100 %)"
    return value, None


def parse_link(raw: str | None) -> tuple[str | None, str | None]:
    """A link people will click in a task or the panel: an https:// URL with a host, nothing
    else (``javascript:``, ``http://``, spaces and control characters are refused)."""
    if raw is None or not raw.strip():
        return None, None
    text = raw.strip()
    parts = urlsplit(text)
    if parts.scheme != "https" or not parts.hostname or not text.isprintable() or " " in text or len(text) > 2000:
        return None, "not an https:// link"
    return text, None


def parse_count(raw: str | None) -> tuple[int | None, str | None]:
    if raw is None or not raw.strip():
        return None, None
    text = raw.strip()
    try:
        value = Decimal(text) if _PLAIN_DECIMAL.match(text) else None
    except InvalidOperation:
        value = None
    if value is None or value != value.to_integral_value():
        return None, "not a whole number"
    if value < 0:
        return None, "a negative count"
    if value > MAX_COUNT:
        return None, f"out of range (more than {MAX_COUNT:,})"
    return int(value), None


def storable(record: CrmRecord) -> tuple[CrmRecord, list[DataProblem]]:
    """The record with every value the database can store, and a finding per value that had to
    be cleaned. NUL characters are refused by PostgreSQL's text and JSON types (and a sign of
    a broken import): they are removed, never allowed to fail the page the record is on."""
    problems = [
        DataProblem("data.unstorable_value", name, _shown(value.replace("\x00", "\\0")), f"{name}: contains NUL characters (removed)")
        for name, value in record.properties.items()
        if value is not None and "\x00" in value
    ]
    if not problems:
        return record, []
    properties = {name: (value.replace("\x00", "") if value is not None else None) for name, value in record.properties.items()}
    return dataclasses.replace(record, properties=properties), problems


def _text(raw: str | None) -> str | None:
    if raw is None:
        return None
    text = raw.strip()
    return text or None


def company_row(record: CrmRecord) -> dict[str, Any]:
    props = record.properties
    return {
        "id": record.id,
        "name": _text(props.get("name")),
        "domain": _text(props.get("domain")),
        "owner_id": _text(props.get("hubspot_owner_id")),
        "properties": dict(props),
        "hs_created_at": record.created_at,
        "hs_updated_at": record.updated_at,
        "archived": record.archived,
        "archived_at": record.archived_at,
        "deleted_at": None,
    }


CONTACT_PROPERTIES = ("email", "firstname", "lastname", "hs_email_hard_bounce_reason_enum", "hs_email_optout")
# hs_all_owner_ids (every owner property's value, ";"-separated) and hubspot_team_id: the partner's
# people on the client, for the panel's client page; HubSpot's default company properties.
COMPANY_PROPERTIES = ("name", "domain", "hubspot_owner_id", "hs_all_owner_ids", "hubspot_team_id")


def email_problem(email: str | None) -> str | None:
    """None for a well-formed address; "missing" or "malformed" otherwise.

    Syntax only (email-validator, the library pydantic uses; no DNS lookups from a sync): an
    address HubSpot stored but no mail server would accept, such as "ana@" or "ana garcia@x.com".
    Judged once here, at the edge, so the rules compare a column instead of parsing addresses.
    """
    if email is None or not email.strip():
        return "missing"
    try:
        validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError:
        return "malformed"
    return None


def contact_row(record: CrmRecord) -> dict[str, Any]:
    props = record.properties
    opted_out = _text(props.get("hs_email_optout"))
    email = _text(props.get("email"))
    return {
        "id": record.id,
        "email": email,
        "email_problem": email_problem(email),
        "first_name": _text(props.get("firstname")),
        "last_name": _text(props.get("lastname")),
        "bounce_reason": _text(props.get("hs_email_hard_bounce_reason_enum")),
        "opted_out": None if opted_out is None else opted_out.lower() == "true",
        "properties": dict(props),
        "hs_created_at": record.created_at,
        "hs_updated_at": record.updated_at,
        "archived": record.archived,
        "archived_at": record.archived_at,
        "deleted_at": None,
    }


def owner_row(owner: Owner) -> dict[str, Any]:
    return {
        "id": owner.id,
        "email": owner.email,
        "first_name": owner.first_name,
        "last_name": owner.last_name,
        "user_id": owner.user_id,
        "active": not owner.archived,
        "teams": [{"id": team.id, "name": team.name, "primary": team.primary} for team in owner.teams],
        "hs_updated_at": owner.updated_at,
        "deleted_at": None,
    }


def subscription_properties(config: SubscriptionSettings | ServiceSettings) -> tuple[str, ...]:
    """Only the mapped properties (and the pipeline's where a pipeline is chosen): asking for
    more makes URLs long (HubSpot answers 414)."""
    names = [name for name in config.properties.model_dump().values() if name]
    if config.pipeline:
        names.append(pipeline_property(config.object_type))
    return tuple(dict.fromkeys(names))


def in_pipeline(record: CrmRecord, config: SubscriptionSettings | ServiceSettings) -> bool:
    """Whether a record is this kind of renewal: every record of the object type, or only those in
    the configured pipeline."""
    return not config.pipeline or record.properties.get(pipeline_property(config.object_type)) == config.pipeline


def subscription_row(
    record: CrmRecord, company_id: str | None, config: SubscriptionSettings | ServiceSettings
) -> tuple[dict[str, Any], list[DataProblem]]:
    """A renewal record of either kind as a cache row, and what is wrong with its values. A
    service contract has no communication owner, contact tier or usage (HubSpot's only)."""
    names = config.properties
    props = record.properties
    problems: list[DataProblem] = []

    def raw(field: str) -> str | None:
        name = getattr(names, field, "")
        return props.get(name) if name else None

    def check(field: str, parsed: tuple[Any, str | None]) -> Any:
        value, why = parsed
        if why:
            problems.append(
                DataProblem("data.malformed_value", field, _shown(raw(field)), f"{getattr(names, field)}: {why}")
            )
        return value

    renewal_date = check("renewal_date", parse_date(raw("renewal_date")))
    if renewal_date is None and not _text(raw("renewal_date")):
        problems.append(DataProblem("data.missing_value", "renewal_date", None, f"{names.renewal_date} is empty"))

    communication_owner = _text(raw("communication_owner"))
    owner_kind = None
    if communication_owner and isinstance(config, SubscriptionSettings):
        known = {
            config.values.communication_owner_hubspot.casefold(): "hubspot",
            config.values.communication_owner_partner.casefold(): "partner",
        }
        owner_kind = known.get(communication_owner.casefold())
    if communication_owner and owner_kind is None:
        problems.append(
            DataProblem(
                "data.unknown_value",
                "communication_owner",
                _shown(communication_owner),
                f"{names.communication_owner}: expected {config.values.communication_owner_hubspot!r} "
                f"or {config.values.communication_owner_partner!r}",
            )
        )
    if company_id is None:
        problems.append(
            DataProblem("data.not_associated", "company", None, f"the {config.noun} is not associated with any company")
        )

    row = {
        "id": record.id,
        "object_type": config.object_type,
        "company_id": company_id,
        "owner_id": _text(raw("owner")),
        "renewal_date": renewal_date,
        "deadline": check("deadline", parse_date(raw("deadline"))),
        "products": _text(raw("products")),
        "current_price": check("current_price", parse_money(raw("current_price"))),
        "renewal_price": check("renewal_price", parse_money(raw("renewal_price"))),
        "currency": _text(raw("currency")),
        "communication_owner": owner_kind,
        "contact_tier": check("contact_tier", parse_count(raw("contact_tier"))),
        "contacts_used": check("contacts_used", parse_count(raw("contacts_used"))),
        "emails_sent": check("emails_sent", parse_count(raw("emails_sent"))),
        "status": _text(raw("status")),
        "discount_percent": check("discount_percent", parse_percent(raw("discount_percent"))),
        "discount_end_date": check("discount_end_date", parse_date(raw("discount_end_date"))),
        "renewal_manager": _text(raw("renewal_manager")),
        "renewal_options_url": check("renewal_options_url", parse_link(raw("renewal_options_url"))),
        "properties": dict(props),
        "hs_created_at": record.created_at,
        "hs_updated_at": record.updated_at,
        "archived": record.archived,
        "archived_at": record.archived_at,
        "deleted_at": None,
    }
    return row, problems


def primary_contact_choice(
    candidates: list[tuple[str, datetime | None]],
) -> tuple[str | None, list[str]]:
    """Among contacts carrying the primary label, the earliest created wins (ties: lowest id).

    Returns (chosen id or None, all candidate ids in choice order).
    """
    ordered = sorted(
        candidates,
        key=lambda item: (item[1] or datetime.max.replace(tzinfo=timezone.utc), int(item[0]) if item[0].isdigit() else 0, item[0]),
    )
    ids = [contact_id for contact_id, _ in ordered]
    return (ids[0] if ids else None), ids

