"""Reading each client's own HubSpot portal for its tier usage: the marketing contacts HubSpot's
tier counts, all contacts, and the marketing emails sent this calendar month.

One gateway per client portal, with that portal's token and its own rate limiter (each portal has
its own limits); ``portals_at_once`` portals are read together, and one portal's failure is a
finding for that client, never the run's. At most 6 calls per portal: its account details (a
token answering for another portal id is a finding and nothing of it is used), two contact counts,
the month's email statistics, and, on a client's first reading, two estimates of its marketing
contacts 30 and 60 days ago from their create dates (so a projection has a history from day one).
The partner's own token is never sent to a client portal, nor a client's token to another: each
gateway is built with one portal's token alone.
"""

from __future__ import annotations

import re
import stat
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Callable, Sequence
from zoneinfo import ZoneInfo

import structlog

from integrations.hubspot.errors import AuthFailed, Forbidden, HubSpotError
from integrations.hubspot.gateway import HubSpotGateway
from integrations.hubspot.transport import RetryPolicy
from integrations.hubspot.limiter import RequestLimiter
from worker import logs
from worker.config_sections import ClientPortalSettings
from worker.rules.model import RuleFinding, UsagePoint
from worker.settings import one_printable_line
from worker.errors import FixTheConfig

log = structlog.get_logger(__name__)

FINDING_PREFIX = "usage."
TOKEN_REVOKED, MISSING_SCOPE, WRONG_PORTAL = "usage.token_revoked", "usage.missing_scope", "usage.wrong_portal"
UNREADABLE, TOKEN_FILE, BAD_PORTAL_ID = "usage.unreadable", "usage.token_file", "usage.bad_portal_id"
BACKFILL_DAYS = (60, 30)
_PORTAL_ID = re.compile(r"[1-9][0-9]{0,11}")


@dataclass(frozen=True)
class Client:
    company_id: str
    portal_id: str


@dataclass(frozen=True)
class Reading:
    client: Client
    points: tuple[UsagePoint, ...] = ()
    finding: RuleFinding | None = None  # why nothing was read
    calls: int = 0  # requests sent to the client's portal


@dataclass
class UsageReport:
    readings: list[Reading] = field(default_factory=list)
    without_token: int = 0

    @property
    def measured(self) -> int:
        return sum(1 for reading in self.readings if reading.points)


class WrongPortal(FixTheConfig):
    def __init__(self, answered: int):
        self.answered = answered


def portal_id_of(value: object) -> str | None:
    """A HubSpot account id as a company property holds it ("12345678", " 12345678 "), or None."""
    text = str(value).strip() if value is not None else ""
    return text if _PORTAL_ID.fullmatch(text) else None


def token_path(settings: ClientPortalSettings, portal_id: str) -> Path:
    return Path(settings.tokens_dir) / f"{portal_id}.token"


def read_token(settings: ClientPortalSettings, portal_id: str) -> tuple[str | None, str]:
    """(the token, "") or (None, why not: "" when there is simply no file for this portal)."""
    path = token_path(settings, portal_id)
    try:
        mode = path.stat().st_mode
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None, ""
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"cannot read {path}: {getattr(exc, 'strerror', None) or type(exc).__name__}"
    if not token or not one_printable_line(token):
        return None, f"{path} does not hold one line of text (a service key)"
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("client_portals.token_file_readable", path=str(path), mode=stat.filemode(mode), detail="chmod 600 it")
    logs.also_redact(token)
    return token, ""


def client_gateway(settings: ClientPortalSettings, token: str) -> HubSpotGateway:
    return HubSpotGateway(
        base_url=settings.base_url,
        access_token=token,
        limiter=RequestLimiter(settings.requests_per_10s, settings.search_requests_per_s),
        retry=RetryPolicy(settings.max_attempts, settings.backoff_initial_s, settings.backoff_max_s),
        api_version=settings.api_version,
    )


