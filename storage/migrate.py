"""Schema versions: bring a database to the newest migration, or say how far behind it is.

Alembic migrations in `storage/migrations/` own the schema on SQLite and PostgreSQL.
A database created before migrations existed (tables present, no version) gets its
missing tables and views created and is stamped with the newest revision.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from storage.schema import metadata
from storage.views import create_views

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Serialises concurrent upgrades on PostgreSQL (two crawlers starting at once).
_UPGRADE_LOCK_KEY = 7_281_034_551
_VERSION_TABLE = "alembic_version"


class SchemaOutOfDate(Exception):
    """The database's schema is older than this code and upgrading was not allowed."""


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for our migrations, bound to `connection` when given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration this code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (None for an empty or unversioned database).

    Read from Alembic's version table directly: every crawl component asks on start, and
    a migration context would log two lines each time.
    """
    with engine.connect() as connection:
        if not inspect(connection).has_table(_VERSION_TABLE):
            return None
        revision = connection.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}")).scalar()
        return str(revision) if revision is not None else None


def upgrade_schema(engine: Engine, revision: str = "head") -> None:
    """Migrate the database up to `revision`, by default the newest (a no-op when there)."""
    if current_revision(engine) == (head_revision() if revision == "head" else revision):
        return
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK_KEY}
            )
        config = alembic_config(connection)
        if _unversioned_with_tables(connection):
            metadata.create_all(connection)
            create_views(connection)
            command.stamp(config, "head")
            return
        command.upgrade(config, revision)


def require_current_schema(engine: Engine) -> None:
    """Raise SchemaOutOfDate unless the database is at the newest revision."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise SchemaOutOfDate(
            f"database schema is at revision {current or 'none'}, this newsfold needs {head}: "
            "run `scrapy migrate` (or allow STORAGE_AUTO_MIGRATE)"
        )


def downgrade_schema(engine: Engine, revision: str = "base") -> None:
    """Migrate the database down to `revision` (default: empty)."""
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), revision)


def _unversioned_with_tables(connection: Connection) -> bool:
    names = set(inspect(connection).get_table_names())
    return "articles" in names and _VERSION_TABLE not in names
