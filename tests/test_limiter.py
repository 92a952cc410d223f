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


def _hold_slot(limiter, entered, release):
    with limiter.slot():
        entered.set()
        release.wait(5)


def test_the_first_request_goes_alone_then_several_may_be_in_flight():
    """A new process can't know what the window already holds: nothing goes out beside the
    first request until its answer (with HubSpot's remaining count) is in."""
    import threading

    limiter = SlidingWindowLimiter(100, 10.0)
    first_in, first_done = threading.Event(), threading.Event()
    first = threading.Thread(target=_hold_slot, args=(limiter, first_in, first_done))
    first.start()
    assert first_in.wait(2)
    second_in, second_done = threading.Event(), threading.Event()
    second = threading.Thread(target=_hold_slot, args=(limiter, second_in, second_done))
    second.start()
    assert not second_in.wait(0.2)  # blind: waits for the first answer
    first_done.set()
    assert second_in.wait(2)
    # Calibrated: more requests join the one still in flight.
    others = [(threading.Event(), threading.Event()) for _ in range(3)]
    threads = [threading.Thread(target=_hold_slot, args=(limiter, entered, done)) for entered, done in others]
    for thread in threads:
        thread.start()
    assert all(entered.wait(2) for entered, _ in others)
    for _, done in [*others, (second_in, second_done)]:
        done.set()
    for thread in [first, second, *threads]:
        thread.join(5)
