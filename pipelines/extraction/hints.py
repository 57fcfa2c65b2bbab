"""Listing fallbacks: what a feed or sitemap said about an article, used where the page is silent.

The `feeds` and `sitemap` spiders put the listing's title, dates and authors into
`ArticleItem.hints` with their provenance (`title_source`, `date_source`, ...). The page
itself stays the first authority; a hint fills only a field extraction left empty, and
the date keeps its provenance in `date_source` ("feed", "sitemap") and the calendar day
the listing states (`published_day` when given, else the day in the zone of
`published_at`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from crawler.items import ExtractedArticle


def apply_listing_hints(article: ExtractedArticle, hints: dict[str, Any]) -> ExtractedArticle:
    """`article` with its empty title, dates and authors filled from `hints`."""
    changes: dict[str, Any] = {}
    title = hints.get("title")
    if not article.title and isinstance(title, str) and title.strip():
        changes["title"] = " ".join(title.split())
    published_at = _aware(hints.get("published_at"))
    if article.published_at is None and published_at is not None:
        changes["published_at"] = published_at
        changes["date_source"] = str(hints.get("date_source") or "feed")
        # The day the listing states, in its own zone: 23:30 in New York stays that day.
        stated_day = hints.get("published_day")
        changes["published_day"] = (
            stated_day if isinstance(stated_day, date) else hints["published_at"].date()
        )
    modified_at = _aware(hints.get("modified_at"))
    if article.modified_at is None and modified_at is not None:
        changes["modified_at"] = modified_at
    authors = hints.get("authors")
    if not article.authors and isinstance(authors, list | tuple):
        names = tuple(str(name).strip() for name in authors if str(name).strip())
        if names:
            changes["authors"] = names
    return replace(article, **changes) if changes else article


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
