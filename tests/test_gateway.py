"""The gateway's edge: every SDK and urllib3 error translated, statuses mapped to what to do."""

from __future__ import annotations

import inspect
import time
from datetime import datetime, timezone

import pytest
import urllib3

from integrations.hubspot import endpoints
from integrations.hubspot.error_mapping import SDK_PACKAGES, translate_error
from integrations.hubspot.errors import (
    AuthFailed,
    BadRequest,
    DailyLimitReached,
    Forbidden,
    NotFound,
    RateLimited,
    Unavailable,
)
from integrations.hubspot.gateway import HubSpotGateway
from integrations.hubspot.transport import RetryPolicy
from integrations.hubspot.limiter import RequestLimiter
from integrations.hubspot.sandbox import DEMO_TOKEN, Fault


def test_every_endpoint_uses_a_covered_sdk_package():
    assert {e.package for e in endpoints.ALL_ENDPOINTS} <= set(SDK_PACKAGES)


@pytest.mark.parametrize("package_name", sorted(SDK_PACKAGES))
def test_every_exception_class_of_each_sdk_package_is_translated(package_name):
    """Each class lands where it belongs: an HTTP answer by its status, an argument the SDK
    refused before sending as BadRequest. Nothing falls through to a catch-all."""
    module = SDK_PACKAGES[package_name].exceptions
    classes = [c for _, c in inspect.getmembers(module, inspect.isclass) if issubclass(c, Exception) and c.__module__ == module.__name__]
    assert len(classes) >= 8
    for cls in classes:
        if issubclass(cls, module.ApiException):
            for status, expected in ((418, BadRequest), (503, Unavailable), (401, AuthFailed), (404, NotFound)):
                translated = translate_error(cls(status=status, reason="x"), "list_objects")
                assert type(translated) is expected, (cls, status)
        else:
            assert type(translate_error(cls("refused"), "list_objects")) is BadRequest, cls


@pytest.mark.parametrize("exc", [ValueError("bad"), TypeError("bad"), KeyError("x"), AttributeError("x"), ZeroDivisionError()])
def test_an_exception_the_mapping_does_not_know_is_not_dressed_up_as_hubspot_unavailable(exc):
    assert translate_error(exc, "list_objects") is None


def test_a_bug_of_ours_surfaces_at_once_instead_of_being_retried(sandbox):
    gateway = gateway_for(sandbox)
    with pytest.raises(TypeError):
        gateway._call(endpoints.LIST_OWNERS, {}, parse=lambda body: body["results"] + 1)
    assert sandbox.stats.calls["list_owners:owners"] == 1


class _FakeResponse:
    def __init__(self, status, body=b"", headers=None):
        self.status, self.reason, self.data = status, "reason", body
        self._headers = headers or {}

    def getheaders(self):
        return self._headers


@pytest.mark.parametrize(
    "status, body, headers, expected",
    [
        (401, b'{"message":"bad token","category":"INVALID_AUTHENTICATION"}', {}, AuthFailed),
        (403, b'{"errors":[{"context":{"requiredGranularScopes":["crm.objects.deals.read"]}}]}', {}, Forbidden),
        (404, b"{}", {}, NotFound),
        (429, b'{"policyName":"TEN_SECONDLY_ROLLING"}', {"Retry-After": "3"}, RateLimited),
        (429, b'{"policyName":"SECONDLY"}', {}, RateLimited),
        (429, b'{"policyName":"DAILY"}', {}, DailyLimitReached),
        (400, b'{"message":"bad filter"}', {}, BadRequest),
        (414, b"", {}, BadRequest),
        (500, b"oops", {}, Unavailable),
        (502, b"", {}, Unavailable),
        (503, b"", {}, Unavailable),
        (504, b"", {}, Unavailable),
    ],
)
def test_status_table(status, body, headers, expected):
    sdk = SDK_PACKAGES["objects"]
    exc = sdk.ApiException(http_resp=_FakeResponse(status, body, headers))
    translated = translate_error(exc, "list_objects")
    assert type(translated) is expected
    assert translated.status == status
    if expected is Forbidden:
        assert translated.missing_scopes == ("crm.objects.deals.read",)
    if headers.get("Retry-After"):
        assert translated.retry_after_s == 3.0


