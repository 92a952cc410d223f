"""How the worker runs: ``[sync]``, ``[reminders]``, ``[notifications]``, ``[schedule]``."""

from __future__ import annotations

import re
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from worker.config_sections.base import _Section


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
