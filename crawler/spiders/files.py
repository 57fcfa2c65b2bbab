"""Spider `files`: local article files (HTML and plain text, gzipped or not) as items.

Usage: `scrapy crawl files -a path=DIR_OR_FILE`.

Reads `.html`, `.htm`, `.txt` and their `.gz` forms under `path`, recursively and in
sorted order; each becomes an `ArticleItem` whose `url` is the file's `file://` URI.
A file that cannot be read, or is larger than `DOWNLOAD_MAXSIZE` bytes (inflated), still
becomes an item carrying the read error, so extraction records it in `rejects`.

Settings: `DOWNLOAD_MAXSIZE`.
"""

from __future__ import annotations

import gzip
import logging
import os
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import UsageError

from crawler.items import ArticleItem
from crawler.localfiles import FileTooLarge, LocalFile, iter_article_files, read_limited

logger = logging.getLogger(__name__)


def file_uri(path: Path) -> str:
    """The `file://` URI of `path`: absolute and normalised, symlinks kept as named."""
    return Path(os.path.abspath(path)).as_uri()


class FilesSpider(Spider):
    """Reads a folder (or one file) of articles from the local disk."""

    name = "files"
    custom_settings = {"ROBOTSTXT_OBEY": False}

    def __init__(self, path: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.root = self.check_arguments(path=path)
        self.max_bytes = 0

    @classmethod
    def check_arguments(cls, path: str | None = None, **_other: Any) -> Path:
        """The folder or file to read; raises UsageError naming a missing `path`."""
        if not path:
            raise UsageError("spider 'files' needs -a path=DIR_OR_FILE")
        root = Path(path).expanduser()
        if not root.exists():
            raise UsageError(f"path not found: {path}")
        return root

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.max_bytes = crawler.settings.getint("DOWNLOAD_MAXSIZE")
        return spider

    async def start(self) -> AsyncIterator[ArticleItem]:
        for local_file in iter_article_files(self.root):
            yield self.read_item(local_file)

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
            item.body = read_limited(local_file.path, self.max_bytes or 2**62)
        except FileTooLarge as error:
            item.read_error, item.read_error_detail = "too_large", str(error)
        except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as error:
            item.read_error, item.read_error_detail = (
                "unreadable",
                f"{type(error).__name__}: {error}",
            )
        return item
