"""articles.published_day: the day of publication as the page states it; in articles_clean

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from storage.views import create_views, drop_views

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The analysts' views as this revision defines them (frozen: later revisions redefine them).
VIEWS = {
    "story_summary": """
SELECT s.id AS story_id,
       s.title AS title,
       s.first_published_at AS first_published_at,
       s.last_published_at AS last_published_at,
       s.article_count AS articles,
       s.outlet_count AS outlets
FROM stories s
WHERE s.article_count > 0
""",
    "articles_clean": """
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
""",
}


def upgrade() -> None:
    drop_views(op.get_bind(), VIEWS)
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("published_day", sa.Date(), nullable=True))
    create_views(op.get_bind(), VIEWS)


def downgrade() -> None:
    drop_views(op.get_bind(), VIEWS)
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_column("published_day")
    create_views(op.get_bind(), _views_of(down_revision or ""))


def _views_of(revision: str) -> dict[str, str]:
    """The views as an earlier revision defined them (frozen in its own file)."""
    script = context.script.get_revision(revision)
    assert script is not None and script.module is not None
    return dict(script.module.VIEWS)
