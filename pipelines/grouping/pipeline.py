"""GroupingPipeline: links each article to its copies' canonical and to its story.

On open it reloads the articles earlier runs stored, so new articles link to them.

Settings: `DEDUP_NUM_PERM`, `DEDUP_SEED`, `DEDUP_SHINGLE_SIZE`, `DEDUP_COPY_CONTAINMENT`,
`DEDUP_STORY_SIMILARITY`, `DEDUP_STORY_WINDOW_DAYS`, `DEDUP_MIN_CONTENT_WORDS`,
`DATABASE_URL`.
Stats: `grouping/loaded`, `grouping/<method>` (exact, containment, tfidf_cosine,
new_story, too_short, unchanged), `grouping/duplicate`, `grouping/stories_touched`.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Self

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings
from scrapy.statscollectors import StatsCollector

from crawler.items import ArticleItem
from pipelines.database_settings import database_url_from_settings
from pipelines.grouping.grouper import GroupingOptions, StoredGrouping, StoryGrouper
from storage.database import Database
from storage.repository import ArticleRepository

logger = logging.getLogger(__name__)


def grouping_options_from_settings(settings: BaseSettings) -> GroupingOptions:
    """Validated `GroupingOptions`; raises ValueError naming the bad setting."""
    options = GroupingOptions(
        num_perm=settings.getint("DEDUP_NUM_PERM", 128),
        seed=settings.getint("DEDUP_SEED", 1),
        shingle_size=settings.getint("DEDUP_SHINGLE_SIZE", 5),
        copy_containment=settings.getfloat("DEDUP_COPY_CONTAINMENT", 0.7),
        story_similarity=settings.getfloat("DEDUP_STORY_SIMILARITY", 0.25),
        story_window=timedelta(days=settings.getfloat("DEDUP_STORY_WINDOW_DAYS", 3.0)),
        min_content_words=settings.getint("DEDUP_MIN_CONTENT_WORDS", 15),
    )
    checks = (
        ("DEDUP_NUM_PERM", 16 <= options.num_perm <= 1024, "16..1024"),
        ("DEDUP_SHINGLE_SIZE", 1 <= options.shingle_size <= 20, "1..20"),
        ("DEDUP_COPY_CONTAINMENT", 0.0 < options.copy_containment <= 1.0, "(0, 1]"),
        ("DEDUP_STORY_SIMILARITY", 0.0 < options.story_similarity <= 1.0, "(0, 1]"),
        ("DEDUP_STORY_WINDOW_DAYS", options.story_window > timedelta(0), "> 0"),
        ("DEDUP_MIN_CONTENT_WORDS", options.min_content_words >= 1, ">= 1"),
    )
    for name, valid, allowed in checks:
        if not valid:
            raise ValueError(f"{name} must be in {allowed}, not {settings.get(name)!r}")
    return options


class GroupingPipeline:
    """Attaches a `GroupingDecision` to every extracted item."""

    def __init__(self, options: GroupingOptions, database_url: str, stats: StatsCollector) -> None:
        self.options = options
        self.database_url = database_url
        self.stats = stats
        self.grouper = StoryGrouper(options)
        self.stories_touched: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        return cls(
            grouping_options_from_settings(crawler.settings),
            database_url_from_settings(crawler.settings),
            crawler.stats,
        )

    def open_spider(self, spider: Spider | None = None) -> None:
        database = Database(self.database_url)
        try:
            database.create_schema()
            for stored in ArticleRepository(database).iter_stored_articles():
                self.grouper.load(
                    StoredGrouping(
                        stored.url,
                        stored.text,
                        stored.when,
                        stored.story_key or stored.url,
                        stored.duplicate_of_url,
                        stored.link_method,
                        stored.link_similarity,
                    ),
                    stored.text_hash,
                )
        finally:
            database.dispose()
        self.stats.set_value("grouping/loaded", len(self.grouper))

    def process_item(self, item: ArticleItem, spider: Spider | None = None) -> ArticleItem:
        article = item.article
        if article is None:
            raise ValueError(f"{item.url}: GroupingPipeline needs ExtractionPipeline before it")
        when = article.published_at or item.observed_at
        item.grouping = self.grouper.assign(item.url, article.text, when, article.text_hash)
        self.stats.inc_value(f"grouping/{item.grouping.method}")
        if item.grouping.duplicate_of_url is not None:
            self.stats.inc_value("grouping/duplicate")
        self.stories_touched.add(item.grouping.story_key)
        self.stats.set_value("grouping/stories_touched", len(self.stories_touched))
        return item
