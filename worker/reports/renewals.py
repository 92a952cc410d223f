"""``renewals``: upcoming renewals of both kinds, as ``--json`` (a stable document), CSV and a
table for people."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Mapping

from sqlalchemy import select
from sqlmodel import Session

from worker.cache.models import Finding
from worker.cache.portfolio import load_portfolio
from worker.rules import CompanyRow, Portfolio, RuleConfig, SubscriptionRow
from worker.rules.engine import active_renewals
from worker.rules.projection import WINDOW_DAYS as USAGE_WINDOW_DAYS
from worker.rules.projection import latest_measured, project
from worker.rules.renewal import notice_deadline, price_change_percent, usage_percent
from worker import words
from worker.labels import labels
from worker.safe_text import csv_cell
from worker.settings import Settings
from worker.reports.table import short_day, table

RENEWAL_COLUMNS = (
    "client", "communication_owner", "products", "deadline", "renewal_date", "days_left", "currency",
    "current_monthly_price", "renewal_monthly_price", "change_percent", "owner", "primary_contact_email", "open_findings",
)
# New columns go at the end of the CSV (after owner_id): a spreadsheet built on the old ones keeps working.
TIER_COLUMNS = ("contact_tier", "contacts_used", "contacts_usage_percent", "emails_sent", "emails_limit", "emails_usage_percent")
TERMS_COLUMNS = ("discount_percent", "discount_end_date", "renewal_manager", "renewal_options_url")
# Which kind of renewal a row is: "subscription" (a client's HubSpot subscription) or "service"
# (the partner's own service contract); ``subscription_id`` is then the service record's id.
KIND_COLUMNS = ("kind",)
# Tier usage measured in the client's own portal ([client_portals]): empty when not measured.
MEASURED_COLUMNS = ("measured_marketing_contacts", "measured_contacts", "measured_emails_sent_month", "measured_on", "projected_tier_reached_on")


def renewals_data(session: Session, settings: Settings, as_of: date, within_days: int) -> dict[str, Any]:
    """Upcoming renewals of both kinds (active HubSpot subscriptions, and service contracts where
    ``[services]`` is configured), soonest first: the partner dashboard's table, and more."""
    config = RuleConfig.from_settings(settings)
    portfolio = load_portfolio(
        session, services=settings.services is not None, with_usage=settings.client_portals is not None,
        usage_since=as_of - timedelta(days=USAGE_WINDOW_DAYS),
    )
    findings = open_findings(session)
    end = as_of + timedelta(days=within_days)
    rows = sorted(
        (
            renewal_row(sub, company, portfolio, findings, config, as_of)
            for sub, company in active_renewals(portfolio, as_of, config)
            if sub.renewal_date is not None and sub.renewal_date <= end
        ),
        key=renewal_order,
    )
    return {"as_of": as_of, "within_days": within_days, "renewals": rows}


def renewal_order(row: dict[str, Any]) -> tuple[Any, ...]:
    """Soonest first; a subscription and a service contract may share an id: the kind decides."""
    return (row["renewal_date"], row["subscription_id"], row["kind"])


def open_findings(session: Session) -> dict[tuple[str, str], list[str]]:
    """(object type, id) → the rules of its open findings."""
    found: dict[tuple[str, str], list[str]] = {}
    for rule, object_type, object_id in session.execute(
        select(Finding.rule, Finding.object_type, Finding.object_id).where(Finding.resolved_at.is_(None))  # type: ignore[union-attr]
    ):
        found.setdefault((object_type, object_id), []).append(rule)
    for rules in found.values():
        rules.sort()
    return found


def renewal_row(
    sub: SubscriptionRow, company: CompanyRow | None, portfolio: Portfolio, findings: Mapping[tuple[str, str], list[str]], config: RuleConfig, as_of: date
) -> dict[str, Any]:
    """One renewal as the reports show it (a row of ``renewals --json``)."""
    assert sub.renewal_date is not None
    owner_id = sub.owner_id or (company.owner_id if company else None)
    owner = portfolio.owners.get(owner_id or "")
    contact_id = portfolio.primary_contacts.get(sub.company_id or "")
    contact = portfolio.contacts.get(contact_id or "")
    deadline, source = notice_deadline(sub, config)
    change = (
        price_change_percent(sub.current_price, sub.renewal_price)
        if sub.current_price is not None and sub.renewal_price is not None
        else None
    )
    emails_limit = sub.contact_tier * config.emails_per_tier_contact if sub.contact_tier else None
    return {
        "subscription_id": sub.id,
        "kind": sub.kind,
        "company_id": sub.company_id,
        "client": company.name if company else None,
        "communication_owner": sub.communication_owner,
        "products": sub.products,
        "deadline": deadline,
        "deadline_source": source,
        "renewal_date": sub.renewal_date,
        "days_left": (sub.renewal_date - as_of).days,
        "currency": sub.currency,
        "current_monthly_price": _decimal(sub.current_price),
        "renewal_monthly_price": _decimal(sub.renewal_price),
        "change_percent": None if change is None else format(change, "f"),
        "owner": {"id": owner_id, "name": owner.name if owner else None, "active": bool(owner and owner.active)},
        "primary_contact_email": contact.email if contact else None,
        "open_findings": _merged(findings.get((sub.kind, sub.id)), findings.get(("company", sub.company_id or ""))),
        # The contact tier and its usage (emails: of 10 × the tier a month), in percent.
        "contact_tier": sub.contact_tier,
        "contacts_used": sub.contacts_used,
        "contacts_usage_percent": _decimal(usage_percent(sub.contacts_used, sub.contact_tier)),
        "emails_sent": sub.emails_sent,
        "emails_limit": emails_limit,
        "emails_usage_percent": _decimal(usage_percent(sub.emails_sent, emails_limit)),
        # What the partner negotiates with: a discount and its end, HubSpot's renewal manager,
        # the link to the client's renewal options (null when not recorded).
        "discount_percent": _decimal(sub.discount_percent),
        "discount_end_date": sub.discount_end_date,
        "renewal_manager": sub.renewal_manager,
        "renewal_options_url": sub.renewal_options_url,
        **_measured(portfolio.usage.get(sub.company_id or "", ()), sub, as_of),
    }


