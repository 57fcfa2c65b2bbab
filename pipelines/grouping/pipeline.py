"""GroupingPipeline: links each article to its copies' canonical and to its story.

On open it loads the index earlier runs stored (band keys, times and verified links, from
`grouping_signatures` and `article_links`; not the features, which are read back when a
new article needs them), computing signatures only for stored articles that lack one of
the current scheme. New signatures and links are saved every
`DEDUP_FLUSH_EVERY` items and on close. Older articles whose canonical or story a new
one changed are re-pointed in the articles table once storage (which writes in batches)
holds both ends, tried at most every `APPLY_CHANGES_EVERY_SECONDS` and at every save;
what is still waiting at the end is applied on `spider_closed`,
which Scrapy sends after every pipeline, storage included, has closed.

Batches: with `DEDUP_BATCH_SIZE` above 1, `process_item` hands back a coroutine, and the
items that arrive together (up to that many, waiting at most `BATCH_WAIT_SECONDS` for
each other) have their signatures computed in one pass of array operations; they are
then linked one after the other in arrival order, so the decisions, links and stored
signatures are those of one item at a time (the default, 1, decides each item as it comes).

Memory: the grouper keeps every article's band keys and links, but the features (about
10 KB an article) of only the `FEATURE_CACHE_ARTICLES` most recently used; the others'
are read back from `grouping_signatures` when a new article needs them.

A database away for a while loses nothing: signatures, links and re-pointings that
cannot be written stay buffered and are tried again at the next flush, and at the end
for up to `STORAGE_RETRY_SECONDS` (the mechanism storage uses, `pipelines.database_outage`).

Settings: `DEDUP_NUM_PERM`, `DEDUP_SEED`, `DEDUP_SHINGLE_SIZE`, `DEDUP_SHINGLE_SAMPLE`,
`DEDUP_COPY_BANDS`, `DEDUP_COPY_CONTAINMENT`, `DEDUP_STORY_SIMILARITY`,
`DEDUP_STORY_WINDOW_DAYS`, `DEDUP_STORY_KEYTERMS`, `DEDUP_MIN_CONTENT_WORDS`,
`DEDUP_LANGUAGE`, `DEDUP_FLUSH_EVERY`, `DEDUP_BATCH_SIZE`, `DATABASE_URL`,
`STORAGE_RETRY_SECONDS`.
Stats: `grouping/loaded`, `grouping/backfilled`, `grouping/<method>` (exact, containment,
tfidf_avglink, new_story, too_short), `grouping/duplicate`, `grouping/regrouped`,
`grouping/stories_touched`, `grouping/flush_failed`, `grouping/unsaved`,
`grouping/unapplied`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Iterator
from datetime import timedelta
from typing import Any, Self

import numpy as np
from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings
from scrapy.statscollectors import StatsCollector

from crawler.items import ArticleItem, GroupingDecision
from pipelines.database_outage import outage_during, retry_while_database_away
from pipelines.database_settings import database_url_from_settings
from pipelines.grouping.features import ArticleFeatures
from pipelines.grouping.grouper import (
    GroupingInput,
    GroupingOptions,
    IndexEntry,
    Link,
    Signature,
    StoryGrouper,
)
from storage.database import Database
from storage.grouping_store import (
    GroupingStore,
    IndexRow,
    LinkRow,
    SignatureRow,
    StoredDecision,
)
from storage.repository import ArticleRepository

logger = logging.getLogger(__name__)

# Articles whose features (about 10 KB each) grouping keeps in memory; the others' are
# read back from `grouping_signatures` when a new article needs them.
FEATURE_CACHE_ARTICLES = 20_000
# How long the first item of a batch waits for others to arrive (DEDUP_BATCH_SIZE > 1):
# items extraction finishes together come within a few turns of the event loop.
BATCH_WAIT_SECONDS = 0.005
# How often, at most, re-pointing stored articles is tried while a crawl runs: the ones a
# new decision changes are mostly still waiting for storage's next batch, so trying after
# every item only repeats the same lookup (flushes and the end of the crawl try as well).
APPLY_CHANGES_EVERY_SECONDS = 1.0


def grouping_options_from_settings(settings: BaseSettings) -> GroupingOptions:
    """Validated `GroupingOptions`; raises ValueError naming the bad setting."""
    defaults = GroupingOptions()
    options = GroupingOptions(
        num_perm=settings.getint("DEDUP_NUM_PERM", defaults.num_perm),
        seed=settings.getint("DEDUP_SEED", defaults.seed),
        shingle_size=settings.getint("DEDUP_SHINGLE_SIZE", defaults.shingle_size),
        shingle_sample=settings.getint("DEDUP_SHINGLE_SAMPLE", defaults.shingle_sample),
        copy_bands=settings.getint("DEDUP_COPY_BANDS", defaults.copy_bands),
        copy_containment=settings.getfloat("DEDUP_COPY_CONTAINMENT", defaults.copy_containment),
        story_similarity=settings.getfloat("DEDUP_STORY_SIMILARITY", defaults.story_similarity),
        story_window=timedelta(
            days=settings.getfloat("DEDUP_STORY_WINDOW_DAYS", defaults.story_window.days)
        ),
        min_content_words=settings.getint("DEDUP_MIN_CONTENT_WORDS", defaults.min_content_words),
        story_keyterms=settings.getint("DEDUP_STORY_KEYTERMS", defaults.story_keyterms),
        language=settings.get("DEDUP_LANGUAGE", defaults.language),
    )
    checks = (
        ("DEDUP_NUM_PERM", 16 <= options.num_perm <= 1024, "16..1024"),
        ("DEDUP_SHINGLE_SIZE", 1 <= options.shingle_size <= 20, "1..20"),
        ("DEDUP_SHINGLE_SAMPLE", 1 <= options.shingle_sample <= 64, "1..64"),
        ("DEDUP_COPY_BANDS", 1 <= options.copy_bands <= options.num_perm, "1..DEDUP_NUM_PERM"),
        ("DEDUP_COPY_CONTAINMENT", 0.0 < options.copy_containment <= 1.0, "(0, 1]"),
        ("DEDUP_STORY_SIMILARITY", 0.0 < options.story_similarity <= 1.0, "(0, 1]"),
        ("DEDUP_STORY_WINDOW_DAYS", options.story_window > timedelta(0), "> 0"),
        ("DEDUP_STORY_KEYTERMS", 1 <= options.story_keyterms <= 100, "1..100"),
        ("DEDUP_MIN_CONTENT_WORDS", options.min_content_words >= 1, ">= 1"),
    )
    for name, valid, allowed in checks:
        if not valid:
            raise ValueError(f"{name} must be in {allowed}, not {settings.get(name)!r}")
    return options


def signature_row(signature: Signature, scheme: str) -> SignatureRow:
    """A signature as storage keeps it."""
    features = signature.features
    # `copy=False`: on a little-endian machine the arrays are already what is stored.
    return SignatureRow(
        signature.url,
        scheme,
        signature.text_hash,
        signature.published_at,
        signature.observed_at,
        signature.indexed,
        features.content_words,
        signature.minhash.astype("<u4", copy=False).tobytes(),
        signature.bands.astype("<u8", copy=False).tobytes(),
        features.shingles.astype("<u4", copy=False).tobytes(),
        features.terms.astype("<u8", copy=False).tobytes(),
        features.weights.astype("<f4", copy=False).tobytes(),
        features.keyterms.astype("<u8", copy=False).tobytes(),
    )


def features_from_row(row: SignatureRow) -> ArticleFeatures:
    """The features a stored signature row holds."""
    return ArticleFeatures(
        np.frombuffer(row.shingles, dtype="<u4").astype(np.uint32),
        np.frombuffer(row.terms, dtype="<u8").astype(np.uint64),
        np.frombuffer(row.weights, dtype="<f4").astype(np.float32),
        np.frombuffer(row.keyterms, dtype="<u8").astype(np.uint64),
        row.content_words,
    )


def signature_from_row(row: SignatureRow) -> Signature:
    """The signature a stored row holds."""
    features = features_from_row(row)
    return Signature(
        row.url,
        row.text_hash,
        row.published_at,
        row.observed_at,
        np.frombuffer(row.minhash, dtype="<u4").astype(np.uint32),
        np.frombuffer(row.bands, dtype="<u8").astype(np.uint64),
        features,
        row.indexed,
    )


def index_entry_from_row(row: IndexRow) -> IndexEntry:
    """The index entry a stored row holds."""
    return IndexEntry(
        row.url,
        row.text_hash,
        row.published_at,
        row.observed_at,
        np.frombuffer(row.bands, dtype="<u8").astype(np.uint64),
        row.indexed,
    )


class GroupingPipeline:
    """Attaches a `GroupingDecision` to every extracted item."""

    def __init__(
        self,
        options: GroupingOptions,
        database_url: str,
        stats: StatsCollector,
        flush_every: int = 500,
        retry_seconds: float = 120.0,
        feature_cache: int = FEATURE_CACHE_ARTICLES,
        batch_size: int = 1,
    ) -> None:
        self.options = options
        self.database_url = database_url
        self.stats = stats
        self.flush_every = flush_every
        self.retry_seconds = retry_seconds
        self.batch_size = batch_size
        self.grouper = StoryGrouper(options, self._stored_features, feature_cache)
        self.processed: set[str] = set()
        self.database: Database | None = None
        self._pending: dict[str, GroupingDecision] = {}
        self._changes_tried_at = float("-inf")
        self._unsaved = 0
        # Rows taken from the grouper but not yet written (the database was away).
        self._unsaved_signatures: list[SignatureRow] = []
        self._unsaved_links: list[LinkRow] = []
        # Items waiting for their batch to be decided, and the timer that ends the wait.
        self._batch: list[tuple[ArticleItem, asyncio.Future[None]]] = []
        self._batch_timer: asyncio.TimerHandle | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        flush_every = crawler.settings.getint("DEDUP_FLUSH_EVERY", 500)
        if flush_every < 1:
            raise ValueError(f"DEDUP_FLUSH_EVERY must be >= 1, not {flush_every!r}")
        retry_seconds = crawler.settings.getfloat("STORAGE_RETRY_SECONDS", 120.0)
        if retry_seconds < 0:
            raise ValueError(f"STORAGE_RETRY_SECONDS must be 0 or more, not {retry_seconds}")
        batch_size = crawler.settings.getint("DEDUP_BATCH_SIZE", 1)
        if not 1 <= batch_size <= 10_000:
            raise ValueError(f"DEDUP_BATCH_SIZE must be in 1..10000, not {batch_size!r}")
        pipeline = cls(
            grouping_options_from_settings(crawler.settings),
            database_url_from_settings(crawler.settings),
            crawler.stats,
            flush_every,
            retry_seconds,
            batch_size=batch_size,
        )
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self, spider: Spider | None = None) -> None:
        self.database = Database(self.database_url)
        self.database.create_schema()
        store = GroupingStore(self.database)
        scheme = self.options.signature_scheme
        self.grouper.load(
            (index_entry_from_row(row) for row in store.iter_index_rows(scheme)),
            (
                Link(row.url, row.other_url, row.level, row.method, row.similarity)
                for row in store.iter_links()
            ),
        )
        self.grouper.take_new_signatures()
        self.grouper.set_decisions(_stored_decisions(store))
        self.stats.set_value("grouping/loaded", len(self.grouper))
        backfilled = 0
        for article in store.iter_unindexed_articles(scheme):
            self.grouper.assign(
                GroupingInput(
                    article.url,
                    article.text,
                    article.text_hash,
                    article.title,
                    article.published_at,
                    article.observed_at,
                )
            )
            backfilled += 1
        if backfilled:
            logger.info("Indexed %d stored articles that had no signature", backfilled)
            self.stats.set_value("grouping/backfilled", backfilled)
            self._pending.update(self.grouper.take_changes())
            self.flush()

    def close_spider(self, spider: Spider | None = None) -> None:
        self._decide_batch()  # Scrapy closes after every item is done: normally none wait
        # Counted once, at the end: it looks up every article this run processed.
        self.stats.set_value("grouping/stories_touched", len(self.stories_touched()))
        if not retry_while_database_away(self.flush, self.retry_seconds):
            logger.error(
                "Database unavailable for %.0f s: %d grouping signatures and %d links not written",
                self.retry_seconds,
                len(self._unsaved_signatures),
                len(self._unsaved_links),
            )
            self.stats.set_value("grouping/unsaved", len(self._unsaved_signatures))

    def spider_closed(self, spider: Spider | None = None) -> None:
        """Storage has written its last batch: re-point what was waiting for it, and close."""
        if self.database is None:
            return
        retry_while_database_away(self._apply_changes, self.retry_seconds)
        if self._pending:
            logger.warning(
                "Grouping changes of %d articles not stored were dropped", len(self._pending)
            )
            self.stats.set_value("grouping/unapplied", len(self._pending))
        self.database.dispose()
        self.database = None

    def process_item(
        self, item: ArticleItem, spider: Spider | None = None
    ) -> ArticleItem | Coroutine[Any, Any, ArticleItem]:
        """The item with its grouping decision (a coroutine of it when items are batched)."""
        if item.article is None:
            raise ValueError(f"{item.url}: GroupingPipeline needs ExtractionPipeline before it")
        if self.batch_size == 1:
            self._decide([item])
            return item
        return self._decide_in_batch(item)

    async def _decide_in_batch(self, item: ArticleItem) -> ArticleItem:
        """Wait for the batch `item` joins to be decided (full, or after `BATCH_WAIT_SECONDS`)."""
        loop = asyncio.get_running_loop()
        decided = loop.create_future()
        self._batch.append((item, decided))
        if len(self._batch) >= self.batch_size:
            self._decide_batch()
        elif self._batch_timer is None:
            self._batch_timer = loop.call_later(BATCH_WAIT_SECONDS, self._decide_batch)
        await decided
        return item

    def _decide_batch(self) -> None:
        """Decide the waiting items and wake them (with the error, if deciding failed)."""
        if self._batch_timer is not None:
            self._batch_timer.cancel()
            self._batch_timer = None
        batch, self._batch = self._batch, []
        if not batch:
            return
        error: BaseException | None = None
        try:
            self._decide([item for item, _ in batch])
        except Exception as failure:
            error = failure
        for _, decided in batch:
            if decided.done():  # its coroutine was cancelled
                continue
            if error is None:
                decided.set_result(None)
            else:
                decided.set_exception(error)

    def _decide(self, items: list[ArticleItem]) -> None:
        """Attach each item's grouping decision: signatures in one batch, then linked in order."""
        signatures = self.grouper.signatures([_grouping_input(item) for item in items])
        self._assign(items, signatures)

    def _assign(self, items: list[ArticleItem], signatures: list[Signature]) -> None:
        """Link the items one after the other, and keep what changed for storage."""
        decisions = self.grouper.assign_signatures(signatures)
        for item, decision in zip(items, decisions, strict=True):
            item.grouping = decision
            self.stats.inc_value(f"grouping/{item.grouping.method}")
            if item.grouping.duplicate_of_url is not None:
                self.stats.inc_value("grouping/duplicate")
            self.processed.add(item.url)
        self._pending.update(self.grouper.take_changes())
        if time.monotonic() - self._changes_tried_at >= APPLY_CHANGES_EVERY_SECONDS:
            self._apply_changes()
        self._unsaved += len(items)
        if self._unsaved >= self.flush_every:
            self.flush()

    def flush(self) -> bool:
        """Save new signatures and links, and re-point changed articles already stored.

        Returns:
            False when the database is away: what was not written stays buffered.
        """
        if self.database is None:
            return True
        scheme = self.options.signature_scheme
        self._unsaved_signatures.extend(
            signature_row(signature, scheme) for signature in self.grouper.take_new_signatures()
        )
        self._unsaved_links.extend(
            LinkRow(link.url, link.other_url, link.level, link.method, link.similarity)
            for link in self.grouper.take_new_links()
        )
        self._unsaved = 0
        if self._unsaved_signatures or self._unsaved_links:
            store = GroupingStore(self.database)
            if not self._write(lambda: store.save(self._unsaved_signatures, self._unsaved_links)):
                return False
            self._unsaved_signatures, self._unsaved_links = [], []
        return self._apply_changes()

    def stories_touched(self) -> set[str]:
        """Current story keys of the articles this run processed."""
        decisions = (self.grouper.decision_of(url) for url in self.processed)
        return {decision.story_key for decision in decisions if decision is not None}

    def _stored_features(self, urls: list[str]) -> dict[str, ArticleFeatures]:
        """Features of articles no longer in the grouper's memory: saved or waiting to be."""
        wanted = set(urls)
        waiting = {row.url: row for row in self._unsaved_signatures if row.url in wanted}
        missing = [url for url in urls if url not in waiting]
        if missing:
            assert self.database is not None, "open_spider was not called"
            scheme = self.options.signature_scheme
            waiting.update(GroupingStore(self.database).signatures_of(scheme, missing))
        return {url: features_from_row(row) for url, row in waiting.items()}

    def _write(self, write: Callable[[], object]) -> bool:
        """Run one database write; False (logged and counted) if the database is away."""
        cause = outage_during(write)
        if cause is None:
            return True
        self.stats.inc_value("grouping/flush_failed")
        logger.warning(
            "Database unavailable, keeping %d grouping signatures and %d changes to retry: %s",
            len(self._unsaved_signatures),
            len(self._pending),
            cause,
        )
        return False

    def _apply_changes(self) -> bool:
        """Re-point stored articles whose grouping changed; False if the database is away.

        Each is re-pointed to its decision as the grouper sees it now, not as it was when
        the change was noted: meanwhile this worker, or another one whose links it loaded,
        may have changed it again, and an older decision must not overwrite a newer one.
        """
        if not self._pending or self.database is None:
            return True
        self._changes_tried_at = time.monotonic()
        current = {
            url: self.grouper.decision_of(url) or decision
            for url, decision in self._pending.items()
        }
        changes = [
            StoredDecision(
                url,
                decision.story_key,
                decision.duplicate_of_url,
                decision.method,
                decision.duplicate_similarity
                if decision.duplicate_of_url is not None
                else decision.story_similarity,
            )
            for url, decision in sorted(current.items())
        ]
        repository = ArticleRepository(self.database)
        waiting: set[str] = set()
        if not self._write(lambda: waiting.update(repository.regroup_articles(changes))):
            return False
        applied = len(self._pending) - len(waiting)
        if applied:
            self.stats.inc_value("grouping/regrouped", applied)
        self._pending = {url: self._pending[url] for url in waiting}
        return True


def _grouping_input(item: ArticleItem) -> GroupingInput:
    """What grouping reads of an extracted item."""
    article = item.article
    assert article is not None, "process_item checks it"
    return GroupingInput(
        item.url,
        article.text,
        article.text_hash,
        article.title,
        article.published_at,
        item.observed_at,
    )


def decision_from_stored(stored: StoredDecision) -> GroupingDecision:
    """The grouping decision an article's stored row holds."""
    is_copy = stored.duplicate_of_url is not None
    return GroupingDecision(
        stored.story_key or stored.url,
        stored.duplicate_of_url,
        stored.similarity if is_copy else None,
        None if is_copy else stored.similarity,
        stored.method or "loaded",
    )


def _stored_decisions(store: GroupingStore) -> Iterator[tuple[str, GroupingDecision]]:
    for stored in store.iter_decisions():
        yield stored.url, decision_from_stored(stored)
