"""The analysts' schema: `articles`, `stories`, `rejects`.

Column names are a public interface: analysts' queries rely on them. Extend, never rename.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every dialect (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store timezone-aware datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of all newsfold tables."""


class Story(Base):
    """One event, reported by one or more articles."""

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Stable key grouping decides in: the URL of the story's founding article.
    key: Mapped[str] = mapped_column(String(2048), unique=True)
    title: Mapped[str | None] = mapped_column(Text)
    first_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    article_count: Mapped[int] = mapped_column(Integer, default=0)
    outlet_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Article(Base):
    """One clean article; copies point at their canonical article, all at their story."""

    __tablename__ = "articles"
    __table_args__ = (
        Index("ix_articles_published_at", "published_at"),
        Index("ix_articles_story_id", "story_id"),
        Index("ix_articles_site", "site"),
        Index("ix_articles_language", "language"),
        Index("ix_articles_text_hash", "text_hash"),
        Index("ix_articles_canonical_url", "canonical_url"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    canonical_url: Mapped[str] = mapped_column(String(2048))
    site: Mapped[str | None] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(Text)
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The calendar day of publication as the page states it (its own time zone, not UTC).
    published_day: Mapped[date | None] = mapped_column(Date)
    # Where the publish date came from: json-ld, meta, url, text or feed.
    date_source: Mapped[str | None] = mapped_column(String(32))
    modified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    language: Mapped[str | None] = mapped_column(String(16))
    language_confidence: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(String(64))
    word_count: Mapped[int] = mapped_column(Integer)
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id", ondelete="SET NULL"))
    duplicate_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("articles.id", ondelete="SET NULL")
    )
    # Provenance of the grouping decision: method, similarity, when decided.
    link_method: Mapped[str | None] = mapped_column(String(32))
    link_similarity: Mapped[float | None] = mapped_column(Float)
    linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the article was seen live (HTTP fetch, WARC capture); null for local files.
    observed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str | None] = mapped_column(String(64))


class Reject(Base):
    """An input that did not become an article, and why."""

    __tablename__ = "rejects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), index=True)
    reason: Mapped[str] = mapped_column(String(64), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str | None] = mapped_column(String(64))
