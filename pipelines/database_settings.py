"""Where the database is: the `DATABASE_URL` setting, else the SQLite default."""

from __future__ import annotations

from pathlib import Path

from scrapy.settings import BaseSettings
from scrapy.utils.conf import closest_scrapy_cfg

from storage.database import default_database_url


def database_url_from_settings(settings: BaseSettings) -> str:
    """`DATABASE_URL` (setting or environment), or `newsfold.db` beside `scrapy.cfg`."""
    configured = settings.get("DATABASE_URL") or ""
    if configured:
        return str(configured)
    scrapy_cfg = closest_scrapy_cfg()
    project_root = Path(scrapy_cfg).parent if scrapy_cfg else Path.cwd()
    return default_database_url(project_root)
