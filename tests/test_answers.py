"""Pure checks of HubSpot's answers and values: what the gateway accepts as an answer, what the
sync accepts as a value, what reaches a terminal or a spreadsheet. No I/O."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from integrations.hubspot import answers
from integrations.hubspot.errors import MalformedAnswer, Unavailable
from integrations.hubspot.types import CrmRecord
from worker.sync.normalize import parse_count, parse_date, parse_money, storable
from worker.safe_text import csv_cell, for_terminal
from worker.sync.guard import counts_agree, exceeds_share

ITEM = {"id": "7", "properties": {"name": "Acme"}, "createdAt": "2026-01-31T09:00:00.000Z", "updatedAt": "2026-02-01T10:30:00Z", "archived": False}


# --------------------------------------------------------------------------- bodies


@pytest.mark.parametrize(
    "raw, why",
    [
        (b"", "empty"),
        (b"   ", "empty"),
        (b'{"results": [{"id": "1"', "cut short or not JSON"),
        (b"<!DOCTYPE html><html>Bad Gateway</html>", "an HTML page"),
        (b"[]", "not an object"),
        (b'"ok"', "not an object"),
        (bytes([0xFF, 0xFE]), "not UTF-8"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_malformed_and_retryable(raw, why):
    with pytest.raises(MalformedAnswer, match=why) as caught:
        answers.decode(raw, "list_objects")
    assert isinstance(caught.value, Unavailable) and caught.value.retryable
    assert str(caught.value).startswith("list_objects: ")


def test_a_list_page_with_records_and_a_cursor():
    found, after = answers.records({"results": [ITEM], "paging": {"next": {"after": "7", "link": "x"}}}, "list_objects")
    assert after == "7"
    (record,) = found
    assert record.id == "7" and record.properties == {"name": "Acme"} and record.archived is False
    assert record.created_at == datetime(2026, 1, 31, 9, 0, tzinfo=timezone.utc)
    assert record.updated_at == datetime(2026, 2, 1, 10, 30, tzinfo=timezone.utc)


def test_the_last_page_has_no_cursor_and_an_empty_portal_is_a_valid_answer():
    assert answers.records({"results": [ITEM]}, "list_objects")[1] is None
    assert answers.records({"results": []}, "list_objects") == ([], None)


@pytest.mark.parametrize(
    "body, why",
    [
        ({}, "no 'results' list"),
        ({"results": None}, "no 'results' list"),
        ({"results": {"id": "1"}}, "no 'results' list"),
        ({"results": ["1"]}, "not an object"),
        ({"results": [], "paging": {"next": {"after": "100"}}}, "cursor on an empty page"),
        ({"results": [ITEM], "paging": {"next": {}}}, "no usable 'after'"),
        ({"results": [ITEM], "paging": {"next": {"after": ""}}}, "no usable 'after'"),
        ({"results": [ITEM], "paging": "next"}, "'paging' is not an object"),
        ({"results": [{"properties": {}}]}, "no numeric 'id'"),
        ({"results": [{"id": "12a"}]}, "no numeric 'id'"),
        ({"results": [{"id": True}]}, "no numeric 'id'"),
        ({"results": [{"id": "1", "properties": ["x"]}]}, "'properties' is not an object"),
    ],
)
def test_a_list_answer_that_is_not_the_promised_shape_is_malformed(body, why):
    with pytest.raises(MalformedAnswer, match=why):
        answers.records(body, "list_objects")


def test_odd_values_inside_a_record_are_kept_for_the_sync_to_judge():
    item = {"id": 8, "properties": {"tier": 5000, "flag": True, "gone": None}, "createdAt": "yesterday", "updatedAt": "0001-01-01T00:00:00+05:00"}
    record = answers.record(item, "list_objects")
    assert record.id == "8" and record.properties == {"tier": "5000", "flag": "true", "gone": None}
    assert record.created_at is None and record.updated_at is None


def test_a_search_answer_needs_its_total():
    assert answers.search_total({"total": 0, "results": []}, "search_objects") == 0
    for body in ({"results": []}, {"total": "12"}, {"total": -1}, {"total": True}):
        with pytest.raises(MalformedAnswer, match="'total'"):
            answers.search_total(body, "search_objects")


def test_a_batch_read_accounts_for_every_id_asked_for():
    found = answers.batch_records(
        {"results": [ITEM], "errors": [{"category": "OBJECT_NOT_FOUND", "message": "gone", "context": {"ids": ["9"]}}]},
        "batch_read_objects", ["7", "9"],
    )
    assert [r.id for r in found] == ["7"]
    with pytest.raises(MalformedAnswer, match="accounts for 1 of 2 ids"):
        answers.batch_records({"results": [ITEM]}, "batch_read_objects", ["7", "9"])
    with pytest.raises(MalformedAnswer, match="not asked for"):
        answers.batch_records({"results": [ITEM]}, "batch_read_objects", ["8"])
    with pytest.raises(MalformedAnswer, match="'errors' is not a list"):
        answers.batch_records({"results": [], "errors": {"ids": ["7"]}}, "batch_read_objects", ["7"])


def test_an_association_batch_with_labels_paging_and_records_without_associations():
    body = {
        "results": [
            {"from": {"id": "1"}, "to": [{"toObjectId": 11, "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 2, "label": "Primary"}]}],
             "paging": {"next": {"after": "11"}}},
        ],
        "errors": [{"category": "OBJECT_NOT_FOUND", "message": "none", "context": {"fromObjectId": ["2"]}}],
    }
    linked, more = answers.associations(body, "batch_read_associations", ["1", "2"])
    assert more == {"1": "11"}
    (associated,) = linked["1"]
    assert associated.to_id == "11" and associated.has_label("primary") and "2" not in linked
    with pytest.raises(MalformedAnswer, match="accounts for 1 of 2"):
        answers.associations({"results": body["results"]}, "batch_read_associations", ["1", "2"])
    with pytest.raises(MalformedAnswer, match="no 'to' list"):
        answers.associations({"results": [{"from": {"id": "1"}}]}, "batch_read_associations", ["1"])
    with pytest.raises(MalformedAnswer, match="no 'typeId'"):
        answers.associations({"results": [{"from": {"id": "1"}, "to": [{"toObjectId": 3, "associationTypes": [{"label": "x"}]}]}]}, "batch_read_associations", ["1"])


def test_inline_associations_of_a_list_page_read_as_the_v4_labels_would():
    """HubSpot's inline shape: one entry per association type, the primary named
    ``<from>_to_<to>``, the default ``…_unlabeled``, a user-defined label by its name."""
    item = {**ITEM, "associations": {"companies": {"results": [
        {"id": "11", "type": "deal_to_company"},
        {"id": "11", "type": "deal_to_company_unlabeled"},
        {"id": "12", "type": "deal_to_company_unlabeled"},
        {"id": "12", "type": "facilitator"},
    ]}}}
    record = answers.record(item, "list_objects")
    by_id = {a.to_id: a for a in record.associations["companies"]}
    assert set(by_id) == {"11", "12"} and record.associations_cut == frozenset()
    assert by_id["11"].has_label("Primary") and not by_id["12"].has_label("Primary")
    assert by_id["12"].has_label("facilitator")
    assert answers.record(ITEM, "list_objects").associations == {}


def test_inline_associations_longer_than_the_answer_are_marked_cut():
    item = {**ITEM, "associations": {"companies": {"results": [{"id": "11", "type": "deal_to_company_unlabeled"}], "paging": {"next": {"after": "1"}}}}}
    assert answers.record(item, "list_objects").associations_cut == frozenset({"companies"})


@pytest.mark.parametrize(
    "associations",
    [[], {"companies": []}, {"companies": {"results": [{"id": "x", "type": "deal_to_company"}]}}, {"companies": {"results": [{"id": "1"}]}}],
    ids=["a list", "not an object", "a non-numeric id", "no type"],
)
def test_malformed_inline_associations_are_a_malformed_answer(associations):
    with pytest.raises(MalformedAnswer):
        answers.record({**ITEM, "associations": associations}, "list_objects")


def test_owners_are_read_and_their_odd_values_made_harmless():
    body = {"results": [{"id": "5", "email": "a@b.example", "firstName": "Ana\x00", "lastName": 7, "userId": 3_000_000_000, "archived": True}]}
    (owner,), after = answers.owners(body, "list_owners")
    assert after is None and owner.archived and owner.first_name == "Ana" and owner.last_name is None and owner.user_id is None


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    "raw, value, why",
    [
        ("2027-03-01", date(2027, 3, 1), None),
        ("2027-03-01T23:30:00-05:00", date(2027, 3, 2), None),
        ("1800000000000", date(2027, 1, 15), None),
        ("", None, None),
        ("2027-02-30", None, "not a valid date"),
        ("２０２７-０３-０１", None, "not a valid date"),
        ("0001-01-01T00:00:00+05:00", None, "out of range"),
        ("9999-12-31T23:00:00-05:00", None, "out of range"),
        ("9" * 30, None, "epoch milliseconds out of range"),
    ],
)
def test_dates(raw, value, why):
    parsed, problem = parse_date(raw)
    assert parsed == value and (problem is None if why is None else why in problem)


@pytest.mark.parametrize(
    "raw, value, why",
    [
        ("1200.50", Decimal("1200.50"), None),
        ("0", Decimal("0"), None),
        ("-0", None, "a negative price"),
        ("-120.00", None, "a negative price"),
        ("1.234,50", None, "not a plain number"),
        ("１２００", None, "not a plain number"),
        ("1e3", None, "not a plain number"),
        ("999999999999", Decimal("999999999999"), None),
        ("1000000000000", None, "out of range"),
    ],
)
def test_prices(raw, value, why):
    parsed, problem = parse_money(raw)
    assert parsed == value and (problem is None if why is None else why in problem)


@pytest.mark.parametrize(
    "raw, value, why",
    [
        ("5000", 5000, None),
        ("5000.0", 5000, None),
        ("2147483647", 2147483647, None),
        ("2147483648", None, "out of range"),
        ("1" + "0" * 30, None, "out of range"),
        ("2.5", None, "not a whole number"),
        ("-1", None, "a negative count"),
        ("٣", None, "not a whole number"),
    ],
)
def test_counts(raw, value, why):
    parsed, problem = parse_count(raw)
    assert parsed == value and (problem is None if why is None else why in problem)


def test_nul_characters_are_removed_with_a_finding_per_property():
    record = CrmRecord("3", {"name": "Nul\x00Byte", "domain": "ok.example", "x": None}, None, None)
    cleaned, problems = storable(record)
    assert cleaned.properties == {"name": "NulByte", "domain": "ok.example", "x": None}
    (problem,) = problems
    assert (problem.rule, problem.field, problem.value) == ("data.unstorable_value", "name", "Nul\\0Byte")
    assert storable(cleaned) == (cleaned, [])


# --------------------------------------------------------------------------- the reconcile guard


@pytest.mark.parametrize(
    "would_remove, held, share, exceeded",
    [(0, 100, 0.1, False), (10, 100, 0.1, False), (11, 100, 0.1, True), (1, 5, 0.1, True), (1, 100, 0.0, True), (100, 100, 1.0, False)],
)
def test_the_share_a_reconcile_may_remove_without_asking(would_remove, held, share, exceeded):
    assert exceeds_share(would_remove, held, share) is exceeded


@pytest.mark.parametrize(
    "listed, counted, agree",
    [(300, 300, True), (297, 300, True), (296, 300, False), (40, 42, True), (40, 43, False), (9_900, 10_000, True), (9_899, 10_000, False), (100, 20, False), (0, 2, True)],
)
def test_a_pass_and_hubspot_agree_within_what_changes_while_paging(listed, counted, agree):
    assert counts_agree(listed, counted) is agree


# --------------------------------------------------------------------------- output for people


@pytest.mark.parametrize(
    "text, shown",
    [
        ("Acme S.A.", "Acme S.A."),
        ("Ñandú Ltda — 株式会社", "Ñandú Ltda — 株式会社"),
        ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),
        ("a\x00b", "a\\x00b"),
        ("Evil \u202eoC", "Evil \\u202eoC"),
        ("zero\u200bwidth", "zero\\u200bwidth"),
    ],
)
def test_terminal_text_shows_control_and_format_characters_escaped(text, shown):
    assert for_terminal(text) == shown


@pytest.mark.parametrize(
    "value, cell",
    [
        ("=1+1", "'=1+1"), ("+1", "+1"), ("+SUM(A1)", "'+SUM(A1)"), ("@cmd", "'@cmd"), ("-2+3", "'-2+3"),
        ("-120.00", "-120.00"), ("\t=1", "\\x09=1"), ("Acme", "Acme"), (None, ""), (1200, "1200"),
    ],
)
def test_csv_cells_never_start_a_formula(value, cell):
    assert csv_cell(value) == cell


def test_the_accounts_details_give_the_portal_id_and_a_safe_app_domain():
    details = answers.account_details({"portalId": 4242, "uiDomain": "app-eu1.hubspot.com", "timeZone": "Europe/Madrid"}, "account_details")
    assert (details.portal_id, details.ui_domain) == (4242, "app-eu1.hubspot.com")
    # The domain goes into links people click: anything but a HubSpot host falls back to HubSpot's.
    for domain in ("evil.example", "app.hubspot.com.evil.example", "javascript:alert(1)//hubspot.com", None, 7, "APP.HUBSPOT.COM"):
        assert answers.account_details({"portalId": 1, "uiDomain": domain}, "account_details").ui_domain == "app.hubspot.com"
    for portal_id in (None, "4242", True, 0, -1, 2**31):
        with pytest.raises(MalformedAnswer, match="portalId"):
            answers.account_details({"portalId": portal_id, "uiDomain": "app.hubspot.com"}, "account_details")
    assert answers.account_details({"portalId": 2**31 - 1}, "account_details").portal_id == 2**31 - 1


@pytest.mark.parametrize(
    "kind, label",
    [
        ("deal_to_company", "Primary"),
        ("p_subscriptions_to_company", "Primary"),
        ("deal_to_company_unlabeled", None),
        ("facilitator", "facilitator"),
        ("billing_to_contact_person", "billing_to_contact_person"),  # a user label that merely contains _to_
    ],
)
def test_inline_association_types_read_as_labels(kind, label):
    item = {**ITEM, "associations": {"companies": {"results": [{"id": "11", "type": kind}]}}}
    (associated,) = answers.record(item, "list_objects").associations["companies"]
    assert [item.label for item in associated.labels] == [label]
    assert associated.labels[0].category == ("USER_DEFINED" if label not in {"Primary", None} else "HUBSPOT_DEFINED")


def test_an_owners_teams_are_kept_and_a_malformed_team_is_left_out_not_the_answer():
    from integrations.hubspot.answers import owners
    from integrations.hubspot.types import Team

    body = {"results": [{"id": "7", "archived": False, "teams": [
        {"id": "41", "name": "Renewals desk", "primary": True}, {"id": 42, "name": "Onboarding"},
        {"name": "no id"}, "junk", {"id": True, "name": "a boolean id"}, {"id": "9", "name": None},
    ]}, {"id": "8", "archived": False, "teams": "not a list"}]}
    found, _ = owners(body, "list_owners")
    assert found[0].teams == (Team("41", "Renewals desk", True), Team("42", "Onboarding", False)) and found[1].teams == ()
