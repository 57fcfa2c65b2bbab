"""The records that travel through the pipelines.

A spider fills an `ArticleItem` with where the bytes came from and the bytes themselves;
extraction attaches an `ExtractedArticle`, grouping a `GroupingDecision`, and storage
writes the result. These are plain dataclasses so the pure core can use them without
importing Scrapy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class ExtractedArticle:
    """The clean article and its metadata, as extraction found them."""

    text: str
    title: str | None
    authors: tuple[str, ...]
    published_at: datetime | None
    date_source: str | None
    modified_at: datetime | None
    site: str | None
    language: str | None
    language_confidence: float | None
    canonical_url: str
    text_hash: str
    word_count: int
    # The calendar day of publication as the page states it, in the page's own time zone
    # (`published_at` is UTC, which can be the next or previous day).
    published_day: date | None = None


@dataclass(frozen=True)
class GroupingDecision:
    """Where grouping put an article, in stable keys that storage turns into ids.

    `duplicate_of_url` names the canonical article this one copies (None when it is
    canonical itself); `story_key` names the story, as the URL of its founding article.
    """

    story_key: str
    duplicate_of_url: str | None
    duplicate_similarity: float | None
    story_similarity: float | None
    method: str


@dataclass
class ArticleItem:
    """One fetched or read document on its way to the articles table.

    `observed_at` is when the document was seen live (HTTP fetch, WARC capture); it
    stands in for a missing publish date when grouping. Local files have none.
    """

    url: str
    body: bytes | None
    fetched_at: datetime
    source: str
    observed_at: datetime | None = None
    content_type: str | None = None
    declared_charset: str | None = None
    read_error: str | None = None
    read_error_detail: str = ""
    hints: dict[str, Any] = field(default_factory=dict)
    # Why a stored article was fetched again (e.g. "listing_changed"); None for a first fetch.
    refetch_reason: str | None = None
    article: ExtractedArticle | None = None
    grouping: GroupingDecision | None = None

    def __repr__(self) -> str:
        """One short line for logs (Scrapy logs every dropped item): the body as its size,
        the article as its title and length, never the page itself."""
        parts = [repr(self.url), self.source]
        parts.append("no body" if self.body is None else f"{len(self.body)} bytes")
        if self.read_error is not None:
            parts.append(f"read_error={self.read_error!r}")
        if self.article is not None:
            parts.append(f"title={self.article.title!r} ({self.article.word_count} words)")
        if self.grouping is not None:
            parts.append(f"story={self.grouping.story_key!r}")
        return f"ArticleItem({', '.join(parts)})"
