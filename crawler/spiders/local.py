"""What the spiders reading local input (`files`, `warc`) share.

Both take `-a path=FILE_OR_DIR`, checked before the crawl starts, and read far faster
than the pipelines extract: each pauses while `CONCURRENT_ITEMS` items are still in the
item pipelines (`crawler.backpressure.ItemsInFlight`), so memory does not grow with the
input. Once the input is read, `start()` ends only when the pipelines are done with its
items: Scrapy then sees the spider idle and closes it at once, instead of at its next
idle check (every 5 seconds).

Settings: `DOWNLOAD_MAXSIZE`, `CONCURRENT_ITEMS`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Self

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import UsageError

from crawler.backpressure import ItemsInFlight

# Seconds without any item leaving the pipelines after which `start()` stops waiting for
# them and leaves the end of the run to Scrapy's own idle check.
_DRAIN_STALL_SECONDS = 60.0


class LocalInputSpider(Spider):
    """Base of the spiders that read a file or folder given as `-a path=...`."""

    custom_settings = {"ROBOTSTXT_OBEY": False}
    # What `path` names, for the error when it is missing ("DIR_OR_FILE", ...).
    path_help: ClassVar[str] = "FILE_OR_DIR"

    def __init__(self, path: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.root = self.check_arguments(path=path)
        self.max_bytes = 2**62
        self.in_flight = ItemsInFlight(100)

    @classmethod
    def check_arguments(cls, path: str | None = None, **_other: Any) -> Path:
        """The file or folder to read; raises UsageError naming a missing `path`."""
        if not path:
            raise UsageError(f"spider {cls.name!r} needs -a path={cls.path_help}")
        root = Path(path).expanduser()
        if not root.exists():
            raise UsageError(f"path not found: {path}")
        return root

    async def pipelines_drained(self) -> None:
        """Wait until the item pipelines are done with every item handed on."""
        await self.in_flight.drained(_DRAIN_STALL_SECONDS)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.max_bytes = crawler.settings.getint("DOWNLOAD_MAXSIZE") or 2**62
        spider.in_flight = ItemsInFlight(crawler.settings.getint("CONCURRENT_ITEMS"))
        for item_end in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(spider.in_flight.item_left, signal=item_end)
        return spider
