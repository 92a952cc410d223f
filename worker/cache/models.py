"""The local cache: SQLModel tables. The same schema on SQLite and PostgreSQL.

Rows keep HubSpot's raw property values (``properties``) beside the parsed columns, so a value the
sync could not parse is never lost: the parsed column is empty and a finding says why.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Index, String, Text, UniqueConstraint
from sqlalchemy.types import DateTime, TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC in, timezone-aware UTC out, on both backends (SQLite drops tzinfo)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class DecimalText(TypeDecorator):
    """Money as exact decimal text: no float rounding, no SQLite Decimal warnings."""

    impl = String(48)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Any) -> str | None:
        return None if value is None else format(value, "f")

    def process_result_value(self, value: str | None, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(value)


def _utc_column(**kw: Any) -> Any:
    return Field(default=None, sa_type=UTCDateTime, **kw)


class Company(SQLModel, table=True):
    __tablename__ = "companies"

    id: str = Field(primary_key=True, max_length=32)
    name: str | None = Field(default=None, sa_type=Text)
    domain: str | None = Field(default=None, sa_type=Text)
    owner_id: str | None = Field(default=None, max_length=32)
    properties: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    hs_created_at: datetime | None = _utc_column()
    hs_updated_at: datetime | None = _utc_column()
    archived: bool = False
    archived_at: datetime | None = _utc_column()
    deleted_at: datetime | None = _utc_column()  # gone from HubSpot's active and archived lists
    seen_generation: int = 0
    synced_at: datetime | None = _utc_column()


class Contact(SQLModel, table=True):
    __tablename__ = "contacts"

    id: str = Field(primary_key=True, max_length=32)
    email: str | None = Field(default=None, sa_type=Text)
    email_problem: str | None = Field(default=None, max_length=16)  # None | missing | malformed
    first_name: str | None = Field(default=None, sa_type=Text)
    last_name: str | None = Field(default=None, sa_type=Text)
    bounce_reason: str | None = Field(default=None, sa_type=Text)
    opted_out: bool | None = None
    properties: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    hs_created_at: datetime | None = _utc_column()
    hs_updated_at: datetime | None = _utc_column()
    archived: bool = False
    archived_at: datetime | None = _utc_column()
    deleted_at: datetime | None = _utc_column()
    seen_generation: int = 0
    synced_at: datetime | None = _utc_column()


class PrimaryContact(SQLModel, table=True):
    """Which contact a company's renewal emails go to, from the configured association label."""

    __tablename__ = "primary_contacts"

    company_id: str = Field(primary_key=True, max_length=32)
    contact_id: str | None = Field(default=None, max_length=32)  # None: no contact carries the label
    candidate_ids: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    label: str = Field(sa_type=Text)
    checked_at: datetime | None = _utc_column()


class Owner(SQLModel, table=True):
    __tablename__ = "owners"

    id: str = Field(primary_key=True, max_length=32)
    email: str | None = Field(default=None, sa_type=Text)
    first_name: str | None = Field(default=None, sa_type=Text)
    last_name: str | None = Field(default=None, sa_type=Text)
    user_id: int | None = None
    active: bool = True
    # The owner's teams as HubSpot lists them: [{"id", "name", "primary"}] (None before 0010).
    teams: list | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    hs_updated_at: datetime | None = _utc_column()
    deleted_at: datetime | None = _utc_column()
    seen_generation: int = 0
    synced_at: datetime | None = _utc_column()