@pytest.mark.parametrize(
    "exc",
    [
        urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")),
        urllib3.exceptions.ReadTimeoutError(None, "/x", "read timed out"),
        urllib3.exceptions.NewConnectionError(None, "refused"),
        ConnectionRefusedError(111, "refused"),
    ],
)
def test_transport_errors_are_unavailable(exc):
    assert isinstance(translate_error(exc, "search_objects"), Unavailable)


def gateway_for(sandbox, **retry):
    return HubSpotGateway(
        base_url=sandbox.url, access_token=DEMO_TOKEN, limiter=RequestLimiter(10_000, 1_000),
        retry=RetryPolicy(backoff_initial_s=0.01, backoff_max_s=0.02, **retry),
    )


def test_retry_after_is_honoured(sandbox):
    slept = []
    gateway = HubSpotGateway(base_url=sandbox.url, access_token=DEMO_TOKEN, limiter=RequestLimiter(10_000, 1_000), sleep=slept.append)
    sandbox.add_fault(Fault("status", status=429, retry_after="7", match="owners"))
    gateway.list_owners()
    assert slept == [7.0]
    assert gateway.stats.rate_limited == 1 and gateway.stats.calls["list_owners"] == 2


def test_a_retry_after_longer_than_allowed_stops(sandbox):
    gateway = gateway_for(sandbox, max_retry_after_s=60)
    sandbox.add_fault(Fault("status", status=429, retry_after="3600", match="owners"))
    with pytest.raises(RateLimited):
        gateway.list_owners()
    assert gateway.stats.calls["list_owners"] == 1


def test_gives_up_after_max_attempts(sandbox):
    gateway = gateway_for(sandbox, max_attempts=3)
    sandbox.add_fault(Fault("status", status=502, match="owners", times=10))
    with pytest.raises(Unavailable):
        gateway.list_owners()
    assert sandbox.stats.calls["list_owners:owners"] == 3


def test_errors_carry_no_token(sandbox):
    gateway = gateway_for(sandbox)
    sandbox.tokens.clear()
    with pytest.raises(AuthFailed) as caught:
        gateway.list_owners()
    assert DEMO_TOKEN not in str(caught.value) and DEMO_TOKEN not in repr(caught.value.__dict__)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_batch_read_leaves_out_unknown_ids(sandbox, portal):
    gateway = gateway_for(sandbox)
    known = str(next(iter(portal.table("contacts"))))
    records = gateway.batch_read("contacts", [known, "999999999"], ["email"])
    assert [r.id for r in records] == [known]


def test_the_gateway_chunks_any_number_of_ids_to_hubspots_maxima(sandbox, portal):
    """Callers hand over any number of ids: 100 per objects batch read, 1,000 per associations
    batch read (HubSpot answers 400 above either), several chunks in flight at once."""
    gateway = gateway_for(sandbox)
    contacts = [str(i) for i in portal.table("contacts")]
    extra = [str(portal.create("contacts", {"email": f"n{n}@x.example"}).id) for n in range(250 - len(contacts))]
    wanted = contacts + extra
    sandbox.reset_stats()
    assert {r.id for r in gateway.batch_read("contacts", wanted, ["email"])} == set(wanted)
    assert sandbox.stats.calls["batch_read_objects:contacts"] == 3
    companies = [str(portal.create("companies", {"name": f"C{n}"}).id) for n in range(1_150)]
    found = gateway.batch_associations("companies", "contacts", companies)
    assert set(found) == set(companies)
    assert sandbox.stats.calls["batch_read_associations:companies"] == 2
    assert sandbox.stats.statuses.get(400, 0) == 0


