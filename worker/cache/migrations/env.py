"""Alembic environment: the engine comes from the caller (worker.cache.db.migrate)."""

from alembic import context

from worker.cache.db import metadata

target_metadata = metadata()
engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    context.run_migrations()