def _merged(own: list[str] | None, company: list[str] | None) -> list[str]:
    """The renewal's open findings and its company's, in order (each list comes sorted)."""
    if own and company:
        return sorted(own + company)
    return list(own or company or ())


def _measured(points: Any, sub: Any, as_of: date) -> dict[str, Any]:
    """What the client's own portal counted (the latest reading of the last week) and, with a
    history, the day the tier is reached at the current pace; nulls otherwise."""
    if sub.kind != "subscription":
        points = ()  # the contact tier is HubSpot's: a service contract has none
    latest = latest_measured(points, as_of) if points else None
    found = project(points, sub.contact_tier, as_of) if points and sub.contact_tier else None
    return {
        "usage_measured": None if latest is None else {
            "marketing_contacts": latest.marketing_contacts, "contacts": latest.contacts,
            "emails_sent_month": latest.emails_sent_month, "measured_on": latest.measured_on, "source": "client portal",
        },
        "usage_projection": None if found is None else {
            "marketing_contacts_per_month": found.per_month, "tier_reached_on": found.reach_on,
            "readings": found.readings, "since": found.first,
        },
    }


def _decimal(value: Decimal | None) -> str | None:
    """Prices and percentages as decimal strings in the reports (never floats)."""
    return None if value is None else format(value, "f")


def renewals_csv(data: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["subscription_id", "company_id", *RENEWAL_COLUMNS, "owner_id", *TIER_COLUMNS, *TERMS_COLUMNS, *KIND_COLUMNS, *MEASURED_COLUMNS])
    for row in data["renewals"]:
        measured, projection = row["usage_measured"] or {}, row["usage_projection"] or {}
        writer.writerow(
            csv_cell(cell)
            for cell in [row["subscription_id"], row["company_id"]]
            + [_flat(row, column) for column in RENEWAL_COLUMNS]
            + [row["owner"]["id"] or ""]
            + [_flat(row, column) for column in (*TIER_COLUMNS, *TERMS_COLUMNS, *KIND_COLUMNS)]
            + ["" if measured.get(key) is None else str(measured[key]) for key in ("marketing_contacts", "contacts", "emails_sent_month", "measured_on")]
            + [str(projection.get("tier_reached_on") or "")]
        )
    return out.getvalue()


def _flat(row: dict[str, Any], column: str) -> str:
    value = row[column]
    if column == "owner":
        value = value["name"] or value["id"]
    elif column == "open_findings":
        value = " ".join(value)
    return "" if value is None else str(value)


def render_renewals(data: dict[str, Any], language: str = "en") -> str:
    """The renewals table in the configured language: money and dates as its people write them,
    products as a list, nothing cut that a person needs whole."""
    w = labels(language)
    header = [w[key] for key in ("client", "kind", "comm_owner", "products", "deadline", "renewal_date", "days_left", "now_month", "renewal_month", "change", "owner", "primary_contact", "open_findings")]
    rows = []
    for r in data["renewals"]:
        change = words.percent(r["change_percent"], language, signed=Decimal(r["change_percent"]) != 0) if r["change_percent"] is not None else ""
        owner = r["owner"]["name"] or r["owner"]["id"] or w["none"]
        if r["owner"]["id"] and not r["owner"]["active"]:
            owner += f" ({w['inactive']})"
        communication = w[r["communication_owner"]] if r["communication_owner"] in ("hubspot", "partner") else r["communication_owner"] or (
            w["not_recorded"] if r["kind"] == "subscription" else w["none"]
        )
        rows.append([
            r["client"] or w["unknown"], w.get(f"kind_short_{r['kind']}", r["kind"]), communication, words.product_list(r["products"], language),
            short_day(r["deadline"], language), short_day(r["renewal_date"], language), words.number(r["days_left"], language),
            _price(r["current_monthly_price"], r["currency"], language), _price(r["renewal_monthly_price"], r["currency"], language), change,
            owner, r["primary_contact_email"] or w["none"], words.number(len(r["open_findings"]), language) if r["open_findings"] else "",
        ])
    title = w["renewals_title"].format(
        as_of=short_day(data["as_of"], language), days=words.plural(data["within_days"], w["days"], language), count=words.number(len(rows), language)
    )
    return title + "\n" + table(header, rows, widths={0: 26, 11: 40}, wrap={3: 28})


def _price(value: str | None, currency: str | None, language: str) -> str:
    """Money as the task texts write it (Babel, the currency's own decimals); "" for none."""
    return words.money(value, currency, language) if value is not None else ""
