"""One frozen Settings object: TOML file, overlaid by environment variables, validated at start-up.

Every problem is collected and reported at once (key, value, why), so a user fixes a broken
config in one go instead of one error per restart. The HubSpot token is deliberately not a
config-file key: it comes from ``HUBSPOT_ACCESS_TOKEN`` or ``HUBSPOT_ACCESS_TOKEN_FILE`` only.
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import SecretStr, ValidationError

from integrations.hubspot.objects import object_type_name
from worker.config_problems import ConfigProblem, problems_from_validation
from worker.config_sections import (
    ClientPortalSettings,
    DatabaseSettings,
    HttpSettings,
    HubSpotSettings,
    LoggingSettings,
    NotificationSettings,
    PrimaryContactSettings,
    ReminderSettings,
    ScheduleSettings,
    ServiceSettings,
    SubscriptionSettings,
    SyncSettings,
    _FileSettings,
    is_loopback,
)
from worker.errors import FixTheConfig

ENV_PREFIX = "RENEWAL_WORKER__"
CONFIG_ENV = "RENEWAL_WORKER_CONFIG"
TOKEN_ENV = "HUBSPOT_ACCESS_TOKEN"
TOKEN_FILE_ENV = "HUBSPOT_ACCESS_TOKEN_FILE"
WEBHOOK_ENV = "RENEWAL_WORKER_WEBHOOK_URL"
WEBHOOK_FILE_ENV = "RENEWAL_WORKER_WEBHOOK_URL_FILE"
PANEL_AUTH_ENV = "RENEWAL_WORKER_PANEL_AUTH"  # user:password for the web panel (HTTP Basic)
PANEL_AUTH_FILE_ENV = "RENEWAL_WORKER_PANEL_AUTH_FILE"
DEFAULT_CONFIG_PATH = Path("config.toml")

# Keys a user might reasonably try for the token; each is refused with a pointer to the env vars.
_TOKEN_LIKE_KEYS = {
    "access_token", "token", "api_key", "api_token", "private_app_token", "hapikey", "webhook_url", "url_secret",
    "hubspot_access_token", "hubspot_token", "service_key", "secret", "password",
}
def _secret_env_hint(key: str) -> str:
    if key.lower().startswith("webhook") or key.lower() == "url_secret":
        return f"{WEBHOOK_ENV} or {WEBHOOK_FILE_ENV}"
    return f"{TOKEN_ENV} or {TOKEN_FILE_ENV}"


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
    panel_auth: SecretStr | None = None  # user:password: the panel asks for it (HTTP Basic)
    services: ServiceSettings | None = None  # the partner's service contracts; None: not read
    client_portals: ClientPortalSettings | None = None  # the clients' own portals; None: not read

    @property
    def renewal_sources(self) -> tuple[SubscriptionSettings | ServiceSettings, ...]:
        """The kinds of renewal this portal is read for: HubSpot subscriptions, and the
        partner's service contracts when ``[services]`` is configured."""
        return (self.subscriptions,) if self.services is None else (self.subscriptions, self.services)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.reminders.timezone)


