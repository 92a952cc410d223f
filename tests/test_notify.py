"""The webhook notifier (httpx, mocked with respx): payloads, retries, secrecy, the daily digest."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import httpx
import pytest
import respx
from pydantic import SecretStr

from tests import clock
from integrations.webhook import WebhookFailed, WebhookNotifier
from tests.conftest import make_settings
from worker.cache.db import Cache
from worker.cycle import run_cycle
from worker.notify import send_notifications
from worker.settings import ConfigError, load_settings

URL = "https://hooks.slack.example/services/T000/B000/very-secret-token"


@pytest.fixture
def portal():
    from tests.test_emission import small_portal

    return small_portal()


def notifier(**kw) -> tuple[WebhookNotifier, list[float]]:
    sleeps: list[float] = []
    return WebhookNotifier(URL, sleep=sleeps.append, **kw), sleeps


@respx.mock
def test_slack_payload_and_retry_after_a_503_honouring_retry_after():
    route = respx.post(URL).mock(side_effect=[httpx.Response(503), httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(200, text="ok")])
    client, sleeps = notifier()
    client.post("run_summary", "renewal-worker run ok", ["• tasks: 3 created"], {"outcome": "ok"})
    assert route.call_count == 3
    assert sleeps[1] == 3.0  # Retry-After honoured
    payload = route.calls.last.request.read()
    assert b'"text":"renewal-worker run ok"' in payload and b'"type":"mrkdwn"' in payload


@respx.mock
def test_plain_json_payload():
    route = respx.post(URL).mock(return_value=httpx.Response(204))
    client, _ = notifier(format="json")
    client.post("run_summary", "headline", ["line"], {"outcome": "ok", "counts": {"tasks_created": 2}})
    import json

    body = json.loads(route.calls.last.request.read())
    assert body == {"event": "run_summary", "text": "headline", "outcome": "ok", "counts": {"tasks_created": 2}}


@respx.mock
def test_gives_up_after_its_attempts_without_showing_the_url():
    respx.post(URL).mock(side_effect=httpx.ConnectError("connection refused to " + URL))
    client, sleeps = notifier(max_attempts=3)
    with pytest.raises(WebhookFailed) as caught:
        client.post("run_summary", "x", [], {})
    assert len(sleeps) == 2 and "very-secret-token" not in str(caught.value) and "hooks.slack" not in str(caught.value)


@respx.mock
def test_a_refusal_is_not_retried():
    route = respx.post(URL).mock(return_value=httpx.Response(404, text="no_service"))
    client, _ = notifier()
    with pytest.raises(WebhookFailed, match="no_service"):
        client.post("run_summary", "x", [], {})
    assert route.call_count == 1


def test_the_webhook_url_is_a_secret(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[notifications]\nwebhook_url = "https://hooks.slack.example/x"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={"HUBSPOT_ACCESS_TOKEN": "t"})
    assert "RENEWAL_WORKER_WEBHOOK_URL" in str(caught.value) and "hooks.slack" not in str(caught.value)
    settings = load_settings("/dev/null", environ={"HUBSPOT_ACCESS_TOKEN": "t", "RENEWAL_WORKER_WEBHOOK_URL": URL})
    assert settings.webhook_url.get_secret_value() == URL and "very-secret" not in repr(settings)
    with pytest.raises(ConfigError, match="https://"):
        load_settings("/dev/null", environ={"HUBSPOT_ACCESS_TOKEN": "t", "RENEWAL_WORKER_WEBHOOK_URL": "http://hooks.example/x"})


@respx.mock
def test_run_summary_after_every_run_and_one_digest_per_owner_per_day(sandbox, sqlite_url):
    respx.route(host="127.0.0.1").pass_through()  # the sandbox HubSpot is real HTTP
    hook = respx.post(URL).mock(return_value=httpx.Response(200, text="ok"))
    settings = dataclasses.replace(make_settings(sandbox.url, sqlite_url), webhook_url=SecretStr(URL))
    cache = Cache(sqlite_url)
    # Noon, pinned: "five minutes later" must still be the same day whenever the suite runs.
    now = clock.now().replace(hour=12, minute=0, second=0, microsecond=0)
    result = run_cycle(settings, cache=cache, clock=lambda: now)
    assert result.ok
    sent = send_notifications(settings, result, now=now)
    assert sent["run_summary"] == 1 and sent["digest"] >= 1
    texts = [call.request.read().decode() for call in hook.calls]
    assert "renewal-worker run ok" in texts[0] and "2 created" in texts[0]
    assert any("Renewal tasks for Laura Pérez" in text for text in texts[1:])
    # The same day: a summary again, no second digest. The next day: the digest again.
    assert send_notifications(settings, result, now=now + timedelta(minutes=5)) == {"run_summary": 1, "digest": 0}
    assert send_notifications(settings, result, now=now + timedelta(days=1))["digest"] >= 1
    cache.close()


# --------------------------------------------------------------------------- failures and hostile text


class _Answer:
    ok, outcome, mode, duration_s, job, error, run_id = True, "ok", "incremental", 1.0, "sync", None, 7
    counts = {"tasks_created": 1}
    api = {"total_calls": 3}


def test_a_webhook_that_does_not_answer_fails_no_run_and_logs_one_event_without_the_url(tmp_path, capsys):
    """Through the real logger configuration: structlog's first argument is the event, and a
    second ``event=`` used to raise TypeError after the sync and the tasks had succeeded."""
    from worker import logs

    dead = "http://127.0.0.1:1/services/T1/B2/dead-hook-secret"
    logs.configure("debug", "json", secrets=[dead])
    base = make_settings("http://127.0.0.1:1", f"sqlite:///{tmp_path / 'c.db'}", notifications={"max_attempts": 1, "daily_digest": False})
    settings = dataclasses.replace(base, webhook_url=SecretStr(dead))
    sent = send_notifications(settings, _Answer())
    assert sent == {"run_summary": 0, "digest": 0}
    err = capsys.readouterr().err
    failures = [line for line in err.splitlines() if '"notify.failed"' in line]
    assert len(failures) == 1 and '"message_kind": "run_summary"' in failures[0]
    assert "dead-hook-secret" not in err and "/services/T1" not in err


def test_a_broken_database_behind_the_digest_is_a_log_event_not_a_failed_run(tmp_path):
    from structlog.testing import capture_logs

    (tmp_path / "a-file").write_text("not a directory")
    base = make_settings("http://127.0.0.1:1", f"sqlite:///{tmp_path / 'a-file' / 'c.db'}")
    settings = dataclasses.replace(base, webhook_url=SecretStr(URL))
    with respx.mock:
        respx.post(URL).mock(return_value=httpx.Response(200))
        with capture_logs() as events:
            sent = send_notifications(settings, _Answer())
    assert sent["run_summary"] == 1 and sent["digest"] == 0
    assert [e["message_kind"] for e in events if e["event"] == "notify.failed"] == ["digest"]


@respx.mock
def test_slack_text_from_hubspot_can_neither_mention_anyone_nor_disguise_a_link():
    route = respx.post(URL).mock(return_value=httpx.Response(200))
    client, _ = notifier()
    hostile = "Slack <!channel> <https://evil.example|Click to renew> *Co* & <@U123>"
    client.post("digest", f"Tasks for {hostile}", [f"• renew {hostile}"], {"owner": hostile})
    payload = route.calls.last.request.read().decode()
    assert "<!channel>" not in payload and "<https://evil" not in payload and "<@U123>" not in payload
    assert "&lt;!channel&gt; &lt;https://evil.example|Click to renew&gt; *Co* &amp; &lt;@U123&gt;" in payload


def test_the_webhook_url_never_reaches_a_log_line_at_debug_level_however_its_host_is_spelt(capsys):
    from worker import logs

    secret = "http://LOCALHOST:9/services/T000/B000/SECRETPART"
    logs.configure("debug", "json", secrets=[secret])
    import logging

    import structlog

    structlog.get_logger("t").info("x", url="http://localhost:9/services/T000/B000/SECRETPART", path="/services/T000/B000/SECRETPART")
    logging.getLogger("httpx").info("HTTP Request: POST http://localhost:9/services/T000/B000/SECRETPART")
    err = capsys.readouterr().err
    assert "SECRETPART" not in err and err.count("[REDACTED]") == 2


@respx.mock
@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_not_a_delivery(status):
    route = respx.post(URL).mock(return_value=httpx.Response(status, headers={"Location": "https://elsewhere.example/hook"}))
    client, sleeps = notifier()
    with pytest.raises(WebhookFailed, match=f"redirect \\(HTTP {status}\\): not delivered") as failed:
        client.post("run_summary", "headline", [], {})
    assert route.call_count == 1 and sleeps == [] and "very-secret-token" not in str(failed.value)


@respx.mock
def test_a_retry_after_past_the_bound_is_not_waited_for():
    route = respx.post(URL).mock(return_value=httpx.Response(429, headers={"Retry-After": "3600"}))
    client, sleeps = notifier(max_retry_after_s=60)
    with pytest.raises(WebhookFailed, match="asked to wait 3600 s"):
        client.post("run_summary", "headline", [], {})
    assert route.call_count == 1 and sleeps == []


@respx.mock
def test_an_answer_repeating_the_urls_secret_path_is_not_logged_with_it():
    respx.post(URL).mock(return_value=httpx.Response(404, text="no_service: /services/T000/B000/very-secret-token not found"))
    client, _ = notifier()
    with pytest.raises(WebhookFailed) as failed:
        client.post("run_summary", "headline", [], {})
    assert "very-secret-token" not in str(failed.value) and "no_service" in str(failed.value)


@respx.mock
def test_the_digest_and_summary_carry_no_raw_bidirectional_override(sqlite_url):
    from integrations.hubspot.sandbox import SandboxHubSpot
    from tests.test_emission import small_portal

    portal = small_portal()
    portal.update("companies", portal.ids["company"], {"name": "Evil \u202eoC LLC"})
    route = respx.post(URL).mock(return_value=httpx.Response(200))
    respx.route(host="127.0.0.1").pass_through()
    with SandboxHubSpot(portal, requests_per_10s=10_000, search_requests_per_s=1_000) as server:
        settings = dataclasses.replace(make_settings(server.url, sqlite_url), webhook_url=SecretStr(URL))
        result = run_cycle(settings)
        assert result.ok, result.error
        send_notifications(settings, result, now=clock.now().replace(hour=12))
    # Decoded as Slack decodes them: the override shows as text, never as the character.
    texts = [json.dumps(json.loads(call.request.read()), ensure_ascii=False) for call in route.calls]
    assert texts and all("\u202e" not in text for text in texts)
    assert any("Evil \\\\u202eoC LLC" in text for text in texts)
