"""How every HubSpot call goes out: the SDK's clients built once, the client-side limiter, one
tenacity retry policy, the answer checked inside the attempt, every SDK and urllib3 error
translated (``error_mapping``), and the calls counted. The gateway (reads) and the task writes sit
on it; nothing else sends a request.
"""

from __future__ import annotations

import contextvars
import random
import threading
import time
from collections import Counter
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence, TypeVar

import structlog
import tenacity

from integrations.hubspot import answers
from integrations.hubspot import endpoints as ep
from integrations.hubspot.error_mapping import SDK_PACKAGES, translate_error
from integrations.hubspot.errors import DailyLimitReached, HubSpotError, RateLimited
from integrations.hubspot.limiter import RequestLimiter

log = structlog.get_logger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    max_retry_after_s: float = 120.0


@dataclass(frozen=True)
class Timeouts:
    connect_s: float = 5.0
    read_s: float = 30.0


@dataclass
class CallStats:
    """What the gateway did: calls per endpoint (attempts, retries included), 429s, retries."""

    calls: Counter = field(default_factory=Counter)
    rate_limited: int = 0
    retries: int = 0
    throttle_wait_s: float = 0.0
    last_daily_remaining: int | None = None

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def snapshot(self) -> "CallStats":
        return CallStats(Counter(self.calls), self.rate_limited, self.retries, self.throttle_wait_s, self.last_daily_remaining)

    def since(self, earlier: "CallStats") -> "CallStats":
        """What happened after ``earlier`` (a snapshot): one run's share of a gateway that lives
        as long as the process."""
        return CallStats(
            self.calls - earlier.calls, self.rate_limited - earlier.rate_limited, self.retries - earlier.retries,
            self.throttle_wait_s - earlier.throttle_wait_s, self.last_daily_remaining,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls": dict(self.calls),
            "total_calls": self.total_calls,
            "rate_limited": self.rate_limited,
            "retries": self.retries,
            "throttle_wait_s": round(self.throttle_wait_s, 3),
        }


