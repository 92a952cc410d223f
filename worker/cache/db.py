"""Engine, schema migrations and the transaction helper for the cache."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

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


class Cache:
    """The database: one engine, migrated at construction, and short transactions."""

    def __init__(self, url: str, *, run_migrations: bool = True):
        self.url = url
        self.engine = make_engine(url)
        if run_migrations:
            from worker.cache.locks import exclusive

            # Two processes starting on a new database would both create the tables.
            with exclusive(self, "migrate", wait_s=300):
                migrate(self.engine)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            with session.begin():
                yield session

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
