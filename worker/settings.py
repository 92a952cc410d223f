"""One frozen Settings object: TOML file, overlaid by environment variables, validated at start-up.

Every problem is collected and reported at once (key, value, why), so a user fixes a broken
config in one go instead of one error per restart. The HubSpot token is deliberately not a
config-file key: it comes from ``HUBSPOT_ACCESS_TOKEN`` or ``HUBSPOT_ACCESS_TOKEN_FILE`` only.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Mapping
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)

ENV_PREFIX = "RENEWAL_WORKER__"
CONFIG_ENV = "RENEWAL_WORKER_CONFIG"
TOKEN_ENV = "HUBSPOT_ACCESS_TOKEN"
TOKEN_FILE_ENV = "HUBSPOT_ACCESS_TOKEN_FILE"
WEBHOOK_ENV = "RENEWAL_WORKER_WEBHOOK_URL"
WEBHOOK_FILE_ENV = "RENEWAL_WORKER_WEBHOOK_URL_FILE"
DEFAULT_CONFIG_PATH = Path("config.toml")

# Keys a user might reasonably try for the token; each is refused with a pointer to the env vars.
_TOKEN_LIKE_KEYS = {"access_token", "token", "api_key", "private_app_token", "hapikey", "webhook_url", "url_secret"}


def _secret_env_hint(key: str) -> str:
    if key.lower().startswith("webhook") or key.lower() == "url_secret":
        return f"{WEBHOOK_ENV} or {WEBHOOK_FILE_ENV}"
    return f"{TOKEN_ENV} or {TOKEN_FILE_ENV}"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HubSpotSettings(_Section):
    base_url: str = "https://api.hubapi.com"
    requests_per_10s: int = Field(100, ge=1, le=10_000)
    search_requests_per_s: int = Field(4, ge=1, le=100)
    timeout_connect_s: float = Field(5.0, gt=0)
    timeout_read_s: float = Field(30.0, gt=0)
    max_attempts: int = Field(6, ge=1, le=20)
    backoff_initial_s: float = Field(0.5, ge=0)
    backoff_max_s: float = Field(30.0, ge=0)
    # A single Retry-After longer than this ends the run instead of sleeping through it.
    max_retry_after_s: float = Field(120.0, ge=0)
    # Chunk sizes are HubSpot's documented maxima; lower them only to debug.
    page_size: int = Field(100, ge=1, le=100)
    search_page_size: int = Field(200, ge=1, le=200)

    @field_validator("base_url")
    @classmethod
    def _https_unless_loopback(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an http(s) URL such as https://api.hubapi.com")
        if parts.scheme == "http" and not _is_loopback(parts.hostname):
            raise ValueError("plain http:// is only allowed for loopback hosts (127.0.0.1, ::1, localhost)")
        return value.rstrip("/")


def _is_loopback(host: str) -> bool:
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
        if not (value.startswith("sqlite:///") or value.startswith("postgresql+psycopg://")):
            raise ValueError("use sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB")
        return value


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


class SubscriptionValues(_Section):
    communication_owner_hubspot: str = "hubspot"
    communication_owner_partner: str = "partner"
    cancelled_statuses: tuple[str, ...] = ("closedlost", "cancelled")


class SubscriptionSettings(_Section):
    object_type: str = "deals"
    properties: SubscriptionProperties = SubscriptionProperties()
    values: SubscriptionValues = SubscriptionValues()

    @field_validator("object_type")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value.strip() or "/" in value:
            raise ValueError("an object type name (deals, subscriptions, a custom object) or a 2-… id")
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


class ReminderSettings(_Section):
    """The renewal rules (``../shared/DOMAIN.md``) and how their tasks look. Defaults are HubSpot's."""

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
    # Seconds to wait for another worker's emission to finish before giving up (exit 1).
    emission_lock_wait_s: float = Field(120.0, ge=0, le=3600)

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

    @field_validator("due_time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value.strip()):
            raise ValueError("a local time as HH:MM (24-hour), e.g. 09:00")
        return value.strip()

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
        if not _is_loopback(host) and host not in {"0.0.0.0", "::"}:
            raise ValueError("a loopback address (127.0.0.1:9464), or 0.0.0.0:PORT inside a container")
        return value


class LoggingSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


class _FileSettings(_Section):
    hubspot: HubSpotSettings = HubSpotSettings()
    database: DatabaseSettings = DatabaseSettings()
    subscriptions: SubscriptionSettings = SubscriptionSettings()
    primary_contact: PrimaryContactSettings = PrimaryContactSettings()
    sync: SyncSettings = SyncSettings()
    reminders: ReminderSettings = ReminderSettings()
    notifications: NotificationSettings = NotificationSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    http: HttpSettings = HttpSettings()
    logging: LoggingSettings = LoggingSettings()


@dataclass(frozen=True)
class Settings:
    """Everything the worker needs, validated. ``access_token`` is a SecretStr: repr shows ***."""

    hubspot: HubSpotSettings
    database: DatabaseSettings
    subscriptions: SubscriptionSettings
    primary_contact: PrimaryContactSettings
    sync: SyncSettings
    reminders: ReminderSettings
    notifications: NotificationSettings
    schedule: ScheduleSettings
    http: HttpSettings
    logging: LoggingSettings
    access_token: SecretStr | None
    source: str
    webhook_url: SecretStr | None = None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.reminders.timezone)