class RenewalRecord(SQLModel):
    """One renewable contract, of either kind: the columns both tables share, so a full pass,
    its reconcile guard and its sweep work per table exactly as for the other records. The
    HubSpot-only fields (communication owner, contact tier and usage) stay empty for service
    contracts."""

    id: str = Field(primary_key=True, max_length=32)
    object_type: str = Field(max_length=64)
    company_id: str | None = Field(default=None, max_length=32)
    owner_id: str | None = Field(default=None, max_length=32)
    renewal_date: date | None = None
    deadline: date | None = None
    products: str | None = Field(default=None, sa_type=Text)
    current_price: Decimal | None = Field(default=None, sa_type=DecimalText)
    renewal_price: Decimal | None = Field(default=None, sa_type=DecimalText)
    currency: str | None = Field(default=None, sa_type=Text)
    communication_owner: str | None = Field(default=None, max_length=16)  # hubspot | partner | None
    contact_tier: int | None = None
    contacts_used: int | None = None
    emails_sent: int | None = None
    status: str | None = Field(default=None, sa_type=Text)
    discount_percent: Decimal | None = Field(default=None, sa_type=DecimalText)
    discount_end_date: date | None = None
    renewal_manager: str | None = Field(default=None, sa_type=Text)
    renewal_options_url: str | None = Field(default=None, sa_type=Text)
    # sa_type, not sa_column: a Column object can belong to one table only.
    properties: dict = Field(default_factory=dict, sa_type=JSON, nullable=False)
    hs_created_at: datetime | None = _utc_column()
    hs_updated_at: datetime | None = _utc_column()
    archived: bool = False
    archived_at: datetime | None = _utc_column()
    deleted_at: datetime | None = _utc_column()
    seen_generation: int = 0
    synced_at: datetime | None = _utc_column()


class Subscription(RenewalRecord, table=True):
    """A client's HubSpot subscription (``[subscriptions]``)."""

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_company", "company_id"), Index("ix_subscriptions_renewal", "renewal_date"))


class ServiceContract(RenewalRecord, table=True):
    """The partner's own service contract with a client (``[services]``)."""

    __tablename__ = "service_contracts"
    __table_args__ = (Index("ix_service_contracts_company", "company_id"), Index("ix_service_contracts_renewal", "renewal_date"))


class Finding(SQLModel, table=True):
    """Something wrong in the data or the portal. Resolves itself when the data is fixed."""

    __tablename__ = "findings"
    __table_args__ = (UniqueConstraint("rule", "object_type", "object_id", "field", name="uq_findings_key"),)

    id: int | None = Field(default=None, primary_key=True)
    rule: str = Field(max_length=64)
    object_type: str = Field(max_length=64)
    object_id: str = Field(max_length=32)
    field: str = Field(default="", max_length=64)
    value: str | None = Field(default=None, sa_type=Text)
    message: str = Field(sa_type=Text)
    first_seen_at: datetime = Field(sa_type=UTCDateTime)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)
    resolved_at: datetime | None = _utc_column()


class SyncState(SQLModel, table=True):
    """Per stream: where a full pass stands (phase + cursor) and the incremental watermark."""

    __tablename__ = "sync_state"

    stream: str = Field(primary_key=True, max_length=64)
    phase: str | None = Field(default=None, max_length=16)  # active | archived | search | None (idle)
    cursor: str | None = Field(default=None, sa_type=Text)
    generation: int = 0
    pass_started_at: datetime | None = _utc_column()
    search_since: datetime | None = _utc_column()
    watermark: datetime | None = _utc_column()
    full_completed_at: datetime | None = _utc_column()
    updated_at: datetime | None = _utc_column()


class HubSpotAccount(SQLModel, table=True):
    """The portal the cache mirrors (one row, id 1): record links in the panel need its id."""

    __tablename__ = "hubspot_account"

    id: int = Field(default=1, primary_key=True)
    portal_id: int
    ui_domain: str = Field(max_length=255)
    fetched_at: datetime = Field(sa_type=UTCDateTime)