class Transport:
    """The one call path to a HubSpot portal, for one access token."""

    def __init__(
        self,
        *,
        base_url: str,
        access_token: str,
        limiter: RequestLimiter,
        retry: RetryPolicy = RetryPolicy(),
        timeouts: Timeouts = Timeouts(),
        sleep: Callable[[float], None] = time.sleep,
        api_version: str = ep.API_VERSIONS[0],
        requests_in_flight: int = 1,
    ):
        if api_version not in ep.API_VERSIONS:
            raise ValueError(f"api_version must be one of {ep.API_VERSIONS}")
        self.api_version = api_version
        self._limiter = limiter
        self._retry = retry
        self._timeout = (timeouts.connect_s, timeouts.read_s)
        self._sleep = sleep
        self.stats = CallStats()
        self._stats_lock = threading.Lock()
        # At HubSpot's ~150 ms per request one call at a time can't reach the rate limit: the
        # chunks of one batch go out together, at most this many at once, through the same
        # limiter (which counts each request from when it is sent until its answer is in).
        self.requests_in_flight = max(1, requests_in_flight)
        self._pool = ThreadPoolExecutor(self.requests_in_flight, thread_name_prefix="hubspot") if self.requests_in_flight > 1 else None
        self._in_pool = threading.local()
        self._clients = {name: self._build_client(pkg, base_url, access_token) for name, pkg in SDK_PACKAGES.items()}

    @staticmethod
    def _build_client(package: Any, base_url: str, access_token: str) -> Any:
        configuration = package.Configuration(host=base_url)
        configuration.access_token = access_token
        # One retry layer only (ours): urllib3 would otherwise retry connection errors 3 times
        # underneath every tenacity attempt.
        configuration.retries = False
        client = package.ApiClient(configuration=configuration)
        client.user_agent = "renewal-worker (hubspot-api-client)"
        return client

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        for client in self._clients.values():
            client.rest_client.pool_manager.clear()

    def each(self, call: Callable[[Any], T], items: Sequence[Any]) -> list[T]:
        """``call`` for every item, up to ``requests_in_flight`` at once; results in order.

        After an error, items not yet started are not started (as one at a time would stop);
        every started call is waited for, so nothing is in flight when this returns or raises,
        and the first error in item order is raised. Structured-log context travels along.
        """
        if self._pool is None or len(items) < 2 or getattr(self._in_pool, "active", False):
            # In a pool thread already (a batch of creates whose look-up reads a batch): the
            # pool's threads must never wait on the pool.
            return [call(item) for item in items]

        def in_pool(item: Any) -> T:
            self._in_pool.active = True
            return call(item)

        futures: list[Future[T]] = [self._pool.submit(contextvars.copy_context().run, in_pool, item) for item in items]
        wait(futures, return_when=FIRST_EXCEPTION)
        for future in futures:
            future.cancel()  # after an error, what has not started does not start
        wait(futures)
        for future in futures:
            if not future.cancelled() and future.exception() is not None:
                raise future.exception()  # type: ignore[misc]
        return [future.result() for future in futures]

    # -- the one call path

    def _call(
        self,
        endpoint: ep.Endpoint,
        path_params: Mapping[str, str],
        *,
        query: Sequence[tuple[str, Any]] = (),
        body: Any = None,
        multi: Iterable[str] = (),
        idempotent: bool = True,
        parse: Callable[[dict[str, Any]], T] = lambda body: body,  # type: ignore[assignment, return-value]
    ) -> T:
        """One HubSpot call with throttling and retries; ``parse`` checks and reads the body
        inside the attempt, so an answer that isn't the promised shape is retried like a 5xx.

        A call that is not idempotent (a batch create) is retried only on a 429, which HubSpot
        answers before doing anything. After a 5xx, a reset or a cut-short answer the request may
        have been carried out, so the error goes to the caller, who checks before trying again.
        """
        should_retry = self._should_retry if idempotent else self._should_retry_unprocessed
        retrying = self._retrying(endpoint.name, retry_if=should_retry)
        return retrying(lambda: parse(self._attempt(endpoint, path_params, query, body, tuple(multi))))

    def _retrying(
        self, name: str, *, retry_if: Callable[[BaseException], bool] | None = None, retry_on: type[HubSpotError] | None = None
    ) -> tenacity.Retrying:
        """The one retry policy (attempts, Retry-After or backoff, a log line per retry). Calls
        use it through ``_call``; a create that may have reached HubSpot uses it through
        ``create_tasks_looking_first``, which looks before it resends."""
        condition = retry_if or (lambda exc: isinstance(exc, retry_on or HubSpotError) and self._should_retry(exc))
        return tenacity.Retrying(
            retry=tenacity.retry_if_exception(condition),
            stop=tenacity.stop_after_attempt(self._retry.max_attempts),
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=self._log_retry(name),
            reraise=True,
        )

    def _attempt(self, endpoint, path_params, query, body, multi) -> dict[str, Any]:
        client = self._clients[endpoint.package]
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        with self._stats_lock:
            self.stats.calls[endpoint.name] += 1
        try:
            with self._limiter.slot(is_search=endpoint.is_search):
                # The raw response, not the SDK's models: ``answers`` checks the body is what
                # this call promises before anything reads it (see its docstring for why).
                response = client.call_api(
                    endpoint.path_for(self.api_version),
                    endpoint.method,
                    path_params=dict(path_params),
                    query_params=list(query),
                    header_params=headers,
                    body=body,
                    response_types_map={},
                    auth_settings=["oauth2"],
                    _return_http_data_only=True,
                    _preload_content=False,
                    collection_formats={name: "multi" for name in multi},
                    _request_timeout=self._timeout,
                )
                try:
                    raw = response.data  # a connection cut mid-body raises here
                    # Inside the slot: HubSpot's count of what remains is taken in before the
                    # slot frees (see the limiter's calibration).
                    self._note_headers(response.headers)
                    no_content = response.status == 204
                finally:
                    response.release_conn()
        except BaseException as exc:  # noqa: BLE001 - translated, never swallowed
            if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
                raise
            error = translate_error(exc, endpoint.name)
            if error is None:
                raise
            if isinstance(error, (RateLimited, DailyLimitReached)):
                with self._stats_lock:
                    self.stats.rate_limited += 1
            raise error from None
        finally:
            self.stats.throttle_wait_s = self._limiter.waited_s
        if no_content and not raw:
            return {}  # 204: what a batch archive answers
        return answers.decode(raw, endpoint.name)

    def _note_headers(self, headers: Mapping[str, str] | None) -> None:
        if not headers:
            return
        daily_remaining = headers.get("X-HubSpot-RateLimit-Daily-Remaining")
        if daily_remaining is not None and str(daily_remaining).isdigit():
            self.stats.last_daily_remaining = int(daily_remaining)
        remaining = headers.get("X-HubSpot-RateLimit-Remaining")
        if remaining is not None and str(remaining).isdigit():
            self._limiter.general.observe_remaining(int(remaining))

    def _should_retry(self, exc: BaseException) -> bool:
        if not isinstance(exc, HubSpotError) or not exc.retryable:
            return False
        if isinstance(exc, RateLimited) and (exc.retry_after_s or 0) > self._retry.max_retry_after_s:
            return False
        return True

    def _should_retry_unprocessed(self, exc: BaseException) -> bool:
        return isinstance(exc, RateLimited) and self._should_retry(exc)

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimited) and exc.retry_after_s is not None:
            return exc.retry_after_s
        # Exponential backoff with full jitter: spreads retries of parallel workers apart.
        ceiling = min(self._retry.backoff_max_s, self._retry.backoff_initial_s * 2 ** (state.attempt_number - 1))
        if isinstance(exc, RateLimited):
            # No Retry-After on a ten-secondly 429: the window frees up within its interval.
            ceiling = max(ceiling, 1.0)
        return random.uniform(ceiling / 2, ceiling)

    def _log_retry(self, name: str) -> Callable[[tenacity.RetryCallState], None]:
        def before_sleep(state: tenacity.RetryCallState) -> None:
            with self._stats_lock:
                self.stats.retries += 1
            exc = state.outcome.exception() if state.outcome else None
            log.warning(
                "hubspot.retry",
                endpoint=name,
                attempt=state.attempt_number,
                wait_s=round(state.upcoming_sleep, 2),
                error=str(exc),
                error_type=type(exc).__name__,
            )

        return before_sleep
