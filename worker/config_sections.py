"""The settings file's sections: pydantic models, one per ``[section]``, with the defaults of
``config.example.toml`` and a validator for every value a user can get wrong. Loading, the
environment overlay and the secrets live in ``worker.settings``."""

from __future__ import annotations

import ipaddress
import re
from typing import Any, ClassVar, Literal, get_args, get_origin
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from integrations.hubspot.objects import is_deals


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _as_written(cls, value: Any, info: ValidationInfo) -> Any:
        """TOML has types; a value of another type is a mistake to name, not one to guess at:
        ``timeout_read_s = true`` is not 1.0 and ``skip_weekends = "yes"`` is not true (pydantic
        would read both). A choice's case does not matter: ``language = "ES"`` is Spanish."""
        annotation = cls.model_fields[info.field_name].annotation if info.field_name else None
        wants_number = annotation in (int, float) or annotation in (tuple[int, ...], tuple[float, ...])
        values = value if isinstance(value, (list, tuple)) else [value]
        if wants_number and any(isinstance(item, bool) for item in values):
            raise ValueError("a number, not true/false")
        if annotation is bool and not isinstance(value, bool):
            raise ValueError("true or false (without quotes)")
        choices = get_args(annotation) if get_origin(annotation) is Literal else ()
        if isinstance(value, str) and value not in choices:
            return next((choice for choice in choices if isinstance(choice, str) and choice.casefold() == value.strip().casefold()), value)
        return value


