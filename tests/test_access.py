"""``renewal-worker check-access``: a preflight a new user runs with a new token and config. One
line per capability, exit 0 when the worker can run, 1 otherwise, and never a write to HubSpot."""

from __future__ import annotations

from tests.test_cli import TOKEN, live_sandbox, run_cli, sandbox_config  # noqa: F401 - the fixture
from integrations.hubspot.sandbox.server import ALL_SCOPES


def check_access(server, tmp_path, extra=""):
    done = run_cli(tmp_path, "check-access", config=sandbox_config(server, tmp_path, extra))
    # "STATUS        CAPABILITY: detail", the status padded to 13 characters.
    lines = {line[14:].split(":")[0].strip(): line for line in done.stdout.splitlines() if line.strip()}
    return done, lines


def test_a_token_and_config_that_can_run_the_worker(live_sandbox, tmp_path):
    done, lines = check_access(live_sandbox, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    for capability in ("read owners", "read companies", "read contacts", "read subscriptions (deals)", 'primary contact label "Primary"', "read tasks"):
        assert lines[capability].startswith("ok "), capability
    assert lines["[subscriptions.properties] renewal_date = 'renewal_date'"].startswith("ok ")
    assert lines["create and update tasks"].startswith("unverified") and "crm.objects.contacts.write" in lines["create and update tasks"]
    assert not any(name.startswith(("batch_create", "batch_update")) for name in live_sandbox.stats.calls)


def test_a_missing_scope_is_named_and_fails_the_check(live_sandbox, tmp_path):
    live_sandbox.tokens[TOKEN] = ALL_SCOPES - {"crm.objects.deals.read"}
    done, lines = check_access(live_sandbox, tmp_path)
    assert done.returncode == 1
    assert lines["read subscriptions (deals)"] == "missing scope read subscriptions (deals): crm.objects.deals.read"
    assert lines["properties of deals"].startswith("missing scope")
    assert lines["read companies"].startswith("ok ")


def test_a_typo_gets_did_you_mean_and_a_wrong_type_says_so(live_sandbox, tmp_path):
    extra = '[subscriptions.properties]\nrenewal_date = "renewal_dte"\ncurrent_price = "dealname"\n[primary_contact]\nassociation_label = "Primray"\n'
    done, lines = check_access(live_sandbox, tmp_path, extra)
    assert done.returncode == 1
    assert "did you mean 'renewal_date'?" in lines["[subscriptions.properties] renewal_date = 'renewal_dte'"]
    assert "it is a string property; the rules read it as a number" in lines["[subscriptions.properties] current_price = 'dealname'"]
    assert "did you mean 'Primary'?" in lines['primary contact label "Primray"']


def test_an_unknown_object_type_and_a_rejected_token(live_sandbox, tmp_path):
    done, lines = check_access(live_sandbox, tmp_path, '[subscriptions]\nobject_type = "p_renewalz"\n')
    assert done.returncode == 1 and lines["read subscriptions (p_renewalz)"].startswith("not found")
    live_sandbox.tokens.clear()
    rejected = run_cli(tmp_path, "check-access", config=sandbox_config(live_sandbox, tmp_path))
    assert rejected.returncode == 1 and "rejected the access token (401)" in rejected.stdout and TOKEN not in rejected.stdout + rejected.stderr


def test_the_task_properties_set_on_new_tasks_must_exist_on_tasks(live_sandbox, tmp_path):
    from integrations.hubspot.sandbox.portal import RequiredProperty

    live_sandbox.portal.task_rules = [RequiredProperty("renewal_reason")]
    done, lines = check_access(live_sandbox, tmp_path, '[reminders.task_properties]\nrenewal_reason = "Renewal"\nrenewal_raeson = "x"\n')
    assert done.returncode == 1
    assert lines["[reminders.task_properties] renewal_reason"].startswith("ok ")
    assert "did you mean 'renewal_reason'?" in lines["[reminders.task_properties] renewal_raeson"]
    assert "stops the run" in lines["create and update tasks"]


def test_the_demo_passes_its_own_check(tmp_path):
    # The demo's service contracts are typed as HubSpot types them (dates, numbers): no "wrong type".
    done = run_cli(tmp_path, "--demo", "check-access", token=None)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "wrong type" not in done.stdout and "[services.properties] renewal_date" in done.stdout
