"""``renewal-worker init``'s first part (issue 22): proposing a property for each role from what the
properties API says of a portal's properties (name, label, type, description, options) and a few
sample values. Pure; the sandbox's portals and hand-made portals in English and Spanish."""

from __future__ import annotations

import pytest

from integrations.hubspot.answers import MalformedAnswer, property_definitions
from integrations.hubspot.sandbox import PortalSpec, generate_portal
from integrations.hubspot.sandbox.routes import route_list_properties
from integrations.hubspot.types import PropertyDefinition, PropertyOption
from worker.config_sections import SubscriptionProperties
from worker.demo import DEMO_OPTIONAL_PROPERTIES
from worker.onboarding.propose import cancelled_statuses, communication_values, propose


def _portal_definitions(kind: str):
    portal = generate_portal(PortalSpec(companies=12, seed=3, service_contracts=True))
    definitions = property_definitions(route_list_properties(portal, kind), "list_properties")
    samples: dict[str, list[str]] = {}
    for record in list(portal.table(kind).values())[:3]:
        for name, value in record.properties.items():
            samples.setdefault(name, []).append(value)
    return definitions, samples


def test_the_sandbox_portals_deals_get_the_mapping_the_demo_uses():
    definitions, samples = _portal_definitions("deals")
    proposed = {p.role: p.name for p in propose(definitions, samples)}
    expected = SubscriptionProperties(**DEMO_OPTIONAL_PROPERTIES).model_dump()
    assert proposed == expected
    by_name = {d.name: d for d in definitions}
    assert communication_values(by_name["renewal_communication_owner"]) == {"hubspot": "hubspot", "partner": "partner"}
    assert cancelled_statuses(by_name["dealstage"]) == ("closedlost",)


def _text(name, label, kind="string", description="", options=()):
    return PropertyDefinition(name, label, kind, "text", description, tuple(PropertyOption(v, l) for v, l in options))


def test_a_portal_with_its_own_names_in_spanish_and_english():
    definitions = [
        _text("fecha_renov", "Fecha de renovación", "date"),
        _text("preaviso", "Fecha límite de preaviso", "date", "Último día para cancelar"),
        _text("x_mrr_now", "MRR actual", "number"),
        _text("x_mrr_next", "Importe de renovación", "number"),
        _text("quien_comunica", "Quién comunica", "enumeration", options=(("hs", "La gente de HubSpot"), ("agencia", "Nuestra agencia"))),
        _text("moneda_contrato", "Moneda", "enumeration"),
        _text("notes", "Notes"),
        _text("price_text", "Renewal price (text)", "string"),  # a price typed as text: never a price
    ]
    samples = {"moneda_contrato": ["EUR", "USD"]}
    proposals = {p.role: p for p in propose(definitions, samples)}
    assert proposals["renewal_date"].name == "fecha_renov" and proposals["deadline"].name == "preaviso"
    assert proposals["current_price"].name == "x_mrr_now" and proposals["renewal_price"].name == "x_mrr_next"
    assert proposals["communication_owner"].name == "quien_comunica" and proposals["currency"].name == "moneda_contrato"
    assert "price_text" not in {p.name for p in proposals.values()}
    assert communication_values(definitions[4]) == {"hubspot": "hs", "partner": "agencia"}
    # What nothing fits says what to look for; one property never plays two roles.
    assert proposals["contact_tier"].name is None and "tier includes" in proposals["contact_tier"].evidence
    names = [p.name for p in proposals.values() if p.name]
    assert len(names) == len(set(names))
    assert proposals["renewal_date"].sureness >= 0.8 and "'Fecha de renovación' (date)" in proposals["renewal_date"].evidence


def test_a_definitions_answer_without_names_is_refused_and_options_are_kept():
    with pytest.raises(MalformedAnswer):
        property_definitions({"results": [{"label": "x", "type": "string"}]}, "list_properties")
    [parsed] = property_definitions(
        {"results": [{"name": "stage", "label": "Stage", "type": "enumeration", "fieldType": "select",
                      "options": [{"value": "lost", "label": "Lost"}, {"value": "", "label": "empty"}, "junk"]}]},
        "list_properties",
    )
    assert parsed.options == (PropertyOption("lost", "Lost"),) and cancelled_statuses(parsed) == ("lost",)
