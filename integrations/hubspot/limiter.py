"""Client-side throttling, so that a healthy run never makes HubSpot say 429.

HubSpot counts requests per portal in a rolling ten-second window (``requests_per_10s``) and,
separately and more strictly, search requests per second. A sliding-window log is exact for both:
a slot is reserved when a request is sent and stamped when its response has arrived, so a slow
response can't let the next burst overlap HubSpot's own count of the window.
"""

from __future__ import annotations

import math
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator


class SlidingWindowLimiter:
    def __init__(
        self,
        max_calls: int,
        window_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if max_calls < 1 or window_s <= 0:
            raise ValueError("max_calls must be >= 1 and window_s > 0")
        self.max_calls = max_calls
        self.window_s = window_s
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        # Completion times of recent calls; math.inf marks a call still in flight.
        self._stamps: list[float] = []
        self.waited_s = 0.0
        # Until one answer has come back (with HubSpot's count of what remains), requests go one
        # at a time: a new process can't know what the portal's other apps, or its own previous
        # run, used of the window, and a burst sent blind could overrun it.
        self._calibrated = False

    def _reserve(self) -> None:
        while True:
            with self._lock:
                now = self._clock()
                self._stamps = [t for t in self._stamps if t > now - self.window_s]
                blind = not self._calibrated and math.inf in self._stamps
                if len(self._stamps) < self.max_calls and not blind:
                    self._stamps.append(math.inf)
                    return
                finished = [t for t in self._stamps if t != math.inf]
                delay = max((min(finished) + self.window_s - now) if finished and not blind else 0.01, 0.001)
                self.waited_s += delay
            self._sleep(delay)

    def _complete(self) -> None:
        with self._lock:
            try:
                index = self._stamps.index(math.inf)
            except ValueError:
                return
            self._stamps[index] = self._clock()
            self._calibrated = True

    def observe_remaining(self, remaining: int) -> None:
        """Align with HubSpot's own count (``X-HubSpot-RateLimit-Remaining``).

        The portal's limit is shared with every other app and with the previous run of this
        one, which our log can't see. When HubSpot says fewer requests remain than we think,
        the difference is booked as calls made just now: conservative, since they expire a
        full window from now.
        """
        with self._lock:
            now = self._clock()
            self._stamps = [t for t in self._stamps if t > now - self.window_s]
            unseen = (self.max_calls - len(self._stamps)) - max(remaining, 0)
            if unseen > 0:
                self._stamps.extend([now] * unseen)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a slot for one request: wait for room, then stamp it when the request ends."""
        self._reserve()
        try:
            yield
        finally:
            self._complete()


class RequestLimiter:
    """The portal-wide limit for every call plus the search API's stricter one for searches."""

    def __init__(self, requests_per_10s: int, search_requests_per_s: int, **kw):
        self.general = SlidingWindowLimiter(requests_per_10s, 10.0, **kw)
        self.search = SlidingWindowLimiter(search_requests_per_s, 1.0, **kw)

    @contextmanager
    def slot(self, *, is_search: bool) -> Iterator[None]:
        if is_search:
            with self.search.slot(), self.general.slot():
                yield
        else:
            with self.general.slot():
                yield

    @property
    def waited_s(self) -> float:
        return self.general.waited_s + self.search.waited_s