class TierUsage(SQLModel, table=True):
    """A client's tier usage on one day, as its own HubSpot portal counted it ([client_portals]):
    one row per client per day, kept ``keep_days``. ``source`` says how it was known: read that day
    (``measured``), or estimated for a past day from the create dates of the marketing contacts
    there now (``estimated``: the history a projection starts from on a client's first reading)."""

    __tablename__ = "tier_usage"

    company_id: str = Field(primary_key=True, max_length=32)
    measured_on: date = Field(primary_key=True)
    portal_id: str = Field(max_length=32)
    source: str = Field(max_length=16)  # measured | estimated
    contacts: int | None = None
    marketing_contacts: int
    emails_sent_month: int | None = None  # marketing emails sent that calendar month, up to that day
    measured_at: datetime = Field(sa_type=UTCDateTime)


class Run(SQLModel, table=True):
    __tablename__ = "runs"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    started_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = _utc_column()
    outcome: str = Field(default="running", max_length=16)  # running | ok | failed | stopped (for a shutdown)
    error: str | None = Field(default=None, sa_type=Text)
    counts: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    api_calls: int = 0
    rate_limited: int = 0
    host: str | None = Field(default=None, max_length=255)  # who ran it: a "running" run whose
    pid: int | None = None  # process is gone from this host was interrupted (status says so)


class TaskLedger(SQLModel, table=True):
    """One row per reminder key: the exactly-once guard for HubSpot tasks.

    The row is committed (state ``pending``, ``attempts`` counted) before the HubSpot call and
    completed with the task id after it. A pending row with attempts > 0 may have reached
    HubSpot: before creating it again the worker looks for its marker on HubSpot's side.
    """

    __tablename__ = "task_ledger"
    __table_args__ = (Index("ix_task_ledger_state", "state"), Index("ix_task_ledger_task", "task_id"))

    key: str = Field(primary_key=True, max_length=200)
    rule: str = Field(max_length=64)
    object_type: str = Field(max_length=32)  # subscription | company
    object_id: str = Field(max_length=32)
    company_id: str | None = Field(default=None, max_length=32)
    subscription_id: str | None = Field(default=None, max_length=32)
    contact_id: str | None = Field(default=None, max_length=32)  # the primary contact it links to
    anchor_date: date | None = None
    generation: int = 1  # bumped when a closed reminder comes back: a new task, a new marker
    marker: str = Field(max_length=40)
    # pending | open | closed (by the worker) | completed_in_hubspot | dismissed (deleted by a person)
    state: str = Field(default="pending", max_length=24)
    task_id: str | None = Field(default=None, max_length=32)
    owner_id: str | None = Field(default=None, max_length=32)
    fingerprint: str = Field(default="", max_length=32)
    subject: str = Field(default="", sa_type=Text)
    priority: str = Field(default="", max_length=16)
    due_at: datetime | None = _utc_column()
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = _utc_column()
    updated_at: datetime | None = _utc_column()
    closed_at: datetime | None = _utc_column()
    close_reason: str | None = Field(default=None, sa_type=Text)
    # owner_id, subject, priority and due_at above are what the worker last wrote in HubSpot;
    # body_block is its part of the body (a person's note around it is theirs), step the rule's
    # working day before "not before today" (the due date moves only when the step moves).
    body_block: str | None = Field(default=None, sa_type=Text)
    step: date | None = None
    # What HubSpot showed at the last read-back: the digest and reports follow the real owner.
    hubspot_owner_id: str | None = Field(default=None, max_length=32)
    hubspot_due_at: datetime | None = _utc_column()
    read_back_at: datetime | None = _utc_column()


class DaemonHeartbeat(SQLModel, table=True):
    """One row per daemon process: who leads, who stands by, and when each was last alive."""

    __tablename__ = "daemon_heartbeats"

    instance_id: str = Field(primary_key=True, max_length=64)
    host: str = Field(max_length=255)
    pid: int
    role: str = Field(max_length=16)  # leader | standby | stopped
    started_at: datetime = Field(sa_type=UTCDateTime)
    heartbeat_at: datetime = Field(sa_type=UTCDateTime)
    stopped_at: datetime | None = _utc_column()
