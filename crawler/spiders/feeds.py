"""Spider `feeds`: RSS 0.9x/1.0/2.0, Atom and JSON feeds, and the articles they list.

Usage: `scrapy crawl feeds -a url=FEED_URL` or `-a path=FILE` (one feed URL a line;
default `seeds/feeds.txt`). Feeds are fetched with conditional GET (validators kept in
the database by `IncrementalCrawlMiddleware`); each entry's title, date and authors
travel with its article request as fallbacks with provenance `feed`.

A feed that cannot be read (`unreadable_listing`) or that declares XML entities
(`xml_entities`) is refused and recorded in `rejects`; one cut off short is recorded as
`listing_truncated` and its complete entries are still fetched.

Stats: `feeds/parsed`, `feeds/entries`, `feeds/not_modified`, `feeds/unreadable`,
`feeds/truncated`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

from scrapy import Request
from scrapy.http import Response

from crawler.items import ArticleItem
from crawler.listings import ListingError, parse_feed
from crawler.webspider import WebSpider

logger = logging.getLogger(__name__)


class FeedsSpider(WebSpider):
    """Reads feeds and fetches the articles they list."""

    name = "feeds"
    default_seed_file = "seeds/feeds.txt"
    usage = "-a url=FEED_URL or -a path=FILE (one feed URL a line)"

    async def start(self) -> AsyncIterator[Request]:
        for url in self.targets:
            yield self.listing_request(url, self.parse_feed)

    def parse_feed(self, response: Response) -> Iterator[Request | ArticleItem]:
        """Article requests for the entries of one feed; the refusal of a bad one."""
        assert self.crawler.stats is not None
        if response.status == 304:
            self.crawler.stats.inc_value("feeds/not_modified")
            logger.info("Feed not modified since the last run: %s", response.url)
            return
        try:
            document = parse_feed(response.body, response.url)
        except ListingError as error:
            yield self.refused_listing(response.url, error.reason, str(error))
            return
        self.crawler.stats.inc_value("feeds/parsed")
        self.crawler.stats.inc_value("feeds/entries", len(document.articles))
        if document.truncated:
            yield self.cut_off_listing(response.url, len(document.articles), document.truncated)
        yield from self.article_requests(list(document.articles), response.url)
