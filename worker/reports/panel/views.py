"""What each page shows, from the cache: plain data for the templates. Filtering, sorting,
paging and the timeline's geometry are pure functions of the rows and the query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Mapping

from sqlalchemy import select
from sqlmodel import Session

from worker.cache.models import (
    Company,
    Contact,
    Finding,
    HubSpotAccount,
    Owner,
    PrimaryContact,
    Run,
    TaskLedger,
)
from integrations.hubspot.objects import record_url as hubspot_record_url
from worker.cache import usage
from worker.cache.repo import RENEWAL_TABLES
from worker.reports.panel.standing import standing
from worker.reports.panel.usage_chart import usage_chart
from worker.reports import renewals_data
from worker.reports.names import full_name
from worker.rules import RuleConfig
from worker.rules.projection import latest_measured, project
from worker.settings import Settings

if TYPE_CHECKING:
    from worker.reports.panel.live import LiveRenewals

PAGE_SIZE = 100
SORTS = {
    "renewal_date": lambda r: (r["renewal_date"], r["subscription_id"]),
    "client": lambda r: ((r["client"] or "").casefold(), r["renewal_date"]),
    "deadline": lambda r: (r["deadline"] or date.max, r["renewal_date"]),
    "change": lambda r: (Decimal(r["change_percent"]) if r["change_percent"] is not None else Decimal("-1e9"), r["renewal_date"]),
    "current": lambda r: (Decimal(r["current_monthly_price"] or "-1"), r["renewal_date"]),
    "renewal": lambda r: (Decimal(r["renewal_monthly_price"] or "-1"), r["renewal_date"]),
    "owner": lambda r: ((r["owner"]["name"] or r["owner"]["id"] or "").casefold(), r["renewal_date"]),
    "findings": lambda r: (len(r["open_findings"]), r["renewal_date"]),
}
COMMUNICATION = ("hubspot", "partner", "none")
KINDS = ("subscription", "service")  # a client's HubSpot subscription; the partner's service contract


@dataclass(frozen=True)
class RenewalQuery:
    """The renewals page's filters, sort and page, read leniently from the query string (a
    hand-edited URL shows the default rather than an error)."""

    within: int
    owner: str = ""
    comm: str = ""
    kind: str = ""
    findings: bool = False
    # Only renewals whose notice deadline is at most this many days away (passed ones included).
    deadline_within: int | None = None
    sort: str = "renewal_date"
    descending: bool = False
    page: int = 1

    @classmethod
    def parse(cls, params: Mapping[str, str], default_within: int) -> "RenewalQuery":
        def number(name: str, default: int, low: int, high: int) -> int:
            raw = params.get(name, "")
            return whole_number(raw, default, low, high)

        sort = params.get("sort", "renewal_date")
        return cls(
            within=number("within", default_within, 0, 3650),
            owner=params.get("owner", "")[:32],
            comm=params.get("comm", "") if params.get("comm", "") in COMMUNICATION else "",
            kind=params.get("kind", "") if params.get("kind", "") in KINDS else "",
            findings=params.get("findings", "") == "1",
            # Empty or not a number: no deadline filter.
            deadline_within=None if (days := number("deadline_within", -1, 0, 3650)) < 0 else days,
            sort=sort if sort in SORTS else "renewal_date",
            descending=params.get("dir", "") == "desc",
            page=number("page", 1, 1, 100_000),
        )

    def link(self, **changes: Any) -> dict[str, str]:
        """The query string of this view with some parts changed (for sort headers and pages)."""
        values = {"within": self.within, "owner": self.owner, "comm": self.comm, "kind": self.kind, "findings": "1" if self.findings else "",
                  "deadline_within": "" if self.deadline_within is None else self.deadline_within,
                  "sort": self.sort, "dir": "desc" if self.descending else "", "page": self.page}
        values.update(changes)
        return {k: str(v) for k, v in values.items() if v not in ("", None) and not (k == "page" and v == 1)}


def select_renewals(rows: list[dict[str, Any]], query: RenewalQuery) -> list[dict[str, Any]]:
    """The rows the filters keep, in the chosen order."""
    kept = [
        r for r in rows
        if (not query.owner or r["owner"]["id"] == query.owner)
        and (not query.kind or r["kind"] == query.kind)
        # Only HubSpot subscriptions have a communication owner: a service contract is never
        # "not recorded".
        and (not query.comm or (r["kind"] == "subscription" and (r["communication_owner"] or "none") == query.comm))
        and (not query.findings or r["open_findings"])
        and (query.deadline_within is None or (r["deadline"] is not None and deadline_days(r) <= query.deadline_within))
    ]
    return sorted(kept, key=SORTS[query.sort], reverse=query.descending)


def deadline_days(row: dict[str, Any]) -> int:
    """Days from the day the row was read to its notice deadline (negative: passed)."""
    return (row["deadline"] - row["renewal_date"]).days + row["days_left"]


def whole_number(raw: str, default: int, low: int, high: int) -> int:
    """A number from a query string, within [low, high]; the default for anything else (a word,
    a sign, or more digits than any page could need: int() of 5,000 digits raises)."""
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        return default if not (raw.isascii() and raw.isdigit()) else high
    return max(low, min(int(raw), high))


def is_record_id(text: str) -> bool:
    """A HubSpot record id as a path may carry it: digits, no more than an id has."""
    return text.isascii() and text.isdigit() and len(text) <= 20


def page_of(rows: list[Any], page: int, size: int = PAGE_SIZE) -> tuple[list[Any], int, int]:
    """One page of rows, the page shown (past the end: the last) and how many pages there are."""
    pages = max(1, -(-len(rows) // size))
    page = min(page, pages)
    return rows[(page - 1) * size : page * size], page, pages


@dataclass(frozen=True)
class Week:
    start: date
    renewals: int
    deadlines: int
    x: float
    height: float
    deadline_x: float


def timeline(rows: list[dict[str, Any]], as_of: date, *, days: int = 120, width: float = 720.0, height: float = 120.0) -> list[Week]:
    """Renewals per week over the next ``days``, and the notice deadlines falling in each week:
    the geometry of the inline SVG (bars scaled to the busiest week)."""
    weeks = -(-days // 7)
    renewals = [0] * weeks
    deadlines = [0] * weeks
    for row in rows:
        offset = (row["renewal_date"] - as_of).days
        if 0 <= offset < weeks * 7:
            renewals[offset // 7] += 1
        if row["deadline"] is not None and 0 <= (row["deadline"] - as_of).days < weeks * 7:
            deadlines[(row["deadline"] - as_of).days // 7] += 1
    busiest = max(renewals) or 1
    step = width / weeks
    return [
        Week(as_of + timedelta(days=7 * n), renewals[n], deadlines[n], x=round(n * step + 2, 1),
             height=round(renewals[n] / busiest * (height - 20), 1), deadline_x=round(n * step + step / 2, 1))
        for n in range(weeks)
    ]


# Every renewal still ahead, whatever its date: the week page's deadlines may belong to renewals
# far out (a contract's own deadline).
EVERY_RENEWAL_DAYS = 3650


def renewals_page(session: Session, settings: Settings, as_of: date, query: RenewalQuery, *, live: LiveRenewals | None = None) -> dict[str, Any]:
    within = max(query.within, 120)
    horizon = live.rows(session, as_of, within) if live else renewals_data(session, settings, as_of, within)["renewals"]
    within = [r for r in horizon if r["days_left"] <= query.within]
    chosen = select_renewals(within, query)
    shown, page, pages = page_of(chosen, query.page)
    owners = sorted({(r["owner"]["id"], r["owner"]["name"] or r["owner"]["id"]) for r in within if r["owner"]["id"]}, key=lambda o: (o[1] or "").casefold())
    return {
        "rows": shown, "total": len(chosen), "page": page, "pages": pages, "owners": owners,
        "timeline": timeline(select_renewals([r for r in horizon if r["days_left"] <= 120], query), as_of),
    }


def client_page(session: Session, company_id: str, config: RuleConfig | None = None, as_of: date | None = None) -> dict[str, Any] | None:
    """The client and its renewals; with ``config`` and ``as_of``, where each renewal stands
    (the deadline the tasks use and how it stands today, the tier's meaning)."""
    company = session.get(Company, company_id)
    if company is None or company.deleted_at is not None:
        return None
    owner = session.get(Owner, company.owner_id) if company.owner_id else None
    link = session.get(PrimaryContact, company_id)
    contact = session.get(Contact, link.contact_id) if link and link.contact_id else None
    renewals = [
        (kind, record)
        for kind, model in RENEWAL_TABLES.items()
        for record in session.execute(
            select(model).where(model.company_id == company_id, model.deleted_at.is_(None)).order_by(model.renewal_date)  # type: ignore[union-attr, arg-type, attr-defined]
        ).scalars()
    ]
    subscriptions = [record for kind, record in renewals if kind == "subscription"]
    services = [record for kind, record in renewals if kind == "service"]
    owners = {o.id: o for o in session.execute(select(Owner).where(Owner.id.in_([s.owner_id for _, s in renewals if s.owner_id]))).scalars()}  # type: ignore[call-overload, attr-defined]
    records = [("company", company_id)] + [(kind, s.id) for kind, s in renewals] + ([("contact", contact.id)] if contact else [])
    findings = [
        f for (f,) in session.execute(select(Finding).where(Finding.resolved_at.is_(None), Finding.object_id.in_([i for _, i in records])).order_by(Finding.rule))  # type: ignore[union-attr, attr-defined, arg-type]
        if (f.object_type, f.object_id) in set(records)
    ]
    tasks = [t for (t,) in session.execute(select(TaskLedger).where(TaskLedger.company_id == company_id).order_by(TaskLedger.due_at))]  # type: ignore[arg-type]
    account = session.get(HubSpotAccount, 1)
    usage_view = _usage(session, company_id, subscriptions, as_of) if as_of else {}
    return {
        "links": {
            "company": record_url(account, "companies", company.id),
            "contact": record_url(account, "contacts", contact.id if contact else None),
            "subscriptions": {sub.id: record_url(account, sub.object_type, sub.id) for sub in subscriptions},
            "services": {service.id: record_url(account, service.object_type, service.id) for service in services},
            "tasks": {t.key: record_url(account, "tasks", t.task_id) for t in tasks},
        },
        "company": company, "owner": owner, "owner_name": person_name(owner), "contact": contact, "contact_name": person_name(contact),
        "subscriptions": subscriptions, "services": services, "owner_names": {owner_id: person_name(o) for owner_id, o in owners.items()},
        "contact_findings": [f for f in findings if f.object_type == "contact" or f.rule.startswith("contact.")],
        "findings": findings, "tasks": tasks,
        **usage_view,
        "standing": {
            # A subscription's tier is judged on what the client's own portal counted, when read.
            (kind, record.id): standing(record, config, as_of, usage_view.get("usage_latest") if kind == "subscription" else None)
            for kind, record in renewals
        } if config and as_of else {},
        **_people(session, company),
    }


def _people(session: Session, company: Company) -> dict[str, Any]:
    """The partner's people on the client, as HubSpot records them on the company: its owner, any
    other owner (hs_all_owner_ids holds every owner property's value) and its team, each owner
    with the teams the owners API lists."""
    props = company.properties or {}
    listed = [i.strip() for i in str(props.get("hs_all_owner_ids") or "").split(";") if i.strip()]
    ids = list(dict.fromkeys(([company.owner_id] if company.owner_id else []) + listed))
    every_owner = {o.id: o for o in session.execute(select(Owner)).scalars()}  # a few dozen people
    teams = {str(t.get("id")): str(t.get("name")) for o in every_owner.values() for t in (o.teams or []) if isinstance(t, dict)}
    people = [
        {
            "role": "owner" if owner_id == company.owner_id else "additional_owner", "id": owner_id,
            "name": person_name(every_owner.get(owner_id)) or owner_id,
            "email": every_owner[owner_id].email if owner_id in every_owner else None,
            "active": every_owner[owner_id].active if owner_id in every_owner else False,
            "teams": [str(t.get("name")) for t in (every_owner[owner_id].teams or []) if isinstance(t, dict)] if owner_id in every_owner else [],
        }
        for owner_id in ids
    ]
    team_id = str(props.get("hubspot_team_id") or "")
    return {"people": people, "team": teams.get(team_id, team_id or None)}


def _usage(session: Session, company_id: str, subscriptions: list[Any], as_of: date) -> dict[str, Any]:
    """The client's tier usage as its own portal counted it, drawn against the tier of its nearest
    HubSpot subscription that has one, with the projection of where it is heading."""
    points = usage.history(session, company_id).get(company_id, ())
    subscription = next((s for s in subscriptions if s.contact_tier and not s.archived and s.renewal_date and s.renewal_date >= as_of), None)
    tier = subscription.contact_tier if subscription else None
    found = project(points, tier, as_of) if points and tier else None
    return {
        "usage_points": points,
        "usage_latest": latest_measured(points, as_of) if points else None,
        "usage_projection": found,
        "usage_tier": tier,
        "usage_renewal": subscription.renewal_date if subscription else None,
        "usage_chart": usage_chart(points, tier, found, subscription.renewal_date if subscription else None),
    }


def record_url(account: HubSpotAccount | None, object_type: str, record_id: str | None) -> str | None:
    """The record in HubSpot's app; None without the portal's details or for a type whose id
    isn't known."""
    if account is None or not record_id:
        return None
    return hubspot_record_url(account.ui_domain, account.portal_id, object_type, record_id)


def person_name(person: Owner | Contact | None) -> str | None:
    """First and last name, else the email: how a person is shown."""
    return full_name(person.first_name, person.last_name, person.email) if person is not None else None


def usage_share(used: int | None, limit: int | None) -> float | None:
    """``used`` of ``limit`` as a share for a bar (capped at 1; None when unknown)."""
    if used is None or not limit or limit <= 0:
        return None
    return min(max(used / limit, 0.0), 1.0)


def runs_page(session: Session, limit: int = 50) -> dict[str, Any]:
    runs = [r for (r,) in session.execute(select(Run).order_by(Run.id.desc()).limit(limit))]  # type: ignore[union-attr]
    return {"runs": runs}
