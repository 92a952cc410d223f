"""What a task says, in English and Spanish: dates and numbers as people of the language write
them, no "1 days", no "before" a date that has passed, contact problems as they really are."""

from __future__ import annotations

from datetime import date

import pytest

from worker.tasks.texts import find_marker, render
from worker.words import day, number, percent, when

MARKER = "rw1-0123456789abcdef"
BASE = {"company": "Andes Nova S.A.", "products": "Marketing Hub Professional", "renewal_date": "2027-03-01"}


def text(rule, facts, due, language="en"):
    return render(rule, {**BASE, **facts}, due, language=language, key="k", task_marker=MARKER)


@pytest.mark.parametrize(
    "language, expected",
    [("en", ("March 1, 2027", "1,234.50", "+10%", "−4.5%")), ("es", ("1 de marzo de 2027", "1.234,50", "+10 %", "−4,5 %"))],
)
def test_dates_and_numbers_as_people_of_the_language_write_them(language, expected):
    assert (day("2027-03-01", language), number("1234.5", language, 2), percent("10", language, signed=True), percent("-4.5", language, signed=True)) == expected


@pytest.mark.parametrize(("days", "en", "es"), [(0, "today", "hoy"), (1, "tomorrow", "mañana"), (2, "in 2 days", "en 2 días"), (-3, "today", "hoy")])
def test_when_never_says_1_days(days, en, es):
    assert (when(days, "en"), when(days, "es")) == (en, es)


def test_counts_and_lists_follow_the_languages_cldr_rules():
    from worker.words import plural, product_list

    forms = {"en": {"one": "{n} renewal", "other": "{n} renewals"}, "es": {"one": "{n} renovación", "other": "{n} renovaciones"}}
    assert [plural(n, forms["en"], "en") for n in (0, 1, 2, 1200)] == ["0 renewals", "1 renewal", "2 renewals", "1,200 renewals"]
    assert [plural(n, forms["es"], "es") for n in (1, 2, 1200)] == ["1 renovación", "2 renovaciones", "1.200 renovaciones"]
    assert product_list("Marketing Hub Professional;Sales Hub Starter; Content Hub, Starter ;", "en") == (
        "Marketing Hub Professional, Sales Hub Starter, and Content Hub, Starter"
    )
    assert product_list("Marketing Hub Professional;Sales Hub Starter", "es") == "Marketing Hub Professional y Sales Hub Starter"
    assert product_list(" ; ", "es") == "" and product_list(None, "en") == ""


def test_what_is_not_recorded_reads_as_words_never_a_question_mark():
    subject, body = render("renewal.milestone", {"renewal_date": "2027-03-01", "milestone_days": 90}, date(2026, 12, 1), language="es", key="k", task_marker=MARKER)
    assert "?" not in subject + body
    assert "(nombre del cliente sin registrar)" in subject and "(productos sin registrar)" in body


def test_a_day_already_past_is_named_by_its_date_never_today():
    assert when(-2, "en", "2026-12-05") == "on December 5, 2026"
    assert when(-2, "es", date(2026, 12, 5)) == "el 5 de diciembre de 2026"
    assert when(0, "en", "2026-12-05") == "today"


def test_a_milestone_task_in_both_languages():
    subject, body = text("renewal.milestone", {"milestone_days": 90}, date(2026, 12, 1))
    assert subject == "Renewal in 90 days: Andes Nova S.A."
    assert "renews Marketing Hub Professional on March 1, 2027." in body and "90-day renewal milestone" in body
    subject_es, body_es = text("renewal.milestone", {"milestone_days": 90}, date(2026, 12, 1), "es")
    assert subject_es == "Renovación en 90 días: Andes Nova S.A." and "el 1 de marzo de 2027" in body_es
    assert find_marker(body) == MARKER and body.endswith(f"ref {MARKER} · k")


def test_a_renewal_one_day_after_the_due_date_says_tomorrow():
    subject, _ = text("renewal.milestone", {"milestone_days": 7}, date(2027, 2, 28))
    assert subject == "Renewal tomorrow: Andes Nova S.A."


@pytest.mark.parametrize("language, before, late", [
    ("en", "before HubSpot's renewal emails start on December 16, 2026", "now: HubSpot's renewal emails started on December 16, 2026"),
    ("es", "antes de que HubSpot empiece a enviar sus correos de renovación el 16 de diciembre de 2026", "cuanto antes: los correos de renovación de HubSpot empezaron el 16 de diciembre de 2026"),
])
def test_a_late_step_says_it_is_late_instead_of_before_a_past_date(language, before, late):
    facts = {"current_price": "1200.00", "renewal_price": "1320.00", "currency": "USD", "change_percent": "10.0", "emails_start": "2026-12-16"}
    _, on_time = text("renewal.price_change", facts, date(2026, 12, 1), language)
    _, overdue = text("renewal.price_change", facts, date(2026, 12, 20), language)
    assert before in on_time and late not in on_time
    assert late in overdue and before not in overdue


