"""A lock shared by every worker process on one database, released when its holder dies.

PostgreSQL: a session-level advisory lock on a dedicated connection (the server drops it when
the connection goes, kill -9 included). SQLite: ``flock`` on a file beside the database (the
kernel drops it when the process goes). Emission runs under it, so two processes never send the
same task; issue 4's daemon lease can take the same lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from sqlalchemy import text

if TYPE_CHECKING:
    from worker.cache.db import Cache

_POLL_S = 0.2
_process_locks: dict[str, threading.Lock] = {}


class LockTimeout(Exception):
    def __init__(self, name: str, waited_s: float):
        super().__init__(f"another worker held the {name!r} lock for more than {waited_s:.0f}s")
        self.name = name


def _advisory_key(name: str) -> int:
    # A stable signed 64-bit key per lock name (advisory locks take a bigint).
    return int.from_bytes(hashlib.sha256(f"renewal-worker:{name}".encode()).digest()[:8], "big", signed=True)


def sqlite_lock_path(url: str, name: str) -> Path | None:
    database = url.split("///", 1)[1] if "///" in url else ""
    if not database or database == ":memory:":
        return None
    return Path(f"{database}.{name}.lock")


@contextmanager
def exclusive(cache: "Cache", name: str, *, wait_s: float) -> Iterator[None]:
    """Hold the named lock for the block; wait up to ``wait_s`` for it, else LockTimeout."""
    deadline = time.monotonic() + wait_s
    if cache.engine.dialect.name == "postgresql":
        key = _advisory_key(name)
        with cache.engine.connect() as connection:
            while not connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar():
                connection.rollback()
                if time.monotonic() >= deadline:
                    raise LockTimeout(name, wait_s)
                time.sleep(_POLL_S)
            connection.commit()
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()
        return
    path = sqlite_lock_path(cache.url, name)
    # Threads of one process (tests, the daemon's pool) also exclude each other: flock is per
    # open file, so two threads opening the file separately would otherwise both get it.
    local = _process_locks.setdefault(f"{path}:{name}", threading.Lock())
    acquired = local.acquire(timeout=wait_s) if wait_s > 0 else local.acquire(blocking=False)
    if not acquired:
        raise LockTimeout(name, wait_s)
    try:
        if path is None:
            yield
            return
        with open(path, "a+") as handle:
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise LockTimeout(name, wait_s) from None
                    time.sleep(_POLL_S)
            try:
                handle.seek(0)
                handle.truncate()
                handle.write(f"{os.getpid()}\n")
                handle.flush()
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        local.release()
