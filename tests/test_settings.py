"""Settings: TOML + environment, validated at start, every problem reported at once."""

from __future__ import annotations

import pytest

from worker.settings import ConfigError, load_settings

TOKEN = {"HUBSPOT_ACCESS_TOKEN": "pat-test-token-value"}


def write(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ=TOKEN)
    assert settings.hubspot.base_url == "https://api.hubapi.com"
    assert settings.hubspot.requests_per_10s == 100 and settings.hubspot.search_requests_per_s == 4
    assert settings.database.url == "sqlite:///renewal-worker.db"
    assert settings.subscriptions.object_type == "deals"
    assert settings.primary_contact.association_label == "Primary"
    assert settings.access_token.get_secret_value() == "pat-test-token-value"
    assert "pat-test-token-value" not in repr(settings)


def test_the_example_config_is_valid_and_documents_the_defaults():
    from pathlib import Path

    example = load_settings(Path(__file__).parent.parent / "config.example.toml", environ=TOKEN)
    defaults = load_settings("/dev/null", environ=TOKEN)
    for section in ("hubspot", "database", "subscriptions", "primary_contact", "sync", "reminders", "notifications", "schedule", "http", "logging"):
        assert getattr(example, section) == getattr(defaults, section), section


def test_every_problem_is_reported_at_once_with_its_key(tmp_path):
    path = write(
        tmp_path,
        """
[hubspot]
base_url = "http://api.example.com"
requests_per_10s = "fast"
requests_in_flight = 0
[reminders]
timezone = "Mars/Olympus"
[subscriptions]
colour = "blue"
""",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    keys = {problem.key for problem in caught.value.problems}
    assert keys == {"hubspot.base_url", "hubspot.requests_per_10s", "hubspot.requests_in_flight", "reminders.timezone", "subscriptions.colour", "HUBSPOT_ACCESS_TOKEN"}
    text = str(caught.value)
    assert "loopback" in text and "IANA" in text and "unknown key" in text and "'fast'" in text


def test_a_token_in_the_config_file_is_refused_and_not_echoed(tmp_path):
    path = write(tmp_path, '[hubspot]\naccess_token = "pat-na1-secret-in-file"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ=TOKEN)
    assert [p.key for p in caught.value.problems] == ["hubspot.access_token"]
    assert "HUBSPOT_ACCESS_TOKEN" in str(caught.value)
    assert "secret-in-file" not in str(caught.value)


def test_environment_overrides_the_file(tmp_path):
    path = write(tmp_path, "[hubspot]\nrequests_per_10s = 50\n")
    env = {**TOKEN, "RENEWAL_WORKER__HUBSPOT__REQUESTS_PER_10S": "80", "RENEWAL_WORKER__SUBSCRIPTIONS__VALUES__CANCELLED_STATUSES": '["lost"]'}
    settings = load_settings(path, environ=env)
    assert settings.hubspot.requests_per_10s == 80
    assert settings.subscriptions.values.cancelled_statuses == ("lost",)


def test_token_from_a_secret_file(tmp_path):
    secret = tmp_path / "token"
    secret.write_text("pat-from-file\n")
    settings = load_settings("/dev/null", environ={"HUBSPOT_ACCESS_TOKEN_FILE": str(secret)})
    assert settings.access_token.get_secret_value() == "pat-from-file"
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_settings("/dev/null", environ={"HUBSPOT_ACCESS_TOKEN_FILE": str(tmp_path / "missing")})


def test_loopback_http_and_postgres_urls_are_accepted(tmp_path):
    path = write(tmp_path, '[hubspot]\nbase_url = "http://127.0.0.1:8080"\n[database]\nurl = "postgresql+psycopg://u@127.0.0.1/db"\n')
    settings = load_settings(path, environ=TOKEN)
    assert settings.hubspot.base_url == "http://127.0.0.1:8080"


def test_a_named_config_file_that_does_not_exist_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "nope.toml", environ=TOKEN)


def test_the_deploy_recipes_match_the_settings():
    from pathlib import Path

    root = Path(__file__).parent.parent / "deploy"
    container = load_settings(root / "config.container.toml", environ=TOKEN)
    assert container.http.bind == "0.0.0.0:9464" and container.database.url.startswith("sqlite:////data/")
    unit = (root / "renewal-worker.service").read_text()
    timeout = int(unit.split("TimeoutStopSec=", 1)[1].split()[0])
    assert timeout > container.schedule.shutdown_grace_s  # systemd waits for the graceful stop
    assert "ExecStart=/opt/renewal-worker/.venv/bin/renewal-worker run" in unit and "RestartPreventExitStatus=2" in unit
    recipe = (root / "Containerfile").read_text()
    assert 'CMD ["renewal-worker", "run"]' in recipe and '"renewal-worker", "check"' in recipe and "STOPSIGNAL SIGTERM" in recipe


def test_schedule_and_http_are_validated():
    import pytest as _pytest

    with _pytest.raises(ConfigError) as caught:
        load_settings("/dev/null", environ={**TOKEN, "RENEWAL_WORKER__SCHEDULE__RULES_CRON": "every morning", "RENEWAL_WORKER__HTTP__BIND": "10.0.0.5:80"})
    text = str(caught.value)
    assert "schedule.rules_cron" in text and "http.bind" in text


def test_holidays_take_a_country_and_subdivision_the_holidays_package_knows(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[reminders]\nholidays = "es-md"\n', encoding="utf-8")
    assert load_settings(config, environ=TOKEN).reminders.holidays == "ES-MD"
    config.write_text('[reminders]\nholidays = "XX"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_settings(config, environ=TOKEN)
    assert [p.key for p in refused.value.problems] == ["reminders.holidays"] and "ES-MD" in str(refused.value)


def test_mistakes_get_words_a_person_can_act_on(tmp_path):
    """From a newcomer's first try: typos get "did you mean", quoted booleans and percents written
    as shares are named, a choice's case is forgiven, lists of days are explained."""
    path = write(tmp_path, """
[reminder]
timezone = "UTC"
[reminders]
timezon = "UTC"
language = "ES"
skip_weekends = "yes"
tier_warning_ratio = 90
milestone_days = ["120d", 90]
""")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ=TOKEN)
    problems = {p.key: p.reason for p in caught.value.problems}
    assert problems["reminder"].startswith("unknown section; did you mean [reminders]?")
    assert problems["reminders.timezon"].startswith("unknown key; did you mean 'timezone'?")
    assert problems["reminders.skip_weekends"] == "true or false (without quotes)"
    assert problems["reminders.tier_warning_ratio"] == "a share between 0 and 1 (0.9 means 90%); 90 looks like a percent: write 0.9"
    assert problems["reminders.milestone_days.0"].startswith("a list of whole numbers of days before the renewal, e.g. [120")
    assert "reminders.language" not in problems
    assert load_settings(write(tmp_path, '[reminders]\nlanguage = "ES"\n'), environ=TOKEN).reminders.language == "es"
