"""Builders for rule tests: a small portfolio with sensible defaults, changed per test."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from worker.rules import CompanyRow, ContactRow, OwnerRow, Portfolio, RuleConfig, SubscriptionRow


def sub(**changes) -> SubscriptionRow:
    base = SubscriptionRow(
        id="501",
        company_id="101",
        owner_id="9",
        renewal_date=date(2027, 3, 1),
        deadline=None,
        products="Marketing Hub Professional",
        current_price=Decimal("1200.00"),
        renewal_price=Decimal("1200.00"),
        currency="USD",
        communication_owner="hubspot",
        contact_tier=5000,
        contacts_used=1000,
        emails_sent=1000,
        status="renewal_open",
    )
    return replace(base, **changes)


def contact(**changes) -> ContactRow:
    base = ContactRow(
        id="201", email="ana@client.example", email_problem=None, first_name="Ana", last_name="García",
        bounce_reason=None, opted_out=False,
    )
    return replace(base, **changes)


def portfolio(*subs: SubscriptionRow, company: CompanyRow | None = None, primary: ContactRow | None | str = "default", owners=None) -> Portfolio:
    company = company or CompanyRow("101", "Andes Nova S.A.", "9")
    if primary == "default":
        primary = contact()
    contacts = {primary.id: primary} if isinstance(primary, ContactRow) else {}
    return Portfolio(
        subscriptions=list(subs or (sub(),)),
        companies={company.id: company},
        primary_contacts={company.id: primary.id if isinstance(primary, ContactRow) else None},
        contacts=contacts,
        owners=owners if owners is not None else {"9": OwnerRow("9", "Laura Pérez", "laura@partner.example", True), "77": OwnerRow("77", "Ops Desk", None, True)},
    )


CONFIG = RuleConfig()
