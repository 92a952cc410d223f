"""``renewal-worker init`` (issue 22): a new user's first ten minutes.

Discovery runs against sandbox portals over real HTTP whose properties have names and labels the
code has never seen (Spanish and English), beside decoy objects with dates and numbers that are
not renewals; the proposals are scored role by role against what the portal really means. The
command is driven as a user would: ``--yes``, and a person answering through a pseudo-terminal.
Then the written config must pass check-access and a dry run.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from datetime import date

import pytest

from integrations.hubspot.sandbox import PortalSpec, SandboxHubSpot, generate_portal
from integrations.hubspot.sandbox.generator import PARTNER_STYLE_PROPERTIES, SERVICE_CURRENCY_PROPERTY
from integrations.hubspot.sandbox.portal import PropertySpec, SandboxPortal
from integrations.hubspot.sandbox.server import ALL_SCOPES, DEMO_TOKEN
from tests.conftest import make_gateway, make_settings
from tests.test_cli import TOKEN, child_env
from worker.onboarding.choose import plan
from worker.onboarding.config_file import Choices, SourceChoice, updated_config
from worker.onboarding.discover import discover

FAST = {"requests_per_10s": 10_000, "search_requests_per_s": 1_000}


def _plan_of(portal: SandboxPortal, tmp_path):
    with SandboxHubSpot(portal, tokens={DEMO_TOKEN: ALL_SCOPES}, **FAST) as server:
        settings = make_settings(server.url, f"sqlite:///{tmp_path / 'cache.db'}")
        gateway = make_gateway(settings)
        try:
            return plan(discover(gateway))
        finally:
            gateway.close()


def _proposed(source) -> dict[str, str | None]:
    return {p.role: p.name for p in source.proposals}


def test_a_spanish_partner_object_beside_decoys_is_read_role_by_role(tmp_path):
    portal = generate_portal(PortalSpec(companies=24, seed=5, service_contracts=True, service_object_type="partner_services", partner_style=True))
    found = _plan_of(portal, tmp_path)
    assert found.subscriptions.found.object_type == "deals" and found.services.found.object_type == "partner_services"
    # The decoys (projects with delivery dates and budgets, partner client records) carry nothing.
    assert {f.object_type for f in found.candidates} == {"deals", "partner_services"}
    truth = {role: PARTNER_STYLE_PROPERTIES[name][0] for role, name in {
        "renewal_date": "renewal_date", "deadline": "renewal_deadline", "products": "hs_name", "current_price": "current_monthly_price",
        "renewal_price": "renewal_monthly_price", "currency": SERVICE_CURRENCY_PROPERTY, "status": "hs_pipeline_stage",
        "owner": "hubspot_owner_id", "discount_percent": "renewal_discount_percent", "discount_end_date": "renewal_discount_end_date",
    }.items()}
    wrong = {role: (name, truth[role]) for role, name in _proposed(found.services).items() if name != truth[role]}
    assert not wrong, wrong
    assert dict(found.services.values) == {"cancelled_statuses": ("cancelled",)}
    assert found.association_label == "Primary"


def _english_custom_portal() -> SandboxPortal:
    """Subscriptions in a custom object, in English, named as nobody else names them; sales deals
    (close dates, amounts) and the portal's own primary-contact label beside them."""
    portal = SandboxPortal()
    owner = portal.add_owner("Ana", "García")
    kind = "2-9300"
    portal.define_object(kind, {
        "f_prox_renov": PropertySpec("date", "Renewal on", "The day the client's HubSpot subscription renews"),
        "cutoff_notice": PropertySpec("date", "Notice deadline", "Last day to cancel"),
        "signup_date": PropertySpec("date", "Signed on"),
        "hubs": PropertySpec("string", "HubSpot products"),
        "mrr_today": PropertySpec("number", "MRR (current)"),
        "mrr_next_term": PropertySpec("number", "Renewal MRR"),
        "seats": PropertySpec("number", "Paid seats"),
        "iso_currency": PropertySpec("string", "Currency"),
        "who_talks": PropertySpec("enumeration", "Renewal communication owner", options=(("hs", "HubSpot rep"), ("us", "Partner agency"))),
        "tier_contacts": PropertySpec("number", "Contact tier"),
        "used_contacts": PropertySpec("number", "Marketing contacts used"),
        "sent_emails_month": PropertySpec("number", "Emails sent this month"),
        "lifecycle": PropertySpec("enumeration", "Subscription status", options=(("live", "Live"), ("churned", "Churned"))),
        "hubspot_owner_id": PropertySpec("enumeration", "Owner"),
    }, name="client_subscriptions", singular="Client subscription", plural="Client subscriptions")
    portal.define_object("deals", {
        "dealname": PropertySpec("string", "Deal name"), "closedate": PropertySpec("date", "Close date"),
        "amount": PropertySpec("number", "Amount"), "dealstage": PropertySpec("enumeration", "Deal stage"),
    })
    for n in range(8):
        company = portal.create("companies", {"name": f"Client {n}"})
        contact = portal.create("contacts", {"email": f"c{n}@client{n}.example", "firstname": "C", "lastname": str(n)})
        portal.associate("companies", company.id, "contacts", contact.id, label="Main contact")
        subscription = portal.create(kind, {
            "f_prox_renov": f"2027-0{1 + n % 8}-15", "cutoff_notice": None, "signup_date": "2024-01-10", "hubs": "Marketing Hub Professional",
            "mrr_today": "800", "mrr_next_term": "880", "seats": "3", "iso_currency": "EUR", "who_talks": "us" if n % 2 else "hs",
            "tier_contacts": "2000", "used_contacts": "1500", "sent_emails_month": "9000", "lifecycle": "live", "hubspot_owner_id": str(owner.id),
        })
        portal.associate(kind, subscription.id, "companies", company.id)
        deal = portal.create("deals", {"dealname": f"Website {n}", "closedate": "2026-10-01", "amount": "5000", "dealstage": "closedwon"})
        portal.associate("deals", deal.id, "companies", company.id)
    return portal


