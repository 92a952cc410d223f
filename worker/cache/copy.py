"""Copy the whole cache, ledger included, from one database to another (SQLite → PostgreSQL).

    python -m worker.cache.copy sqlite:///renewal-worker.db postgresql+psycopg://user@host/renewals

The target is migrated first and must be empty. Rows go through the same column types as the
worker's own writes (UTC datetimes, decimal text), in batches, in one transaction: a failed copy
leaves the target empty. Stop the worker while copying.
"""

from __future__ import annotations

import sys

from sqlalchemy import func, select

from worker.batching import chunks
from worker.cache.db import Cache, metadata

BATCH = 2000


def copy_cache(source_url: str, target_url: str) -> dict[str, int]:
    source, target = Cache(source_url), Cache(target_url)
    copied: dict[str, int] = {}
    try:
        tables = [t for t in metadata().sorted_tables]
        with target.engine.begin() as out:
            for table in tables:
                if out.execute(select(func.count()).select_from(table)).scalar():
                    raise SystemExit(f"the target's {table.name} table is not empty: copy into a new database")
            with source.engine.connect() as src:
                for table in tables:
                    rows = [dict(row._mapping) for row in src.execute(select(table))]
                    for batch in chunks(rows, BATCH):
                        out.execute(table.insert(), list(batch))
                    copied[table.name] = len(rows)
            if target.engine.dialect.name == "postgresql":
                # Serial ids (findings, runs) continue after the copied rows. setval is strict:
                # for a key without a sequence pg_get_serial_sequence is NULL and nothing happens.
                for table in tables:
                    keys = list(table.primary_key.columns)
                    if len(keys) == 1 and keys[0].type.python_type is int:
                        name = keys[0].name
                        out.exec_driver_sql(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', '{name}'), COALESCE(MAX({name}), 1)) FROM {table.name}"
                        )
    finally:
        source.close()
        target.close()
    return copied


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    for name, count in copy_cache(args[0], args[1]).items():
        print(f"{name:<20} {count:>8,} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
