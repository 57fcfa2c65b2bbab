"""Views for analysts: `story_summary` and `articles_clean`.

Column names are a public interface; extend, never rename. `VIEWS` is their definition
for the newest schema. A migration that changes a view (or a table a view reads) drops
the views first and creates them again from SQL frozen in the migration itself, so
replaying old migrations never depends on today's definitions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import Connection, text

STORY_SUMMARY = """
SELECT s.id AS story_id,
       s.title AS title,
       s.first_published_at AS first_published_at,
       s.last_published_at AS last_published_at,
       s.article_count AS articles,
       s.outlet_count AS outlets
FROM stories s
WHERE s.article_count > 0
"""

ARTICLES_CLEAN = """
SELECT a.id AS id,
       a.url AS url,
       a.canonical_url AS canonical_url,
       a.site AS site,
       a.title AS title,
       a.authors AS authors,
       a.published_at AS published_at,
       a.published_day AS published_day,
       a.language AS language,
       a.word_count AS word_count,
       a.text AS text,
       a.story_id AS story_id,
       s.title AS story_title
FROM articles a
LEFT JOIN stories s ON s.id = a.story_id
WHERE a.duplicate_of_id IS NULL
"""

VIEWS = {"story_summary": STORY_SUMMARY, "articles_clean": ARTICLES_CLEAN}


def create_views(connection: Connection, views: Mapping[str, str] = VIEWS) -> None:
    """Create (or, on PostgreSQL, replace) the analysts' views: name -> SELECT."""
    for name, query in views.items():
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"CREATE OR REPLACE VIEW {name} AS {query}"))
        else:
            connection.execute(text(f"CREATE VIEW IF NOT EXISTS {name} AS {query}"))


def drop_views(connection: Connection, names: Iterable[str] = VIEWS) -> None:
    """Drop the analysts' views (before the tables they read change or go)."""
    for name in names:
        connection.execute(text(f"DROP VIEW IF EXISTS {name}"))
