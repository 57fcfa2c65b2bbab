"""Spider `sitemap`: sitemaps, sitemap indexes and robots.txt `Sitemap:` lines.

Usage: `scrapy crawl sitemap -a url=URL` (a sitemap, an index or a site's robots.txt)
or `-a path=FILE` (one such URL a line; default `seeds/sitemaps.txt`). Gzipped sitemaps
are inflated within `DOWNLOAD_MAXSIZE`; `lastmod` marks an article as changed, and
Google News fields (`news:title`, `news:publication_date`, language) travel with its
request as fallbacks with provenance `sitemap`.

A sitemap that cannot be read or inflated (`unreadable_listing`) or that declares XML
entities (`xml_entities`) is refused and recorded in `rejects`; one cut off short is
recorded as `listing_truncated` and its complete entries are still followed.

Settings: `DOWNLOAD_MAXSIZE`, `SITEMAP_MAX_DEPTH`.
Stats: `sitemap/parsed`, `sitemap/entries`, `sitemap/not_modified`, `sitemap/unreadable`,
`sitemap/truncated`, `sitemap/too_deep`.
"""

from __future__ import annotations

import logging
import struct
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any, Self
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import sitemap_urls_from_robots

from crawler.items import ArticleItem
from crawler.listings import ListingError, parse_sitemap
from crawler.urls import canonicalize_url
from crawler.webspider import WebSpider

logger = logging.getLogger(__name__)

_DEPTH = "newsfold_sitemap_depth"
_GZIP_MAGIC = b"\x1f\x8b"


class SitemapSpider(WebSpider):
    """Walks sitemaps down to the articles they list."""

    name = "sitemap"
    default_seed_file = "seeds/sitemaps.txt"
    usage = "-a url=SITEMAP_OR_ROBOTS_URL or -a path=FILE (one URL a line)"

    def __init__(self, url: str | None = None, path: str | None = None, **kwargs: Any) -> None:
        super().__init__(url=url, path=path, **kwargs)
        self.max_bytes = 0
        self.max_depth = 3

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.max_bytes = crawler.settings.getint("DOWNLOAD_MAXSIZE")
        spider.max_depth = crawler.settings.getint("SITEMAP_MAX_DEPTH", 3)
        if spider.max_depth < 0:
            raise ValueError(f"SITEMAP_MAX_DEPTH must be 0 or more, not {spider.max_depth}")
        return spider

    async def start(self) -> AsyncIterator[Request]:
        for url in self.targets:
            if urlsplit(url).path == "/robots.txt":
                yield self.listing_request(url, self.parse_robots)
            else:
                yield self.listing_request(url, self.parse_sitemap, **{_DEPTH: 0})

    def parse_robots(self, response: Response) -> Iterator[Request]:
        """Requests for the sitemaps a robots.txt names."""
        if response.status == 304 or not isinstance(response, TextResponse):
            return
        for url in sitemap_urls_from_robots(response.text, base_url=response.url):
            yield self.listing_request(canonicalize_url(url), self.parse_sitemap, **{_DEPTH: 0})

    def parse_sitemap(self, response: Response) -> Iterator[Request | ArticleItem]:
        """Requests for an index's sitemaps, or for a urlset's articles; a bad one's refusal."""
        stats = self.crawler.stats
        assert stats is not None
        if response.status == 304:
            stats.inc_value("sitemap/not_modified")
            return
        try:
            document = parse_sitemap(self._inflate(response.body), response.url)
        except ListingError as error:
            yield self.refused_listing(response.url, error.reason, str(error))
            return
        except (ValueError, OSError, EOFError, struct.error, zlib.error) as error:
            # ValueError: Scrapy's gunzip refusing to inflate past DOWNLOAD_MAXSIZE.
            reason = "too_large" if isinstance(error, ValueError) else "unreadable_listing"
            yield self.refused_listing(response.url, reason, f"gzip: {error}")
            return
        stats.inc_value("sitemap/parsed")
        if document.truncated:
            found = len(document.sitemaps) + len(document.articles)
            yield self.cut_off_listing(response.url, found, document.truncated)
        depth = int(response.meta.get(_DEPTH, 0))
        if document.kind == "sitemapindex":
            if depth >= self.max_depth:
                stats.inc_value("sitemap/too_deep")
                logger.warning(
                    "Not following sitemap index %s: deeper than %d", response.url, self.max_depth
                )
                return
            for url in document.sitemaps:
                yield self.listing_request(
                    canonicalize_url(url), self.parse_sitemap, **{_DEPTH: depth + 1}
                )
            return
        stats.inc_value("sitemap/entries", len(document.articles))
        yield from self.article_requests(list(document.articles), response.url)

    def _inflate(self, body: bytes) -> bytes:
        """The sitemap's XML, gunzipped within DOWNLOAD_MAXSIZE when it is a .gz file."""
        if not body.startswith(_GZIP_MAGIC):
            return body
        return gunzip(body, max_size=self.max_bytes)
