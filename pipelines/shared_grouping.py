"""SharedGroupingPipeline: grouping that stays correct with many workers on one database.

Used instead of `GroupingPipeline` in distributed mode (`REDIS_URL` set). Each decision
is taken under one lock shared by all workers (`storage.grouping_sync.GroupingLock`):
the worker first loads the signatures and links the others stored since its last look,
then decides, then saves its new signature and links before letting go. Two workers
storing copies of one story at the same instant therefore decide one after the other,
the second seeing the first, and the groups come out as one worker's would. The price is
one small write per article, and workers taking turns for the (short) decision.

Settings: those of `GroupingPipeline`.
Stats: `grouping/synced` (signatures loaded from other workers).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from scrapy import Spider

from crawler.items import ArticleItem
from pipelines.grouping.grouper import Link, Signature
from pipelines.grouping.pipeline import GroupingPipeline, signature_from_row
from storage.database import Database
from storage.grouping_sync import GroupingLock, GroupingSync

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
        if self.lock is not None:
            with self.lock.held():
                super().close_spider(spider)
            self.lock.close()
            self.lock.database.dispose()
            self.lock = None
        else:
            super().close_spider(spider)

    def _assign(self, items: list[ArticleItem], signatures: list[Signature]) -> None:
        """Link under the lock (the signatures, which depend on the items alone, are
        computed before it is taken), after loading what the other workers stored."""
        assert self.lock is not None, "open_spider was not called"
        with self.lock.held():
            self._catch_up()
            super()._assign(items, signatures)
            self.flush()
            assert self.sync is not None
            self._last_link, self._last_signature = self.sync.position()

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
