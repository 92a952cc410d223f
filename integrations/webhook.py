"""The webhook notifier (httpx): run summaries and daily digests, Slack-compatible or plain JSON.

Retries (tenacity) on 429, 5xx and connection errors, honouring Retry-After. The URL is a secret
(Slack's carry a token) and never appears in an error or a log line: httpx puts the URL in its
exception messages, so they are replaced here by our own.
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
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._url = url
        self.format = format
        self._max_attempts = max_attempts
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
            raise _Retryable(f"HTTP {response.status_code}", _retry_after(response.headers.get("Retry-After")))
        if response.status_code >= 400:
            # Slack answers 400/403/404 with a reason such as "invalid_token" or "no_service".
            raise WebhookFailed(f"webhook refused the message: HTTP {response.status_code} {response.text[:100]!r}")

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retryable) and exc.retry_after_s is not None:
            return min(exc.retry_after_s, 60.0)
        return min(0.5 * 2 ** (state.attempt_number - 1), 10.0)


def slack_escape(text: str) -> str:
    """Slack's three control characters in message text (api.slack.com, "Escaping text")."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _retry_after(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:
        return None
