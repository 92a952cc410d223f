"""Failure branches a run can take, each ending in the one line a person reads."""

from __future__ import annotations

import socket
import time

import pytest

from integrations.hubspot.errors import (
    AuthFailed,
    BadRequest,
    DailyLimitReached,
    Forbidden,
    MalformedAnswer,
    NotFound,
    RateLimited,
    Unavailable,
)
from integrations.hubspot.writes import _created, _updated
from scheduler.metrics import HealthServer, Metrics
from tests.conftest import make_settings
from tests.test_emission import serve
from worker.cache.db import CacheUnavailable
from worker.cache.locks import DatabaseLock, LockTimeout
from worker.cycle import explain, run_cycle
from worker.tasks.emission import EMISSION_LOCK
from worker.sync.passes import ReconcileRefused

SETTINGS = make_settings("http://127.0.0.1:9", "sqlite:///unused.db", subscriptions={"object_type": "p_renewals"})


@pytest.mark.parametrize(
    "error, says",
    [
        (AuthFailed("x", status=401), "rejected the access token (401)"),
        (Forbidden("x", missing_scopes=("crm.objects.deals.read",)), "missing the scope(s) crm.objects.deals.read"),
        (Forbidden("x"), "missing the scope(s) unknown"),
        (DailyLimitReached("x"), "daily API limit"),
        (RateLimited("list_objects: HTTP 429", retry_after_s=None, policy=None), "kept rate-limiting the worker (429) after 6 attempts"),
        (MalformedAnswer("list_objects: HubSpot's answer is an HTML page"), "not what the API promises after 6 attempts (nothing was concluded from them): list_objects"),
        (Unavailable("list_owners: HTTP 503"), "HubSpot unavailable after 6 attempts: list_owners: HTTP 503"),
        (NotFound("list_objects: HTTP 404"), "check [subscriptions] object_type = 'p_renewals'"),
        (BadRequest("batch_create_objects: HTTP 400"), "HubSpot rejected a request: batch_create_objects"),
        (LockTimeout("emission", 120), "is another renewal-worker emitting tasks on this database? Nothing was sent"),
        (ReconcileRefused("the companies reconcile would mark 200 of 300"), "reconcile refused: the companies reconcile"),
        (CacheUnavailable("no cache at /x.db"), "no cache at /x.db"),
        (ZeroDivisionError("boom"), "unexpected error: ZeroDivisionError: boom"),
    ],
)
def test_each_error_explains_itself_in_one_line(error, says):
    line = explain(error, SETTINGS)
    assert says in line and "\n" not in line


def test_a_run_waits_for_another_workers_emission_then_gives_up_without_sending(db_url):
    from tests.test_emission import small_portal

    with serve(small_portal(), db_url, reminders={"emission_lock_wait_s": 0.3}) as (server, settings, cache):
        other = DatabaseLock(cache, EMISSION_LOCK)
        assert other.try_acquire()
        try:
            started = time.monotonic()
            result = run_cycle(settings, cache=cache)
        finally:
            other.release()
        assert not result.ok and "is another renewal-worker emitting tasks on this database? Nothing was sent" in result.error
        assert time.monotonic() - started < 10
        assert len(server.portal.table("tasks")) == 0
        assert run_cycle(settings, cache=cache).ok  # once the other one is done, the tasks go out
        assert len(server.portal.table("tasks")) > 0


def test_a_batch_answer_names_each_refused_input_and_keeps_the_ones_that_name_none_apart():
    answer = {
        "status": "COMPLETE",
        "results": [{"id": "11", "properties": {}, "objectWriteTraceId": "a"}],
        "errors": [
            {"category": "VALIDATION_ERROR", "message": "bad owner", "context": {"objectWriteTraceId": ["b"]}},
            {"category": "VALIDATION_ERROR", "message": "something else"},
        ],
    }
    result, records = _created(answer, ["a", "b", "c"])
    assert result.done == {"a": "11"} and [r.id for r in records] == ["11"]
    assert result.failed == {"b": "VALIDATION_ERROR: bad owner"}
    assert result.unmatched == ("VALIDATION_ERROR: something else",)
    updated = _updated({"results": [{"id": "5"}], "errors": [{"category": "OBJECT_NOT_FOUND", "message": "gone", "context": {"ids": ["6"]}}]}, ["5", "6"])
    assert updated.done == {"5": "5"} and updated.failed == {"6": "OBJECT_NOT_FOUND: gone"}
    with pytest.raises(MalformedAnswer, match="accounts for 1 of 2"):
        _updated({"results": [{"id": "5"}]}, ["5", "6"])
    with pytest.raises(MalformedAnswer, match="accounts for 1 of 2"):
        _created({"results": [{"id": "11", "objectWriteTraceId": "a"}]}, ["a", "b"])


def test_the_health_listener_drops_a_connection_that_sends_nothing():
    server = HealthServer("127.0.0.1:0", Metrics(), lambda: (True, {}), connection_timeout_s=0.3).start()
    try:
        host, port = server.address.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as idle:
            started = time.monotonic()
            assert idle.recv(1) == b""  # closed by the server, not by us
            assert time.monotonic() - started < 3
    finally:
        server.stop()
