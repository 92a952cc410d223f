"""The webhook notifier (httpx): run summaries and daily digests, Slack-compatible or plain JSON.

Retries (tenacity) on 429, 5xx and connection errors, honouring Retry-After up to a bound: a
service asking for a longer wait gets none, and the message is given up for this run instead of
holding the run up. A redirect is not a delivery (redirects are not followed: the URL is a secret).
The URL is a secret (Slack's carry a token) and never appears in an error or a log line: httpx
puts the URL in its exception messages, so they are replaced here by our own, and an answer's body
that repeats a part of the URL has that part blanked out.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping, Sequence

import httpx
import structlog
import tenacity

log = structlog.get_logger(__name__)


class WebhookFailed(Exception):
    """The webhook did not accept a message after the retries. Carries no URL."""


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after_s: float | None = None):
        super().__init__(reason)
        self.retry_after_s = retry_after_s


class WebhookNotifier:
    def __init__(
        self,
        url: str,
        *,
        format: str = "slack",  # noqa: A002 - the config key's name
        timeout_s: float = 10.0,
        max_attempts: int = 4,
        max_retry_after_s: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._url = url
        self.format = format
        self._max_attempts = max_attempts
        self._max_retry_after_s = max_retry_after_s
        self._sleep = sleep
        self._client = httpx.Client(timeout=timeout_s, transport=transport, follow_redirects=False)

    def close(self) -> None:
        self._client.close()

    def post(self, event: str, text: str, lines: Sequence[str], data: Mapping[str, Any]) -> None:
        """One message: ``text`` is the headline, ``lines`` the details, ``data`` the JSON form."""
        if self.format == "slack":
            # Every word here may come from HubSpot (a company named "<!channel>" or
            # "<https://evil.example|Renew here>"): escaped as Slack asks, so data can neither
            # mention anyone nor disguise a link.
            text, lines = slack_escape(text), [slack_escape(line) for line in lines]
            body = "\n".join(lines)
            payload: dict[str, Any] = {
                "text": text,  # Slack's fallback for notifications
                "blocks": [
                    {"type": "section", "text": {"type": "mrkdwn", "text": f"*{text}*"}},
                    *([{"type": "section", "text": {"type": "mrkdwn", "text": body[:2900]}}] if body else []),
                ],
            }
        else:
            payload = {"event": event, "text": text, **data}
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Retryable),
            stop=tenacity.stop_after_attempt(self._max_attempts),
            wait=self._wait,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            retrying(self._send, payload)
        except _Retryable as exc:
            raise WebhookFailed(f"webhook gave up after {self._max_attempts} attempts: {exc}") from None

    def _send(self, payload: dict[str, Any]) -> None:
        try:
            response = self._client.post(self._url, json=payload)
        except httpx.TimeoutException:
            raise _Retryable("timed out") from None
        except httpx.TransportError as exc:
            raise _Retryable(f"connection problem ({type(exc).__name__})") from None
        if response.status_code == 429 or response.status_code >= 500:
            wait_s = _retry_after(response.headers.get("Retry-After"))
            if wait_s is not None and wait_s > self._max_retry_after_s:
                raise WebhookFailed(
                    f"webhook asked to wait {wait_s:.0f} s (HTTP {response.status_code}), more than the {self._max_retry_after_s:.0f} s "
                    "allowed: this message is given up, the run is not held up"
                )
            raise _Retryable(f"HTTP {response.status_code}", wait_s)
        if 300 <= response.status_code < 400:
            raise WebhookFailed(f"webhook answered a redirect (HTTP {response.status_code}): not delivered; set the webhook URL the service gives now")
        if response.status_code >= 400:
            # Slack answers 400/403/404 with a reason such as "invalid_token" or "no_service".
            raise WebhookFailed(f"webhook refused the message: HTTP {response.status_code} {_without_url(response.text[:200], self._url)[:100]!r}")

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retryable) and exc.retry_after_s is not None:
            return min(exc.retry_after_s, self._max_retry_after_s)
        return min(0.5 * 2 ** (state.attempt_number - 1), 10.0)


def slack_escape(text: str) -> str:
    """Slack's three control characters in message text (api.slack.com, "Escaping text")."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _without_url(text: str, url: str) -> str:
    """``text`` with every part of ``url`` that could be a secret (its host's path segments and
    query values, 6 characters or more) blanked out: an error page may repeat the URL it was
    asked for, token included."""
    parts = httpx.URL(url)
    secrets = [segment for segment in parts.path.split("/") if len(segment) >= 6]
    secrets += [value for _, value in parts.params.multi_items() if len(value) >= 6]
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "…")
    return text


def _retry_after(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:
        return None