def read_portal(gateway: HubSpotGateway, client: Client, now: datetime, tz: ZoneInfo, *, first: bool) -> tuple[UsagePoint, ...]:
    """What one client portal counts today (and, on a first reading, two estimates back)."""
    answered = gateway.account_details().portal_id
    if str(answered) != client.portal_id:
        raise WrongPortal(answered)
    today = now.astimezone(tz).date()
    contacts = gateway.count_objects("contacts")
    marketing = gateway.count_marketing_contacts()
    month_start = datetime.combine(today.replace(day=1), time.min, tzinfo=tz)
    emails = gateway.marketing_emails_sent(month_start, now)
    points = [UsagePoint(today, marketing, contacts, emails, "measured")]
    if first:
        for days in BACKFILL_DAYS:
            day = today - timedelta(days=days)
            before = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
            points.append(UsagePoint(day, gateway.count_marketing_contacts(created_before=before), source="estimated"))
    return tuple(sorted(points, key=lambda point: point.measured_on))


def measure(
    settings: ClientPortalSettings,
    clients: Sequence[Client],
    *,
    first_time: set[str],
    now: datetime,
    tz: ZoneInfo,
    gateway_for: Callable[[ClientPortalSettings, str], HubSpotGateway] = client_gateway,
) -> UsageReport:
    """Read every client's portal that has a token file, ``portals_at_once`` at a time.
    ``first_time``: company ids with no history yet (their reading adds the estimates)."""
    report = UsageReport()
    work: list[tuple[Client, str]] = []
    for client in clients:
        token, problem = read_token(settings, client.portal_id)
        if token is None and not problem:
            report.without_token += 1
        elif token is None:
            report.readings.append(Reading(client, finding=_finding(TOKEN_FILE, client, problem)))
        else:
            work.append((client, token))

    def one(item: tuple[Client, str]) -> Reading:
        client, token = item
        gateway = gateway_for(settings, token)
        try:
            return _with_calls(_read(gateway, client), gateway)
        finally:
            gateway.close()

    def _read(gateway: HubSpotGateway, client: Client) -> Reading:
        try:
            return Reading(client, read_portal(gateway, client, now, tz, first=client.company_id in first_time))
        except WrongPortal as exc:
            return Reading(client, finding=_finding(
                WRONG_PORTAL, client,
                f"the token in {token_path(settings, client.portal_id).name} answers for portal {exc.answered}, not {client.portal_id}: "
                "nothing it said was used; put that client's own service key there",
            ))
        except AuthFailed:
            return Reading(client, finding=_finding(
                TOKEN_REVOKED, client,
                f"client portal {client.portal_id} rejected its service key (401): revoked or deleted; create a new one in that "
                f"portal (Development → Keys → Service keys) and replace {token_path(settings, client.portal_id).name}",
            ))
        except Forbidden as exc:
            scopes = ", ".join(exc.missing_scopes) or "crm.objects.contacts.read and content"
            return Reading(client, finding=_finding(
                MISSING_SCOPE, client, f"client portal {client.portal_id}'s service key lacks the scope {scopes}: add it to the key in that portal",
                value=scopes,
            ))
        except HubSpotError as exc:
            # Retried by the gateway and still not a usable answer: nothing is recorded, never a zero.
            return Reading(client, finding=_finding(UNREADABLE, client, f"client portal {client.portal_id} could not be read: {type(exc).__name__}: {exc}"))

    if work:
        with ThreadPoolExecutor(max_workers=min(settings.portals_at_once, len(work)), thread_name_prefix="client-portal") as pool:
            report.readings.extend(pool.map(one, work))
    for reading in report.readings:
        if reading.finding is not None:
            log.warning("client_portals.not_read", company_id=reading.client.company_id, portal_id=reading.client.portal_id, rule=reading.finding.rule)
    return report


def _with_calls(reading: Reading, gateway: HubSpotGateway) -> Reading:
    return Reading(reading.client, reading.points, reading.finding, gateway.stats.total_calls)


def _finding(rule: str, client: Client, message: str, *, value: str | None = None) -> RuleFinding:
    return RuleFinding(rule, "company", client.company_id, "client_portal", value or client.portal_id, message)


def bad_portal_id(company_id: str, value: object, property_name: str) -> RuleFinding:
    shown = str(value)[:40]
    return RuleFinding(
        BAD_PORTAL_ID, "company", company_id, property_name, shown,
        f"{property_name} does not hold a HubSpot account id (digits): the client's portal cannot be read",
    )
