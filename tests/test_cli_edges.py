"""What a user meets at the command line when something is off: one line and the right exit
code (2 for configuration, 1 at run time), secrets never echoed, files only the owner can read,
and output that a terminal or a spreadsheet cannot be tricked by."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import stat
import subprocess
import sys

import pytest

from integrations.hubspot.sandbox import PortalSpec, SandboxHubSpot, SandboxPortal, generate_portal
from integrations.hubspot.sandbox.server import ALL_SCOPES
from tests.clock import days_from_today
from tests.test_cli import TOKEN, run_cli, sandbox_config


def _one_line_error(done, code: int) -> str:
    assert done.returncode == code, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    return done.stderr


# --------------------------------------------------------------------------- configuration (exit 2)


@pytest.mark.parametrize(
    "config, env, secret",
    [
        ('HUBSPOT_ACCESS_TOKEN = "pat-na1-aaaaaaaa-1111-2222-3333-444444444444"\n', {}, "pat-na1-aaaaaaaa"),
        ('[hubspot]\napi_token = "pat-eu1-bbbbbbbb-1111-2222-3333-444444444444"\n', {}, "pat-eu1-bbbbbbbb"),
        ('[notifications]\nurl = "https://hooks.slack.com/services/T1/B2/xyzsecret"\n', {}, "xyzsecret"),
        ('[hubspot]\nmy_key = "kYq3Zr9LmN2pQ7sT8vW1xY4zA6bC0dE5"\n', {}, "kYq3Zr9LmN2pQ7sT8vW1xY4zA6bC0dE5"),
        ("", {"RENEWAL_WORKER__HUBSPOT__API_TOKEN": "pat-na1-cccccccc-1111"}, "pat-na1-cccccccc"),
    ],
    ids=["top-level", "api_token", "notifications.url", "unknown-key", "env"],
)
def test_a_secret_pasted_under_a_wrong_key_is_refused_without_being_echoed(tmp_path, config, env, secret):
    done = run_cli(tmp_path, "--sync-now", config=config, env_extra=env)
    err = _one_line_error(done, 2)
    assert secret not in err and "configuration error" in err


@pytest.mark.parametrize(
    "config, key, reason",
    [
        ("[hubspot]\ntimeout_read_s = true\n", "hubspot.timeout_read_s", "a number, not true/false"),
        ("[reminders]\nmilestone_days = [120, true]\n", "reminders.milestone_days", "a number, not true/false"),
        ('[database]\nurl = "sqlite:///"\n', "database.url", "a temporary database"),
        ('[database]\nurl = "sqlite:///:memory:"\n', "database.url", "in-memory"),
        # Every spelling SQLite reads as memory or a temporary file: each run would start from an
        # empty cache and create every task again.
        ('[database]\nurl = "sqlite:///file::memory:?cache=shared&uri=true"\n', "database.url", "in-memory"),
        ('[database]\nurl = "sqlite:///file:?uri=true"\n', "database.url", "a temporary database"),
        ('[database]\nurl = "sqlite:///file:cache.db?mode=memory&uri=true"\n', "database.url", "in-memory"),
        ('[database]\nurl = "sqlite:///cache.db?mode=memory&uri=true"\n', "database.url", "in-memory"),
        ('[database]\nurl = "postgresql+psycopg://u:p@host:port/db"\n', "database.url", "the port (a number)"),
    ],
)
def test_values_that_cannot_work_are_configuration_errors(tmp_path, config, key, reason):
    err = _one_line_error(run_cli(tmp_path, "--sync-now", config=config), 2)
    assert key in err and reason in err


def test_an_unknown_key_holding_a_number_is_shown_since_it_cannot_be_a_secret(tmp_path):
    err = _one_line_error(run_cli(tmp_path, "--sync-now", config="[hubspot]\npage_sise = 50\n"), 2)
    assert "hubspot.page_sise" in err and "50" in err


@pytest.mark.parametrize(
    "content, reason",
    [(b"\xff\xfe\x00binary", "not text"), (b"pat-na1-1111\npat-na1-2222\n", "more than one line")],
    ids=["binary", "two-lines"],
)
def test_an_unusable_token_file_is_a_configuration_error(tmp_path, content, reason):
    token_file = tmp_path / "token"
    token_file.write_bytes(content)
    token_file.chmod(0o600)
    done = run_cli(tmp_path, "--sync-now", token=None, env_extra={"HUBSPOT_ACCESS_TOKEN_FILE": str(token_file)})
    err = _one_line_error(done, 2)
    assert "HUBSPOT_ACCESS_TOKEN_FILE" in err and reason in err and "pat-na1" not in err


def test_a_token_with_an_embedded_newline_is_a_configuration_error_not_hubspot_unavailable(tmp_path):
    done = run_cli(tmp_path, "--sync-now", token="pat-na1-1111\r\nX-Injected: 1")
    err = _one_line_error(done, 2)
    assert "line break" in err and "X-Injected" not in err


def test_a_binary_webhook_file_is_a_configuration_error(tmp_path):
    hook = tmp_path / "hook"
    hook.write_bytes(b"\x80\x81\x82")
    err = _one_line_error(run_cli(tmp_path, "--sync-now", env_extra={"RENEWAL_WORKER_WEBHOOK_URL_FILE": str(hook)}), 2)
    assert "RENEWAL_WORKER_WEBHOOK_URL_FILE" in err and "not text" in err


def test_renewals_within_an_impossible_number_of_days_is_a_usage_error(tmp_path):
    err = _one_line_error(run_cli(tmp_path, "renewals", "--within", "99999999", token=None), 2)
    assert "outside 0..3650 days" in err


# --------------------------------------------------------------------------- the cache's files


@pytest.mark.parametrize("command", [["status"], ["renewals"], ["findings"], ["tasks"], ["check"]])
def test_read_commands_never_create_a_cache_and_say_so_in_one_line(tmp_path, command):
    config = f'[database]\nurl = "sqlite:///{tmp_path / "typo.db"}"\n'
    done = run_cli(tmp_path, *command, config=config, token=None)
    err = _one_line_error(done, 1)
    assert f"no cache at {tmp_path / 'typo.db'}" in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.glob("typo.db*"))
    assert "--demo" not in err


def test_no_cache_beside_the_demos_cache_says_to_add_demo(tmp_path):
    (tmp_path / "renewal-worker-demo.db").write_bytes(b"")  # what `make demo` leaves in the folder
    err = _one_line_error(run_cli(tmp_path, "renewals", token=None), 1)
    assert "no cache at renewal-worker.db" in err and "add --demo, e.g. `renewal-worker renewals --demo`" in err


def test_a_cache_path_that_cannot_be_created_fails_the_run_in_one_line(tmp_path):
    (tmp_path / "a-file").write_text("x")
    config = f'[hubspot]\nbase_url = "http://127.0.0.1:9"\n[database]\nurl = "sqlite:///{tmp_path / "a-file" / "cache.db"}"\n'
    err = _one_line_error(run_cli(tmp_path, "--sync-now", config=config), 1)
    assert "run failed: cannot create the cache's directory" in err or "is not a directory" in err


def test_the_cache_and_its_companions_are_readable_by_their_owner_only(tmp_path):
    portal = generate_portal(PortalSpec(companies=10, seed=5))
    with SandboxHubSpot(portal, tokens={TOKEN: ALL_SCOPES}, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        config = sandbox_config(server, tmp_path).replace(str(tmp_path / "cache.db"), str(tmp_path / "new-dir" / "cache.db"))
        done = run_cli(tmp_path, "--sync-now", config=config)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE((tmp_path / "new-dir").stat().st_mode) == 0o700
    files = list((tmp_path / "new-dir").iterdir())
    assert any(f.name.endswith(".lock") for f in files) and any(f.name == "cache.db" for f in files)
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_an_existing_cache_left_readable_by_an_older_version_is_made_private(tmp_path):
    portal = generate_portal(PortalSpec(companies=5, seed=5))
    with SandboxHubSpot(portal, tokens={TOKEN: ALL_SCOPES}, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        config = sandbox_config(server, tmp_path)
        assert run_cli(tmp_path, "--sync-now", config=config).returncode == 0
        (tmp_path / "cache.db").chmod(0o644)
        assert run_cli(tmp_path, "--sync-now", config=config).returncode == 0
    assert stat.S_IMODE((tmp_path / "cache.db").stat().st_mode) == 0o600


def test_a_token_file_others_can_read_gets_a_warning(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    token_file.chmod(0o644)
    done = run_cli(tmp_path, "status", token=None, env_extra={"HUBSPOT_ACCESS_TOKEN_FILE": str(token_file)})
    assert "settings.secret_file_readable" in done.stderr and "chmod 600" in done.stderr
    assert TOKEN not in done.stderr


def test_a_run_killed_mid_way_is_shown_as_interrupted_not_running(tmp_path):
    from worker.cache.db import Cache
    from worker.cache.models import Run
    from worker.sync.passes import utcnow

    cache = Cache(f"sqlite:///{tmp_path / 'cache.db'}")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with cache.transaction() as session:
        session.add(Run(kind="sync:auto", started_at=utcnow(), host=socket.gethostname(), pid=dead.pid))
        session.add(Run(kind="sync:auto", started_at=utcnow(), host=socket.gethostname(), pid=os.getpid()))
    cache.close()
    status = json.loads(run_cli(tmp_path, "status", "--json", config=f'[database]\nurl = "sqlite:///{tmp_path / "cache.db"}"\n', token=None).stdout)
    assert [run["outcome"] for run in status["runs"]] == ["running", "interrupted"]


def test_the_http_port_already_in_use_is_one_line_and_exit_1(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_cli(tmp_path, "--demo", "run", token=None, config=f'[http]\nbind = "127.0.0.1:{port}"\n')
    err = _one_line_error(done, 1)
    assert f"cannot listen on 127.0.0.1:{port}" in err


# --------------------------------------------------------------------------- output for people


def _hostile_portal() -> SandboxPortal:
    portal = SandboxPortal()
    owner = portal.add_owner("Laura", "Pérez")
    for name in ("\x1b]0;pwned\x07\x1b[2JTerm Co", '=HYPERLINK("https://evil.example","Renew")', "Evil \u202eoC LLC", "-2+3 Ltd"):
        company = portal.create("companies", {"name": name, "hubspot_owner_id": str(owner.id)})
        deal = portal.create("deals", {
            "renewal_date": days_from_today(30), "current_monthly_price": "-120.00" if name.startswith("-") else "100.00",
            "renewal_monthly_price": "100.00", "dealstage": "renewal_open", "hubspot_owner_id": str(owner.id),
        })
        portal.associate("deals", deal.id, "companies", company.id, primary=True)
    return portal


def test_tables_show_control_characters_escaped_and_csv_cells_cannot_run_as_formulas(tmp_path):
    with SandboxHubSpot(_hostile_portal(), tokens={TOKEN: ALL_SCOPES}, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        config = sandbox_config(server, tmp_path)
        assert run_cli(tmp_path, "--sync-now", config=config).returncode == 0
    outputs = {name: run_cli(tmp_path, *args, config=config).stdout for name, args in
               {"renewals": ["renewals"], "tasks": ["tasks"], "findings": ["findings"], "renewals --json": ["renewals", "--json"],
                "tasks --json": ["tasks", "--json"], "findings --json": ["findings", "--json"]}.items()}
    for name, text in outputs.items():
        assert not any(ch in text for ch in "\x1b\x07\x00\u202e"), name
    assert "\\x1b]0;pwned\\x07" in outputs["renewals"] and "Evil \\u202eoC LLC" in outputs["renewals"]
    assert "\\x1b]0;pwned" in outputs["tasks"]
    # JSON carries the escape as text: a tool that decodes it gets no raw override either.
    renewals = json.loads(outputs["renewals --json"])["renewals"]
    assert "Evil \\u202eoC LLC" in {row["client"] for row in renewals}
    rows = list(csv.reader(io.StringIO(run_cli(tmp_path, "renewals", "--csv", config=config).stdout)))
    header, cells = rows[0], {row[2]: dict(zip(rows[0], row)) for row in rows[1:]}
    assert header[2] == "client"
    assert "'=HYPERLINK(\"https://evil.example\",\"Renew\")" in cells
    assert "'-2+3 Ltd" in cells
    assert cells["\\x1b]0;pwned\\x07\\x1b[2JTerm Co"]["days_left"] == "30"
    # A negative price is a finding, not a price: its cell is empty, never a formula.
    assert cells["'-2+3 Ltd"]["current_monthly_price"] == ""


def test_a_database_password_in_a_refused_url_is_not_echoed(tmp_path):
    err = _one_line_error(run_cli(tmp_path, "--sync-now", config='[database]\nurl = "mysql://user:S3cretPass@db.example/renewals"\n'), 2)
    assert "database.url" in err and "S3cretPass" not in err and "user:***@db.example" in err
