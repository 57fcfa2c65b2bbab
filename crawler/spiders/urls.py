"""Spider `urls`: article pages named directly.

Usage: `scrapy crawl urls -a url=ARTICLE_URL` or `-a path=FILE` (one URL a line).
Every URL is canonicalised, checked against what is stored (incremental) and fetched
politely; each page becomes an `ArticleItem`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from scrapy import Request

from crawler.listings import ListedArticle
from crawler.webspider import WebSpider


class UrlsSpider(WebSpider):
    """Fetches a list of article URLs."""

    name = "urls"
    usage = "-a url=ARTICLE_URL or -a path=FILE (one URL a line)"

    async def start(self) -> AsyncIterator[Request]:
        for request in self.article_requests(
            [ListedArticle(url, "feed") for url in self.targets], "arguments"
        ):
            yield request
