"""The partner's reports, from the cache: ``renewals``, ``findings`` and ``tasks``.

Each has a data function (the stable ``--json`` document, documented in the README) and a
renderer for people. Nothing here calls HubSpot.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Mapping, Sequence

from babel.dates import format_date
from sqlalchemy import func, select
from sqlmodel import Session

from worker.batching import chunks
from worker.cache.models import Company, Finding, Owner, TaskLedger
from worker.cache.repo import RENEWAL_TABLES
from worker.cache.portfolio import load_portfolio
from worker.rules import CompanyRow, Portfolio, RuleConfig, SubscriptionRow
from worker.rules.engine import active_renewals
from worker.rules.projection import WINDOW_DAYS as USAGE_WINDOW_DAYS
from worker.rules.projection import latest_measured, project
from worker.rules.renewal import notice_deadline, price_change_percent, usage_percent
from worker import words
from worker.labels import labels, rule_name
from worker.safe_text import csv_cell, for_terminal
from worker.settings import Settings

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
    rows = [
        renewal_row(sub, company, portfolio, findings, config, as_of)
        for sub, company in sorted(active_renewals(portfolio, as_of, config), key=lambda pair: renewal_order(pair[0]))
        if sub.renewal_date is not None and sub.renewal_date <= end
    ]
    return {"as_of": as_of, "within_days": within_days, "renewals": rows}


def renewal_order(sub: SubscriptionRow | dict[str, Any]) -> tuple[Any, ...]:
    """Soonest first; a subscription and a service contract may share an id: the kind decides."""
    if isinstance(sub, dict):
        return (sub["renewal_date"], sub["subscription_id"], sub["kind"])
    return (sub.renewal_date, sub.id, sub.kind)


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
            _short_day(r["deadline"], language), _short_day(r["renewal_date"], language), words.number(r["days_left"], language),
            _price(r["current_monthly_price"], r["currency"], language), _price(r["renewal_monthly_price"], r["currency"], language), change,
            owner, r["primary_contact_email"] or w["none"], words.number(len(r["open_findings"]), language) if r["open_findings"] else "",
        ])
    title = w["renewals_title"].format(
        as_of=_short_day(data["as_of"], language), days=words.plural(data["within_days"], w["days"], language), count=words.number(len(rows), language)
    )
    return title + "\n" + table(header, rows, widths={0: 26, 11: 40}, wrap={3: 28})


def _short_day(value: date | None, language: str) -> str:
    """A date on one line as people of the language write it: Dec 9, 2026 / 9 dic 2026."""
    return format_date(value, format="medium", locale=language) if value else ""


def _price(value: str | None, currency: str | None, language: str) -> str:
    """Money as the task texts write it (Babel, the currency's own decimals); "" for none."""
    return words.money(value, currency, language) if value is not None else ""


def findings_data(session: Session, *, include_resolved: bool = False) -> dict[str, Any]:
    statement = select(Finding).order_by(Finding.rule, Finding.object_type, Finding.object_id)  # type: ignore[arg-type]
    if not include_resolved:
        statement = statement.where(Finding.resolved_at.is_(None))  # type: ignore[union-attr]
    items = [
        {
            "rule": f.rule, "object_type": f.object_type, "object_id": f.object_id, "field": f.field, "value": f.value,
            "message": f.message, "first_seen_at": f.first_seen_at, "last_seen_at": f.last_seen_at, "resolved_at": f.resolved_at,
        }
        for (f,) in session.execute(statement)
    ]
    # New: the client each finding is about, by name (null for settings, sync and owners).
    clients = _clients_of(session, items)
    for item in items:
        item["client"] = clients.get((item["object_type"], item["object_id"]))
    return {"findings": items, "open": sum(1 for f in items if f["resolved_at"] is None)}


def _clients_of(session: Session, items: Sequence[dict[str, Any]]) -> dict[tuple[str, str], str | None]:
    """(object type, id) → the name of the client company it belongs to."""
    return {key: name for key, (_, name) in client_companies(session, items).items()}


def client_companies(session: Session, items: Sequence[Any]) -> dict[tuple[str, str], tuple[str, str | None]]:
    """(object type, id) of findings (dicts or rows) → (company id, name) of the client company
    each belongs to: the company itself, or a renewal record's company."""
    pairs = [(i["object_type"], i["object_id"]) if isinstance(i, dict) else (i.object_type, i.object_id) for i in items]
    company_of: dict[tuple[str, str], str] = {}
    for kind, model in RENEWAL_TABLES.items():
        ids = sorted({object_id for object_type, object_id in pairs if object_type == kind})
        for chunk in chunks(ids, 1000):
            rows = session.execute(select(model.id, model.company_id).where(model.id.in_(chunk), model.company_id.is_not(None)))  # type: ignore[attr-defined, union-attr]
            company_of.update({(kind, record_id): company_id for record_id, company_id in rows})
    company_of.update({("company", object_id): object_id for object_type, object_id in pairs if object_type == "company"})
    names = _names(session, Company, set(company_of.values()))
    return {key: (company_id, names.get(company_id)) for key, company_id in company_of.items()}


def render_findings(data: dict[str, Any], language: str = "en") -> str:
    """Open findings for people: the rule by name, the client by name beside the record, and the
    whole message (wrapped, never cut)."""
    w = labels(language)
    rows = [
        [rule_name(f["rule"], language), (f"{f['client']} · " if f.get("client") else "") + f"{f['object_type']} {f['object_id']}", f["value"] or "", f["message"],
         _short_day(f["first_seen_at"], language), w["resolved"] if f["resolved_at"] else w["open"]]
        for f in data["findings"]
    ]
    title = w["findings_title"].format(count=words.number(data["open"], language))
    return title + "\n" + table([w[key] for key in ("rule", "record", "value", "what", "since", "state")], rows, widths={1: 40, 2: 30}, wrap={3: 60})


TASK_FIELDS = (
    "key", "state", "task_id", "subject", "owner_id", "priority", "due_at", "marker", "attempts", "last_error",
    "sent_at", "closed_at", "close_reason",
    # New: the task as HubSpot showed it at the last read-back (a person may have reassigned or
    # re-dated it); owner_id and due_at stay what the worker wrote.
    "hubspot_owner_id", "hubspot_due_at", "read_back_at",
    "company_id",
)


def tasks_data(session: Session, *, states: Sequence[str] | None = None, due_before: datetime | None = None) -> dict[str, Any]:
    """The ledger, soonest due first. ``due_before``: only tasks due (as HubSpot shows them now,
    else as written) before that moment."""
    T = TaskLedger.__table__.c  # type: ignore[attr-defined]
    # Plain columns, not ORM objects: the ledger holds a task per reminder (10,000 and more).
    statement = select(*(T[name] for name in TASK_FIELDS)).order_by(T.due_at, T.key)
    if states:
        statement = statement.where(T.state.in_(list(states)))
    if due_before is not None:
        statement = statement.where(func.coalesce(T.hubspot_due_at, T.due_at) < due_before)
    items = [dict(row._mapping) for row in session.execute(statement)]
    # New: the client and the owner (as HubSpot shows the task now) by name; null when unknown.
    clients = _names(session, Company, {item["company_id"] for item in items})
    owners = _names(session, Owner, {item["hubspot_owner_id"] or item["owner_id"] for item in items})
    for item in items:
        item["client"] = clients.get(item["company_id"] or "")
        item["owner"] = owners.get(item["hubspot_owner_id"] or item["owner_id"] or "")
    return {"tasks": items}


def _names(session: Session, model: Any, ids: set[str | None]) -> dict[str, str]:
    """id → name of these companies or owners (an owner's first and last name, else the email)."""
    found: dict[str, str] = {}
    t = model.__table__.c
    columns = (t.id, t.name) if model is Company else (t.id, t.first_name, t.last_name, t.email)
    for chunk in chunks(sorted(i for i in ids if i), 1000):
        for row in session.execute(select(*columns).where(t.id.in_(chunk))):
            name = row.name if model is Company else " ".join(part for part in (row.first_name, row.last_name) if part) or row.email
            if name:
                found[row.id] = name
    return found


def render_tasks(data: dict[str, Any], language: str = "en") -> str:
    """The ledger for people: the client and the owner by name, the state in words, the subject
    and why a task was closed whole (wrapped)."""
    w = labels(language)
    rows = [
        [w.get(f"state_{t['state']}", t["state"]), t.get("client") or w["none"], _short_day(t["hubspot_due_at"] or t["due_at"], language),
         w.get(f"priority_{t['priority']}", t["priority"]), t.get("owner") or t["hubspot_owner_id"] or t["owner_id"] or w["none"], t["subject"],
         t["close_reason"] or t["last_error"] or "", t["task_id"] or w["none"]]
        for t in data["tasks"]
    ]
    title = w["tasks_title"].format(count=words.number(len(rows), language))
    header = [w[key] for key in ("state", "client", "due", "priority", "owner", "subject", "why_closed", "task")]
    return title + "\n" + table(header, rows, widths={1: 30, 4: 30}, wrap={5: 60, 6: 40})


def table(header: Sequence[str], rows: Sequence[Sequence[str]], *, widths: dict[int, int] | None = None, wrap: dict[int, int] | None = None) -> str:
    """A plain text table. Cells of a ``wrap`` column run over as many lines as they need at that
    width (a message or a subject is read whole); other long cells are cut to ``widths`` (an id or
    an email stays on one line). Widths are terminal columns: wide characters count double."""
    widths, wrap = widths or {}, wrap or {}
    cells = [[_one_line(for_terminal(str(cell))) for cell in row] for row in rows]
    wrapped = [[_wrap(cell, wrap[i]) if i in wrap else [_cut(cell, widths.get(i, 40))] for i, cell in enumerate(row)] for row in cells]
    sizes = [max([_width(header[i])] + [_width(line) for row in wrapped for line in row[i]]) for i in range(len(header))]
    lines = ["  ".join(_pad(h, sizes[i]) for i, h in enumerate(header)).rstrip(), "  ".join("-" * s for s in sizes)]
    for row in wrapped:
        for n in range(max(len(parts) for parts in row)):
            lines.append("  ".join(_pad(parts[n] if n < len(parts) else "", sizes[i]) for i, parts in enumerate(row)).rstrip())
    return "\n".join(lines)


def _one_line(text: str) -> str:
    """Line breaks and runs of spaces as one space; a no-break space stays (1.200,00 US$ is one word)."""
    return " ".join(_ASCII_SPACE.split(text)).strip()


_ASCII_SPACE = re.compile(r"[ \t\n\r\f\v]+")


def _wrap(text: str, limit: int) -> list[str]:
    """``text`` in lines of at most ``limit`` terminal columns, broken between words; a word longer
    than a line is broken where it must."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        while _width(word) > limit:
            if line:
                lines.append(line)
                line = ""
            head, word = _split_at(word, limit)
            lines.append(head)
        if not line:
            line = word
        elif _width(line) + 1 + _width(word) <= limit:
            line = f"{line} {word}"
        else:
            lines.append(line)
            line = word
    if line or not lines:
        lines.append(line)
    return lines


def _split_at(word: str, limit: int) -> tuple[str, str]:
    """The longest head of ``word`` that fits ``limit`` columns (at least one character), and the rest."""
    used = 0
    for index, ch in enumerate(word):
        used += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if used > limit:
            return word[: max(index, 1)], word[max(index, 1) :]
    return word, ""


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cut(text: str, limit: int) -> str:
    if _width(text) <= limit:
        return text
    out, used = [], 0
    for ch in text:
        w = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if used + w > limit - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def _pad(text: str, size: int) -> str:
    return text + " " * (size - _width(text))
