"""RunSummary: the end-of-run report (files read, stored, duplicates, stories, rejects).

Reads only the crawl stats the components keep; logs the summary when the spider closes.
"""

from __future__ import annotations

import logging
from typing import Self

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


def format_run_summary(stats: dict[str, object]) -> str:
    """The summary lines for a finished run's stats."""

    def count(key: str) -> int:
        value = stats.get(key, 0)
        return value if isinstance(value, int) else 0

    rejects = {
        key.removeprefix("rejects/"): count(key)
        for key in sorted(stats)
        if key.startswith("rejects/")
    }
    lines = [
        "newsfold run summary",
        f"  files read:        {count('files/read')}",
        f"  responses fetched: {count('downloader/response_count')}",
        f"  articles stored:   {count('storage/upserted')}",
        f"  duplicates:        {count('grouping/duplicate')}",
        f"  stories touched:   {count('grouping/stories_touched')}",
        f"  rejected:          {sum(rejects.values())}",
    ]
    lines.extend(f"    {reason}: {number}" for reason, number in rejects.items())
    return "\n".join(lines)


class RunSummary:
    """Logs `format_run_summary` at the end of every run."""

    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        extension = cls(crawler.stats)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_closed(self, spider: Spider, reason: str) -> None:
        logger.info(
            "%s\n  finish reason:     %s", format_run_summary(self.stats.get_stats()), reason
        )
