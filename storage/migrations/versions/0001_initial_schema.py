"""initial schema

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models
from storage.views import create_views, drop_views

revision: str = "0001"
down_revision: str | None = None
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
    op.create_table(
        "article_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("other_url", sa.String(length=2048), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("similarity", sa.Float(), nullable=False),
        sa.Column("decided_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("article_links", schema=None) as batch_op:
        batch_op.create_index("ix_article_links_other_url", ["other_url"], unique=False)
        batch_op.create_index("ix_article_links_pair", ["url", "other_url", "level"], unique=True)

    op.create_table(
        "crawl_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_key", sa.String(length=64), nullable=False),
        sa.Column("job", sa.String(length=128), nullable=True),
        sa.Column("spider", sa.String(length=128), nullable=False),
        sa.Column("arguments", sa.JSON(), nullable=False),
        sa.Column("started_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("finish_reason", sa.String(length=64), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("requested", sa.Integer(), nullable=False),
        sa.Column("fetched", sa.Integer(), nullable=False),
        sa.Column("stored", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("stories_touched", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("rejected_by_reason", sa.JSON(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_key"),
    )
    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        batch_op.create_index("ix_crawl_runs_job", ["job"], unique=False)
        batch_op.create_index("ix_crawl_runs_started_at", ["started_at"], unique=False)

    op.create_table(
        "crawled_pages",
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("stored_url", sa.String(length=2048), nullable=False),
        sa.Column("listed_changed_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("fetched_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("url"),
    )
    with op.batch_alter_table("crawled_pages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_crawled_pages_stored_url"), ["stored_url"], unique=False
        )

    op.create_table(
        "grouping_signatures",
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("scheme", sa.String(length=255), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("published_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("observed_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("indexed", sa.Boolean(), nullable=False),
        sa.Column("content_words", sa.Integer(), nullable=False),
        sa.Column("minhash", sa.LargeBinary(), nullable=False),
        sa.Column("bands", sa.LargeBinary(), nullable=False),
        sa.Column("shingles", sa.LargeBinary(), nullable=False),
        sa.Column("terms", sa.LargeBinary(), nullable=False),
        sa.Column("weights", sa.LargeBinary(), nullable=False),
        sa.Column("keyterms", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("url"),
    )
    op.create_table(
        "listing_states",
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("etag", sa.String(length=1024), nullable=True),
        sa.Column("last_modified", sa.String(length=255), nullable=True),
        sa.Column("checked_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("url"),
    )
    op.create_table(
        "rejects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rejects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rejects_reason"), ["reason"], unique=False)
        batch_op.create_index(batch_op.f("ix_rejects_url"), ["url"], unique=False)

    op.create_table(
        "stories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=2048), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("first_published_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_published_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("article_count", sa.Integer(), nullable=False),
        sa.Column("outlet_count", sa.Integer(), nullable=False),
        sa.Column("updated_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_table(
        "articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("canonical_url", sa.String(length=2048), nullable=False),
        sa.Column("site", sa.String(length=255), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("authors", sa.JSON(), nullable=False),
        sa.Column("published_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("date_source", sa.String(length=32), nullable=True),
        sa.Column("modified_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("language_confidence", sa.Float(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("word_count", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=True),
        sa.Column("duplicate_of_id", sa.Integer(), nullable=True),
        sa.Column("link_method", sa.String(length=32), nullable=True),
        sa.Column("link_similarity", sa.Float(), nullable=True),
        sa.Column("linked_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("fetched_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("observed_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["duplicate_of_id"], ["articles.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["story_id"], ["stories.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("url"),
    )
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.create_index("ix_articles_canonical_url", ["canonical_url"], unique=False)
        batch_op.create_index("ix_articles_language", ["language"], unique=False)
        batch_op.create_index("ix_articles_published_at", ["published_at"], unique=False)
        batch_op.create_index("ix_articles_site", ["site"], unique=False)
        batch_op.create_index("ix_articles_story_id", ["story_id"], unique=False)
        batch_op.create_index("ix_articles_text_hash", ["text_hash"], unique=False)

    op.create_table(
        "source_health",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=255), nullable=False),
        sa.Column("spider", sa.String(length=128), nullable=False),
        sa.Column("finished_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("fetched", sa.Integer(), nullable=False),
        sa.Column("stored", sa.Integer(), nullable=False),
        sa.Column("extraction_failures", sa.Integer(), nullable=False),
        sa.Column("http_errors", sa.Integer(), nullable=False),
        sa.Column("robots_blocked", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["crawl_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("source_health", schema=None) as batch_op:
        batch_op.create_index("ix_source_health_run_site", ["run_id", "site"], unique=True)
        batch_op.create_index(
            "ix_source_health_site_finished_at", ["site", "finished_at"], unique=False
        )

    op.create_table(
        "article_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("fetched_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("article_revisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_article_revisions_article_id"), ["article_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_article_revisions_url"), ["url"], unique=False)

    create_views(op.get_bind(), VIEWS)


def downgrade() -> None:
    drop_views(op.get_bind(), VIEWS)
    with op.batch_alter_table("article_revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_article_revisions_url"))
        batch_op.drop_index(batch_op.f("ix_article_revisions_article_id"))

    op.drop_table("article_revisions")
    with op.batch_alter_table("source_health", schema=None) as batch_op:
        batch_op.drop_index("ix_source_health_site_finished_at")
        batch_op.drop_index("ix_source_health_run_site")

    op.drop_table("source_health")
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_index("ix_articles_text_hash")
        batch_op.drop_index("ix_articles_story_id")
        batch_op.drop_index("ix_articles_site")
        batch_op.drop_index("ix_articles_published_at")
        batch_op.drop_index("ix_articles_language")
        batch_op.drop_index("ix_articles_canonical_url")

    op.drop_table("articles")
    op.drop_table("stories")
    with op.batch_alter_table("rejects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rejects_url"))
        batch_op.drop_index(batch_op.f("ix_rejects_reason"))

    op.drop_table("rejects")
    op.drop_table("listing_states")
    op.drop_table("grouping_signatures")
    with op.batch_alter_table("crawled_pages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crawled_pages_stored_url"))

    op.drop_table("crawled_pages")
    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_crawl_runs_started_at")
        batch_op.drop_index("ix_crawl_runs_job")

    op.drop_table("crawl_runs")
    with op.batch_alter_table("article_links", schema=None) as batch_op:
        batch_op.drop_index("ix_article_links_pair")
        batch_op.drop_index("ix_article_links_other_url")

    op.drop_table("article_links")
