"""Where the database is (the `DATABASE_URL` setting, else the SQLite default), and opening it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scrapy.settings import BaseSettings
from scrapy.utils.conf import closest_scrapy_cfg

from storage.database import Database, default_database_url
from storage.migrate import require_current_schema, upgrade_schema


def database_url_from_settings(settings: BaseSettings) -> str:
    """`DATABASE_URL` (setting or environment), or `newsfold.db` beside `scrapy.cfg`."""
    configured = settings.get("DATABASE_URL") or ""
    if configured:
        return str(configured)
    scrapy_cfg = closest_scrapy_cfg()
    project_root = Path(scrapy_cfg).parent if scrapy_cfg else Path.cwd()
    return default_database_url(project_root)


def prepare_schema(database: Database, settings: BaseSettings) -> None:
    """Upgrade the schema to the newest migration, or, with `STORAGE_AUTO_MIGRATE` false,
    raise `SchemaOutOfDate` when it is behind."""
    if settings.getbool("STORAGE_AUTO_MIGRATE", True):
        upgrade_schema(database.engine)
    else:
        require_current_schema(database.engine)


@contextmanager
def open_database(settings: BaseSettings, *, prepare: bool = True) -> Iterator[Database]:
    """The settings' database, reached once and (with `prepare`) its schema made current;
    disposed on exit.

    Raises:
        DatabaseUnavailable: the database cannot be reached (the message masks the password).
        SchemaOutOfDate: the schema is behind and `STORAGE_AUTO_MIGRATE` is false.
    """
    database = Database(database_url_from_settings(settings))
    try:
        database.check_connection()
        if prepare:
            prepare_schema(database, settings)
        yield database
    finally:
        database.dispose()
