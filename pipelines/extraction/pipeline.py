"""ExtractionPipeline: attaches the clean article to each item, or rejects the item.

Settings: `EXTRACTION_MODE` ("balanced", "precision", "recall"),
`EXTRACTION_INCLUDE_TABLES`, `EXTRACTION_MIN_WORDS`, `EXTRACTION_USE_JSON_LD_BODY`.
Stats: `extraction/extracted`, `extraction/rejected/<reason>`.
"""

from __future__ import annotations

import logging
from typing import Self, get_args

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from crawler.items import ArticleItem
from pipelines.extraction.article import (
    ExtractionMode,
    ExtractionOptions,
    ExtractionRejected,
    RawDocument,
    extract_article,
)
from pipelines.extraction.language import LanguageDetector
from pipelines.rejection import RejectedItem

logger = logging.getLogger(__name__)


def extraction_options_from_settings(
    mode: str, include_tables: bool, min_words: int, use_json_ld_body: bool = True
) -> ExtractionOptions:
    """Validated `ExtractionOptions`; raises ValueError naming the bad setting."""
    allowed = get_args(ExtractionMode)
    if mode not in allowed:
        raise ValueError(f"EXTRACTION_MODE must be one of {', '.join(allowed)}, not {mode!r}")
    if min_words < 1:
        raise ValueError(f"EXTRACTION_MIN_WORDS must be at least 1, not {min_words}")
    return ExtractionOptions(
        mode=mode,  # type: ignore[arg-type]
        include_tables=include_tables,
        min_words=min_words,
        use_json_ld_body=use_json_ld_body,
    )


class ExtractionPipeline:
    """Runs `extract_article` on each item's bytes."""

    def __init__(self, options: ExtractionOptions, stats: StatsCollector) -> None:
        self.options = options
        self.stats = stats
        self.languages: LanguageDetector | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        options = extraction_options_from_settings(
            settings.get("EXTRACTION_MODE", "recall"),
            settings.getbool("EXTRACTION_INCLUDE_TABLES", True),
            settings.getint("EXTRACTION_MIN_WORDS", 40),
            settings.getbool("EXTRACTION_USE_JSON_LD_BODY", True),
        )
        assert crawler.stats is not None
        return cls(options, crawler.stats)

    def open_spider(self, spider: Spider | None = None) -> None:
        self.languages = LanguageDetector()

    def process_item(self, item: ArticleItem, spider: Spider | None = None) -> ArticleItem:
        if item.read_error is not None:
            self._reject(item.read_error, item.read_error_detail)
        if item.body is None:
            self._reject("empty", "no body")
        if self.languages is None:
            self.open_spider()
        assert item.body is not None and self.languages is not None
        document = RawDocument(item.url, item.body, item.content_type, item.declared_charset)
        try:
            item.article = extract_article(document, self.options, self.languages)
        except ExtractionRejected as rejection:
            self._reject(rejection.reason, rejection.detail)
        self.stats.inc_value("extraction/extracted")
        return item

    def _reject(self, reason: str, detail: str) -> None:
        self.stats.inc_value(f"extraction/rejected/{reason}")
        raise RejectedItem(reason, detail)
