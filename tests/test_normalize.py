"""HubSpot records → cache rows, judged property by property. Pure: no I/O, no clock."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from integrations.hubspot.types import CrmRecord, Owner, Team
from worker.config_sections import SubscriptionProperties, SubscriptionSettings
from worker.sync.normalize import (
    MAX_SHOWN_VALUE,
    company_row,
    contact_row,
    owner_row,
    primary_contact_choice,
    subscription_properties,
    subscription_row,
)

CREATED = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
UPDATED = datetime(2026, 6, 7, 8, 9, 10, tzinfo=timezone.utc)
SETTINGS = SubscriptionSettings()
DEAL = {
    "renewal_date": "2027-03-01", "renewal_deadline": "2027-01-10", "renewal_products": " Marketing Hub Pro ",
    "current_monthly_price": "1200.00", "renewal_monthly_price": "1320.50", "deal_currency_code": "EUR",
    "renewal_communication_owner": "HubSpot", "contact_tier": "5000", "contacts_used": "4100",
    "marketing_emails_sent_month": "42000", "dealstage": "renewal_open", "hubspot_owner_id": "9",
}


def record(properties, *, archived=False, record_id="501") -> CrmRecord:
    return CrmRecord(record_id, properties, CREATED, UPDATED, archived, UPDATED if archived else None)


def test_a_well_kept_subscription_becomes_a_typed_row_without_problems():
    row, problems = subscription_row(record(DEAL), "101", SETTINGS)
    assert problems == []
    assert row == {
        "id": "501", "object_type": "deals", "company_id": "101", "owner_id": "9",
        "renewal_date": date(2027, 3, 1), "deadline": date(2027, 1, 10), "products": "Marketing Hub Pro",
        "current_price": Decimal("1200.00"), "renewal_price": Decimal("1320.50"), "currency": "EUR",
        "communication_owner": "hubspot", "contact_tier": 5000, "contacts_used": 4100, "emails_sent": 42000,
        "status": "renewal_open", "properties": DEAL, "hs_created_at": CREATED, "hs_updated_at": UPDATED,
        "archived": False, "archived_at": None, "deleted_at": None,
        # Optional properties, not mapped by default: not read.
        "discount_percent": None, "discount_end_date": None, "renewal_manager": None, "renewal_options_url": None,
    }


def test_discounts_the_renewal_manager_and_the_options_link_when_mapped():
    config = SubscriptionSettings(properties=SubscriptionProperties(
        discount_percent="dto", discount_end_date="dto_fin", renewal_manager="gestor", renewal_options_url="opciones",
    ))
    good = {**DEAL, "dto": "20 %", "dto_fin": "2027-02-28", "gestor": " Marta Ruiz ", "opciones": "https://app.hubspot.com/quotes/1"}
    row, problems = subscription_row(record(good), "101", config)
    assert problems == []
    assert (row["discount_percent"], row["discount_end_date"], row["renewal_manager"], row["renewal_options_url"]) == (
        Decimal("20"), date(2027, 2, 28), "Marta Ruiz", "https://app.hubspot.com/quotes/1",
    )
    bad = {**DEAL, "dto": "120", "dto_fin": "end of Feb", "opciones": "javascript:alert(1)"}
    row, problems = subscription_row(record(bad), "101", config)
    assert {(p.field, p.value, p.message) for p in problems} == {
        ("discount_percent", "120", "dto: out of range (more than 100 %)"),
        ("discount_end_date", "end of Feb", "dto_fin: not a valid date (expected YYYY-MM-DD)"),
        ("renewal_options_url", "javascript:alert(1)", "opciones: not an https:// link"),
    }
    assert (row["discount_percent"], row["discount_end_date"], row["renewal_options_url"]) == (None, None, None)
    for link in ("http://quotes.example/1", "https://", "https://a.example/x y", "https://a.example/\x1b"):
        assert subscription_row(record({**DEAL, "opciones": link}), "101", config)[0]["renewal_options_url"] is None
    assert subscription_row(record({**DEAL, "dto": "-5"}), "101", config)[1][0].message == "dto: a negative percentage"


def test_each_bad_value_is_its_own_finding_naming_property_and_value():
    bad = {**DEAL, "renewal_date": "soon", "current_monthly_price": "1.234,50", "contact_tier": "lots",
           "renewal_communication_owner": "agency", "contacts_used": "-3"}
    row, problems = subscription_row(record(bad), None, SETTINGS)
    found = {(p.rule, p.field, p.value): p.message for p in problems}
    assert found == {
        ("data.malformed_value", "renewal_date", "soon"): "renewal_date: not a valid date (expected YYYY-MM-DD)",
        ("data.malformed_value", "current_price", "1.234,50"): "current_monthly_price: not a plain number (use digits and a dot for decimals, e.g. 1234.50)",
        ("data.malformed_value", "contact_tier", "lots"): "contact_tier: not a whole number",
        ("data.malformed_value", "contacts_used", "-3"): "contacts_used: a negative count",
        ("data.unknown_value", "communication_owner", "agency"): "renewal_communication_owner: expected 'hubspot' or 'partner'",
        ("data.not_associated", "company", None): "the subscription is not associated with any company",
    }
    assert (row["renewal_date"], row["current_price"], row["contact_tier"], row["communication_owner"], row["company_id"]) == (None, None, None, None, None)
    assert row["properties"]["current_monthly_price"] == "1.234,50"  # the raw value is kept


def test_an_empty_renewal_date_is_missing_not_malformed_and_blank_text_is_none():
    row, problems = subscription_row(record({**DEAL, "renewal_date": "  ", "renewal_products": "   ", "renewal_communication_owner": ""}), "101", SETTINGS)
    assert [(p.rule, p.field, p.message) for p in problems] == [("data.missing_value", "renewal_date", "renewal_date is empty")]
    assert row["products"] is None and row["communication_owner"] is None


def test_the_partner_as_communication_owner_and_property_names_from_the_config():
    config = SubscriptionSettings(
        object_type="p_renewals",
        properties=SubscriptionProperties(renewal_date="fecha_renovacion", communication_owner="quien_comunica"),
        values={"communication_owner_hubspot": "HubSpot Inc", "communication_owner_partner": "Agencia"},
    )
    row, problems = subscription_row(record({"fecha_renovacion": "2027-05-05", "quien_comunica": "agencia"}), "7", config)
    assert problems == []
    assert (row["object_type"], row["renewal_date"], row["communication_owner"]) == ("p_renewals", date(2027, 5, 5), "partner")
    assert "fecha_renovacion" in subscription_properties(config) and len(subscription_properties(config)) == len(set(subscription_properties(config)))


def test_a_very_long_bad_value_is_shortened_in_its_finding():
    _row, problems = subscription_row(record({**DEAL, "contact_tier": "x" * 500}), "101", SETTINGS)
    (problem,) = problems
    assert problem.value == "x" * MAX_SHOWN_VALUE + "…"


def test_an_archived_subscription_row_keeps_when_it_was_archived():
    row, _ = subscription_row(record(DEAL, archived=True), "101", SETTINGS)
    assert row["archived"] is True and row["archived_at"] == UPDATED


def test_company_and_contact_rows():
    company = company_row(record({"name": "  Andes Nova  ", "domain": "", "hubspot_owner_id": "9"}, record_id="101"))
    assert company == {
        "id": "101", "name": "Andes Nova", "domain": None, "owner_id": "9",
        "properties": {"name": "  Andes Nova  ", "domain": "", "hubspot_owner_id": "9"},
        "hs_created_at": CREATED, "hs_updated_at": UPDATED, "archived": False, "archived_at": None, "deleted_at": None,
    }
    props = {"email": " ana@client.example ", "firstname": "Ana", "lastname": "", "hs_email_hard_bounce_reason_enum": "UNKNOWN_USER", "hs_email_optout": "TRUE"}
    contact = contact_row(record(props, record_id="201"))
    assert contact == {
        "id": "201", "email": "ana@client.example", "email_problem": None, "first_name": "Ana", "last_name": None,
        "bounce_reason": "UNKNOWN_USER", "opted_out": True, "properties": props,
        "hs_created_at": CREATED, "hs_updated_at": UPDATED, "archived": False, "archived_at": None, "deleted_at": None,
    }
    assert contact_row(record({"email": "ana@", "hs_email_optout": "false"}))["email_problem"] == "malformed"
    assert contact_row(record({"email": "ana@", "hs_email_optout": "false"}))["opted_out"] is False
    assert contact_row(record({}))["email_problem"] == "missing" and contact_row(record({}))["opted_out"] is None


def test_owner_row():
    owner = Owner("9", "laura@partner.example", "Laura", "Pérez", 77, True, UPDATED, (Team("41", "Renewals desk", True),))
    assert owner_row(owner) == {
        "id": "9", "email": "laura@partner.example", "first_name": "Laura", "last_name": "Pérez", "user_id": 77,
        "active": False, "hs_updated_at": UPDATED, "deleted_at": None,
        "teams": [{"id": "41", "name": "Renewals desk", "primary": True}],
    }


def test_the_earliest_created_primary_contact_wins_and_ties_go_to_the_lowest_id():
    early, late = datetime(2020, 1, 1, tzinfo=timezone.utc), datetime(2021, 1, 1, tzinfo=timezone.utc)
    assert primary_contact_choice([("30", late), ("12", early), ("9", early)]) == ("9", ["9", "12", "30"])
    assert primary_contact_choice([("5", None), ("6", late)]) == ("6", ["6", "5"])
    assert primary_contact_choice([]) == (None, [])
