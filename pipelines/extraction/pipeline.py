"""ExtractionPipeline: attaches the clean article to each item, or rejects the item.

With `EXTRACTION_WORKERS` above 0, documents are extracted in that many worker processes
while Scrapy goes on downloading and parsing; each document gets at most
`EXTRACTION_TIMEOUT` seconds (a stuck worker is killed and replaced, the item rejected
as `extraction_timeout`). Items still leave the pipeline in the order they entered it,
so grouping and storage see the same sequence as with in-process extraction.

Settings: `EXTRACTION_MODE` ("balanced", "precision", "recall"),
`EXTRACTION_SECOND_MODE` (one of those, or "" for a single pass),
`EXTRACTION_SECOND_PASS_BELOW` (the share of the page's words under which it runs),
`EXTRACTION_INCLUDE_TABLES`,
`EXTRACTION_MIN_WORDS`, `EXTRACTION_USE_JSON_LD_BODY`, `EXTRACTION_WORKERS` (None: one per core; 0: in the Scrapy process), `EXTRACTION_TIMEOUT`.
Stats: `extraction/extracted`, `extraction/rejected/<reason>`, `extraction/workers_replaced`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Coroutine
from typing import Any, Self, get_args

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings
from scrapy.statscollectors import StatsCollector
from scrapy.utils.conf import build_component_list

from crawler.items import ArticleItem
from pipelines.extraction.document import (
    ExtractionMode,
    ExtractionOptions,
    ExtractionRejected,
    RawDocument,
)
from pipelines.extraction.hints import apply_listing_hints
from pipelines.extraction.language import LanguageDetector
from pipelines.extraction.pool import ExtractionPool, InOrderRelease, start_fork_server
from pipelines.rejection import RejectedItem

logger = logging.getLogger(__name__)


def extraction_options_from_settings(
    mode: str,
    include_tables: bool,
    min_words: int,
    use_json_ld_body: bool = True,
    second_mode: str = "",
    second_pass_below: float = 0.6,
) -> ExtractionOptions:
    """Validated `ExtractionOptions`; raises ValueError naming the bad setting."""
    allowed = get_args(ExtractionMode)
    if mode not in allowed:
        raise ValueError(f"EXTRACTION_MODE must be one of {', '.join(allowed)}, not {mode!r}")
    if second_mode and second_mode not in allowed:
        raise ValueError(
            f"EXTRACTION_SECOND_MODE must be empty or one of {', '.join(allowed)}, not {second_mode!r}"
        )
    if not 0.0 <= second_pass_below <= 1.0:
        raise ValueError(
            f"EXTRACTION_SECOND_PASS_BELOW must be between 0 and 1, not {second_pass_below}"
        )
    if min_words < 1:
        raise ValueError(f"EXTRACTION_MIN_WORDS must be at least 1, not {min_words}")
    return ExtractionOptions(
        mode=mode,  # type: ignore[arg-type]
        include_tables=include_tables,
        min_words=min_words,
        use_json_ld_body=use_json_ld_body,
        second_mode=second_mode or None,  # type: ignore[arg-type]
        second_pass_below=second_pass_below,
    )


def worker_count_from_setting(value: Any) -> int:
    """`EXTRACTION_WORKERS` as a number: None means one worker per core."""
    workers = (os.cpu_count() or 1) if value is None or value == "" else int(value)
    if workers < 0:
        raise ValueError(
            f"EXTRACTION_WORKERS must be 0 or more (or None for one per core), not {value!r}"
        )
    return workers


def uses_worker_pool(settings: BaseSettings) -> bool:
    """Whether a crawl with `settings` will extract in worker processes: the pipeline is
    enabled and `EXTRACTION_WORKERS` is above 0.

    Read from the settings alone, importing no other component (the answer decides whether
    to start the workers' fork server before the components are built): a pipeline is
    recognised by its class, or by its import path naming this class. Settings a spider
    sets for itself are not seen: its crawl then starts the fork server a little later.
    """
    enabled = any(
        (isinstance(path, str) and path.rsplit(".", 1)[-1] == ExtractionPipeline.__name__)
        or (isinstance(path, type) and issubclass(path, ExtractionPipeline))
        for path in build_component_list(settings.getwithbase("ITEM_PIPELINES"))
    )
    try:
        return enabled and worker_count_from_setting(settings.get("EXTRACTION_WORKERS")) > 0
    except ValueError:  # the pipeline reports the bad setting when it is built
        return False


class ExtractionPipeline:
    """Runs `extract_article` on each item's bytes, in process or in a worker pool."""

    def __init__(
        self,
        options: ExtractionOptions,
        stats: StatsCollector,
        workers: int = 0,
        timeout: float = 30.0,
    ) -> None:
        self.options = options
        self.stats = stats
        self.workers = workers
        self.timeout = timeout
        self.languages: LanguageDetector | None = None
        self.pool: ExtractionPool | None = None
        self.release = InOrderRelease()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        options = extraction_options_from_settings(
            settings.get("EXTRACTION_MODE", "recall"),
            settings.getbool("EXTRACTION_INCLUDE_TABLES", True),
            settings.getint("EXTRACTION_MIN_WORDS", 40),
            settings.getbool("EXTRACTION_USE_JSON_LD_BODY", True),
            settings.get("EXTRACTION_SECOND_MODE", "balanced"),
            settings.getfloat("EXTRACTION_SECOND_PASS_BELOW", 0.6),
        )
        timeout = settings.getfloat("EXTRACTION_TIMEOUT", 30.0)
        if timeout <= 0:
            raise ValueError(f"EXTRACTION_TIMEOUT must be positive, not {timeout}")
        assert crawler.stats is not None
        # Unset or None: one worker per core (settings.get returns None for both).
        workers = worker_count_from_setting(settings.get("EXTRACTION_WORKERS"))
        if workers > 0:
            # The workers' fork server loads the extraction code and language model while
            # the other components are built; open_spider's pool then forks from it at once.
            start_fork_server()
        return cls(options, crawler.stats, workers, timeout)

    def open_spider(self, spider: Spider | None = None) -> None:
        if self.workers > 0:
            self.pool = ExtractionPool(self.workers, self.timeout, self.options)
            logger.info("Extracting in %d worker processes", self.workers)
        else:
            self.languages = LanguageDetector()

    def close_spider(self, spider: Spider | None = None) -> None:
        if self.pool is not None:
            self.stats.set_value("extraction/workers_replaced", self.pool.replaced)
            self.pool.close()
            self.pool = None

    def process_item(
        self, item: ArticleItem, spider: Spider | None = None
    ) -> ArticleItem | Coroutine[Any, Any, ArticleItem]:
        """The item with its article (a coroutine of it when a worker pool extracts)."""
        document = self._document(item)
        if self.pool is not None:
            return self._extract_in_pool(item, document, self.pool)
        # Imported here: with a worker pool, the Scrapy process never loads the extractor.
        from pipelines.extraction.article import extract_article

        if self.languages is None:
            self.languages = LanguageDetector()
        try:
            item.article = apply_listing_hints(
                extract_article(document, self.options, self.languages), item.hints
            )
        except ExtractionRejected as rejection:
            self._reject(rejection.reason, rejection.detail)
        self.stats.inc_value("extraction/extracted")
        return item

    async def _extract_in_pool(
        self, item: ArticleItem, document: RawDocument, pool: ExtractionPool
    ) -> ArticleItem:
        ticket = self.release.ticket()
        try:
            item.article = apply_listing_hints(await pool.extract(document), item.hints)
            await self.release.turn(ticket)
        except ExtractionRejected as rejection:
            self.release.close(ticket)
            self._reject(rejection.reason, rejection.detail)
        except BaseException:
            self.release.close(ticket)
            raise
        self.release.close(ticket)
        self.stats.inc_value("extraction/extracted")
        return item

    def _document(self, item: ArticleItem) -> RawDocument:
        """The bytes to extract, or the rejection of an item that has none."""
        if item.read_error is not None:
            self._reject(item.read_error, item.read_error_detail)
        if item.body is None:
            self._reject("empty", "no body")
        assert item.body is not None
        return RawDocument(item.url, item.body, item.content_type, item.declared_charset)

    def _reject(self, reason: str, detail: str) -> None:
        self.stats.inc_value(f"extraction/rejected/{reason}")
        raise RejectedItem(reason, detail)
