"""Engine, schema migrations and the transaction helper for the cache."""

from __future__ import annotations

import glob
import os
import threading
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from alembic import command
from alembic.config import Config
from sqlalchemy import event, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, SQLModel, create_engine

from worker.cache.locks import exclusive
from worker.errors import FixTheConfig, RetryLater, WorkerError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            # WAL: readers (status, reports) never block the sync's writer, and a kill -9
            # mid-transaction leaves the last committed state.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    # TCP keepalives: a lock held by a host that vanished (no FIN, no RST) is freed by the server
    # within about a minute instead of the kernel's two hours.
    return create_engine(
        url,
        pool_pre_ping=True,
        connect_args={"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3},
    )


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (creates it on a new database)."""
    command.upgrade(alembic_config(engine), "head")


def schema_is_current(engine: Engine) -> bool:
    """Whether the database is at the newest migration (a reader of an older one would fail on a
    missing column instead of saying what to do)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head


class CacheUnavailable(FixTheConfig):
    """The cache cannot be opened as asked: none exists where a reader looks, or a writer cannot
    create one there. The message is the one line a person needs."""


class DatabaseError(WorkerError):
    """A database error, translated (``translate_database_error``); each is also one of the four kinds."""


class DatabaseBusy(DatabaseError, RetryLater):
    """The database is locked by another writer or cannot be reached right now."""


class DatabaseUnusable(DatabaseError, FixTheConfig):
    """The database refuses what it must allow: read-only, full, no permission, an older schema."""


class DatabaseFailed(DatabaseError, RetryLater):
    """Any other database error: reported as the database said it."""


# What a caller catches for "the database failed": translated, or raw (outside a transaction:
# the engine's own connections, the locks, the migrations).
DATABASE_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError, DatabaseError)


# Words of SQLite's and PostgreSQL's own messages (sqlite3 and psycopg raise one class for many
# causes: the message is what tells them apart).
_BUSY = ("database is locked", "database table is locked", "could not obtain lock", "lock timeout", "deadlock detected",
         "connection refused", "could not connect", "server closed the connection", "connection timed out", "terminating connection")
_UNUSABLE = ("readonly database", "read-only", "disk is full", "database or disk is full", "no space left", "permission denied",
             "unable to open database file", "no such table", "no such column", "does not exist")


def translate_database_error(error: BaseException) -> DatabaseError:
    """A SQLAlchemy error as one of ours, by what the caller does: like the gateway does with
    HubSpot's. The message keeps the database's first line (never a parameter: none is secret, but
    client data stays out of logs)."""
    first = str(getattr(error, "orig", None) or error).splitlines()[0][:300] if str(error) else ""
    said = first.lower()
    message = f"database error: {type(error).__name__}: {first}" if first else f"database error: {type(error).__name__}"
    if any(words in said for words in _BUSY):
        return DatabaseBusy(message + "; the next run tries again")
    if any(words in said for words in _UNUSABLE):
        return DatabaseUnusable(message + "; check [database] url, the file's permissions and free space (a cache of an older renewal-worker: run `renewal-worker --sync-now` once)")
    return DatabaseFailed(message)


def sqlite_path(url: str) -> Path | None:
    return Path(url.split("///", 1)[1]) if url.startswith("sqlite:///") else None


# The cache holds client names and emails: its file, SQLite's -wal/-shm and the lock files are
# the owner's alone. Companions SQLite creates later inherit the process's umask (set by the CLI).
PRIVATE_FILE, PRIVATE_DIR = 0o600, 0o700


