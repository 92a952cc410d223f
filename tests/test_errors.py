"""The error tree (issue 23, item 4): every exception the project defines says what its caller does
(retry later, fix the config, fix the data, stop), and database errors come out of the cache
translated, like HubSpot's come out of the gateway."""

from __future__ import annotations

import ast
import importlib
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from worker.cache.db import Cache, DatabaseBusy, DatabaseError, DatabaseFailed, DatabaseUnusable, translate_database_error
from worker.cycle import explain
from worker.errors import KINDS, FixTheConfig, RetryLater, WorkerError, kind_of, what_to_do
from integrations.hubspot.errors import AuthFailed, DailyLimitReached, MalformedAnswer, RateLimited

ROOT = Path(__file__).resolve().parent.parent


def _defined_exceptions() -> list[type[BaseException]]:
    """Every exception class defined at the top of a module of the project (the sandbox's, which
    stand for HubSpot's side, and private helpers excepted)."""
    found = []
    for folder in ("worker", "integrations", "scheduler"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" in path.parts or "sandbox" in path.parts:
                continue
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            for node in ast.parse(path.read_text(encoding="utf-8")).body:
                if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                    cls = getattr(importlib.import_module(module), node.name)
                    if isinstance(cls, type) and issubclass(cls, BaseException):
                        found.append(cls)
    return found


# Families that are never raised themselves: what is raised is one of their kinds.
FAMILIES = (WorkerError, DatabaseError)


def test_every_exception_the_project_defines_has_a_place_in_the_tree():
    defined = [cls for cls in _defined_exceptions() if cls not in FAMILIES]
    assert len(defined) > 20  # the walk found them (HubSpot's, the worker's, the database's)
    unplaced = [f"{cls.__module__}.{cls.__qualname__}" for cls in defined if kind_of(cls) is None]
    assert not unplaced, unplaced
    # The worker's own derive from exactly one kind.
    for cls in defined:
        if cls.__module__.startswith(("worker", "scheduler")):
            kinds = [kind for kind in KINDS if issubclass(cls, kind)]
            assert len(kinds) == 1, (cls, kinds)


def test_hubspot_errors_are_placed_by_what_the_caller_does():
    assert kind_of(RateLimited("429", retry_after_s=1, policy="TEN_SECONDLY_ROLLING")) is RetryLater
    assert kind_of(MalformedAnswer("cut short")) is RetryLater
    assert kind_of(AuthFailed("401")) is FixTheConfig
    assert what_to_do(DailyLimitReached("429 daily")) == "stop"
    assert what_to_do(ZeroDivisionError()) == "report a bug"


@pytest.mark.parametrize(
    ("said", "kind", "hint"),
    [
        ("database is locked", DatabaseBusy, "next run"),
        ('connection to server at "127.0.0.1", port 5432 failed: Connection refused', DatabaseBusy, "next run"),
        ("attempt to write a readonly database", DatabaseUnusable, "permissions"),
        ("database or disk is full", DatabaseUnusable, "free space"),
        ("no such table: companies", DatabaseUnusable, "--sync-now"),
        ("some other trouble", DatabaseFailed, ""),
    ],
)
def test_database_errors_are_translated_with_the_databases_first_line(said, kind, hint):
    error = translate_database_error(OperationalError("UPDATE companies SET name=?", ("Client S.L.",), sqlite3.OperationalError(said)))
    assert isinstance(error, kind)
    assert str(error).startswith(f"database error: OperationalError: {said}") and hint in str(error)
    assert "Client S.L." not in str(error)  # no parameter: client data stays out of the log


def test_a_database_error_inside_a_transaction_comes_out_translated_and_explained(tmp_path, settings):
    cache = Cache(f"sqlite:///{tmp_path / 'cache.db'}")
    try:
        with pytest.raises(DatabaseUnusable) as caught:
            with cache.transaction() as session:
                session.execute(text("SELECT * FROM no_such_table"))
        assert isinstance(caught.value.__cause__, OperationalError)
        assert explain(caught.value, settings).startswith("database error: OperationalError: no such table: no_such_table")
    finally:
        cache.close()


def test_a_failed_run_says_what_to_do_about_it(settings, tmp_path):
    import dataclasses

    from pydantic import SecretStr

    from worker.cycle import run_cycle

    revoked = run_cycle(dataclasses.replace(settings, access_token=SecretStr("pat-na1-revoked")))
    assert not revoked.ok and revoked.error_kind == "fix the config" and "401" in revoked.error
    unreachable = dataclasses.replace(settings, hubspot=settings.hubspot.model_copy(update={"base_url": "http://127.0.0.1:9", "max_attempts": 1}))
    down = run_cycle(unreachable)
    assert not down.ok and down.error_kind == "retry later"
    assert run_cycle(settings).error_kind is None