def test_an_english_custom_object_with_names_never_seen_and_sales_deals_as_decoys(tmp_path):
    found = _plan_of(_english_custom_portal(), tmp_path)
    assert found.subscriptions.found.object_type == "2-9300" and found.services is None
    assert [f.object_type for f in found.candidates] == ["2-9300"]  # the sales deals have no renewal date
    expected = {
        "renewal_date": "f_prox_renov", "deadline": "cutoff_notice", "products": "hubs", "current_price": "mrr_today",
        "renewal_price": "mrr_next_term", "currency": "iso_currency", "communication_owner": "who_talks",
        "contact_tier": "tier_contacts", "contacts_used": "used_contacts", "emails_sent": "sent_emails_month",
        "status": "lifecycle", "owner": "hubspot_owner_id",
        "discount_percent": None, "discount_end_date": None, "renewal_manager": None, "renewal_options_url": None,
    }
    proposed = _proposed(found.subscriptions)
    wrong = {role: (proposed[role], name) for role, name in expected.items() if proposed[role] != name}
    assert not wrong, wrong
    assert dict(found.subscriptions.values) == {
        "communication_owner_hubspot": "hs", "communication_owner_partner": "us", "cancelled_statuses": ("churned",),
    }
    assert found.association_label == "Main contact"


