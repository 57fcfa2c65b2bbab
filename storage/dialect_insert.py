"""The dialect's own INSERT, for native upserts (`on_conflict_do_update`/`_do_nothing`).

SQLite and PostgreSQL spell an upsert the same way in SQLAlchemy, but each through its
dialect's `insert()`; this picks the one of the database at hand, for every repository.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from storage.database import Database


def dialect_insert(database: Database, table: Any) -> Any:
    """`insert(table)` of the database's dialect, which has `on_conflict_do_update`.

    Raises:
        ValueError: the database is neither SQLite nor PostgreSQL.
    """
    dialect = database.engine.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"DATABASE_URL: unsupported database {dialect!r} (use sqlite or postgresql)")