@pytest.mark.parametrize("in_flight", [1, 3])
def test_calls_in_flight_together_stop_at_an_error_and_leave_nothing_running(sandbox, in_flight):
    import threading

    gateway = HubSpotGateway(base_url=sandbox.url, access_token=DEMO_TOKEN, limiter=RequestLimiter(10_000, 1_000), requests_in_flight=in_flight)
    started, ended, lock = [], [], threading.Lock()

    def call(n):
        with lock:
            started.append(n)
        if n == 2:
            raise ValueError(f"item {n}")
        time.sleep(0.05)
        with lock:
            ended.append(n)
        return n

    try:
        with pytest.raises(ValueError, match="item 2"):
            gateway.each(call, list(range(30)))
        assert sorted(ended) == sorted(n for n in started if n != 2)  # nothing left in flight
        assert len(started) < 30  # what had not started did not start
        assert gateway.each(lambda n: n * 2, [1, 2, 3]) == [2, 4, 6]
    finally:
        gateway.close()


def test_associations_follow_per_record_paging(sandbox, portal):
    company = portal.create("companies", {"name": "Muchos Contactos"})
    for n in range(620):  # more than one page (500) of associations for one record
        contact = portal.create("contacts", {"email": f"c{n}@x.example"})
        portal.associate("companies", company.id, "contacts", contact.id)
    found = gateway_for(sandbox).batch_associations("companies", "contacts", [str(company.id)])
    assert len(found[str(company.id)]) == 620


def test_a_create_that_may_have_happened_is_looked_up_before_it_is_sent_again(sandbox, portal):
    """LookBeforeResend: the one retry policy retries the create, but only what HubSpot does not
    already have goes again; each send is recorded first."""
    from integrations.hubspot.types import LookBeforeResend, TaskDraft, TaskFields
    from tests.emission_helpers import portal_tasks

    gateway = gateway_for(sandbox)
    owner = str(next(o.id for o in portal.owners.values() if not o.archived))
    drafts = [
        TaskDraft(f"rw1-{n:016x}", TaskFields(subject=f"t{n}", body=f"ref rw1-{n:016x}", owner_id=owner, due_at=datetime(2027, 1, 1, tzinfo=timezone.utc), priority="LOW"))
        for n in range(3)
    ]
    sent: list[list[str]] = []

    def find_created(asked):
        bodies = {t["hs_task_body"]: t["id"] for t in portal_tasks(portal).values() if t.get("hs_task_body")}
        return {d.trace_id: bodies[f"ref {d.trace_id}"] for d in asked if f"ref {d.trace_id}" in bodies}

    sandbox.add_fault(Fault("status", status=503, processed=True, match="batch/create"))  # HubSpot created them, the answer was lost
    outcome = gateway.create_tasks_looking_first(drafts, LookBeforeResend(lambda ds: sent.append([d.trace_id for d in ds]), find_created))
    assert len(sent) == 1  # found on the look-up: nothing sent twice
    assert set(outcome.recovered) == {d.trace_id for d in drafts} and outcome.unconfirmed == ()
    assert len(portal.table("tasks")) == 3

    refused = [TaskDraft("rw1-ffffffffffffffff", TaskFields(subject="x", owner_id="999999", due_at=datetime(2027, 1, 1, tzinfo=timezone.utc)))]
    outcome = gateway.create_tasks_looking_first(refused, LookBeforeResend(lambda ds: None, lambda ds: {}))
    assert outcome.refused is not None and outcome.unconfirmed == ("rw1-ffffffffffffffff",)


def test_a_tasks_association_type_is_the_unlabelled_one_with_the_category_the_labels_api_gives():
    from integrations.hubspot.errors import BadRequest
    from integrations.hubspot.types import AssociationLabel
    from integrations.hubspot.writes import default_association_type

    hubspot = [AssociationLabel("USER_DEFINED", 120, "Renewal"), AssociationLabel("HUBSPOT_DEFINED", 922, None)]
    assert default_association_type(hubspot, "subscriptions") == ("HUBSPOT_DEFINED", 922)
    # A custom object's default association is the portal's own.
    custom = [AssociationLabel("USER_DEFINED", 9005, "Billing"), AssociationLabel("USER_DEFINED", 9003, None)]
    assert default_association_type(custom, "2-9100") == ("USER_DEFINED", 9003)
    assert default_association_type([AssociationLabel("INTEGRATOR_DEFINED", 7, "Synced")], "2-9100") == ("INTEGRATOR_DEFINED", 7)
    with pytest.raises(BadRequest, match="no association from tasks to 2-9100"):
        default_association_type([], "2-9100")
