"""StoragePipeline: writes each grouped article, and records every rejected item.

Rejections reach it through Scrapy's `item_dropped` signal, so whichever component
refuses an item, the refusal lands in the `rejects` table with its reason.

Settings: `DATABASE_URL`.
Stats: `storage/upserted`, `rejects/<reason>`.
"""

from __future__ import annotations

import logging
from typing import Any, Self

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.statscollectors import StatsCollector

from crawler.items import ArticleItem
from pipelines.database_settings import database_url_from_settings
from pipelines.rejection import RejectedItem
from storage.database import Database, mask_password
from storage.repository import ArticleRecord, ArticleRepository

logger = logging.getLogger(__name__)


def article_record(item: ArticleItem) -> ArticleRecord:
    """The storage record of a fully processed item."""
    article, grouping = item.article, item.grouping
    if article is None or grouping is None:
        raise ValueError(f"{item.url}: StoragePipeline needs extraction and grouping before it")
    is_copy = grouping.duplicate_of_url is not None
    return ArticleRecord(
        url=item.url,
        canonical_url=article.canonical_url,
        text=article.text,
        text_hash=article.text_hash,
        word_count=article.word_count,
        fetched_at=item.fetched_at,
        observed_at=item.observed_at,
        story_key=grouping.story_key,
        title=article.title,
        authors=article.authors,
        published_at=article.published_at,
        date_source=article.date_source,
        modified_at=article.modified_at,
        site=article.site,
        language=article.language,
        language_confidence=article.language_confidence,
        source=item.source,
        duplicate_of_url=grouping.duplicate_of_url,
        link_method=grouping.method,
        link_similarity=grouping.duplicate_similarity if is_copy else grouping.story_similarity,
    )


class StoragePipeline:
    """Upserts articles by URL and keeps rejected items in `rejects`."""

    def __init__(self, database_url: str, stats: StatsCollector) -> None:
        self.database_url = database_url
        self.stats = stats
        self.database: Database | None = None
        self.repository: ArticleRepository | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        pipeline = cls(database_url_from_settings(crawler.settings), crawler.stats)
        crawler.signals.connect(pipeline.item_dropped, signal=signals.item_dropped)
        return pipeline

    def open_spider(self, spider: Spider | None = None) -> None:
        self.database = Database(self.database_url)
        self.database.create_schema()
        self.repository = ArticleRepository(self.database)
        logger.info("Storing articles in %s", mask_password(self.database_url))

    def close_spider(self, spider: Spider | None = None) -> None:
        if self.database is not None:
            self.database.dispose()

    def process_item(self, item: ArticleItem, spider: Spider | None = None) -> ArticleItem:
        assert self.repository is not None, "open_spider was not called"
        self.repository.upsert_article(article_record(item))
        self.stats.inc_value("storage/upserted")
        return item

    def item_dropped(self, item: Any, response: Any, exception: BaseException, spider: Spider) -> None:
        """Record a dropped item with its reason; nothing refused is silently lost."""
        if isinstance(exception, RejectedItem):
            reason, detail = exception.reason, exception.detail
        elif isinstance(exception, DropItem):
            reason, detail = "dropped", str(exception)
        else:
            reason, detail = "error", f"{type(exception).__name__}: {exception}"
        url = getattr(item, "url", None) or "<unknown>"
        self.stats.inc_value(f"rejects/{reason}")
        logger.info("Rejected %s: %s %s", url, reason, detail)
        if self.repository is not None:
            self.repository.record_rejection(url, reason, detail, getattr(item, "source", None))
