"""SharedGroupingPipeline: grouping that stays correct with many workers on one database.

Used instead of `GroupingPipeline` in distributed mode (`REDIS_URL` set). Each decision
is taken under one lock shared by all workers (`storage.grouping_sync.GroupingLock`):
the worker first loads the signatures and links the others stored since its last look,
then decides, then saves its new signature and links before letting go. Two workers
storing copies of one story at the same instant therefore decide one after the other,
the second seeing the first, and the groups come out as one worker's would. The price is
one small write per article, and workers taking turns for the (short) decision.

A database away for a while loses nothing: the locked step (take the lock, catch up,
decide, save, note the position) is tried again while the database is away, for up to
`STORAGE_RETRY_SECONDS` (`pipelines.database_outage`); items decided before the failure
are not decided again, only what remains is redone. Still away after that, the items are
decided without the lock on what this worker knows (logged, counted), so that storage,
which keeps trying on its own, still gets them; their signatures and links are saved at
a later flush. Until the lock is taken again, later batches try it once without waiting.
While the step waits, the crawl waits with it (the wait is in the pipeline's thread).

Settings: those of `GroupingPipeline`.
Stats: `grouping/synced` (signatures loaded from other workers), `grouping/lock_retries`
(locked steps tried again after an outage), `grouping/unlocked_decisions` (items decided
without the lock, the database being away).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from scrapy import Spider

from crawler.items import ArticleItem
from pipelines.database_outage import outage_during, retry_while_database_away
from pipelines.grouping.grouper import Link, Signature
from pipelines.grouping.pipeline import GroupingPipeline, signature_from_row
from storage.database import Database
from storage.grouping_sync import GroupingLock, GroupingSync

logger = logging.getLogger(__name__)

# Signatures are looked up by their save time, which comes from the saving worker's clock:
# look back this much further, and skip the ones already known, to absorb clock skew.
CLOCK_SKEW = timedelta(minutes=5)


class SharedGroupingPipeline(GroupingPipeline):
    """`GroupingPipeline` whose decisions are serialised and synchronised across workers."""

    lock: GroupingLock | None = None
    sync: GroupingSync | None = None
    # Where this worker last looked: the newest link id and signature save time it has seen.
    _last_link: int = 0
    _last_signature: datetime | None = None
    # The last batch was decided without the lock: the next tries it once, without waiting.
    _lock_missed: bool = False

    def open_spider(self, spider: Spider | None = None) -> None:
        assert self.database is None, "open_spider called twice"
        lock = GroupingLock(Database(self.database_url))
        with lock.held():
            super().open_spider(spider)
            assert self.database is not None
            self.sync = GroupingSync(self.database)
            self._last_link, self._last_signature = self.sync.position()
        self.lock = lock

    def close_spider(self, spider: Spider | None = None) -> None:
        lock = self.lock
        if lock is None:
            super().close_spider(spider)
            return
        closed = False

        def close_under_lock() -> None:
            nonlocal closed
            with lock.held():
                GroupingPipeline.close_spider(self, spider)
                closed = True

        try:
            cause = outage_during(close_under_lock)
            if not closed:
                # The final flush keeps trying for the pipeline's patience on its own.
                logger.warning("Grouping lock not available at close, closing without: %s", cause)
                super().close_spider(spider)
        finally:
            lock.close()
            lock.database.dispose()
            self.lock = None

    def _assign(self, items: list[ArticleItem], signatures: list[Signature]) -> None:
        """Link under the lock (the signatures, which depend on the items alone, are
        computed before it is taken), after loading what the other workers stored; tried
        again while the database is away, then decided without the lock."""
        lock = self.lock
        assert lock is not None, "open_spider was not called"
        decided = saved = False
        causes: list[str] = []

        def locked_step() -> None:
            nonlocal decided, saved
            with lock.held():
                self._catch_up()
                if not decided:
                    # Raising in here leaves nothing half-applied to the items: the grouper
                    # keeps the articles it indexed, and gives their decisions back as they
                    # are when asked again (an article known with the same text).
                    super(SharedGroupingPipeline, self)._assign(items, signatures)
                    decided = True
                # Saved before letting go, for the next worker to see.
                saved = self.flush()
                if saved:
                    assert self.sync is not None
                    self._last_link, self._last_signature = self.sync.position()

        def attempt() -> bool:
            cause = outage_during(locked_step)
            if cause is None and saved:
                return True
            if not causes:
                logger.warning(
                    "Database unavailable for the grouping lock, trying again for %.0f s: %s",
                    patience,
                    cause or "decisions not saved",
                )
            causes.append(cause or "decisions not saved")
            self.stats.inc_value("grouping/lock_retries")
            return False

        patience = 0.0 if self._lock_missed else self.retry_seconds
        self._lock_missed = not retry_while_database_away(attempt, patience)
        if not self._lock_missed:
            return
        if decided:
            logger.warning(
                "Database unavailable after %.0f s: %d items decided under the grouping lock,"
                " their signatures and links kept to save later: %s",
                patience,
                len(items),
                causes[-1],
            )
            return
        logger.warning(
            "Database unavailable for the grouping lock after %.0f s: deciding %d items"
            " without it: %s",
            patience,
            len(items),
            causes[-1],
        )
        super()._assign(items, signatures)
        self.stats.inc_value("grouping/unlocked_decisions", len(items))

    def _catch_up(self) -> None:
        """Load the signatures and links other workers stored since this one last looked."""
        assert self.sync is not None
        since = None if self._last_signature is None else self._last_signature - CLOCK_SKEW
        scheme = self.options.signature_scheme
        signatures = [
            signature_from_row(row)
            for row in self.sync.signatures_since(scheme, since)
            if self.grouper.decision_of(row.url) is None
        ]
        links = [
            Link(row.url, row.other_url, row.level, row.method, row.similarity)
            for row in self.sync.links_after(self._last_link)
        ]
        if signatures or links:
            self.grouper.load(signatures, links)
            self.stats.inc_value("grouping/synced", len(signatures))
