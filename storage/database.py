"""Connecting to the database named by `DATABASE_URL`, SQLite or PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_DATABASE_FILE = "newsfold.db"
# Seconds a SQLite writer waits for another's lock before giving up.
_SQLITE_BUSY_TIMEOUT_MS = 30_000


def default_database_url(project_root: Path) -> str:
    """The embedded default: a SQLite file in the project root."""
    return f"sqlite:///{(project_root / DEFAULT_DATABASE_FILE).resolve()}"


def mask_password(database_url: str) -> str:
    """`database_url` with any password replaced by `***`, safe for logs."""
    try:
        return make_url(database_url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"


class DatabaseUnavailable(Exception):
    """The database cannot be reached; the message names it with the password masked."""


class Database:
    """An engine and its session factories.

    `sessions` is for work that writes: on SQLite its transactions begin IMMEDIATE, so
    concurrent writers queue on the busy timeout instead of failing with "database is
    locked" when a read lock cannot be upgraded. `read_sessions` and `read_engine` are
    for long reads (reloading, exports), which must not hold the write lock.
    """

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self.engine: Engine = _create_engine(database_url)
        self.read_engine: Engine = self.engine.execution_options(newsfold_read_only=True)
        self.sessions: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessions: sessionmaker[Session] = sessionmaker(
            self.read_engine, expire_on_commit=False
        )

    def create_schema(self) -> None:
        """Bring the schema to the newest Alembic migration (tables, indexes and views)."""
        # Imported here: the migrations' metadata imports modules that import this one.
        from storage.migrate import upgrade_schema

        upgrade_schema(self.engine)

    def check_connection(self) -> None:
        """Connect once; raises DatabaseUnavailable naming the (masked) URL and the cause."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except (OperationalError, DBAPIError) as error:
            cause = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
            raise DatabaseUnavailable(
                f"cannot connect to {mask_password(self.url)}: {cause}"
            ) from error

    def dispose(self) -> None:
        self.engine.dispose()


def _create_engine(database_url: str) -> Engine:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": _SQLITE_BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _configure_sqlite)
    event.listen(engine, "begin", _begin_sqlite)
    return engine


def _configure_sqlite(connection: Any, _record: Any) -> None:
    """WAL lets readers and one writer work at once; foreign keys are off by default.

    The driver's own transaction handling is switched off so `_begin_sqlite` decides
    how each transaction begins.
    """
    connection.isolation_level = None
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _begin_sqlite(connection: Any) -> None:
    """Writers take the write lock up front (IMMEDIATE); readers stay DEFERRED."""
    read_only = connection.get_execution_options().get("newsfold_read_only", False)
    connection.exec_driver_sql("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")