class HubSpotSettings(_Section):
    base_url: str = "https://api.hubapi.com"
    # HubSpot's API version: "2026-09" (current), "2026-03", or "legacy" (the v3/v4 paths, which
    # HubSpot retires: associations v4 on 2027-03-30, the rest in September 2027).
    api_version: Literal["2026-09", "2026-03", "legacy"] = "2026-09"
    requests_per_10s: int = Field(100, ge=1, le=10_000)
    search_requests_per_s: int = Field(4, ge=1, le=100)
    timeout_connect_s: float = Field(5.0, gt=0)
    timeout_read_s: float = Field(30.0, gt=0)
    max_attempts: int = Field(6, ge=1, le=20)
    backoff_initial_s: float = Field(0.5, ge=0)
    backoff_max_s: float = Field(30.0, ge=0)
    # A single Retry-After longer than this ends the run instead of sleeping through it.
    max_retry_after_s: float = Field(120.0, ge=0)
    # Requests sent at once (the pages of one batch, the sync's streams). HubSpot answers in about
    # 150 ms, so one at a time can't use the rate limit; the limiter still counts every request.
    requests_in_flight: int = Field(4, ge=1, le=16)
    # Chunk sizes are HubSpot's documented maxima; lower them only to debug.
    page_size: int = Field(100, ge=1, le=100)
    search_page_size: int = Field(200, ge=1, le=200)

    @field_validator("base_url")
    @classmethod
    def _https_unless_loopback(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an http(s) URL such as https://api.hubapi.com")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise ValueError("plain http:// is only allowed for loopback hosts (127.0.0.1, ::1, localhost)")
        return value.rstrip("/")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class DatabaseSettings(_Section):
    url: str = "sqlite:///renewal-worker.db"

    @field_validator("url")
    @classmethod
    def _supported_backend(cls, value: str) -> str:
        from sqlalchemy.engine import make_url

        if not (value.startswith("sqlite:///") or value.startswith("postgresql+psycopg://")):
            raise ValueError("use sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB")
        try:
            url = make_url(value)
            url.port  # noqa: B018 - parsing the port is the check ("host:port" with a word for port)
        except (ValueError, TypeError):
            raise ValueError("not a database URL: check the host, the port (a number) and the database name") from None
        forgets = sqlite_that_forgets(url.database or "", dict(url.query)) if value.startswith("sqlite") else None
        if forgets:
            # The cache holds the task ledger: one that vanishes with the process would have
            # every task created again on the next run.
            raise ValueError(
                f"an SQLite cache needs a file path (sqlite:///renewal-worker.db): this one is {forgets}, "
                "which forgets which tasks exist when the process ends (every task would be created again)"
            )
        return value


def sqlite_that_forgets(database: str, query: dict[str, Any]) -> str | None:
    """Why an SQLite database name vanishes with the process, in any spelling SQLite accepts, or
    None for a file. An empty name is a private temporary file; ``:memory:`` and ``mode=memory``
    are memory; a ``file:`` URI (read as one with ``uri=true``, and by SQLite builds that read
    URIs everywhere) names its path after ``file:`` and an authority, before ``?``."""
    options = {str(k).lower(): str(v).lower() for k, v in query.items()}
    if options.get("mode") == "memory":
        return "an in-memory database (mode=memory)"
    name = database.strip()
    if name.lower().startswith("file:"):
        path, _, params = name[5:].partition("?")
        if "mode=memory" in params.lower().replace(" ", ""):
            return "an in-memory database (mode=memory)"
        if path.startswith("//"):
            path = "/" + path[2:].partition("/")[2]  # file://host/path or file:///path
        name = path
    if name == ":memory:":
        return "an in-memory database (:memory:)"
    if not name or name == "/":
        return "a temporary database (no file name)"
    return None


class SubscriptionProperties(_Section):
    """HubSpot property names, per portal: every portal names these differently."""

    renewal_date: str = "renewal_date"
    deadline: str = "renewal_deadline"
    products: str = "renewal_products"
    current_price: str = "current_monthly_price"
    renewal_price: str = "renewal_monthly_price"
    currency: str = "deal_currency_code"
    communication_owner: str = "renewal_communication_owner"
    contact_tier: str = "contact_tier"
    contacts_used: str = "contacts_used"
    emails_sent: str = "marketing_emails_sent_month"
    status: str = "dealstage"
    owner: str = "hubspot_owner_id"
    # Optional ("" = not read): a discount and when it ends, HubSpot's renewal manager (name or
    # email) and the link to the client's renewal options (HubSpot's quote centre).
    discount_percent: str = ""
    discount_end_date: str = ""
    renewal_manager: str = ""
    renewal_options_url: str = ""


class SubscriptionValues(_Section):
    communication_owner_hubspot: str = "hubspot"
    communication_owner_partner: str = "partner"
    cancelled_statuses: tuple[str, ...] = ("closedlost", "cancelled")


def _object_type_name(value: str) -> str:
    if not value.strip() or "/" in value:
        raise ValueError("an object type name (deals, subscriptions, services, a custom object) or a 2-… id")
    return value.strip()


def _pipeline_id(value: str) -> str:
    if len(value.strip()) > 100 or any(ch.isspace() for ch in value.strip()):
        raise ValueError("a pipeline's internal id as HubSpot lists it (e.g. default or 12345678), not its label")
    return value.strip()


class SubscriptionSettings(_Section):
    """The clients' HubSpot subscriptions: the first kind of renewal."""

    # What the cache, the task keys, the ledger and the reports call this kind of renewal.
    kind: ClassVar[str] = "subscription"
    noun: ClassVar[str] = "subscription"

    object_type: str = "deals"
    # Only records in this pipeline (its internal id) are this kind of renewal; "" = every record
    # of the object type. One deals object can then hold both kinds, told apart by pipeline.
    pipeline: str = ""
    properties: SubscriptionProperties = SubscriptionProperties()
    values: SubscriptionValues = SubscriptionValues()

    _object_type = field_validator("object_type")(_object_type_name)
    _pipeline = field_validator("pipeline")(_pipeline_id)


class ServiceProperties(_Section):
    """HubSpot property names of a service contract. ``products``, ``status`` and ``owner``
    default to HubSpot's own services object (``hs_name``, ``hs_pipeline_stage``,
    ``hubspot_owner_id``); the renewal fields are properties the partner creates, named as the
    subscriptions' ones by default. "" = not read (optional fields only)."""

    renewal_date: str = "renewal_date"
    deadline: str = "renewal_deadline"
    products: str = "hs_name"
    current_price: str = "current_monthly_price"
    renewal_price: str = "renewal_monthly_price"
    currency: str = ""
    status: str = "hs_pipeline_stage"
    owner: str = "hubspot_owner_id"
    discount_percent: str = ""
    discount_end_date: str = ""

    @field_validator("renewal_date")
    @classmethod
    def _required(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the property that holds the renewal date is required")
        return value.strip()


class ServiceValues(_Section):
    cancelled_statuses: tuple[str, ...] = ("cancelled", "closedlost")


class ServiceSettings(_Section):
    """The partner's own service contracts with each client (retainers, support plans): the
    second kind of renewal. Off unless the ``[services]`` section is present."""

    kind: ClassVar[str] = "service"
    noun: ClassVar[str] = "service contract"

    # HubSpot's services object by default; deals in a services pipeline need their
    # own object type here (the subscriptions' must differ: both would read the same records).
    object_type: str = "services"
    pipeline: str = ""  # as [subscriptions] pipeline: deals in a services pipeline, say
    properties: ServiceProperties = ServiceProperties()
    values: ServiceValues = ServiceValues()

    _object_type = field_validator("object_type")(_object_type_name)
    _pipeline = field_validator("pipeline")(_pipeline_id)

    @model_validator(mode="before")
    @classmethod
    def _deal_currency(cls, raw: Any) -> Any:
        # Deals carry their currency (deal_currency_code): service contracts kept as deals read it
        # unless the partner named another property (or "" to read none).
        if isinstance(raw, dict) and is_deals(str(raw.get("object_type", ""))):
            properties = raw.get("properties")
            if properties is None or (isinstance(properties, dict) and "currency" not in properties):
                raw = {**raw, "properties": {**(properties or {}), "currency": "deal_currency_code"}}
        return raw


class ClientPortalSettings(_Section):
    """Each client's own HubSpot portal, read for its real tier usage (marketing contacts, marketing
    emails this month). Off unless the ``[client_portals]`` section is present.

    ``tokens_dir`` holds one secret file per client portal, ``<portal id>.token`` (a service key
    created in that client's portal, scopes crm.objects.contacts.read and content): never a
    token in this file. ``portal_id_property`` is the company property, in the partner's portal,
    holding the client's HubSpot account id."""

    tokens_dir: str
    portal_id_property: str = "hubspot_portal_id"
    base_url: str = "https://api.hubapi.com"
    api_version: Literal["2026-09", "2026-03", "legacy"] = "2026-09"
    # Each client portal has its own limits (a service key's: 100 requests per 10 s, 4 searches
    # per second); the worker keeps one limiter per portal, and reads this many portals at once.
    requests_per_10s: int = Field(100, ge=1, le=10_000)
    search_requests_per_s: int = Field(4, ge=1, le=100)
    portals_at_once: int = Field(4, ge=1, le=16)
    max_attempts: int = Field(4, ge=1, le=20)
    backoff_initial_s: float = Field(0.5, ge=0)
    backoff_max_s: float = Field(10.0, ge=0)
    # Snapshots older than this are deleted (one per client per day).
    keep_days: int = Field(400, ge=31, le=3650)

    _https = field_validator("base_url")(HubSpotSettings._https_unless_loopback.__func__)  # type: ignore[attr-defined]

    @field_validator("tokens_dir")
    @classmethod
    def _a_folder(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the folder holding one <portal id>.token file per client portal")
        return value.strip()

    @field_validator("portal_id_property")
    @classmethod
    def _a_property(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the company property holding the client's HubSpot portal id")
        return value.strip()


class PrimaryContactSettings(_Section):
    association_label: str = "Primary"


class SyncSettings(_Section):
    # The search index trails writes by seconds to minutes; each incremental search reaches this
    # far behind the last watermark so that a late-indexed change is still seen.
    incremental_overlap_s: int = Field(600, ge=0, le=86_400)
    # Companies with a renewal this many days ahead get their primary-contact association
    # re-read on every incremental sync (association changes don't move a modified date).
    association_recheck_horizon_days: int = Field(120, ge=0, le=3650)
    # A reconcile that would mark more than this share of the cached records deleted first
    # checks HubSpot's own count, and refuses (finding, exit 1) when the counts disagree.
    max_delete_share: float = Field(0.10, ge=0, le=1)
    # An owners answer that would make more than this share of the owners holding the portal's
    # companies and renewals unusable at once (or all of them) is refused: the run fails, no task
    # is reassigned, and the next run asks again.
    max_owner_loss_share: float = Field(0.5, ge=0, le=1)
    # The association re-check refuses an answer that would move or unlink more than this share
    # of the renewals' companies or the companies' primary contacts it re-reads (beyond a
    # handful), or point renewals at companies the sync has never seen.
    max_link_change_share: float = Field(0.25, ge=0, le=1)


class ReminderSettings(_Section):
    """The renewal rules (``docs/DOMAIN.md``) and how their tasks look. Defaults are HubSpot's."""

    timezone: str = "UTC"
    language: Literal["en", "es"] = "en"
    fallback_owner_id: str | None = None
    horizon_days: int = Field(120, ge=1, le=3650)
    milestone_days: tuple[int, ...] = (120, 90, 75, 30, 7)
    # HubSpot's renewal manager starts emailing the client this many days before the renewal.
    hubspot_emails_days: int = Field(75, ge=0, le=3650)
    partner_meeting_days: int = Field(90, ge=0, le=3650)
    # HubSpot's documented notice deadline; a contract's own deadline property wins over it.
    deadline_days: int = Field(45, ge=0, le=3650)
    deadline_warning_days: tuple[int, ...] = (14, 3)
    # A price change is reported when it exceeds this share of the current price (0: any change).
    price_change_threshold_percent: float = Field(0.0, ge=0, le=1000)
    emails_per_tier_contact: int = Field(10, ge=1, le=1000)
    tier_warning_ratio: float = Field(0.9, gt=0, le=1)
    due_time: str = "09:00"
    skip_weekends: bool = True
    # A country's public holidays a due day skips like a weekend day: "ES", or with a subdivision
    # "ES-MD" (ISO 3166 codes, as the holidays package knows them); "" = none.
    holidays: str = ""
    # Seconds to wait for another worker's emission to finish before giving up (exit 1).
    emission_lock_wait_s: float = Field(120.0, ge=0, le=3600)
    # [reminders.task_properties]: task property = fixed value, set on every task the worker
    # creates (a portal whose rules require a property on tasks: renewal_reason = "Renewal").
    task_properties: dict[str, str | int | float | bool] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _iana(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not an IANA time zone name (e.g. Europe/Madrid)") from None
        return value

    @field_validator("milestone_days", "deadline_warning_days")
    @classmethod
    def _offsets(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(day < 0 or day > 3650 for day in value):
            raise ValueError("each offset is a number of days between 0 and 3650")
        return tuple(sorted(set(value), reverse=True))

    @field_validator("holidays")
    @classmethod
    def _holiday_calendar(cls, value: str) -> str:
        if not value.strip():
            return ""
        from worker.rules.calendar import PublicHolidays

        try:
            PublicHolidays(value)
        except NotImplementedError as exc:
            raise ValueError(f"no public holidays known for {value.strip()!r} ({exc}): a country code such as \"ES\", optionally with a subdivision, \"ES-MD\"") from None
        return value.strip().upper()

    @field_validator("due_time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value.strip()):
            raise ValueError("a local time as HH:MM (24-hour), e.g. 09:00")
        return value.strip()

    @field_validator("task_properties")
    @classmethod
    def _task_properties(cls, value: dict[str, str | int | float | bool]) -> dict[str, str]:
        from integrations.hubspot.writes import WRITTEN_TASK_PROPERTIES

        fixed: dict[str, str] = {}
        for name, item in value.items():
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,99}", name):
                raise ValueError(f"{name!r} is not a HubSpot property name (lowercase letters, digits and _)")
            if name in WRITTEN_TASK_PROPERTIES:
                raise ValueError(f"{name} is written by the worker itself on every task; set only properties it does not write")
            fixed[name] = ("true" if item else "false") if isinstance(item, bool) else str(item)
        return fixed

    @field_validator("fallback_owner_id")
    @classmethod
    def _owner_id(cls, value: str | None) -> str | None:
        if value is not None and not str(value).strip().isdigit():
            raise ValueError("a HubSpot owner id (digits), as listed by the owners API")
        return None if value is None else str(value).strip()


class NotificationSettings(_Section):
    """Optional webhook: a run summary after each cycle and a daily digest per owner.

    The webhook URL is a secret (Slack's carry a token): it comes from ``RENEWAL_WORKER_WEBHOOK_URL``
    or ``RENEWAL_WORKER_WEBHOOK_URL_FILE``, never from this file.
    """

    format: Literal["slack", "json"] = "slack"
    run_summary: bool = True
    daily_digest: bool = True
    timeout_s: float = Field(10.0, gt=0, le=120)
    max_attempts: int = Field(4, ge=1, le=10)
    # A Retry-After longer than this is not waited for: the message is given up for the run.
    max_retry_after_s: float = Field(60.0, ge=0, le=3600)


def parse_cron(value: str) -> dict[str, str]:
    """Five crontab fields (minute hour day month day-of-week), or six with seconds first."""
    fields = value.split()
    names = ["minute", "hour", "day", "month", "day_of_week"]
    if len(fields) == 6:
        names = ["second", *names]
    elif len(fields) != 5:
        raise ValueError("a crontab expression of 5 fields (minute hour day month weekday), or 6 with seconds first")
    return dict(zip(names, fields))


class ScheduleSettings(_Section):
    """The daemon's jobs (``renewal-worker run``). Cron expressions are read in [reminders] timezone."""

    sync_interval_s: int = Field(900, ge=1, le=86_400)  # incremental sync
    full_sync_cron: str = "0 3 * * sun"  # full reconcile: archived and deleted records
    rules_cron: str = "0 8 * * mon-fri"  # rules and task emission
    digest_cron: str = "30 8 * * mon-fri"  # the webhook's daily digest (when a webhook is set)
    # After downtime a missed run is made once, if it is no older than this.
    misfire_grace_s: int = Field(3600, ge=1, le=7 * 86_400)
    shutdown_grace_s: float = Field(30.0, ge=0, le=3600)
    # Leadership: a standby checks this often whether the leader is gone; the leader re-checks
    # that it still holds the lease and writes its heartbeat at the same pace.
    lease_check_s: float = Field(5.0, gt=0, le=300)
    # `renewal-worker check` fails when the newest heartbeat is older than this.
    heartbeat_max_age_s: int = Field(120, ge=1, le=86_400)

    @field_validator("full_sync_cron", "rules_cron", "digest_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger(**parse_cron(value))
        except ValueError as exc:
            raise ValueError(f"not a valid cron expression: {exc}") from None
        return value


class HttpSettings(_Section):
    """Optional listener for /healthz and /metrics. Empty: off."""

    bind: str = ""

    @field_validator("bind")
    @classmethod
    def _loopback_host_port(cls, value: str) -> str:
        if not value:
            return value
        host, _, port = value.rpartition(":")
        host = host.strip("[]")
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("HOST:PORT, e.g. 127.0.0.1:9464")
        if not is_loopback(host) and host not in {"0.0.0.0", "::"}:
            raise ValueError("a loopback address (127.0.0.1:9464), or 0.0.0.0:PORT inside a container")
        return value


class LoggingSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


class _FileSettings(_Section):
    hubspot: HubSpotSettings = HubSpotSettings()
    database: DatabaseSettings = DatabaseSettings()
    subscriptions: SubscriptionSettings = SubscriptionSettings()
    services: ServiceSettings | None = None  # absent: service contracts are not read
    client_portals: ClientPortalSettings | None = None  # absent: tier usage is not measured
    primary_contact: PrimaryContactSettings = PrimaryContactSettings()
    sync: SyncSettings = SyncSettings()
    reminders: ReminderSettings = ReminderSettings()
    notifications: NotificationSettings = NotificationSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    http: HttpSettings = HttpSettings()
    logging: LoggingSettings = LoggingSettings()