PRICE = {"current_price": "1200.00", "renewal_price": "1320.00", "currency": "USD", "change_percent": "10.0", "emails_start": "2026-12-16"}


@pytest.mark.parametrize("language, meeting, hubspot_emails, passed", [
    ("en", "at the renewal meeting with the client, by December 16, 2026", "HubSpot's renewal emails start",
     "The deadline to cancel or renegotiate passed on January 15, 2027: the new price applies from the renewal."),
    ("es", "en la reunión de renovación con el cliente, a más tardar el 16 de diciembre de 2026", "HubSpot empiece a enviar",
     "La fecha tope para cancelar o renegociar pasó el 15 de enero de 2027: el precio nuevo se aplica desde la renovación."),
])
def test_a_price_change_follows_who_communicates_and_the_deadline(language, meeting, hubspot_emails, passed):
    partner = {**PRICE, "_deadline": "2027-01-15", "_communication": "partner"}
    _, before = text("renewal.price_change", partner, date(2026, 12, 1), language)
    assert meeting in before and hubspot_emails not in before and "15" in before
    _, after = text("renewal.price_change", partner, date(2027, 1, 18), language)
    assert passed in after and meeting not in after
    _, hubspot = text("renewal.price_change", {**partner, "_communication": "hubspot"}, date(2026, 12, 1), language)
    assert hubspot_emails in hubspot and meeting not in hubspot


def test_who_communicates_and_the_deadline_shape_new_words_but_never_rewrite_a_task():
    from worker.tasks.texts import fingerprint

    assert fingerprint({**PRICE, "_deadline": "2027-01-15", "_communication": "partner"}) == fingerprint(PRICE)


def test_a_partner_meeting_after_the_deadline_is_about_confirming_the_terms():
    subject, body = text("renewal.partner_meeting", {"emails_start": "2026-12-16", "_deadline": "2027-01-15"}, date(2027, 1, 18))
    assert subject == "Renewal meeting with Andes Nova S.A.: the deadline passed on January 15, 2027, confirm the terms"
    assert "to confirm the renewal terms" in body and "before" not in body


def test_a_partner_meeting_due_after_the_emails_started_is_late_in_subject_and_body():
    subject, body = text("renewal.partner_meeting", {"emails_start": "2026-12-16"}, date(2026, 12, 20))
    assert subject == "Hold the renewal meeting with Andes Nova S.A. now: HubSpot's emails started December 16, 2026"
    assert "before" not in body


def test_an_unrecorded_communication_owner_reads_as_not_recorded_hubspot_by_default():
    _, body = text("renewal.no_communication_owner", {"emails_start": "2026-12-16"}, date(2026, 12, 1))
    assert "is not recorded (HubSpot by default)" in body


def contact_facts(problems, name="Ana García", email="ana@andes.example"):
    return {"problems": problems, "contact_name": name, "contact_email": email, "emails_start": "2026-12-16"}


def test_contact_texts_say_what_is_really_wrong():
    _, bounced = text("contact.data", contact_facts(["contact.email_bounced"]), date(2026, 12, 1))
    assert "(Ana García) and will not arrive: email bounced." in bounced
    _, nameless = text("contact.data", contact_facts(["contact.name_missing"], name=None), date(2026, 12, 1))
    assert "will not arrive" not in nameless and "arrive, but address nobody by name" in nameless and "(ana@andes.example)" in nameless
    _, both = text("contact.data", contact_facts(["contact.email_malformed", "contact.name_missing"], name=None, email="ana@"), date(2026, 12, 1))
    assert "will not arrive: malformed email address." in both and "Also: the contact has no name." in both
    _, deleted = text("contact.data", contact_facts(["contact.missing"], name=None, email=None), date(2026, 12, 1))
    assert "no contact has the primary label: they go nowhere" in deleted and "()" not in deleted
    subject, _ = text("contact.data", contact_facts(["contact.opted_out"]), date(2026, 12, 1))
    assert subject == "Fix the primary contact of Andes Nova S.A.: opted out of email"


