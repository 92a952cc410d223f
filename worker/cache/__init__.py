"""The local SQLModel cache of the partner's portal."""

from worker.cache.db import Cache, upsert

__all__ = ["Cache", "upsert"]
