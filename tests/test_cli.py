"""The command line as a deploy pipeline sees it: real processes, exit codes, one-line reasons."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from worker import words

from integrations.hubspot.sandbox import Fault, PortalSpec, SandboxHubSpot, generate_portal
from integrations.hubspot.sandbox.server import ALL_SCOPES
from tests.clock import child_env

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"


@pytest.fixture
def live_sandbox():
    portal = generate_portal(PortalSpec(companies=30, seed=3))
    with SandboxHubSpot(portal, tokens={TOKEN: ALL_SCOPES}, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        yield server


def run_cli(tmp_path, *args, config="", env_extra=None, token=TOKEN):
    config_path = tmp_path / "config.toml"
    config_path.write_text(config, encoding="utf-8")
    env = child_env(**({"HUBSPOT_ACCESS_TOKEN": token} if token else {}), **(env_extra or {}))
    return subprocess.run(
        [sys.executable, "-m", "worker", "--config", str(config_path), *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )


def sandbox_config(server, tmp_path, extra=""):
    return f"""
[hubspot]
base_url = "{server.url}"
backoff_initial_s = 0.01
backoff_max_s = 0.05
requests_per_10s = 1000
search_requests_per_s = 100
[database]
url = "sqlite:///{tmp_path / 'cache.db'}"
[logging]
level = "debug"
{extra}
"""


def test_sync_now_succeeds_and_logs_one_summary_event(live_sandbox, tmp_path):
    done = run_cli(tmp_path, "--sync-now", config=sandbox_config(live_sandbox, tmp_path))
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    summaries = [e for e in events if e["event"] == "cycle.finished"]
    assert len(summaries) == 1
    assert summaries[0]["outcome"] == "ok" and summaries[0]["counts"]["companies"] == 30
    status = run_cli(tmp_path, "status", "--json", config=sandbox_config(live_sandbox, tmp_path), token=None)
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["cache"]["companies"]["active"] == 30
    assert data["runs"][0]["outcome"] == "ok" and data["runs"][0]["api_calls"] > 0
    assert data["streams"]["companies"]["watermark"]


def test_broken_config_exits_2_naming_every_key(tmp_path):
    done = run_cli(tmp_path, "--sync-now", config='[hubspot]\nrequests_per_10s = -1\n[database]\nurl = "mysql://x"\n')
    assert done.returncode == 2
    assert "hubspot.requests_per_10s" in done.stderr and "database.url" in done.stderr


def test_missing_token_exits_2(tmp_path):
    done = run_cli(tmp_path, "--sync-now", token=None)
    assert done.returncode == 2 and "HUBSPOT_ACCESS_TOKEN" in done.stderr


@pytest.mark.parametrize(
    "setup, expected",
    [
        (lambda s: s.tokens.clear(), "rejected the access token (401)"),
        (lambda s: s.tokens.update({TOKEN: ALL_SCOPES - {"crm.objects.deals.read"}}), "missing the scope(s) crm.objects.deals.read"),
        (lambda s: setattr(s, "daily_limit", 3), "daily API limit"),
        (lambda s: s.add_fault(Fault("status", status=503, match="owners", times=99)), "HubSpot unavailable after 6 attempts"),
    ],
    ids=["401", "403", "daily", "unavailable"],
)
def test_failed_runs_exit_1_with_one_clear_line(live_sandbox, tmp_path, setup, expected):
    setup(live_sandbox)
    done = run_cli(tmp_path, "--sync-now", config=sandbox_config(live_sandbox, tmp_path))
    assert done.returncode == 1
    reasons = [line for line in done.stderr.splitlines() if line.startswith("renewal-worker: run failed:")]
    assert len(reasons) == 1 and expected in reasons[0], done.stderr
    if "daily" in expected:
        # The DAILY 429 stops the run at once: retrying would burn hours. Owners, companies and
        # subscriptions sync side by side: each stream's call in flight may meet it once.
        assert 1 <= live_sandbox.stats.statuses[429] <= 3


def test_the_token_never_reaches_logs_errors_or_the_database(live_sandbox, tmp_path):
    # Retries, a 401 at the end, debug logging: every path that could print a request.
    live_sandbox.add_fault(Fault("status", status=503, match="companies", times=2))
    live_sandbox.add_fault(Fault("reset", match="owners", times=1))
    ok = run_cli(tmp_path, "--sync-now", config=sandbox_config(live_sandbox, tmp_path))
    assert ok.returncode == 0, ok.stderr
    live_sandbox.tokens.clear()
    failed = run_cli(tmp_path, "--sync-now", config=sandbox_config(live_sandbox, tmp_path))
    assert failed.returncode == 1
    status = run_cli(tmp_path, "status", "--json", config=sandbox_config(live_sandbox, tmp_path))
    outputs = ok.stdout + ok.stderr + failed.stdout + failed.stderr + status.stdout + status.stderr
    assert "hubspot.retry" in outputs  # the retries were logged ...
    assert TOKEN not in outputs  # ... without the token
    for path in tmp_path.glob("cache.db*"):
        assert TOKEN.encode() not in path.read_bytes()


def test_demo_runs_without_token_or_network(tmp_path):
    done = run_cli(tmp_path, "--demo", "--sync-now", token=None)
    assert done.returncode == 0, done.stderr
    assert "sync (full) in" in done.stdout
    assert (tmp_path / "renewal-worker-demo.db").exists()
    # It ends with the renewals table and the tasks it created in the demo portal.
    assert "Renewals from" in done.stdout and "Client" in done.stdout
    created = int(done.stdout.split("tasks: ", 1)[1].split(" created", 1)[0])
    assert created > 0
    assert f"Tasks now in the demo HubSpot portal: {created}" in done.stdout
    assert "renewal-worker --demo panel" in done.stdout.splitlines()[-1]  # where to look next
    again = run_cli(tmp_path, "--demo", "renewals", "--json", token=None)
    assert again.returncode == 0 and json.loads(again.stdout)["renewals"]


def test_dry_run_prints_the_plan_and_writes_nothing(live_sandbox, tmp_path):
    done = run_cli(tmp_path, "--sync-now", "--dry-run", config=sandbox_config(live_sandbox, tmp_path))
    assert done.returncode == 0, done.stderr
    assert "dry run:" in done.stdout and "nothing was written" in done.stdout
    assert "create" in done.stdout and "Renewal in" in done.stdout
    assert len(live_sandbox.portal.table("tasks")) == 0


def test_tasks_that_cannot_be_created_exit_1_and_go_out_next_run(live_sandbox, tmp_path):
    config = sandbox_config(live_sandbox, tmp_path)
    live_sandbox.add_fault(Fault("status", status=503, match="batch/create", times=1_000))
    failed = run_cli(tmp_path, "--sync-now", config=config)
    assert failed.returncode == 1
    assert "could not be created in HubSpot and stay pending for the next run" in failed.stderr.splitlines()[-1]
    assert len(live_sandbox.portal.table("tasks")) == 0
    live_sandbox.faults.clear()
    ok = run_cli(tmp_path, "--sync-now", config=config)
    assert ok.returncode == 0, ok.stderr
    tasks = run_cli(tmp_path, "tasks", "--json", config=config)
    rows = json.loads(tasks.stdout)["tasks"]
    assert rows and {row["state"] for row in rows} == {"open"}
    assert len(live_sandbox.portal.table("tasks")) == len(rows)


def test_the_reports_speak_the_configured_language_and_cut_no_message(live_sandbox, tmp_path):
    config = sandbox_config(live_sandbox, tmp_path, extra='[reminders]\nlanguage = "es"')
    dry = run_cli(tmp_path, "--sync-now", "--dry-run", config=config)
    assert dry.returncode == 0, dry.stderr
    assert "sincronización (full) en" in dry.stdout and "llamadas a la API" in dry.stdout
    assert "simulación: se harían " in dry.stdout and "Acción" in dry.stdout and "crear" in dry.stdout
    done = run_cli(tmp_path, "--sync-now", config=config)
    assert done.returncode == 0, done.stderr
    renewals = run_cli(tmp_path, "renewals", config=config).stdout
    assert renewals.startswith("Renovaciones desde el ") and "en los próximos 120 días:" in renewals
    assert "Fecha tope" in renewals and "Renovación / mes" in renewals and "Within" not in renewals
    rows = json.loads(run_cli(tmp_path, "renewals", "--json", config=config).stdout)["renewals"]
    if any(r["communication_owner"] is None for r in rows):
        assert "sin registrar (HubSpot por defecto)" in renewals
    priced = next(r for r in rows if r["current_monthly_price"] and r["currency"] == "USD")
    assert words.money(priced["current_monthly_price"], "USD", "es") in renewals  # 1.200,00 US$, as the tasks write it
    findings_json = json.loads(run_cli(tmp_path, "findings", "--json", config=config).stdout)["findings"]
    findings = run_cli(tmp_path, "findings", config=config).stdout
    assert findings.startswith("Problemas abiertos: ") and "Qué falla" in findings
    assert "Sin contacto principal" in findings or "Correo del contacto principal rebotado" in findings
    # Every message whole: its words in order, over as many lines as it needs.
    text = " ".join(findings.split())
    for finding in findings_json:
        assert all(word in text for word in finding["message"].split()), finding["message"]
    assert "…" not in "".join(line[60:] for line in findings.splitlines())
    tasks = run_cli(tmp_path, "tasks", config=config).stdout
    tasks_json = json.loads(run_cli(tmp_path, "tasks", "--json", config=config).stdout)["tasks"]
    assert tasks.startswith("Tareas en el registro: ") and "abierta" in tasks
    named = [t for t in tasks_json if t["client"]]
    assert named and all(t["client"] in " ".join(tasks.split()) for t in named[:5])
    assert all(t["owner"] for t in tasks_json if t["owner_id"])
    status = run_cli(tmp_path, "status", config=config, token=None).stdout
    assert status.startswith("Caché") and "Últimas ejecuciones" in status and "llamadas a la API" in status


def test_reports_from_the_cache(live_sandbox, tmp_path):
    config = sandbox_config(live_sandbox, tmp_path)
    assert run_cli(tmp_path, "--sync-now", config=config).returncode == 0
    as_json = json.loads(run_cli(tmp_path, "renewals", "--json", config=config).stdout)
    assert set(as_json) == {"as_of", "within_days", "renewals"} and as_json["within_days"] == 120
    first = as_json["renewals"][0]
    assert set(first) == {
        "subscription_id", "company_id", "client", "communication_owner", "products", "deadline", "deadline_source",
        "renewal_date", "days_left", "currency", "current_monthly_price", "renewal_monthly_price", "change_percent",
        "owner", "primary_contact_email", "open_findings",
        # New: the contact tier and its usage.
        "contact_tier", "contacts_used", "contacts_usage_percent", "emails_sent", "emails_limit", "emails_usage_percent",
        "discount_percent", "discount_end_date", "renewal_manager", "renewal_options_url",
        # New: which kind of renewal (no [services] here: every row a HubSpot subscription).
        "kind",
        # New: usage measured in the client's own portal (no [client_portals] here: null).
        "usage_measured", "usage_projection",
    }
    assert {row["kind"] for row in as_json["renewals"]} == {"subscription"}
    assert {(row["usage_measured"], row["usage_projection"]) for row in as_json["renewals"]} == {(None, None)}
    for row in as_json["renewals"]:
        deal = live_sandbox.portal.table("deals")[int(row["subscription_id"])].properties
        if row["contact_tier"] and row["contacts_used"] is not None:
            assert row["contact_tier"] == int(deal["contact_tier"]) and row["contacts_used"] == int(deal["contacts_used"])
            assert abs(float(row["contacts_usage_percent"]) - row["contacts_used"] * 100 / row["contact_tier"]) <= 0.0501
        if row["contact_tier"] and row["emails_sent"] is not None:
            assert row["emails_limit"] == 10 * row["contact_tier"]
            assert abs(float(row["emails_usage_percent"]) - row["emails_sent"] * 100 / row["emails_limit"]) <= 0.0501
    assert any(row["contacts_usage_percent"] for row in as_json["renewals"])
    days = [row["days_left"] for row in as_json["renewals"]]
    assert days == sorted(days) and all(0 <= d <= 120 for d in days)
    narrow = json.loads(run_cli(tmp_path, "renewals", "--within", "30", "--json", config=config).stdout)["renewals"]
    assert [r for r in as_json["renewals"] if r["days_left"] <= 30] == narrow
    as_csv = run_cli(tmp_path, "renewals", "--csv", config=config).stdout.splitlines()
    assert as_csv[0].startswith("subscription_id,company_id,client,communication_owner") and len(as_csv) == len(days) + 1
    # The tier columns come after owner_id: the old columns keep their places.
    assert as_csv[0].endswith(
        ",owner_id,contact_tier,contacts_used,contacts_usage_percent,emails_sent,emails_limit,emails_usage_percent,"
        "discount_percent,discount_end_date,renewal_manager,renewal_options_url,kind,"
        "measured_marketing_contacts,measured_contacts,measured_emails_sent_month,measured_on,projected_tier_reached_on"
    )
    table = run_cli(tmp_path, "renewals", config=config).stdout
    assert f"within 120 days: {len(days)}" in table and "Renewal / month" in table
    findings = json.loads(run_cli(tmp_path, "findings", "--json", config=config).stdout)
    assert findings["open"] == len(findings["findings"]) > 0
    assert {"rule", "object_type", "object_id", "field", "value", "message", "first_seen_at", "last_seen_at", "resolved_at", "client"} == set(findings["findings"][0])
    # New: each finding names its client (a renewal record's company, or the company itself).
    about_clients = [f for f in findings["findings"] if f["object_type"] in {"company", "subscription"}]
    assert about_clients and all(f["client"] for f in about_clients if f["object_type"] == "company")
    assert "Open findings:" in run_cli(tmp_path, "findings", config=config).stdout