def test_markup_in_data_is_text_in_the_body():
    _, body = render("renewal.milestone", {**BASE, "company": "<b>Evil</b> & Co", "milestone_days": 30}, date(2027, 1, 30), language="en", key="k", task_marker=MARKER)
    assert "&lt;b&gt;Evil&lt;/b&gt; &amp; Co" in body and "<b>" not in body


@pytest.mark.parametrize("language, subject, lines", [
    ("en", "Contact tier exceeded: Andes Nova S.A.", ["Contacts: 5,500 of 5,000 (110%).", "Marketing emails this month: 42,000 of 50,000 (84%); the limit is 10 times the tier."]),
    ("es", "Nivel de contactos superado: Andes Nova S.A.", ["Contactos: 5.500 de 5.000 (110 %).", "Correos de marketing este mes: 42.000 de 50.000 (84 %); el límite es 10 veces el nivel."]),
])
def test_a_contact_tier_task_shows_usage_against_both_limits(language, subject, lines):
    facts = {"tier": 5000, "contacts_used": 5500, "contacts_level": "exceeded", "emails_sent": 42000, "emails_limit": 50000, "emails_level": None, "warning_percent": 90}
    got_subject, body = text("renewal.contact_tier", facts, date(2026, 12, 1), language)
    assert got_subject == subject
    for line in lines:
        assert line in body
    warning, _ = text("renewal.contact_tier", {**facts, "contacts_used": 4600, "contacts_level": "warning"}, date(2026, 12, 1))
    assert warning == "Contact tier nearly used up: Andes Nova S.A."
    unknown, body = text("renewal.contact_tier", {**facts, "contacts_used": None, "contacts_level": None, "emails_level": "warning"}, date(2026, 12, 1))
    assert "Contacts: not recorded (the limit is 5,000)." in body


@pytest.mark.parametrize("source, says", [("default", "HubSpot's default, 45 days before the renewal"), ("contract", "the contract's own deadline")])
def test_a_deadline_task_names_the_day_how_far_it_is_and_where_it_comes_from(source, says):
    facts = {"deadline": "2027-01-15", "deadline_source": source, "deadline_days": 14}
    subject, body = text("renewal.deadline", facts, date(2027, 1, 1))
    assert subject == "Renewal deadline in 14 days: Andes Nova S.A. (January 15, 2027)"
    assert f"Deadline source: {says}." in body and "January 15, 2027 is the last day" in body
    tomorrow, _ = text("renewal.deadline", facts, date(2027, 1, 14))
    assert tomorrow.startswith("Renewal deadline tomorrow:")


def test_a_price_change_from_nothing_says_so():
    facts = {"current_price": "0", "renewal_price": "1320.00", "currency": "EUR", "change_percent": None, "emails_start": "2026-12-16"}
    subject, _ = text("renewal.price_change", facts, date(2026, 12, 1))
    assert subject == "Price change at renewal: Andes Nova S.A., €0.00 → €1,320.00 (new price, no current price)"
    subject_es, _ = text("renewal.price_change", {**facts, "change_percent": "-12.5"}, date(2026, 12, 1), "es")
    assert subject_es == "Cambio de precio en la renovación: Andes Nova S.A., 0,00\xa0€ → 1.320,00\xa0€ (−12,5 %)"


def test_a_bidirectional_override_or_control_code_from_hubspot_reaches_no_task_raw():
    from worker.tasks.texts import render

    facts = {"company": "Evil \u202eoC LLC\x1b[2J", "renewal_date": "2027-03-01", "products": "Hub\u200b", "milestone_days": 90}
    subject, body = render("renewal.milestone", facts, date(2026, 12, 1), language="en", key="k", task_marker="rw1-0000000000000000")
    assert "\u202e" not in subject + body and "\x1b" not in subject + body and "\u200b" not in body
    assert "Evil \\u202eoC LLC\\x1b[2J" in subject


@pytest.mark.parametrize("kind", ["subscription", "service"])
@pytest.mark.parametrize(("language", "passed", "today"), [("en", "passed on December 5, 2026", "today"), ("es", "pasó el 5 de diciembre de 2026", "hoy")])
def test_a_deadline_that_passed_before_the_due_day_never_reads_today(kind, language, passed, today):
    from worker.tasks.texts import render

    facts = {"company": "Norte Nova Inc.", "renewal_date": "2027-01-19", "products": "Retainer", "deadline": "2026-12-05",
             "deadline_source": "default", "deadline_days": 3, **({"kind": "service"} if kind == "service" else {})}
    # The deadline fell on a Saturday: the task is due on Monday the 7th.
    subject, body = render("renewal.deadline", facts, date(2026, 12, 7), language=language, key="k", task_marker="rw1-0000000000000000")
    assert passed in subject and today not in subject.lower().split(":")[0]
    assert ("renewal manager" in body or "mánager de renovación" in body) if kind == "subscription" else ("invoice" in body or "factura" in body)
    # Due on the deadline itself: "today" is true then.
    on_the_day, _ = render("renewal.deadline", facts, date(2026, 12, 5), language=language, key="k", task_marker="rw1-0000000000000000")
    assert today in on_the_day.lower()


