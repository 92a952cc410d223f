"""Every HubSpot path the worker calls, in one table.

HubSpot retires the v3/v4 paths (associations v4 on 2027-03-30, the rest in September 2027) in
favour of date-versioned ones such as ``/crm/objects/2026-03/{objectType}``. The SDK's generated
API classes hard-code the old paths, so the gateway calls the SDK's ``ApiClient.call_api`` with
the paths below: switching versions is an edit of this table (and of the sandbox's routes).
The answers' shapes are checked and read by ``answers.py``, not by the SDK's generated models.
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


LIST_OBJECTS = Endpoint("list_objects", "GET", "/crm/v3/objects/{objectType}", "objects")
SEARCH_OBJECTS = Endpoint("search_objects", "POST", "/crm/v3/objects/{objectType}/search", "objects", is_search=True)
BATCH_READ_OBJECTS = Endpoint("batch_read_objects", "POST", "/crm/v3/objects/{objectType}/batch/read", "objects")
BATCH_READ_ASSOCIATIONS = Endpoint("batch_read_associations", "POST", "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read", "associations")
LIST_OWNERS = Endpoint("list_owners", "GET", "/crm/v3/owners/", "owners")

BATCH_CREATE_OBJECTS = Endpoint("batch_create_objects", "POST", "/crm/v3/objects/{objectType}/batch/create", "objects")
BATCH_UPDATE_OBJECTS = Endpoint("batch_update_objects", "POST", "/crm/v3/objects/{objectType}/batch/update", "objects")
ASSOCIATION_LABELS = Endpoint("association_labels", "GET", "/crm/v4/associations/{fromObjectType}/{toObjectType}/labels", "association_schema")
# Answered 201 with the pairs (207 with errors) and 204 with no content, per HubSpot's v4 spec.
BATCH_CREATE_ASSOCIATIONS = Endpoint("batch_create_associations", "POST", "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/create", "associations")
BATCH_ARCHIVE_ASSOCIATIONS = Endpoint("batch_archive_associations", "POST", "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/archive", "associations")

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
)
