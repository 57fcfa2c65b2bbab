"""SharedGroupingPipeline: grouping that stays correct with many workers on one database.

Used instead of `GroupingPipeline` in distributed mode (`REDIS_URL` set). Each decision
is taken under one lock shared by all workers (`storage.grouping_sync.GroupingLock`):
the worker first loads the signatures and links the others stored since its last look,
then decides, then saves its new signature and links before letting go. Two workers
storing copies of one story at the same instant therefore decide one after the other,
the second seeing the first, and the groups come out as one worker's would. The price is
one small write per article, and workers taking turns for the (short) decision.

Stored articles are re-pointed under the lock only, and never to this worker's own view
of their groups: the components of the articles to re-point are regrouped from what
storage holds (the one decision state all workers share) and every worker's links, and
only what differs from storage is written. When this worker closes (storage has written
its last batch), the components of every article it processed are checked this way. So
the worker that writes last to a component, through storage or re-pointing, leaves it
regrouped from all its links and stored members, whichever worker saw which link first;
regrouping that again changes nothing.

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
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from scrapy import Spider

from crawler.items import ArticleItem, GroupingDecision
from pipelines.database_outage import outage_during, retry_while_database_away
from pipelines.grouping.grouper import Link, Signature
from pipelines.grouping.pipeline import (
    GroupingPipeline,
    decision_from_stored,
    signature_from_row,
)
from storage.database import Database
from storage.grouping_store import GroupingStore, StoredDecision
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
    # True while this worker holds the lock: stored articles are re-pointed only then.
    _holding_lock: bool = False

    def open_spider(self, spider: Spider | None = None) -> None:
        assert self.database is None, "open_spider called twice"
        self.lock = GroupingLock(Database(self.database_url))
        try:
            with self._locked():
                super().open_spider(spider)
                assert self.database is not None
                self.sync = GroupingSync(self.database)
                self._last_link, self._last_signature = self.sync.position()
        except BaseException:
            self._close_lock()
            raise

    def close_spider(self, spider: Spider | None = None) -> None:
        if self.lock is None:
            super().close_spider(spider)
            return
        closed = False

        def close_under_lock() -> None:
            nonlocal closed
            with self._locked():
                self._catch_up()
                GroupingPipeline.close_spider(self, spider)
                closed = True

        cause = outage_during(close_under_lock)
        if not closed:
            # The final flush keeps trying for the pipeline's patience on its own.
            logger.warning("Grouping lock not available at close, closing without: %s", cause)
            super().close_spider(spider)

    def spider_closed(self, spider: Spider | None = None) -> None:
        """Storage has written its last batch: under the lock, after catching up, regroup
        the components of every article this worker processed (and of those waiting to be
        re-pointed) from what storage holds, re-point what differs, and let the lock go."""
        if self.lock is None:
            super().spider_closed(spider)
            return
        checked = False

        def check_under_lock() -> None:
            nonlocal checked
            with self._locked():
                self._catch_up()
                checked = self._repoint(self.processed)

        def attempt() -> bool:
            outage_during(check_under_lock)
            return checked

        try:
            if self.database is not None and not retry_while_database_away(
                attempt, self.retry_seconds
            ):
                logger.warning("Grouping lock not available after close: stored articles unchecked")
            super().spider_closed(spider)  # re-points nothing without the lock; reports the rest
        finally:
            self._close_lock()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the grouping lock for the `with` block (it may be taken again inside)."""
        lock = self.lock
        assert lock is not None, "open_spider was not called"
        with lock.held():
            holding, self._holding_lock = self._holding_lock, True
            try:
                yield
            finally:
                self._holding_lock = holding

    def _close_lock(self) -> None:
        lock, self.lock = self.lock, None
        if lock is not None:
            lock.close()
            lock.database.dispose()

    def _assign(self, items: list[ArticleItem], signatures: list[Signature]) -> None:
        """Link under the lock (the signatures, which depend on the items alone, are
        computed before it is taken), after loading what the other workers stored; tried
        again while the database is away, then decided without the lock."""
        decided = saved = False
        causes: list[str] = []

        def locked_step() -> None:
            nonlocal decided, saved
            with self._locked():
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
            if row.url not in self.grouper
        ]
        links = [
            Link(row.url, row.other_url, row.level, row.method, row.similarity)
            for row in self.sync.links_after(self._last_link)
        ]
        if signatures or links:
            self.grouper.load(signatures, links)
            self.stats.inc_value("grouping/synced", len(signatures))

    def _apply_changes(self) -> bool:
        """Re-point stored articles whose grouping changed, under the lock only (without
        it they stay waiting, and True is returned): see `_repoint`."""
        return self._repoint(set())

    def _repoint(self, urls: set[str]) -> bool:
        """Regroup the components of `urls` and of the articles waiting to be re-pointed
        from what storage holds and every link loaded, and re-point the stored articles
        whose grouping differs from storage's; False if the database is away.

        Storage's decisions are the state all workers share: regrouped from them, a
        component comes out the same whichever worker does it, and one regrouped already
        is left as it is. This worker's own view (in memory) counts only for articles
        storage does not hold yet.
        """
        if not self._holding_lock or self.database is None:
            return True
        self._pending.update(self.grouper.take_changes())
        targets = urls | set(self._pending)
        if not targets:
            return True
        store = GroupingStore(self.database)
        members = self.grouper.component_urls(targets)
        stored: dict[str, StoredDecision] = {}
        if not self._write(lambda: stored.update(store.decisions_of(members))):
            return False
        held = {url: decision_from_stored(decision) for url, decision in stored.items()}
        self.grouper.regroup(targets, held.items())
        noted = self._pending | self.grouper.take_changes()
        self._pending = {}
        for url, decision in sorted(noted.items()):
            current = self.grouper.decision_of(url) or decision
            if url not in held or _structure(held[url]) != _structure(current):
                self._pending[url] = current
        return super()._apply_changes()


def _structure(decision: GroupingDecision) -> tuple[str, str | None, str]:
    """What re-pointing writes when it changes (a similarity drifting is not news)."""
    return decision.story_key, decision.duplicate_of_url, decision.method
