"""Which property holds a record's pipeline, per object type.

Deals keep it in ``pipeline`` (HubSpot's deals guide: "pipeline", with "default" for the default
pipeline); tickets, HubSpot's services object, commerce objects and custom objects with pipelines
keep it in ``hs_pipeline`` (the pipelines API guide and each object's default properties). The
value is the pipeline's internal id, not its label. The list API cannot filter by it, so records of
one object type are told apart by pipeline as they are read.
"""

from __future__ import annotations

_DEALS = {"deals", "0-3"}


def pipeline_property(object_type: str) -> str:
    return "pipeline" if object_type.strip().lower() in _DEALS else "hs_pipeline"
