"""Shared fixtures: the sandbox HubSpot, settings pointed at it, and the two databases.

PostgreSQL is real: a private server started for the test session on a free loopback port, from
Debian's binaries (``make test`` installs them). As root, initdb refuses to run, so the data
directory is owned by, and the server runs as, the ``postgres`` user.
"""

from __future__ import annotations

import dataclasses
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import pytest
from pydantic import SecretStr

from integrations.hubspot.gateway import HubSpotGateway
from integrations.hubspot.sandbox import DEMO_TOKEN, PortalSpec, SandboxHubSpot, generate_portal
from tests.clock import Moment, now, start_suite_clock
from worker.cache.db import Cache
from worker.cycle import build_gateway
from worker.config_sections import ServiceSettings
from worker.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    # Before any test module is imported: no test, fixture or module constant reads the real day.
    start_suite_clock()


@pytest.fixture(autouse=True)
def moment(request: pytest.FixtureRequest) -> Iterator[Moment]:
    """The moment the test runs at: the suite's ordinary day (its clock, ticking), or, for a test
    parametrised with ``tests.clock.over_moments``, each moment of the matrix in turn."""
    chosen = getattr(request, "param", None)
    if chosen is None:
        yield Moment("default", now())
        return
    import time_machine

    with time_machine.travel(chosen.at, tick=True):
        yield chosen


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- PostgreSQL


class PostgresServer:
    def __init__(self) -> None:
        self.url_base: str | None = os.environ.get("RENEWAL_WORKER_TEST_PG_URL")
        self.data_dir: Path | None = None
        self._counter = itertools.count()
        self.bin_dir: Path | None = None
        self.as_postgres = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = list(args)
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> None:
        if self.url_base:
            return
        candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
        if not candidates:
            raise RuntimeError("no PostgreSQL server binaries: run `make test` (it installs them) or set RENEWAL_WORKER_TEST_PG_URL")
        self.bin_dir = Path(candidates[-1]).parent
        self.data_dir = Path(tempfile.mkdtemp(prefix="rw-pg-"))
        if self.as_postgres:
            pw = pwd.getpwnam("postgres")
            os.chown(self.data_dir, pw.pw_uid, pw.pw_gid)
        port = free_port()
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data_dir / "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        self._run(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir / "data"), "-l", str(self.data_dir / "log"), "-w", "-t", "60",
            "-o", f"-p {port} -k {self.data_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            "start",
        )
        self.url_base = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"

    def new_database(self) -> str:
        import psycopg

        assert self.url_base
        plain = self.url_base.replace("postgresql+psycopg://", "postgresql://")
        name = f"rw_test_{os.getpid()}_{next(self._counter)}"
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url_base.rsplit("/", 1)[0] + f"/{name}"

    def stop(self) -> None:
        if self.data_dir is None or self.bin_dir is None:
            return
        try:
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir / "data"), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cache.db'}"
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cache.db'}"


# --------------------------------------------------------------------------- HubSpot sandbox


@pytest.fixture
def portal():
    return generate_portal(PortalSpec(companies=60, seed=11))


@pytest.fixture
def sandbox(portal) -> Iterator[SandboxHubSpot]:
    # Generous limits: tests about throttling set their own.
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        yield server


def make_settings(base_url: str, database_url: str, **sections) -> Settings:
    """Settings as a user would write them, pointed at the sandbox, with fast retries."""
    base = load_settings(config_path=os.devnull, environ={"HUBSPOT_ACCESS_TOKEN": DEMO_TOKEN})
    hubspot = base.hubspot.model_copy(
        update={"base_url": base_url, "requests_per_10s": 10_000, "search_requests_per_s": 1_000, "backoff_initial_s": 0.01, "backoff_max_s": 0.05, **sections.pop("hubspot", {})}
    )
    database = base.database.model_copy(update={"url": database_url})
    # ``services={...}`` turns the optional [services] section on (absent in the base settings).
    changes = {name: (getattr(base, name) or ServiceSettings()).model_copy(update=values) for name, values in sections.items()}
    return dataclasses.replace(base, hubspot=hubspot, database=database, access_token=SecretStr(DEMO_TOKEN), **changes)


def make_gateway(settings: Settings) -> HubSpotGateway:
    return build_gateway(settings)


@pytest.fixture
def settings(sandbox: SandboxHubSpot, db_url: str, moment: Moment) -> Settings:
    return make_settings(sandbox.url, db_url, reminders={"timezone": moment.timezone})


@pytest.fixture
def cache(settings: Settings) -> Iterator[Cache]:
    cache = Cache(settings.database.url)
    yield cache
    cache.close()
