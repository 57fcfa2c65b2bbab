"""Feed and sitemap fallbacks fill only what the page left empty, with their provenance."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from crawler.items import ExtractedArticle
from crawler.listings import parse_feed
from pipelines.extraction.hints import apply_listing_hints

FEED_HINTS = {
    "title": "Harbour  plan approved",
    "title_source": "feed",
    "published_at": datetime(2024, 3, 5, 23, 30, tzinfo=timezone(timedelta(hours=-5))),
    "date_source": "feed",
    "modified_at": datetime(2024, 3, 6, 9, 0, tzinfo=UTC),
    "authors": ["Jane Doe", " "],
    "authors_source": "feed",
}


def article(**fields: object) -> ExtractedArticle:
    values: dict[str, object] = {
        "text": "Body",
        "title": None,
        "authors": (),
        "published_at": None,
        "date_source": None,
        "modified_at": None,
        "site": None,
        "language": "en",
        "language_confidence": 0.99,
        "canonical_url": "https://a.example/1",
        "text_hash": "0" * 64,
        "word_count": 1,
    }
    values.update(fields)
    return ExtractedArticle(**values)  # type: ignore[arg-type]


def test_empty_fields_are_filled_from_the_feed() -> None:
    filled = apply_listing_hints(article(), FEED_HINTS)
    assert filled.title == "Harbour plan approved"
    assert filled.published_at == datetime(2024, 3, 6, 4, 30, tzinfo=UTC)
    assert filled.date_source == "feed"
    # Stored in UTC, the day stays the one the feed states in its own zone.
    assert filled.published_day == date(2024, 3, 5)
    assert filled.modified_at == datetime(2024, 3, 6, 9, 0, tzinfo=UTC)
    assert filled.authors == ("Jane Doe",)


def test_the_page_wins_where_it_speaks() -> None:
    page_date = datetime(2024, 3, 5, tzinfo=UTC)
    own = article(
        title="Page headline",
        published_at=page_date,
        date_source="json-ld",
        authors=("Richard Roe",),
    )
    kept = apply_listing_hints(own, FEED_HINTS)
    assert (kept.title, kept.published_at, kept.date_source, kept.authors) == (
        "Page headline",
        page_date,
        "json-ld",
        ("Richard Roe",),
    )


def test_no_hints_change_nothing() -> None:
    plain = article()
    assert apply_listing_hints(plain, {}) is plain


def test_a_stated_day_given_beside_a_utc_time_is_kept() -> None:
    hints = {
        "published_at": datetime(2024, 3, 6, 4, 30, tzinfo=UTC),
        "published_day": date(2024, 3, 5),
        "date_source": "sitemap",
    }
    filled = apply_listing_hints(article(), hints)
    assert filled.published_at == datetime(2024, 3, 6, 4, 30, tzinfo=UTC)
    assert (filled.published_day, filled.date_source) == (date(2024, 3, 5), "sitemap")


def test_a_feed_date_late_in_its_own_day_keeps_that_day() -> None:
    feed = parse_feed(
        b"""<rss version="2.0"><channel><item><link>https://a.example/1</link>
        <pubDate>Tue, 05 Mar 2024 23:30:00 -0500</pubDate></item></channel></rss>""",
        "https://a.example/feed.xml",
    )
    filled = apply_listing_hints(article(), feed.articles[0].hints())
    assert filled.published_at == datetime(2024, 3, 6, 4, 30, tzinfo=UTC)
    assert filled.published_day == date(2024, 3, 5)
