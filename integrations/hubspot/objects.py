"""HubSpot's object types: the API takes a standard object's name or its id ("0-3" for deals);
a custom object's id is its own ("2-…"). Where a record lives in HubSpot's app.

Sources: HubSpot's "Understanding the CRM" guide (object type ids) and its record URLs
(``https://{uiDomain}/contacts/{portalId}/record/{objectTypeId}/{recordId}``).
"""

from __future__ import annotations

# Standard objects the worker reads or writes, by name → id.
OBJECT_TYPE_IDS = {"contacts": "0-1", "companies": "0-2", "deals": "0-3", "tasks": "0-27", "subscriptions": "0-69", "services": "0-162"}
_NAMES = {type_id: name for name, type_id in OBJECT_TYPE_IDS.items()}


def object_type_name(object_type: str) -> str:
    """A standard object by its name whichever way it was given ("0-3" and "Deals": "deals"); any
    other type as given, in lower case."""
    given = object_type.strip().lower()
    return _NAMES.get(given, given)


def is_deals(object_type: str) -> bool:
    return object_type_name(object_type) == "deals"


def record_url(ui_domain: str, portal_id: int | str, object_type: str, record_id: str) -> str | None:
    """The record in HubSpot's app; None for a type whose id isn't known."""
    type_id = OBJECT_TYPE_IDS.get(object_type, object_type if object_type[:2] in {"0-", "2-"} else None)
    if type_id is None:
        return None
    return f"https://{ui_domain}/contacts/{portal_id}/record/{type_id}/{record_id}"
