"""Spider `warc`: HTML response records of WARC archives (CC-NEWS layout) as articles.

Usage: `scrapy crawl warc -a path=FILE_OR_DIR` (`.warc` and `.warc.gz` files).
Each HTML response record becomes an `ArticleItem` with its target URI (canonicalised)
and capture date (`observed_at`); request, metadata, revisit, non-HTML and non-2xx
records are skipped and counted. A cut-off or oversized record still becomes an item
carrying the read error, so it is recorded in `rejects` (a record cut off before its
target URI is recorded under the archive's file URI with `#offset=N`). Records are streamed one by
one, and reading pauses while `CONCURRENT_ITEMS` items are still in the item pipelines:
memory does not grow with the archive.

Settings: `DOWNLOAD_MAXSIZE`, `CONCURRENT_ITEMS`.
Stats: `warc/files`, `warc/captures`, `warc/skipped/<kind>`, `warc/truncated`,
`warc/unreadable`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from crawler.items import ArticleItem
from crawler.spiders.local import LocalInputSpider
from crawler.urls import canonicalize_url
from crawler.warcfiles import (
    SkippedRecord,
    TruncatedTail,
    UnreadableArchive,
    WarcCapture,
    iter_captures,
    iter_warc_files,
)

logger = logging.getLogger(__name__)


class WarcSpider(LocalInputSpider):
    """Reads article captures out of WARC files."""

    name = "warc"
    path_help = "FILE_OR_DIR (.warc or .warc.gz files)"

    async def start(self) -> AsyncIterator[ArticleItem]:
        stats = self.crawler.stats
        assert stats is not None
        for archive in iter_warc_files(self.root):
            stats.inc_value("warc/files")
            with archive.open("rb") as stream:
                try:
                    for record in iter_captures(stream, self.max_bytes, archive.stat().st_size):
                        if isinstance(record, SkippedRecord):
                            stats.inc_value(f"warc/skipped/{record.kind}")
                            continue
                        await self.in_flight.wait_for_room()
                        if isinstance(record, TruncatedTail):
                            yield self.truncated_tail_item(archive, record)
                        else:
                            yield self.capture_item(record)
                except UnreadableArchive as error:
                    stats.inc_value("warc/unreadable")
                    logger.warning("Stopped reading %s: %s", archive, error)
        await self.pipelines_drained()

    def capture_item(self, capture: WarcCapture) -> ArticleItem:
        """The item for one HTML capture, carrying its read error if it has one."""
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value("warc/captures")
        if capture.problem == "truncated":
            stats.inc_value("warc/truncated")
        return ArticleItem(
            url=canonicalize_url(capture.target_uri),
            body=capture.body,
            fetched_at=datetime.now(UTC),
            source=self.name,
            observed_at=capture.captured_at,
            content_type=capture.content_type,
            declared_charset=capture.declared_charset,
            read_error=capture.problem,
            read_error_detail=capture.problem_detail,
        )

    def truncated_tail_item(self, archive: Path, tail: TruncatedTail) -> ArticleItem:
        """An item standing for a record cut off before its target URI could be read."""
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value("warc/truncated")
        logger.warning(
            "%s ends in a cut-off record (%d bytes at offset %d)", archive, tail.size, tail.offset
        )
        return ArticleItem(
            url=f"{archive.resolve().as_uri()}#offset={tail.offset}",
            body=None,
            fetched_at=datetime.now(UTC),
            source=self.name,
            read_error="truncated",
            read_error_detail=f"{tail.size} bytes at offset {tail.offset} are not a whole record",
        )
