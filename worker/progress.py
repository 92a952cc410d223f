"""A one-line progress display for people at a terminal (logs stay the record for machines)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class TerminalProgress:
    def __init__(self, stream: TextIO | None = None, min_interval_s: float = 0.2):
        self.stream = stream or sys.stderr
        self.counts: dict[str, int] = {}
        self.min_interval_s = min_interval_s
        self._last = 0.0
        self._started = time.monotonic()

    def __call__(self, stream_name: str, done: int) -> None:
        self.counts[stream_name] = done
        now = time.monotonic()
        if now - self._last < self.min_interval_s:
            return
        self._last = now
        parts = "  ".join(f"{name} {count:,}" for name, count in self.counts.items())
        self.stream.write(f"\r  syncing… {parts}  ({now - self._started:.0f}s)\033[K")
        self.stream.flush()

    def close(self) -> None:
        if self.counts:
            self.stream.write("\r\033[K")
            self.stream.flush()
