"""``--demo``: the built-in sandbox HubSpot with a generated partner portal. No token, no network."""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from typing import Iterator

from pydantic import SecretStr

from integrations.hubspot.sandbox import DEMO_TOKEN, PortalSpec, SandboxHubSpot, generate_portal
from worker.settings import Settings

DEMO_DATABASE_URL = "sqlite:///renewal-worker-demo.db"
DEMO_SPEC = PortalSpec(companies=40, seed=7)


def demo_settings(settings: Settings, base_url: str) -> Settings:
    """The user's settings pointed at the sandbox; the cache goes to a demo file unless the config
    names a database explicitly."""
    database = settings.database
    if database.url == type(database)().url:
        database = database.model_copy(update={"url": DEMO_DATABASE_URL})
    return dataclasses.replace(
        settings,
        hubspot=settings.hubspot.model_copy(update={"base_url": base_url}),
        database=database,
        access_token=SecretStr(DEMO_TOKEN),
    )


@contextmanager
def demo_portal() -> Iterator[SandboxHubSpot]:
    with SandboxHubSpot(generate_portal(DEMO_SPEC)) as sandbox:
        yield sandbox