@dataclass(frozen=True)
class ConfigProblem:
    key: str
    value: str
    reason: str

    def __str__(self) -> str:
        shown = f" (value: {self.value})" if self.value else ""
        return f"{self.key}: {self.reason}{shown}"


class ConfigError(Exception):
    """Raised with every problem found, so that all of them can be shown at once."""

    def __init__(self, problems: list[ConfigProblem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def load_settings(
    config_path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    require_token: bool = True,
) -> Settings:
    """Read TOML, overlay ``RENEWAL_WORKER__SECTION__KEY`` env vars, validate, freeze.

    ``config_path`` None means ``$RENEWAL_WORKER_CONFIG`` or ``./config.toml``; a missing default
    file is fine (all defaults), a missing explicitly named file is an error.
    """
    env = os.environ if environ is None else environ
    problems: list[ConfigProblem] = []

    explicit = config_path is not None or CONFIG_ENV in env
    path = Path(config_path) if config_path is not None else Path(env.get(CONFIG_ENV, DEFAULT_CONFIG_PATH))
    raw: dict[str, Any] = {}
    if path.exists():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError([ConfigProblem(str(path), "", f"is not valid TOML: {exc}")]) from None
    elif explicit:
        raise ConfigError([ConfigProblem("--config", str(path), "file not found")])

    problems.extend(_refuse_tokens_in_file(raw))
    raw = _strip_token_keys(raw)
    problems.extend(_overlay_env(raw, env))

    file_settings: _FileSettings | None = None
    try:
        file_settings = _FileSettings.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_problems_from_validation(exc, raw))

    token, token_problems = _read_secret(env, TOKEN_ENV, TOKEN_FILE_ENV, required=require_token)
    problems.extend(token_problems)
    webhook, webhook_problems = _read_secret(env, WEBHOOK_ENV, WEBHOOK_FILE_ENV, required=False)
    problems.extend(webhook_problems)
    if webhook is not None and not _webhook_url_ok(webhook.get_secret_value()):
        problems.append(ConfigProblem(WEBHOOK_ENV, "***", "must be an https:// URL (http:// only for loopback hosts)"))

    if problems or file_settings is None:
        raise ConfigError(problems)
    return Settings(
        hubspot=file_settings.hubspot,
        database=file_settings.database,
        subscriptions=file_settings.subscriptions,
        primary_contact=file_settings.primary_contact,
        sync=file_settings.sync,
        reminders=file_settings.reminders,
        notifications=file_settings.notifications,
        schedule=file_settings.schedule,
        http=file_settings.http,
        logging=file_settings.logging,
        access_token=token,
        source=str(path) if path.exists() else "(defaults)",
        webhook_url=webhook,
    )


def _refuse_tokens_in_file(raw: Mapping[str, Any], prefix: str = "") -> list[ConfigProblem]:
    found = []
    for key, value in raw.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            found.extend(_refuse_tokens_in_file(value, dotted + "."))
        elif key.lower() in _TOKEN_LIKE_KEYS:
            found.append(
                ConfigProblem(
                    dotted,
                    "***",
                    f"secrets are not read from the config file; set {_secret_env_hint(key)} instead",
                )
            )
    return found


def _strip_token_keys(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: (_strip_token_keys(value) if isinstance(value, Mapping) else value)
        for key, value in raw.items()
        if not (key.lower() in _TOKEN_LIKE_KEYS and not isinstance(value, Mapping))
    }


def _overlay_env(raw: dict[str, Any], env: Mapping[str, str]) -> list[ConfigProblem]:
    """``RENEWAL_WORKER__HUBSPOT__REQUESTS_PER_10S=50`` sets ``[hubspot] requests_per_10s``.

    Values are parsed as TOML scalars when they parse (numbers, booleans, arrays), else strings.
    """
    problems = []
    for name, value in sorted(env.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX) :].split("__") if part]
        if not path:
            continue
        if path[-1] in _TOKEN_LIKE_KEYS:
            problems.append(ConfigProblem(name, "***", f"secrets are not config keys: use {_secret_env_hint(path[-1])}"))
            continue
        target = raw
        for part in path[:-1]:
            existing = target.get(part)
            if not isinstance(existing, dict):
                existing = {}
                target[part] = existing
            target = existing
        target[path[-1]] = _parse_env_value(value)
    return problems


