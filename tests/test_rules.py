"""The renewal rules of DOMAIN.md, as pure functions: each rule and its edges."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.rules_helpers import CONFIG, contact, portfolio, sub
from worker.sync.normalize import email_problem, primary_contact_choice
from worker.rules import CompanyRow, OwnerRow, RuleConfig, evaluate, why_gone
from worker.rules.calendar import due_instant, working_day

RENEWAL = date(2027, 3, 1)  # a Monday


def reminders(plan, rule=None):
    return [r for r in plan.reminders if rule is None or r.rule == rule]


def keys(plan, rule):
    return {r.key: r.create for r in reminders(plan, rule)}


def findings(plan, rule=None):
    return {(f.rule, f.object_id) for f in plan.findings if rule is None or f.rule == rule}


# --------------------------------------------------------------------------- milestones


def test_milestone_fires_exactly_on_its_day_and_is_still_current_the_day_after():
    on_day = evaluate(portfolio(), RENEWAL - timedelta(days=90), CONFIG)
    assert keys(on_day, "renewal.milestone") == {
        "renewal.milestone:subscription:501:2027-03-01:120": False,
        "renewal.milestone:subscription:501:2027-03-01:90": True,
    }
    day_after = evaluate(portfolio(), RENEWAL - timedelta(days=89), CONFIG)
    assert keys(day_after, "renewal.milestone") == keys(on_day, "renewal.milestone")
    day_before = evaluate(portfolio(), RENEWAL - timedelta(days=91), CONFIG)
    assert keys(day_before, "renewal.milestone") == {"renewal.milestone:subscription:501:2027-03-01:120": True}


def test_milestone_task_is_due_on_the_milestone_day():
    plan = evaluate(portfolio(), RENEWAL - timedelta(days=75), CONFIG)
    current = [r for r in reminders(plan, "renewal.milestone") if r.create]
    assert [(r.facts["milestone_days"], r.due) for r in current] == [(75, RENEWAL - timedelta(days=75))]


def test_catch_up_creates_only_the_latest_missed_milestone():
    # First seen 20 days before the renewal: 120, 90, 75 and 30 have all passed.
    plan = evaluate(portfolio(), RENEWAL - timedelta(days=20), CONFIG)
    milestones = keys(plan, "renewal.milestone")
    assert [k.rsplit(":", 1)[1] for k, create in milestones.items() if create] == ["30"]
    assert len(milestones) == 4  # the older ones stay valid (a task created for them stays open)
    (task,) = [r for r in reminders(plan, "renewal.milestone") if r.create]
    assert task.due == RENEWAL - timedelta(days=20)  # a missed day is due today, not in the past


@pytest.mark.parametrize(
    "case",
    ["past", "cancelled", "archived_company", "deleted_subscription", "no_renewal_date", "beyond_horizon"],
)
def test_nothing_for_past_cancelled_archived_or_distant_renewals(case):
    as_of = RENEWAL - timedelta(days=10)
    subscription = {
        "past": sub(renewal_date=as_of - timedelta(days=1)),
        "cancelled": sub(status="ClosedLost"),
        "archived_company": sub(),
        "deleted_subscription": sub(gone=True),
        "no_renewal_date": sub(renewal_date=None),
        "beyond_horizon": sub(renewal_date=as_of + timedelta(days=121)),
    }[case]
    company = CompanyRow("101", "Andes Nova S.A.", "9", gone=case == "archived_company")
    plan = evaluate(portfolio(subscription, company=company), as_of, CONFIG)
    assert [r for r in plan.reminders if r.object_type == "subscription"] == []


def test_renewal_today_is_not_past():
    plan = evaluate(portfolio(), RENEWAL, CONFIG)
    assert "renewal.milestone:subscription:501:2027-03-01:7" in keys(plan, "renewal.milestone")


def test_a_milestone_on_a_weekend_is_due_and_exists_from_the_friday_before():
    """DOMAIN.md: a step on a non-working day is due on the working day before, and its task
    exists from that day (not from the Monday after)."""
    renewal = date(2027, 3, 6)  # a Saturday: its 7-day milestone is also a Saturday
    thursday, friday = date(2027, 2, 25), date(2027, 2, 26)
    assert "renewal.milestone:subscription:501:2027-03-06:7" not in keys(evaluate(portfolio(sub(renewal_date=renewal)), thursday, CONFIG), "renewal.milestone")
    plan = evaluate(portfolio(sub(renewal_date=renewal)), friday, CONFIG)
    (task,) = [r for r in reminders(plan, "renewal.milestone") if r.create]
    assert task.key == "renewal.milestone:subscription:501:2027-03-06:7"
    assert task.due == friday and task.step == friday


def test_working_day_moves_weekends_back_and_the_past_forward():
    saturday, sunday, friday = date(2027, 3, 6), date(2027, 3, 7), date(2027, 3, 5)
    assert working_day(saturday, not_before=date(2027, 3, 1), skip_weekends=True) == friday
    assert working_day(sunday, not_before=date(2027, 3, 1), skip_weekends=True) == friday
    assert working_day(sunday, not_before=sunday, skip_weekends=True) == date(2027, 3, 8)
    assert working_day(saturday, not_before=date(2027, 3, 1), skip_weekends=False) == saturday


def test_due_time_is_local_across_a_dst_change():
    madrid = ZoneInfo("Europe/Madrid")  # summer time starts 2027-03-28 at 02:00
    before, after = due_instant(date(2027, 3, 26), "09:00", madrid), due_instant(date(2027, 3, 29), "09:00", madrid)
    assert (before.hour, after.hour) == (8, 7)  # 09:00 CET = 08:00 UTC; 09:00 CEST = 07:00 UTC
    assert before.tzinfo == timezone.utc
    # 02:30 does not exist on the change day: the task lands just after the gap, not an hour early.
    gap = due_instant(date(2027, 3, 28), "02:30", madrid)
    assert gap.astimezone(madrid).hour == 3


def test_29_february():
    leap = date(2028, 2, 29)
    plan = evaluate(portfolio(sub(renewal_date=leap)), leap - timedelta(days=90), CONFIG)
    (task,) = [r for r in reminders(plan, "renewal.milestone") if r.create]
    assert task.key.endswith(":2028-02-29:90") and task.due == date(2027, 12, 1)
    deadline = [r for r in reminders(evaluate(portfolio(sub(renewal_date=leap)), date(2028, 1, 1), CONFIG), "renewal.deadline") if r.create]
    assert [r.anchor for r in deadline] == [leap - timedelta(days=45)] == [date(2028, 1, 15)]


# --------------------------------------------------------------------------- deadline


def test_deadline_default_is_45_days_before_and_warns_at_14_and_3_days():
    deadline = RENEWAL - timedelta(days=45)
    assert keys(evaluate(portfolio(), deadline - timedelta(days=15), CONFIG), "renewal.deadline") == {}
    plan = evaluate(portfolio(), deadline - timedelta(days=14), CONFIG)
    (task,) = reminders(plan, "renewal.deadline")
    assert task.create and task.priority == "HIGH" and task.facts["deadline_source"] == "default"
    assert keys(evaluate(portfolio(), deadline - timedelta(days=3), CONFIG), "renewal.deadline")[
        f"renewal.deadline:subscription:501:{deadline}:3"
    ]
    assert keys(evaluate(portfolio(), deadline + timedelta(days=1), CONFIG), "renewal.deadline") == {}


def test_contract_deadline_wins_over_the_default():
    own = date(2027, 1, 2)
    plan = evaluate(portfolio(sub(deadline=own)), own - timedelta(days=14), CONFIG)
    (task,) = reminders(plan, "renewal.deadline")
    assert task.anchor == own and task.facts["deadline_source"] == "contract"


# --------------------------------------------------------------------------- communication owner


def test_partner_owned_renewal_gets_a_meeting_task_from_90_days():
    partner = sub(communication_owner="partner")
    assert reminders(evaluate(portfolio(partner), RENEWAL - timedelta(days=91), CONFIG), "renewal.partner_meeting") == []
    (task,) = reminders(evaluate(portfolio(partner), RENEWAL - timedelta(days=90), CONFIG), "renewal.partner_meeting")
    assert task.due == RENEWAL - timedelta(days=75)  # before HubSpot's emails start (a Friday)
    assert reminders(evaluate(portfolio(), RENEWAL - timedelta(days=60), CONFIG), "renewal.partner_meeting") == []


def test_missing_communication_owner_is_a_task_and_a_finding():
    plan = evaluate(portfolio(sub(communication_owner=None)), RENEWAL - timedelta(days=100), CONFIG)
    assert [r.key for r in reminders(plan, "renewal.no_communication_owner")] == [
        "renewal.no_communication_owner:subscription:501:2027-03-01"
    ]
    assert findings(plan, "renewal.no_communication_owner") == {("renewal.no_communication_owner", "501")}


# --------------------------------------------------------------------------- price and tier


def test_any_price_difference_is_reported_with_the_change_in_percent():
    plan = evaluate(portfolio(sub(renewal_price=Decimal("1320.00"))), RENEWAL - timedelta(days=100), CONFIG)
    (task,) = reminders(plan, "renewal.price_change")
    assert (task.facts["current_price"], task.facts["renewal_price"], task.facts["change_percent"]) == ("1200.00", "1320.00", "10.0")
    decrease = evaluate(portfolio(sub(renewal_price=Decimal("1199.99"))), RENEWAL - timedelta(days=100), CONFIG)
    assert reminders(decrease, "renewal.price_change")[0].facts["change_percent"] == "-0.0"


def test_price_threshold_and_a_zero_current_price():
    config = RuleConfig(price_change_threshold_percent=10)
    five = evaluate(portfolio(sub(renewal_price=Decimal("1260"))), RENEWAL - timedelta(days=100), config)
    assert reminders(five, "renewal.price_change") == []
    eleven = evaluate(portfolio(sub(renewal_price=Decimal("1332"))), RENEWAL - timedelta(days=100), config)
    assert len(reminders(eleven, "renewal.price_change")) == 1
    free = evaluate(portfolio(sub(current_price=Decimal("0"), renewal_price=Decimal("50"))), RENEWAL - timedelta(days=100), config)
    assert reminders(free, "renewal.price_change")[0].facts["change_percent"] is None


@pytest.mark.parametrize(
    ("used", "sent", "contacts_level", "emails_level", "priority"),
    [
        (4499, 44_999, None, None, None),
        (4500, 1000, "warning", None, "LOW"),  # 90% of the tier
        (5001, 1000, "exceeded", None, "HIGH"),
        (1000, 45_000, None, "warning", "LOW"),  # 90% of 10 x tier
        (1000, 50_001, None, "exceeded", "HIGH"),
    ],
)
def test_contact_tier_warning_and_excess(used, sent, contacts_level, emails_level, priority):
    plan = evaluate(portfolio(sub(contacts_used=used, emails_sent=sent)), RENEWAL - timedelta(days=100), CONFIG)
    tier = reminders(plan, "renewal.contact_tier")
    if priority is None:
        assert tier == []
        return
    (task,) = tier
    assert (task.facts["contacts_level"], task.facts["emails_level"], task.priority) == (contacts_level, emails_level, priority)
    assert task.facts["emails_limit"] == 50_000


# --------------------------------------------------------------------------- contact data


@pytest.mark.parametrize(
    ("primary", "codes"),
    [
        (None, ["contact.missing"]),
        (contact(email=None, email_problem="missing"), ["contact.email_missing"]),
        (contact(email="ana@", email_problem="malformed"), ["contact.email_malformed"]),
        (contact(bounce_reason="UNKNOWN_USER"), ["contact.email_bounced"]),
        (contact(opted_out=True), ["contact.opted_out"]),
        (contact(first_name=None, last_name=None), ["contact.name_missing"]),
        (contact(gone=True), ["contact.missing"]),
        (contact(bounce_reason="MAILBOX_FULL", first_name="", last_name=None), ["contact.email_bounced", "contact.name_missing"]),
    ],
)
def test_contact_data_problems_are_findings_and_one_task(primary, codes):
    plan = evaluate(portfolio(primary=primary), RENEWAL - timedelta(days=100), CONFIG)
    assert sorted(f.rule for f in plan.findings if f.rule.startswith("contact.")) == sorted(codes)
    (task,) = reminders(plan, "contact.data")
    assert task.key == "contact.data:company:101" and task.facts["problems"] == codes
    assert task.subscription_id == "501"


def test_contact_data_is_checked_for_every_company_but_a_task_needs_a_renewal_in_the_horizon():
    plan = evaluate(portfolio(sub(renewal_date=RENEWAL + timedelta(days=200)), primary=contact(opted_out=True)), RENEWAL - timedelta(days=100), CONFIG)
    assert findings(plan, "contact.opted_out") == {("contact.opted_out", "101")}
    assert reminders(plan, "contact.data") == []


def test_a_good_primary_contact_produces_nothing():
    plan = evaluate(portfolio(), RENEWAL - timedelta(days=100), CONFIG)
    assert [f for f in plan.findings if f.rule.startswith("contact.")] == [] and reminders(plan, "contact.data") == []


def test_email_problems_are_judged_by_syntax():
    assert email_problem("ana.garcia@client.example") is None
    assert email_problem("x@münchen.de") is None
    assert [email_problem(value) for value in (None, "", "  ", "ana@", "no-email", "ana garcia@x.example", "a..b@x.example")] == [
        "missing", "missing", "missing", "malformed", "malformed", "malformed", "malformed",
    ]


def test_several_contacts_with_the_primary_label_earliest_created_wins():
    t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    chosen, ordered = primary_contact_choice([("30", t + timedelta(days=2)), ("12", t), ("11", t), ("9", None)])
    assert chosen == "11" and ordered == ["11", "12", "30", "9"]  # ties: lowest id; unknown dates last


# --------------------------------------------------------------------------- owners and priority


def test_missing_or_deactivated_owner_goes_to_the_fallback_with_a_finding():
    config = RuleConfig(fallback_owner_id="77")
    owners = {"9": OwnerRow("9", "Laura Pérez", None, False), "77": OwnerRow("77", "Ops", None, True)}
    plan = evaluate(portfolio(owners=owners), RENEWAL - timedelta(days=90), config)
    assert {r.owner_id for r in plan.reminders} == {"77"}
    assert findings(plan, "owner.deactivated") == {("owner.deactivated", "501")}
    missing = evaluate(portfolio(sub(owner_id=None), company=CompanyRow("101", "X", None), owners=owners), RENEWAL - timedelta(days=90), config)
    assert findings(missing, "owner.missing") == {("owner.missing", "501")}
    unassigned = evaluate(portfolio(owners=owners), RENEWAL - timedelta(days=90), CONFIG)
    assert {r.owner_id for r in unassigned.reminders} == {None}
    (finding,) = [f for f in unassigned.findings if f.rule == "owner.deactivated"]
    assert "Laura Pérez (9)" in finding.message and "set [reminders] fallback_owner_id" in finding.message


def test_subscription_owner_wins_over_the_company_owner():
    owners = {"9": OwnerRow("9", "A", None, True), "10": OwnerRow("10", "B", None, True)}
    plan = evaluate(portfolio(sub(owner_id="10"), owners=owners), RENEWAL - timedelta(days=90), CONFIG)
    assert {r.owner_id for r in plan.reminders} == {"10"}
    plan = evaluate(portfolio(sub(owner_id=None), owners=owners), RENEWAL - timedelta(days=90), CONFIG)
    assert {r.owner_id for r in plan.reminders} == {"9"}


@pytest.mark.parametrize(("days", "priority"), [(120, "LOW"), (75, "MEDIUM"), (30, "HIGH"), (7, "HIGH")])
def test_priority_follows_urgency(days, priority):
    plan = evaluate(portfolio(), RENEWAL - timedelta(days=days), CONFIG)
    (task,) = [r for r in reminders(plan, "renewal.milestone") if r.create]
    assert task.priority == priority


@pytest.mark.parametrize(("days", "priority"), [(29, "HIGH"), (30, "HIGH"), (31, "MEDIUM"), (75, "MEDIUM"), (76, "LOW")])
def test_priority_boundaries_of_tasks_that_follow_the_renewals_urgency(days, priority):
    """A price change takes the renewal's urgency: a month ahead, 30 days included, is HIGH;
    within HubSpot's 75 days, MEDIUM. (A contact problem follows the emails it would miss:
    ``test_a_broken_primary_contact_is_as_urgent_as_the_renewal_emails_it_would_miss``.)"""
    changed = sub(renewal_price=Decimal("1320.00"))
    plan = evaluate(portfolio(changed), RENEWAL - timedelta(days=days), CONFIG)
    (price,) = reminders(plan, "renewal.price_change")
    assert price.priority == priority


def test_a_deadline_warning_fires_even_when_the_renewal_is_beyond_the_horizon():
    far = sub(renewal_date=date(2027, 9, 1), deadline=date(2027, 3, 15))  # a contract's own deadline
    plan = evaluate(portfolio(far), date(2027, 3, 1), CONFIG)  # 14 days before it; renewal 184 days away
    assert [r.key for r in reminders(plan, "renewal.deadline") if r.create] == ["renewal.deadline:subscription:501:2027-03-15:14"]
    assert reminders(plan, "renewal.milestone") == []


@pytest.mark.parametrize(("renewal_price", "fires"), [("1320.00", False), ("1320.48", True), ("1079.52", True), ("1080.00", False)])
def test_the_price_threshold_is_compared_exactly_not_after_rounding(renewal_price, fires):
    """10.04 % shows as +10.0 %, and is still over a 10 % threshold."""
    config = RuleConfig(price_change_threshold_percent=10.0)
    plan = evaluate(portfolio(sub(renewal_price=Decimal(renewal_price))), RENEWAL - timedelta(days=60), config)
    assert bool(reminders(plan, "renewal.price_change")) is fires


def test_a_fallback_owner_that_is_itself_deactivated_or_unknown_is_a_finding_and_not_used():
    owners = {"9": OwnerRow("9", "Laura Pérez", None, False), "77": OwnerRow("77", "Ops", None, False)}
    for fallback, says in (("77", "the fallback owner Ops (77) is deactivated"), ("404", "no HubSpot owner has the id 404")):
        plan = evaluate(portfolio(owners=owners), RENEWAL - timedelta(days=90), RuleConfig(fallback_owner_id=fallback))
        (finding,) = [f for f in plan.findings if f.rule == "owner.fallback_unusable"]
        assert says in finding.message and finding.value == fallback
        assert {r.owner_id for r in plan.reminders} == {None}  # unassigned, not refused by HubSpot


def test_a_deleted_primary_contact_is_not_named_in_its_task():
    gone = contact(gone=True)
    plan = evaluate(portfolio(primary=gone), RENEWAL - timedelta(days=60), CONFIG)
    (task,) = reminders(plan, "contact.data")
    assert task.contact_id is None and task.facts["contact_email"] is None and task.facts["contact_name"] is None


def test_the_same_inputs_give_the_same_plan():
    as_of = RENEWAL - timedelta(days=20)
    subs = [sub(id=str(i), communication_owner=None, renewal_price=Decimal("1500")) for i in range(500, 520)]
    first, second = evaluate(portfolio(*subs), as_of, CONFIG), evaluate(portfolio(*reversed(subs)), as_of, CONFIG)
    assert sorted(first.reminders, key=lambda r: r.key) == sorted(second.reminders, key=lambda r: r.key)


# --------------------------------------------------------------------------- why a task is closed


@pytest.mark.parametrize(
    ("rule", "now", "expected"),
    [
        ("renewal.milestone", sub(renewal_date=date(2027, 4, 1)), "the renewal date moved from 2027-03-01 to 2027-04-01"),
        ("renewal.milestone", sub(status="cancelled"), "the subscription was cancelled (status cancelled)"),
        ("renewal.milestone", sub(gone=True), "the subscription was archived or deleted in HubSpot"),
        ("renewal.price_change", sub(), "the renewal price no longer differs from the current price"),
        ("renewal.no_communication_owner", sub(communication_owner="partner"), "a communication owner was chosen (partner)"),
        ("renewal.partner_meeting", sub(communication_owner="hubspot"), "the partner no longer owns the renewal conversation"),
        ("renewal.contact_tier", sub(), "usage is back under 90% of the contact tier"),
    ],
)
def test_why_a_task_is_no_longer_wanted(rule, now, expected):
    assert why_gone(rule, "subscription", "501", RENEWAL, portfolio(now), RENEWAL - timedelta(days=60), CONFIG) == expected


def test_why_gone_for_past_renewals_and_fixed_contacts():
    assert why_gone("renewal.milestone", "subscription", "501", RENEWAL, portfolio(), RENEWAL + timedelta(days=1), CONFIG) == "the renewal date has passed"
    assert why_gone("contact.data", "company", "101", None, portfolio(), RENEWAL - timedelta(days=60), CONFIG) == "the primary contact's data was fixed"


@pytest.mark.parametrize(
    "rule, changed, expected",
    [
        ("renewal.partner_meeting", {"communication_owner": "hubspot"}, "the partner no longer owns the renewal conversation"),
        ("renewal.no_communication_owner", {"communication_owner": "partner"}, "a communication owner was chosen (partner)"),
        ("renewal.price_change", {}, "the renewal price no longer differs from the current price"),
        ("renewal.contact_tier", {}, "usage is back under 90% of the contact tier"),
        ("renewal.milestone", {}, "the reason for the task no longer applies"),
        ("renewal.deadline", {"deadline": date(2027, 2, 1)}, "the notice deadline moved from 2027-01-15 to 2027-02-01"),
        ("renewal.milestone", {"renewal_date": date(2027, 3, 8)}, "the renewal date moved from 2027-03-01 to 2027-03-08"),
        ("renewal.milestone", {"status": "closedlost"}, "the subscription was cancelled (status closedlost)"),
        ("renewal.milestone", {"gone": True}, "the subscription was archived or deleted in HubSpot"),
    ],
)
def test_each_rule_says_in_its_own_words_why_its_task_was_closed(rule, changed, expected):
    anchor = date(2027, 1, 15) if rule == "renewal.deadline" else RENEWAL
    now = sub(**{"deadline": date(2027, 1, 15), **changed}) if rule == "renewal.deadline" else sub(**changed)
    assert why_gone(rule, "subscription", "501", anchor, portfolio(now), RENEWAL - timedelta(days=60), CONFIG) == expected


def test_a_deadline_task_closes_when_its_deadline_passed_even_with_the_renewal_beyond_the_horizon():
    far = sub(renewal_date=date(2027, 9, 1), deadline=date(2027, 1, 15))
    assert why_gone("renewal.deadline", "subscription", "501", date(2027, 1, 15), portfolio(far), date(2027, 1, 16), CONFIG) == "the notice deadline has passed"
    price = RuleConfig(price_change_threshold_percent=5.0)
    assert why_gone("renewal.price_change", "subscription", "501", RENEWAL, portfolio(), RENEWAL - timedelta(days=60), price) == (
        "the renewal price no longer differs from the current price by more than 5 %"
    )


def test_usage_in_percent_for_the_reports():
    from decimal import Decimal

    from worker.rules.renewal import usage_percent

    assert usage_percent(4613, 10000) == Decimal("46.1")
    assert usage_percent(1137, 2000) == Decimal("56.9")  # 56.85: half up, as people round
    assert usage_percent(12, 10) == Decimal("120.0")
    assert usage_percent(None, 10) is None and usage_percent(5, 0) is None and usage_percent(5, None) is None


# --------------------------------------------------------------------------- discounts, the renewal manager, the options


def _text(task, language="en"):
    from worker.tasks.texts import render

    subject, body = render(task.rule, task.facts, task.due, language=language, key=task.key, task_marker="rw1-0000000000000000")
    return subject, body


def test_a_discount_ending_at_the_renewal_is_named_in_the_price_change_task():
    discounted = sub(renewal_price=Decimal("1500.00"), discount_percent=Decimal("20"), discount_end_date=RENEWAL,
                     renewal_manager="Marta Ruiz (HubSpot)", renewal_options_url="https://app.hubspot.com/renewals/42")
    plan = evaluate(portfolio(discounted), RENEWAL - timedelta(days=100), CONFIG)
    (task,) = reminders(plan, "renewal.price_change")
    assert reminders(plan, "renewal.discount_ends") == []  # the price-change task says it
    _, body = _text(task)
    assert body.startswith("The 20% discount ends on March 1, 2027: from $1,200.00 to $1,500.00.")
    assert "HubSpot renewal manager: Marta Ruiz (HubSpot)." in body
    assert "The client's renewal options: https://app.hubspot.com/renewals/42" in body
    _, cuerpo = _text(task, "es")
    assert cuerpo.startswith("El descuento del 20 % termina el 1 de marzo de 2027: de 1.200,00\xa0US$ a 1.500,00\xa0US$.")
    # Without the optional properties the task reads as before.
    (plain,) = reminders(evaluate(portfolio(sub(renewal_price=Decimal("1500.00"))), RENEWAL - timedelta(days=100), CONFIG), "renewal.price_change")
    assert "discount" not in _text(plain)[1] and "renewal manager" not in _text(plain)[1]


def test_a_discount_ending_before_the_renewal_with_no_new_price_is_its_own_reminder():
    ends = RENEWAL - timedelta(days=40)  # 2027-01-20, a Wednesday
    discounted = sub(discount_percent=Decimal("15"), discount_end_date=ends)  # renewal price = current: nothing recorded
    as_of = RENEWAL - timedelta(days=100)
    plan = evaluate(portfolio(discounted), as_of, CONFIG)
    (task,) = reminders(plan, "renewal.discount_ends")
    assert task.key == f"renewal.discount_ends:subscription:501:{ends.isoformat()}"
    assert task.due == ends - timedelta(days=30)  # 2026-12-21, a Monday: a month before it ends
    subject, body = _text(task)
    assert subject == "Discount ends in 30 days: Andes Nova S.A. (January 20, 2027)"
    assert "no new price is recorded yet" in body
    # Recording the new price moves the reminder to the price-change task, which names the discount.
    priced = evaluate(portfolio(replace_sub(discounted, renewal_price=Decimal("1400.00"))), as_of, CONFIG)
    assert reminders(priced, "renewal.discount_ends") == []
    assert why_gone("renewal.discount_ends", "subscription", "501", ends, portfolio(replace_sub(discounted, renewal_price=Decimal("1400.00"))), as_of, CONFIG).startswith("the discount no longer ends")
    # A discount that ends after the renewal, or has already ended, is nobody's reminder.
    assert reminders(evaluate(portfolio(sub(discount_end_date=RENEWAL + timedelta(days=1))), as_of, CONFIG), "renewal.discount_ends") == []
    assert reminders(evaluate(portfolio(sub(discount_end_date=as_of - timedelta(days=1))), as_of, CONFIG), "renewal.discount_ends") == []


def test_the_partner_meeting_carries_the_renewal_manager_and_the_options():
    partner = sub(communication_owner="partner", renewal_manager="Marta Ruiz", renewal_options_url="https://app.hubspot.com/r/1")
    (task,) = reminders(evaluate(portfolio(partner), RENEWAL - timedelta(days=80), CONFIG), "renewal.partner_meeting")
    _, body = _text(task, "es")
    assert "Mánager de renovación de HubSpot: Marta Ruiz." in body and "Opciones de renovación del cliente: https://app.hubspot.com/r/1" in body


def replace_sub(row, **changes):
    from dataclasses import replace

    return replace(row, **changes)


def test_a_public_holiday_moves_a_due_day_like_a_weekend_day():
    from dataclasses import replace as changed

    from worker.rules.calendar import PublicHolidays, working_day

    madrid = PublicHolidays("ES-MD")
    # Epiphany (Wednesday 6 January 2027): due the Tuesday before.
    assert working_day(date(2027, 1, 6), not_before=date(2026, 12, 1), skip_weekends=True, holidays=madrid) == date(2027, 1, 5)
    # Christmas on a Friday: Thursday; a late step from Christmas Day on: the Monday after.
    assert working_day(date(2026, 12, 25), not_before=date(2026, 12, 1), skip_weekends=True, holidays=madrid) == date(2026, 12, 24)
    assert working_day(date(2026, 12, 20), not_before=date(2026, 12, 25), skip_weekends=True, holidays=madrid) == date(2026, 12, 28)
    # The 90-day milestone of a renewal on 6 April 2027 falls on Epiphany: its task exists from,
    # and is due on, the working day before.
    config = changed(CONFIG, holidays=madrid)
    renewal = date(2027, 4, 6)
    plan = evaluate(portfolio(sub(renewal_date=renewal)), date(2027, 1, 5), config)
    [milestone] = [r for r in reminders(plan, "renewal.milestone") if r.create]
    assert milestone.facts["milestone_days"] == 90 and milestone.due == date(2027, 1, 5)
    assert not [r for r in reminders(evaluate(portfolio(sub(renewal_date=renewal)), date(2027, 1, 4), config), "renewal.milestone") if r.create and r.facts["milestone_days"] == 90]


@pytest.mark.parametrize(("emails_in", "priority"), [(5, "HIGH"), (-3, "HIGH"), (14, "HIGH"), (15, "MEDIUM"), (42, "MEDIUM"), (43, "LOW")])
def test_a_broken_primary_contact_is_as_urgent_as_the_renewal_emails_it_would_miss(emails_in, priority):
    as_of = date(2026, 12, 7)
    renewal = as_of + timedelta(days=75 + emails_in)
    bounced = contact(bounce_reason="UNKNOWN_USER")
    plan = evaluate(portfolio(sub(renewal_date=renewal), primary=bounced), as_of, CONFIG)
    [task] = reminders(plan, "contact.data")
    assert task.priority == priority


def test_choosing_who_communicates_is_due_two_weeks_before_hubspots_emails_start():
    from worker.tasks.texts import render

    renewal = date(2027, 4, 1)
    emails_start = renewal - timedelta(days=75)
    plan = evaluate(portfolio(sub(renewal_date=renewal, communication_owner=None)), renewal - timedelta(days=110), CONFIG)
    [task] = reminders(plan, "renewal.no_communication_owner")
    assert task.due == working_day(emails_start - timedelta(days=14), not_before=date.min, skip_weekends=True) < emails_start
    subject, body = render(task.rule, task.facts, task.due, language="en", key=task.key, task_marker="rw1-0000000000000000")
    assert "before HubSpot's renewal manager starts emailing the client on January 16, 2027" in body
    assert "Partner &gt; Panel &gt; client list &gt; Renewals &gt; Communication owner" in body  # HTML: HubSpot's body is rich text
