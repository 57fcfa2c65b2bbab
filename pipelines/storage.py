"""StoragePipeline: writes grouped articles in batches, and records every rejected item.

Articles are buffered and written in one transaction per batch: when `STORAGE_BATCH_SIZE`
are waiting, when `STORAGE_FLUSH_SECONDS` have passed since the last write, when the
spider goes idle, and at the end. A batch the database refuses for a connection problem
stays buffered and is tried again, so a database that goes away for a while loses
nothing; at the end the pipeline keeps retrying for `STORAGE_RETRY_SECONDS`.

Rejections reach it through Scrapy's `item_dropped` signal, so whichever component
refuses an item, the refusal lands in the `rejects` table with its reason.

Settings: `DATABASE_URL`, `STORAGE_BATCH_SIZE`, `STORAGE_FLUSH_SECONDS`,
`STORAGE_RETRY_SECONDS`.
Stats: `storage/upserted`, `storage/batches`, `storage/flush_failed`, `rejects/<reason>`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Self

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.statscollectors import StatsCollector

from crawler.items import ArticleItem
from pipelines.database_outage import outage_during, retry_while_database_away
from pipelines.database_settings import database_url_from_settings
from pipelines.rejection import RejectedItem
from storage.database import Database, mask_password
from storage.repository import ArticleRecord, ArticleRepository, Rejection

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StorageOptions:
    """How to write: batch size, flush interval, and patience with a lost database."""

    batch_size: int = 100
    flush_seconds: float = 2.0
    retry_seconds: float = 120.0


def storage_options_from_settings(
    batch_size: int, flush_seconds: float, retry_seconds: float
) -> StorageOptions:
    """Validated `StorageOptions`; raises ValueError naming the bad setting."""
    if batch_size < 1:
        raise ValueError(f"STORAGE_BATCH_SIZE must be at least 1, not {batch_size}")
    if flush_seconds < 0:
        raise ValueError(f"STORAGE_FLUSH_SECONDS must be 0 or more, not {flush_seconds}")
    if retry_seconds < 0:
        raise ValueError(f"STORAGE_RETRY_SECONDS must be 0 or more, not {retry_seconds}")
    return StorageOptions(batch_size, flush_seconds, retry_seconds)


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
        published_day=article.published_day,
        date_source=article.date_source,
        modified_at=article.modified_at,
        site=article.site,
        language=article.language,
        language_confidence=article.language_confidence,
        source=item.source,
        refetch_reason=item.refetch_reason,
        duplicate_of_url=grouping.duplicate_of_url,
        link_method=grouping.method,
        link_similarity=grouping.duplicate_similarity if is_copy else grouping.story_similarity,
    )


class StoragePipeline:
    """Upserts articles by URL in batches and keeps rejected items in `rejects`."""

    def __init__(self, database_url: str, options: StorageOptions, stats: StatsCollector) -> None:
        self.database_url = database_url
        self.options = options
        self.stats = stats
        self.database: Database | None = None
        self.repository: ArticleRepository | None = None
        self.pending_articles: list[ArticleRecord] = []
        self.pending_rejections: list[Rejection] = []
        self.last_flush = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        settings = crawler.settings
        options = storage_options_from_settings(
            settings.getint("STORAGE_BATCH_SIZE", 100),
            settings.getfloat("STORAGE_FLUSH_SECONDS", 2.0),
            settings.getfloat("STORAGE_RETRY_SECONDS", 120.0),
        )
        pipeline = cls(database_url_from_settings(settings), options, crawler.stats)
        crawler.signals.connect(pipeline.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(pipeline.spider_idle, signal=signals.spider_idle)
        return pipeline

    def open_spider(self, spider: Spider | None = None) -> None:
        self.database = Database(self.database_url)
        self.database.create_schema()
        self.repository = ArticleRepository(self.database)
        logger.info("Storing articles in %s", mask_password(self.database_url))

    def close_spider(self, spider: Spider | None = None) -> None:
        retry_while_database_away(self.flush, self.options.retry_seconds)
        if self.pending_articles or self.pending_rejections:
            logger.error(
                "Database %s unavailable for %.0f s: %d articles and %d rejects not written",
                mask_password(self.database_url),
                self.options.retry_seconds,
                len(self.pending_articles),
                len(self.pending_rejections),
            )
            self.stats.set_value("storage/unwritten", len(self.pending_articles))
        if self.database is not None:
            self.database.dispose()

    def process_item(self, item: ArticleItem, spider: Spider | None = None) -> ArticleItem:
        self.pending_articles.append(article_record(item))
        if len(self.pending_articles) >= self.options.batch_size or self._flush_is_due():
            self.flush()
        return item

    def spider_idle(self, spider: Spider) -> None:
        """Nothing else is happening: write what is waiting."""
        self.flush()

    def item_dropped(
        self, item: Any, response: Any, exception: BaseException, spider: Spider
    ) -> None:
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
        self.pending_rejections.append(
            Rejection(url, reason, detail, getattr(item, "source", None))
        )
        if self._flush_is_due():
            self.flush()

    def flush(self) -> bool:
        """Write everything buffered; False (and keep it buffered) if the database is away."""
        if self.repository is None or not (self.pending_articles or self.pending_rejections):
            return True
        try:
            cause = outage_during(self._write_pending)
        finally:
            self.last_flush = time.monotonic()
        if cause is not None:
            self.stats.inc_value("storage/flush_failed")
            logger.warning(
                "Database %s unavailable, keeping %d articles to retry: %s",
                mask_password(self.database_url),
                len(self.pending_articles),
                cause,
            )
            return False
        self.stats.inc_value("storage/upserted", len(self.pending_articles))
        self.stats.inc_value("storage/batches")
        self.pending_articles = []
        self.pending_rejections = []
        return True

    def _write_pending(self) -> None:
        assert self.repository is not None
        if self.pending_articles:
            written = self.repository.upsert_articles(self.pending_articles)
            self.stats.inc_value("storage/revisions", written.revisions)
        if self.pending_rejections:
            self.repository.record_rejections(self.pending_rejections)

    def _flush_is_due(self) -> bool:
        return time.monotonic() - self.last_flush >= self.options.flush_seconds
