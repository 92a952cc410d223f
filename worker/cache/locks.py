"""Locks shared by every worker process on one database, released when their holder dies.

PostgreSQL: a session-level advisory lock on a dedicated connection (the server drops it when the
connection goes, kill -9 included; TCP keepalives bound how long a vanished host holds it).
SQLite: ``flock`` on a file beside the database (the kernel drops it when the process goes).

``exclusive`` guards one step (migrations, emission); ``DatabaseLock`` is held for as long as a
daemon leads (``scheduler/lease.py``).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator, Protocol

from sqlalchemy import text
from sqlalchemy.engine import Engine

from worker.errors import RetryLater


class Database(Protocol):
    """What a lock needs of the cache: its engine and URL (``worker.cache.db.Cache`` is one;
    naming the protocol rather than the class keeps db.py → locks.py one way)."""

    engine: Engine
    url: str

_POLL_S = 0.2
_process_locks: dict[str, threading.Lock] = {}
_registry_guard = threading.Lock()


class LockTimeout(RetryLater):
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


class DatabaseLock:
    """One named lock: ``try_acquire`` never blocks; ``held`` tells whether it is still ours."""

    def __init__(self, cache: Database, name: str):
        self.cache = cache
        self.name = name
        self._postgres = cache.engine.dialect.name == "postgresql"
        self._connection: Any = None
        self._file: IO[str] | None = None
        self._local: threading.Lock | None = None
        self._path = None if self._postgres else sqlite_lock_path(cache.url, name)
        if not self._postgres:
            # Threads of one process also exclude each other: flock is per open file, so two
            # threads opening the file separately would otherwise both get it.
            with _registry_guard:
                self._local = _process_locks.setdefault(f"{self._path}:{name}", threading.Lock())

    def try_acquire(self) -> bool:
        if self._postgres:
            return self._try_postgres()
        return self._try_file()

    def _try_postgres(self) -> bool:
        if self._connection is None:
            self._connection = self.cache.engine.connect()
        got = bool(self._connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": _advisory_key(self.name)}).scalar())
        self._connection.commit()
        if not got:
            self._connection.close()
            self._connection = None
        return got

    def _try_file(self) -> bool:
        assert self._local is not None
        if not self._local.acquire(blocking=False):
            return False
        if self._path is None:
            return True
        handle = open(os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600), "a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            self._local.release()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle
        return True

    def held(self) -> bool:
        """Still ours? On PostgreSQL the lock lives as long as its connection: a server restart or
        a dropped connection loses it, and the holder must step down."""
        if not self._postgres:
            return self._file is not None or (self._path is None and self._local is not None and self._local.locked())
        if self._connection is None:
            return False
        try:
            held = self._connection.execute(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted")
            ).scalar()
            self._connection.commit()
            return bool(held)
        except Exception:  # noqa: BLE001 - any failure of the lock's connection means we lost it
            self._drop_connection()
            return False

    def release(self) -> None:
        if self._postgres:
            if self._connection is not None:
                try:
                    self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _advisory_key(self.name)})
                    self._connection.commit()
                except Exception:  # noqa: BLE001 - a dead connection has released it already
                    pass
                self._drop_connection()
            return
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        if self._local is not None and self._local.locked():
            self._local.release()

    def _drop_connection(self) -> None:
        try:
            if self._connection is not None:
                self._connection.invalidate()
                self._connection.close()
        except Exception:  # noqa: BLE001
            pass
        self._connection = None


@contextmanager
def exclusive(cache: Database, name: str, *, wait_s: float) -> Iterator[None]:
    """Hold the named lock for the block; wait up to ``wait_s`` for it, else LockTimeout."""
    lock = DatabaseLock(cache, name)
    deadline = time.monotonic() + wait_s
    while not lock.try_acquire():
        if time.monotonic() >= deadline:
            raise LockTimeout(name, wait_s)
        time.sleep(_POLL_S)
    try:
        yield
    finally:
        lock.release()