def _prepare_sqlite_file(path: Path) -> None:
    """A writer's SQLite path: the directory is created (owner only) when missing; an existing
    cache and its companions are made private if an older version left them readable."""
    directory = path.parent
    if not directory.exists():
        try:
            directory.mkdir(parents=True, mode=PRIVATE_DIR)
        except OSError as exc:
            raise CacheUnavailable(f"cannot create the cache's directory {directory}: {exc.strerror}") from None
    if not directory.is_dir():
        raise CacheUnavailable(f"the cache's directory {directory} is not a directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise CacheUnavailable(f"cannot write in the cache's directory {directory} (permission denied)")
    if not path.exists():
        try:
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE))
        except OSError as exc:
            raise CacheUnavailable(f"cannot create the cache {path}: {exc.strerror}") from None
    for companion in (path, *directory.glob(f"{glob.escape(path.name)}-*"), *directory.glob(f"{glob.escape(path.name)}.*.lock")):
        try:
            if companion.stat().st_mode & 0o077 and companion.stat().st_uid == os.getuid():
                companion.chmod(PRIVATE_FILE)
        except OSError:
            pass  # gone in between, or not ours: nothing to tighten


class Cache:
    """The database: one engine, and short transactions.

    A writer (``create=True``: ``--sync-now``, ``run``, the demo) creates and migrates it; a
    reader (``create=False``: reports, ``check``, ``status``) never does, and says so in one
    line when there is no cache where it looks (a typo in a path must not make a new one).
    """

    def __init__(self, url: str, *, run_migrations: bool = True, create: bool = True):
        self.url = url
        path = sqlite_path(url)
        if path is not None:
            if create:
                _prepare_sqlite_file(path)
            elif not path.is_file():
                raise CacheUnavailable(f"no cache at {path}: run `renewal-worker --sync-now` first, or check [database] url")
        self.engine = make_engine(url)
        # SQLite: one transaction at a time within the process. Two threads' deferred transactions
        # that read and then write would fail at once (SQLITE_BUSY_SNAPSHOT: the busy timeout
        # doesn't apply to that upgrade), and the sync's streams run in threads.
        self._one_writer = threading.RLock() if path is not None else None
        if not create:
            self._require_schema()
        elif run_migrations:
            # Two processes starting on a new database would both create the tables.
            with exclusive(self, "migrate", wait_s=300):
                migrate(self.engine)

    @classmethod
    def existing(cls, url: str) -> "Cache":
        """Open a cache for reading: never creates or migrates it."""
        return cls(url, create=False)

    def _require_schema(self) -> None:
        try:
            present = inspect(self.engine).has_table("runs")
        except Exception:
            self.engine.dispose()
            raise
        if not present:
            self.engine.dispose()
            where = sqlite_path(self.url) or "this database"
            raise CacheUnavailable(f"no renewal-worker cache in {where}: run `renewal-worker --sync-now` first, or check [database] url")
        if not schema_is_current(self.engine):
            self.engine.dispose()
            raise CacheUnavailable(
                "this cache was written by an older renewal-worker: run `renewal-worker --sync-now` once (or let the daemon "
                "run) to upgrade it; reports and the panel never change a cache themselves"
            )

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction, committed when the block ends; a database error comes out translated
        (``translate_database_error``)."""
        try:
            with self._one_writer or nullcontext():
                with Session(self.engine, expire_on_commit=False) as session:
                    with session.begin():
                        yield session
        except SQLAlchemyError as exc:
            raise translate_database_error(exc) from exc

    def close(self) -> None:
        self.engine.dispose()


def dialect_insert(session: Session, table: Any) -> Any:
    """An INSERT that supports ON CONFLICT on the session's backend (SQLite or PostgreSQL)."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def upsert(session: Session, model: type[SQLModel], rows: Sequence[dict[str, Any]], *, update: Iterable[str] | None = None) -> None:
    """Insert rows, or update the given columns (default: all but the key) where the key exists.

    One statement per page of rows, on both SQLite and PostgreSQL.
    """
    if not rows:
        return
    table = model.__table__  # type: ignore[attr-defined]
    key = [column.name for column in table.primary_key.columns]
    statement = dialect_insert(session, table).values(list(rows))
    columns = list(update) if update is not None else [name for name in rows[0] if name not in key]
    if columns:
        statement = statement.on_conflict_do_update(
            index_elements=key, set_={name: getattr(statement.excluded, name) for name in columns}
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=key)
    session.exec(statement)  # type: ignore[call-overload]


def metadata() -> Any:
    from worker.cache import models  # noqa: F401 - registers the tables

    return SQLModel.metadata
