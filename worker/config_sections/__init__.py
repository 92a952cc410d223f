"""The settings file's sections: pydantic models, one per ``[section]``, with the defaults of
``config.example.toml`` and a validator for every value a user can get wrong. Loading, the
environment overlay and the secrets live in ``worker.settings``.

By topic: ``connections`` (where the worker connects and listens), ``renewals`` (what it reads as
renewals, from where), ``running`` (how it runs); ``base`` what every section shares.
"""

from __future__ import annotations

from worker.config_sections.base import _Section
from worker.config_sections.connections import (
    DatabaseSettings,
    HttpSettings,
    HubSpotSettings,
    LoggingSettings,
    is_loopback,
    sqlite_that_forgets,
)
from worker.config_sections.renewals import (
    ClientPortalSettings,
    PrimaryContactSettings,
    ServiceProperties,
    ServiceSettings,
    ServiceValues,
    SubscriptionProperties,
    SubscriptionSettings,
    SubscriptionValues,
)
from worker.config_sections.running import (
    NotificationSettings,
    ReminderSettings,
    ScheduleSettings,
    SyncSettings,
    parse_cron,
)


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


__all__ = [
    "ClientPortalSettings",
    "DatabaseSettings",
    "HttpSettings",
    "HubSpotSettings",
    "LoggingSettings",
    "NotificationSettings",
    "PrimaryContactSettings",
    "ReminderSettings",
    "ScheduleSettings",
    "ServiceProperties",
    "ServiceSettings",
    "ServiceValues",
    "SubscriptionProperties",
    "SubscriptionSettings",
    "SubscriptionValues",
    "SyncSettings",
    "_FileSettings",
    "_Section",
    "is_loopback",
    "parse_cron",
    "sqlite_that_forgets",
]
