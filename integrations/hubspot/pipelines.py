"""Which property holds a record's pipeline, per object type.

Deals keep it in ``pipeline`` (HubSpot's deals guide: "pipeline", with "default" for the default
pipeline); tickets, HubSpot's services object, commerce objects and custom objects with pipelines
keep it in ``hs_pipeline`` (the pipelines API guide and each object's default properties). The
value is the pipeline's internal id, not its label. The list API cannot filter by it, so records of
one object type are told apart by pipeline as they are read.
"""

from __future__ import annotations

from integrations.hubspot.objects import is_deals


def pipeline_property(object_type: str) -> str:
    return "pipeline" if is_deals(object_type) else "hs_pipeline"