def _parse_env_value(value: str) -> Any:
    try:
        return tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return value


def _problems_from_validation(exc: ValidationError, raw: Mapping[str, Any]) -> list[ConfigProblem]:
    problems = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        key = ".".join(loc)
        value = _lookup(raw, error["loc"])
        reason = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            reason = "unknown key (see config.example.toml for the keys this version reads)"
        problems.append(ConfigProblem(key, "" if value is _MISSING else repr(value)[:80], reason))
    return problems


_MISSING = object()


def _lookup(raw: Any, loc: tuple[Any, ...]) -> Any:
    node = raw
    for part in loc:
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, (list, tuple)) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return _MISSING
    return node


def _webhook_url_ok(url: str) -> bool:
    parts = urlsplit(url)
    if not parts.hostname:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.hostname))


def _read_secret(
    env: Mapping[str, str], direct_name: str, file_name_env: str, *, required: bool
) -> tuple[SecretStr | None, list[ConfigProblem]]:
    """A secret from ``direct_name`` or from the file named by ``file_name_env`` (not both)."""
    direct = env.get(direct_name, "").strip()
    file_name = env.get(file_name_env, "").strip()
    if direct and file_name:
        return None, [ConfigProblem(direct_name, "***", f"set either {direct_name} or {file_name_env}, not both")]
    if file_name:
        try:
            secret = Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            return None, [ConfigProblem(file_name_env, file_name, f"cannot read the file: {exc.strerror}")]
        if not secret:
            return None, [ConfigProblem(file_name_env, file_name, "the file is empty")]
        return SecretStr(secret), []
    if direct:
        return SecretStr(direct), []
    if required:
        return None, [
            ConfigProblem(
                direct_name,
                "",
                f"no HubSpot access token: set {TOKEN_ENV} or {TOKEN_FILE_ENV} (private app token), "
                "or run with --demo to use the built-in sandbox portal",
            )
        ]
    return None, []
