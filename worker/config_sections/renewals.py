"""What the worker reads as renewals and from where: ``[subscriptions]``, ``[services]``,
``[client_portals]``, ``[primary_contact]``."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from integrations.hubspot.objects import is_deals
from worker.config_sections.base import _Section
from worker.config_sections.connections import HubSpotSettings


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
