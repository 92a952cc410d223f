"""Every HubSpot path the worker calls, in one table, for each API version it speaks.

HubSpot's date-versioned API is GA (``2026-03``, ``2026-09``); the v3/v4 paths ("legacy") retire
(associations v4 on 2027-03-30, the rest in September 2027). The version segment is not in the
same place for every API: ``/crm/objects/2026-09/{objectType}``,
``/crm/associations/2026-09/{from}/{to}/…``, ``/crm/owners/2026-09`` (HubSpot's spec collection,
``PublicApiSpecs/CRM/*/Rollouts/*/2026-09``). The SDK's generated API classes hard-code the old
paths, so the gateway calls the SDK's ``ApiClient.call_api`` with the paths below. Shapes differ
little, and ``answers.py`` reads both: in 2026-09 a batch with some failures answers 200/201
with ``errors`` instead of 207, which the answer check accounts for the same way.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str
    package: str  # which SDK package's ApiClient (auth, transport, error classes) carries it: objects | associations | association_schema | owners
    is_search: bool = False
    versioned: str = ""  # the date-versioned path, with {version}

    def path_for(self, version: str) -> str:
        """This endpoint's path in ``version``: "legacy" (v3/v4) or a date such as "2026-09"."""
        return self.path if version == LEGACY else self.versioned.replace("{version}", version)


LEGACY = "legacy"
API_VERSIONS = ("2026-09", "2026-03", LEGACY)  # the first is the default


LIST_OBJECTS = Endpoint("list_objects", "GET", "/crm/v3/objects/{objectType}", "objects", versioned="/crm/objects/{version}/{objectType}")
SEARCH_OBJECTS = Endpoint("search_objects", "POST", "/crm/v3/objects/{objectType}/search", "objects", is_search=True, versioned="/crm/objects/{version}/{objectType}/search")
BATCH_READ_OBJECTS = Endpoint("batch_read_objects", "POST", "/crm/v3/objects/{objectType}/batch/read", "objects", versioned="/crm/objects/{version}/{objectType}/batch/read")
BATCH_READ_ASSOCIATIONS = Endpoint("batch_read_associations", "POST", "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read", "associations", versioned="/crm/associations/{version}/{fromObjectType}/{toObjectType}/batch/read")
LIST_OWNERS = Endpoint("list_owners", "GET", "/crm/v3/owners/", "owners", versioned="/crm/owners/{version}")

BATCH_CREATE_OBJECTS = Endpoint("batch_create_objects", "POST", "/crm/v3/objects/{objectType}/batch/create", "objects", versioned="/crm/objects/{version}/{objectType}/batch/create")
BATCH_UPDATE_OBJECTS = Endpoint("batch_update_objects", "POST", "/crm/v3/objects/{objectType}/batch/update", "objects", versioned="/crm/objects/{version}/{objectType}/batch/update")
ASSOCIATION_LABELS = Endpoint("association_labels", "GET", "/crm/v4/associations/{fromObjectType}/{toObjectType}/labels", "association_schema", versioned="/crm/associations/{version}/{fromObjectType}/{toObjectType}/labels")
# Answered 201 with the pairs (207 with errors) and 204 with no content, per HubSpot's v4 spec.
BATCH_CREATE_ASSOCIATIONS = Endpoint("batch_create_associations", "POST", "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/create", "associations", versioned="/crm/associations/{version}/{fromObjectType}/{toObjectType}/batch/create")
BATCH_ARCHIVE_ASSOCIATIONS = Endpoint("batch_archive_associations", "POST", "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/archive", "associations", versioned="/crm/associations/{version}/{fromObjectType}/{toObjectType}/batch/archive")

ACCOUNT_DETAILS = Endpoint("account_details", "GET", "/account-info/v3/details", "objects", versioned="/account-info/{version}/details")
LIST_PROPERTIES = Endpoint("list_properties", "GET", "/crm/v3/properties/{objectType}", "objects", versioned="/crm/properties/{version}/{objectType}")
# The portal's custom objects (``init``): HubSpot's schemas API (PublicApiSpecs/CRM/Schemas, 2026-09:
# "/crm-object-schemas/2026-09/schemas"; v3: "/crm/v3/schemas").
LIST_SCHEMAS = Endpoint("list_schemas", "GET", "/crm/v3/schemas", "objects", versioned="/crm-object-schemas/{version}/schemas")
# A client portal's marketing emails over a time span (PublicApiSpecs/Marketing/Marketing Emails,
# 2026-09: "/marketing/emails/2026-09/statistics/list", scope content): ``aggregate.counters.sent``.
EMAIL_STATISTICS = Endpoint("email_statistics", "GET", "/marketing/v3/emails/statistics/list", "objects", versioned="/marketing/emails/{version}/statistics/list")

ALL_ENDPOINTS = (
    LIST_OBJECTS,
    SEARCH_OBJECTS,
    BATCH_READ_OBJECTS,
    BATCH_READ_ASSOCIATIONS,
    LIST_OWNERS,
    BATCH_CREATE_OBJECTS,
    BATCH_UPDATE_OBJECTS,
    ASSOCIATION_LABELS,
    BATCH_CREATE_ASSOCIATIONS,
    BATCH_ARCHIVE_ASSOCIATIONS,
    LIST_PROPERTIES,
    ACCOUNT_DETAILS,
    LIST_SCHEMAS,
    EMAIL_STATISTICS,
)