class ConfigError(FixTheConfig):
    """Raised with every problem found, so that all of them can be shown at once."""

    def __init__(self, problems: list[ConfigProblem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def load_settings(
    config_path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    require_token: bool = True,
    missing_ok: bool = False,
) -> Settings:
    """Read TOML, overlay ``RENEWAL_WORKER__SECTION__KEY`` env vars, validate, freeze.

    ``config_path`` None means ``$RENEWAL_WORKER_CONFIG`` or ``./config.toml``; a missing default
    file is fine (all defaults), a missing explicitly named file is an error unless ``missing_ok``
    (``init``, which creates it).
    """
    env = os.environ if environ is None else environ
    problems: list[ConfigProblem] = []

    explicit = (config_path is not None or CONFIG_ENV in env) and not missing_ok
    path = config_file_path(config_path, env)
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
        problems.extend(problems_from_validation(exc, raw))
    if file_settings is not None and file_settings.services is not None:
        problems.extend(_distinct_renewal_objects(file_settings.subscriptions, file_settings.services))

    token, token_problems = _read_secret(env, TOKEN_ENV, TOKEN_FILE_ENV, required=require_token)
    problems.extend(token_problems)
    webhook, webhook_problems = _read_secret(env, WEBHOOK_ENV, WEBHOOK_FILE_ENV, required=False)
    problems.extend(webhook_problems)
    if webhook is not None and not _webhook_url_ok(webhook.get_secret_value()):
        problems.append(ConfigProblem(WEBHOOK_ENV, "***", "must be an https:// URL (http:// only for loopback hosts)"))

    panel_auth, panel_problems = _read_secret(env, PANEL_AUTH_ENV, PANEL_AUTH_FILE_ENV, required=False)
    problems.extend(panel_problems)
    user, _, password = panel_auth.get_secret_value().partition(":") if panel_auth else ("x", ":", "x")
    if not user or not password:
        problems.append(ConfigProblem(PANEL_AUTH_ENV, "***", "expected user:password (both non-empty)"))

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
        panel_auth=panel_auth,
        services=file_settings.services,
        client_portals=file_settings.client_portals,
    )


def config_file_path(config_path: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Path:
    """The config file the commands read: ``--config``, else $RENEWAL_WORKER_CONFIG, else ./config.toml."""
    return Path(config_path) if config_path is not None else Path(env.get(CONFIG_ENV, DEFAULT_CONFIG_PATH))


def _distinct_renewal_objects(subscriptions: SubscriptionSettings, services: ServiceSettings) -> list[ConfigProblem]:
    """Both kinds of renewal read from one object type would be read twice, each record a
    subscription and a service contract at once: refused, unless each kind names its own pipeline."""
    def canonical(object_type: str) -> str:
        return object_type_name(object_type)

    if canonical(services.object_type) != canonical(subscriptions.object_type):
        return []
    if services.pipeline and subscriptions.pipeline and services.pipeline != subscriptions.pipeline:
        return []  # one object type, told apart by pipeline
    if services.pipeline and subscriptions.pipeline:
        return [ConfigProblem(
            "services.pipeline", services.pipeline,
            f"must differ from [subscriptions] pipeline ({subscriptions.pipeline}): each record would be both kinds of renewal",
        )]
    return [ConfigProblem(
        "services.object_type", services.object_type,
        f"must differ from [subscriptions] object_type ({subscriptions.object_type}), or both sections name a pipeline "
        "(pipeline = its internal id) so that each record is one kind: HubSpot's services object (\"services\"), a custom "
        "object, or deals in their own pipeline",
    )]


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


def _webhook_url_ok(url: str) -> bool:
    parts = urlsplit(url)
    if not parts.hostname:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname))


def one_printable_line(secret: str) -> bool:
    """Tokens and URLs are printable ASCII: anything else could never be sent in a header."""
    return secret.isascii() and secret.isprintable()


def secret_file_warnings(env: Mapping[str, str]) -> list[str]:
    """A secret file others can read is a leak waiting to happen: said at start-up, not refused."""
    found = []
    for name in (TOKEN_FILE_ENV, WEBHOOK_FILE_ENV, PANEL_AUTH_FILE_ENV):
        path = env.get(name, "").strip()
        try:
            mode = os.stat(path).st_mode if path else None
        except OSError:
            continue
        if mode is not None and mode & (stat.S_IRWXG | stat.S_IRWXO):
            found.append(f"{name}: {path} can be read by other users (mode {stat.filemode(mode)}); chmod 600 it")
    return found


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
        except UnicodeDecodeError:
            return None, [ConfigProblem(file_name_env, file_name, "the file is not text (expected the secret on one line)")]
        if not secret:
            return None, [ConfigProblem(file_name_env, file_name, "the file is empty")]
        if not one_printable_line(secret):
            return None, [ConfigProblem(file_name_env, file_name, "the file holds more than one line or control characters (expected the secret on one line)")]
        return SecretStr(secret), []
    if direct:
        if not one_printable_line(direct):
            return None, [ConfigProblem(direct_name, "***", "contains a line break, a control character or a non-ASCII character")]
        return SecretStr(direct), []
    if required:
        return None, [
            ConfigProblem(
                direct_name,
                "",
                f"no HubSpot access token: set {TOKEN_ENV} or {TOKEN_FILE_ENV} (a service key or private app token), "
                "or run with --demo to use the built-in sandbox portal",
            )
        ]
    return None, []