@pytest.mark.parametrize(("renewal_price", "says"), [("960.00", "from $800.00 to $960.00"), ("720.00", "yet the renewal price recorded is lower")])
def test_a_discount_line_agrees_with_the_direction_of_the_price(renewal_price, says):
    from worker.tasks.texts import render

    facts = {"company": "Andes", "renewal_date": "2027-03-30", "products": "Hub", "current_price": "800.00", "renewal_price": renewal_price,
             "currency": "USD", "change_percent": "20.0" if renewal_price == "960.00" else "-10.0", "discount_end": "2027-03-30",
             "discount_percent": "10", "emails_start": "2027-01-14"}
    _, body = render("renewal.price_change", facts, date(2026, 12, 7), language="en", key="k", task_marker="rw1-0000000000000000")
    first = body.split("<br>")[0]
    assert "10% discount ends on March 30, 2027" in first and says in first


def _milestone(deadline: str, communication, kind="subscription", milestone=30, language="en", due=date(2027, 2, 1)):
    from worker.tasks.texts import render

    facts = {"company": "Andes", "renewal_date": "2027-03-01", "products": "Hub", "milestone_days": milestone, "_deadline": deadline,
             "_communication": communication, "_emails_start": "2026-12-16", **({"kind": "service"} if kind == "service" else {})}
    return render("renewal.milestone", facts, due, language=language, key="k", task_marker="rw1-0000000000000000")


@pytest.mark.parametrize(("deadline", "says", "todo"), [
    ("2027-02-10", "The deadline to cancel or renegotiate is February 10, 2027 (in 9 days).", "while there is time to negotiate"),
    ("2027-02-01", "Today, February 1, 2027, is the last day to cancel or renegotiate.", "has decided today"),
    ("2027-01-15", "The deadline passed on January 15, 2027: the renewal terms now apply.", "goes through HubSpot's renewal manager"),
])
def test_a_milestone_says_what_the_renewals_stage_leaves_to_do(deadline, says, todo):
    subject, body = _milestone(deadline, "hubspot", milestone=45)
    assert subject == "Renewal in 28 days: Andes"
    assert "renews Hub on March 1, 2027 (in 28 days)." in body and says in body and todo in body
    assert ("HubSpot communicates" in body) is (deadline >= "2027-02-01")  # after the deadline: no more who-tells-what
    assert "caught up late" in body  # the 45-day milestone, due with 28 days left
    # Moved past a weekend (30 → 28 days) is not late.
    assert "caught up late" not in _milestone(deadline, "hubspot", milestone=30)[1]


@pytest.mark.parametrize(("communication", "kind", "who"), [
    ("hubspot", "subscription", "HubSpot communicates: its renewal manager emails the client from December 16, 2026"),
    ("partner", "subscription", "The partner communicates: hold the renewal meeting"),
    (None, "subscription", "Nobody has chosen who communicates (HubSpot by default)"),
    (None, "service", "A contract of the partner's own: the partner tells the client; HubSpot sends nothing."),
])
def test_a_milestone_says_who_communicates(communication, kind, who):
    _, body = _milestone("2027-02-10", communication, kind, milestone=28)
    assert who in body and "caught up late" not in body


def test_a_spanish_milestone_after_the_deadline_and_a_task_written_before_these_texts():
    _, body = _milestone("2027-01-15", "partner", language="es")
    assert "La fecha tope pasó el 15 de enero de 2027: ya se aplican las condiciones de renovación." in body
    assert "mánager de renovación de HubSpot" in body
    from worker.tasks.texts import fingerprint, render

    old = {"company": "Andes", "renewal_date": "2027-03-01", "products": "Hub", "milestone_days": 30}
    _, plain = render("renewal.milestone", old, date(2027, 2, 1), language="en", key="k", task_marker="rw1-0000000000000000")
    assert "This is the 30-day renewal milestone." in plain
    # The words' context never changes a fingerprint: tasks already written are not rewritten.
    assert fingerprint({**old, "_deadline": "2027-01-15", "_communication": "partner"}) == fingerprint(old)
