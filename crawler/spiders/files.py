"""Spider `files`: local article files (HTML and plain text, gzipped or not) as items.

Usage: `scrapy crawl files -a path=DIR_OR_FILE`.

Reads `.html`, `.htm`, `.txt` and their `.gz` forms under `path`, recursively and in
sorted order; each becomes an `ArticleItem` whose `url` is the file's `file://` URI.
A file that cannot be read, or is larger than `DOWNLOAD_MAXSIZE` bytes (inflated), still
becomes an item carrying the read error, so extraction records it in `rejects`. Reading
pauses while `CONCURRENT_ITEMS` items are still in the item pipelines.

Settings: `DOWNLOAD_MAXSIZE`, `CONCURRENT_ITEMS`.
"""

from __future__ import annotations

import gzip
import logging
import os
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from crawler.items import ArticleItem
from crawler.localfiles import FileTooLarge, LocalFile, iter_article_files, read_limited
from crawler.spiders.local import LocalInputSpider

logger = logging.getLogger(__name__)


def file_uri(path: Path) -> str:
    """The `file://` URI of `path`: absolute and normalised, symlinks kept as named."""
    return Path(os.path.abspath(path)).as_uri()


class FilesSpider(LocalInputSpider):
    """Reads a folder (or one file) of articles from the local disk."""

    name = "files"
    path_help = "DIR_OR_FILE"

    async def start(self) -> AsyncIterator[ArticleItem]:
        for local_file in iter_article_files(self.root):
            await self.in_flight.wait_for_room()
            yield self.read_item(local_file)
        await self.pipelines_drained()

    def read_item(self, local_file: LocalFile) -> ArticleItem:
        """The item for one file: its bytes, or the reason they could not be read."""
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("files/read")
        item = ArticleItem(
            url=file_uri(local_file.path),
            body=None,
            fetched_at=datetime.now(UTC),
            source=self.name,
            content_type=local_file.content_type,
        )
        try:
            item.body = read_limited(local_file.path, self.max_bytes)
        except FileTooLarge as error:
            item.read_error, item.read_error_detail = "too_large", str(error)
        except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as error:
            item.read_error, item.read_error_detail = (
                "unreadable",
                f"{type(error).__name__}: {error}",
            )
        return item