def test_the_config_keeps_what_was_there_and_says_what_to_look_for():
    existing = '# my notes\n[hubspot]\napi_version = "2026-03"  # pinned\n\n[subscriptions.properties]\nowner = "my_owner"\n\n[reminders]\ntimezone = "Europe/Madrid"\n'
    choice = SourceChoice("2-9300", {"renewal_date": "f_prox_renov", "contact_tier": ""}, {"contact_tier": "a number: the tier"}, {"cancelled_statuses": ("churned",)})
    text = updated_config(existing, Choices(subscriptions=choice, association_label="Main contact"), date(2026, 12, 5))
    assert text.startswith("# my notes\n[hubspot]\napi_version = \"2026-03\"  # pinned\n")
    assert 'owner = "my_owner"' in text and 'timezone = "Europe/Madrid"' in text
    assert 'contact_tier = ""  # none chosen by init: look for a number: the tier' in text
    assert 'object_type = "2-9300"' in text and 'cancelled_statuses = ["churned"]' in text and 'association_label = "Main contact"' in text
    fresh = updated_config("", Choices(subscriptions=choice), date(2026, 12, 5))
    assert "written by `renewal-worker init` on 2026-12-05" in fresh and "\n\n\n" not in fresh


def _init(tmp_path, server, *args, config_text=None, token=TOKEN):
    path = tmp_path / "config.toml"
    if config_text is not None:
        path.write_text(config_text, encoding="utf-8")
    env = child_env(**({"HUBSPOT_ACCESS_TOKEN": token} if token else {}), RENEWAL_WORKER__HUBSPOT__BASE_URL=f'"{server.url}"' if server else "")
    if not server:
        env.pop("RENEWAL_WORKER__HUBSPOT__BASE_URL")
    return subprocess.run([sys.executable, "-m", "worker", "init", "--config", str(path), *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120), path


def test_init_yes_writes_a_config_that_passes_check_access_and_a_dry_run(tmp_path):
    kept = '[reminders]\ntimezone = "Europe/Madrid"  # our office\n[database]\nurl = "sqlite:///%s"\n' % (tmp_path / "cache.db")
    with SandboxHubSpot(_english_custom_portal(), tokens={TOKEN: ALL_SCOPES}, **FAST) as server:
        done, path = _init(tmp_path, server, "--yes", config_text=kept)
        assert done.returncode == 0, done.stdout + done.stderr
        written = path.read_text(encoding="utf-8")
        assert 'timezone = "Europe/Madrid"  # our office' in written and 'object_type = "2-9300"' in written
        assert 'renewal_manager = ""  # none chosen by init: look for text:' in written
        assert "ok            read subscriptions (2-9300)" in done.stdout and "--sync-now --dry-run" in done.stdout
        assert not any(name.startswith(("batch_create", "batch_update")) for name in server.stats.calls)
        env = child_env(HUBSPOT_ACCESS_TOKEN=TOKEN, RENEWAL_WORKER__HUBSPOT__BASE_URL=f'"{server.url}"')
        dry = subprocess.run([sys.executable, "-m", "worker", "--config", str(path), "--sync-now", "--dry-run"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=120)
        assert dry.returncode == 0, dry.stderr
        assert "subscriptions 8" in dry.stdout and "dry run:" in dry.stdout


def test_demo_init_yes_finds_the_demo_portals_partner_object(tmp_path):
    path = tmp_path / "demo.toml"
    done = subprocess.run([sys.executable, "-m", "worker", "--demo", "init", "--yes", "--config", str(path)], cwd=tmp_path,
                          env=child_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    written = path.read_text(encoding="utf-8")
    assert 'object_type = "partner_services"' in written and 'renewal_date = "prox_renovacion"' in written
    assert "renewal-worker --demo --config" in done.stdout


def _answer(tmp_path, server, answers: list[tuple[str, str]]) -> tuple[int, str, str]:
    """Run init on a pseudo-terminal, answering each prompt (the text it contains) in turn."""
    path = tmp_path / "config.toml"
    env = child_env(HUBSPOT_ACCESS_TOKEN=TOKEN, RENEWAL_WORKER__HUBSPOT__BASE_URL=f'"{server.url}"')
    controller, terminal = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "worker", "init", "--config", str(path)], cwd=tmp_path, env=env,
                               stdin=terminal, stdout=terminal, stderr=terminal, close_fds=True)
    os.close(terminal)
    seen, pending = "", list(answers)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(controller, 65536).decode("utf-8", "replace")
            except OSError:  # the terminal closed: the process ended
                break
            if not chunk:
                break
            seen += chunk
            # Answer once the prompt waiting for it has been printed (after what was answered so far).
            while pending and seen.rstrip().endswith(":") and pending[0][0] in seen.rsplit("\n", 1)[-1]:
                os.write(controller, (pending.pop(0)[1] + "\n").encode())
                seen += "\n"
        elif process.poll() is not None:
            break
    process.wait(timeout=30)
    os.close(controller)
    return process.returncode, seen, path.read_text(encoding="utf-8") if path.exists() else ""


def test_a_person_accepts_picks_another_and_skips_on_a_terminal(tmp_path):
    enter = "[Enter] accept"
    answers = [("Read [subscriptions] from 2-9300?", "")]
    answers += [(enter, "s"), (enter, "")]  # renewal_date: a skip is refused (it makes a record a renewal), then accepted
    answers += [(enter, "")]  # deadline
    answers += [(enter, "seats")]  # products: a property named by hand
    answers += [(enter, "")] * 6  # current and renewal price, currency, communication owner, tier, contacts used
    answers += [(enter, "s")]  # emails_sent: skipped
    answers += [(enter, "")] * 6  # status, owner, discount %, discount end, renewal manager, options link
    answers += [("another label", "")]
    with SandboxHubSpot(_english_custom_portal(), tokens={TOKEN: ALL_SCOPES}, **FAST) as server:
        code, seen, written = _answer(tmp_path, server, answers)
    assert "the renewal date cannot be skipped" in seen
    assert code == 0, seen
    assert 'renewal_date = "f_prox_renov"' in written and 'products = "seats"' in written
    assert 'emails_sent = ""  # none chosen by init: look for a number: marketing emails sent this month' in written


def test_nothing_readable_no_candidate_a_broken_config_and_no_terminal_each_one_line_nothing_written(tmp_path):
    with SandboxHubSpot(generate_portal(PortalSpec(companies=4, seed=2)), tokens={TOKEN: frozenset({"crm.objects.companies.read"})}, **FAST) as server:
        done, path = _init(tmp_path, server, "--yes")
        assert done.returncode == 1 and not path.exists()
        assert "missing scope crm.objects.deals.read" in done.stdout
        assert done.stderr.strip().count("\n") == 0 and "the token can read none of the objects" in done.stderr
    empty = SandboxPortal()
    empty.create("companies", {"name": "Only a company"})
    with SandboxHubSpot(empty, tokens={TOKEN: ALL_SCOPES}, **FAST) as server:
        done, path = _init(tmp_path, server, "--yes")
        assert done.returncode == 1 and not path.exists() and "no object in this portal carries renewals" in done.stderr
        done, path = _init(tmp_path, server, "--yes", config_text="[reminders\ntimezone = 'UTC'\n")
        assert done.returncode == 2 and "is not valid TOML" in done.stderr
        assert path.read_text(encoding="utf-8") == "[reminders\ntimezone = 'UTC'\n"
        path.unlink()
        done, path = _init(tmp_path, server)  # stdin is not a terminal, and no --yes
        assert done.returncode == 2 and "run it on a terminal, or add --yes" in done.stderr and not path.exists()
    done, path = _init(tmp_path, None, "--yes", token=None)
    assert done.returncode == 2 and "HUBSPOT_ACCESS_TOKEN" in done.stderr and not path.exists()


@pytest.mark.parametrize("argv", [["renewals", "--demo"], ["--demo", "renewals"], ["tasks", "--config", "x.toml", "--demo"]])
def test_global_flags_are_accepted_after_the_command_too(argv):
    from worker.cli import build_parser

    args = build_parser().parse_args(argv)
    assert args.demo is True and args.command in {"renewals", "tasks"}
    if "x.toml" in argv:
        assert args.config == "x.toml"
