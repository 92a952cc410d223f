"""The client-side limiter, on a fake clock: never more than the limit inside any window."""

from __future__ import annotations

from integrations.hubspot.limiter import RequestLimiter, SlidingWindowLimiter


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def max_in_window(stamps, window):
    return max(sum(1 for t in stamps if start <= t < start + window) for start in stamps)


def test_never_more_than_the_limit_in_any_window():
    clock = FakeClock()
    limiter = SlidingWindowLimiter(100, 10.0, clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(450):
        with limiter.slot():
            starts.append(clock.now)
            clock.now += 0.003  # the request takes 3 ms
    assert max_in_window(starts, 10.0) <= 100
    # ... and no slower than it must be: the first 100 go at once, then 100 per 10 s, so the
    # 401st call starts after 4 windows (40 s), and the last 50 follow at request speed.
    assert 40.0 <= clock.now < 40.5


def test_slow_responses_count_from_when_they_finish():
    clock = FakeClock()
    limiter = SlidingWindowLimiter(2, 1.0, clock=clock, sleep=clock.sleep)
    with limiter.slot():
        clock.now += 0.9  # a slow response: HubSpot may count it late in the window
    with limiter.slot():
        pass
    with limiter.slot():
        third = clock.now
    assert third >= 1.9


def test_search_calls_obey_both_limits():
    clock = FakeClock()
    limiter = RequestLimiter(100, 4, clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(40):
        with limiter.slot(is_search=True):
            starts.append(clock.now)
    assert max_in_window(starts, 1.0) <= 4
    assert clock.now >= 9.0


def test_hubspots_remaining_count_books_calls_we_did_not_make():
    clock = FakeClock()
    limiter = SlidingWindowLimiter(10, 10.0, clock=clock, sleep=clock.sleep)
    limiter.observe_remaining(2)  # another app (or our previous run) used 8 of the 10
    starts = []
    for _ in range(3):
        with limiter.slot():
            starts.append(clock.now)
    assert starts[:2] == [0.0, 0.0] and starts[2] >= 10.0
