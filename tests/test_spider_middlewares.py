"""The web spiders' downloader middlewares, built from plain values or `get_crawler`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy import Request, Spider
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler
from sqlalchemy import select

from crawler.items import ArticleItem
from crawler.middlewares import (
    CHANGED_AT,
    REFETCH,
    ROLE,
    BackoffRetryMiddleware,
    ContactUserAgentMiddleware,
    IncrementalCrawlMiddleware,
    PrivateAddressGuard,
    RequestRefused,
)
from storage.crawl_state import CrawlStateRepository, Validators
from storage.database import Database
from storage.models import Reject
from storage.repository import ArticleRecord, ArticleRepository


class _Spider(Spider):
    name = "test"


@pytest.fixture
def stats() -> MemoryStatsCollector:
    return MemoryStatsCollector(get_crawler(_Spider))


@pytest.fixture
def database(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'state.db'}")
    database.create_schema()
    return database


def open_guard(
    database: Database, stats: MemoryStatsCollector, allow: bool = False
) -> PrivateAddressGuard:
    guard = PrivateAddressGuard(allow, database.url, stats)
    guard.spider_opened(_Spider())
    return guard


def rejects(database: Database) -> list[tuple[str, str]]:
    with database.sessions() as session:
        return [(r.url, r.reason) for r in session.scalars(select(Reject).order_by(Reject.id))]


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.7/admin",
        "http://[::1]:8080/",
        "https://127.0.0.1/x",
    ],
)
def test_guard_refuses_private_addresses_and_records_them(
    url: str, database: Database, stats: MemoryStatsCollector
) -> None:
    guard = open_guard(database, stats)
    # As RedirectMiddleware would send it: a redirected request passes the guard again.
    request = Request(url, meta={"redirect_urls": ["https://news.example/a"]})
    with pytest.raises(RequestRefused) as refusal:
        asyncio.run(guard.process_request(request))
    assert refusal.value.reason == "private_address"
    assert rejects(database) == [(url, "private_address")]
    assert stats.get_value("rejects/private_address") == 1


def test_guard_lets_private_addresses_through_when_allowed(
    database: Database, stats: MemoryStatsCollector
) -> None:
    guard = open_guard(database, stats, allow=True)
    assert asyncio.run(guard.process_request(Request("http://127.0.0.1:8000/a"))) is None
    assert rejects(database) == []


@pytest.mark.parametrize("allow", [False, True])
def test_guard_refuses_other_schemes_whatever_the_setting(
    allow: bool, database: Database, stats: MemoryStatsCollector
) -> None:
    guard = open_guard(database, stats, allow=allow)
    with pytest.raises(RequestRefused):
        asyncio.run(guard.process_request(Request("file:///etc/passwd")))
    assert rejects(database) == [("file:///etc/passwd", "forbidden_scheme")]


def test_guard_records_a_redirect_to_another_scheme(
    database: Database, stats: MemoryStatsCollector
) -> None:
    guard = open_guard(database, stats)
    request = Request("https://news.example/go")
    response = Response(
        request.url, status=302, headers={"Location": "ftp://files.example/x"}, request=request
    )
    with pytest.raises(IgnoreRequest):
        guard.process_response(request, response)
    assert rejects(database) == [("ftp://files.example/x", "forbidden_scheme")]


def store_article(database: Database, url: str, text: str) -> None:
    ArticleRepository(database).upsert_article(
        ArticleRecord(
            url=url,
            canonical_url=url,
            text=text,
            text_hash="h" * 64,
            word_count=len(text.split()),
            fetched_at=datetime(2025, 1, 10, tzinfo=UTC),
            story_key=url,
        )
    )


def open_incremental(database: Database, stats: MemoryStatsCollector) -> IncrementalCrawlMiddleware:
    middleware = IncrementalCrawlMiddleware(database.url, stats)
    middleware.spider_opened(_Spider())
    return middleware


def article_request(url: str, changed_at: datetime | None) -> Request:
    return Request(url, meta={ROLE: "article", CHANGED_AT: changed_at})


def test_stored_article_is_skipped_unless_its_listing_changed(
    database: Database, stats: MemoryStatsCollector
) -> None:
    store_article(database, "https://news.example/a", "old text")
    middleware = open_incremental(database, stats)

    with pytest.raises(IgnoreRequest):
        middleware.process_request(article_request("https://news.example/a?utm_source=x", None))
    with pytest.raises(IgnoreRequest):
        middleware.process_request(
            article_request("https://news.example/a", datetime(2025, 1, 9, tzinfo=UTC))
        )
    changed = article_request("https://news.example/a", datetime(2025, 1, 11, tzinfo=UTC))
    middleware.process_request(changed)
    assert changed.meta[REFETCH] is True
    fresh = article_request("https://news.example/new", None)
    middleware.process_request(fresh)
    assert fresh.meta[REFETCH] is False
    assert stats.get_value("incremental/skipped") == 2


def test_listing_validators_make_a_conditional_get(
    database: Database, stats: MemoryStatsCollector
) -> None:
    middleware = open_incremental(database, stats)
    feed = "https://news.example/feed.xml"
    first = Request(feed, meta={ROLE: "listing"})
    middleware.process_request(first)
    assert b"If-None-Match" not in first.headers
    middleware.process_response(
        first,
        Response(
            feed,
            headers={"ETag": '"v1"', "Last-Modified": "Tue, 07 Jan 2025 09:00:00 GMT"},
            request=first,
        ),
    )
    assert CrawlStateRepository(database).listing_validators(feed) == Validators(
        '"v1"', "Tue, 07 Jan 2025 09:00:00 GMT"
    )

    second = Request(feed, meta={ROLE: "listing"})
    middleware.process_request(second)
    assert second.headers[b"If-None-Match"] == b'"v1"'
    assert second.headers[b"If-Modified-Since"] == b"Tue, 07 Jan 2025 09:00:00 GMT"


def test_incremental_can_be_switched_off() -> None:
    with pytest.raises(NotConfigured):
        IncrementalCrawlMiddleware.from_crawler(get_crawler(_Spider, {"CRAWL_INCREMENTAL": False}))


def test_backoff_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="RETRY_BACKOFF_BASE"):
        BackoffRetryMiddleware.from_crawler(get_crawler(_Spider, {"RETRY_BACKOFF_BASE": -1}))


def test_retry_after_longer_than_the_limit_gives_up() -> None:
    crawler = get_crawler(_Spider, {"RETRY_AFTER_MAX": 10})
    crawler.spider = _Spider()
    middleware = BackoffRetryMiddleware.from_crawler(crawler)
    crawler.stats = crawler.stats or MemoryStatsCollector(crawler)
    request = Request("https://news.example/a")
    response = Response(request.url, status=429, headers={"Retry-After": "3600"}, request=request)
    assert asyncio.run(middleware.process_response(request, response)) is response
    assert crawler.stats.get_value("retry/retry_after_too_long") == 1


def test_contact_url_must_be_a_web_url() -> None:
    with pytest.raises(ValueError, match="NEWSFOLD_CONTACT_URL"):
        ContactUserAgentMiddleware.from_crawler(
            get_crawler(_Spider, {"NEWSFOLD_CONTACT_URL": "call me"})
        )


def test_a_url_stored_under_its_canonical_url_is_not_fetched_again(
    database: Database, stats: MemoryStatsCollector
) -> None:
    middleware = open_incremental(database, stats)
    printed = article_request("https://news.example/print/7", None)
    middleware.process_request(printed)
    response = Response(printed.url, body=b"<html></html>", request=printed)
    # The spider stored the page under its rel=canonical URL; storage wrote the article.
    middleware.item_scraped(
        ArticleItem(
            url="https://news.example/story/7",
            body=b"",
            fetched_at=datetime.now(UTC),
            source="urls",
        ),
        response,
        _Spider(),
    )
    store_article(database, "https://news.example/story/7", "text")

    with pytest.raises(IgnoreRequest):
        middleware.process_request(
            article_request("https://news.example/print/7?utm_source=x", None)
        )
