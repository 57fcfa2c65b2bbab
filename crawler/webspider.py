"""The shared part of the web spiders: their arguments, article requests, article pages.

A web spider takes `-a url=URL` or `-a path=FILE` (one URL a line, `#` comments);
every URL is canonicalised (`crawler.urls`) before it is requested. Article requests
carry the listing's change date and fallback metadata in their meta (keys in
`crawler.middlewares`); an article response becomes an `ArticleItem` stored under its
canonical URL, and an AMP page is swapped for the canonical page it names.

Stats: `web/articles_fetched`, `web/amp_resolved`, `web/bad_url`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from scrapy import Request, Spider
from scrapy.exceptions import UsageError
from scrapy.http import Response, TextResponse

from crawler.guards import refused_document, truncated_listing
from crawler.items import ArticleItem
from crawler.listings import ListedArticle
from crawler.middlewares import CHANGED_AT, HINTS, REFETCH, REQUESTED_URL, ROLE
from crawler.urls import canonicalize_url, is_amp_page, is_web_url, resolve_canonical

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_CANONICAL_LINK = (
    "//link[contains(concat(' ', normalize-space(translate(@rel, 'CANONICAL', 'canonical')), ' '),"
    " ' canonical ')]/@href"
)
_AMP_HOPS = "newsfold_amp_hops"


def read_url_list(path: Path) -> list[str]:
    """The URLs in a seed file: one a line, blank lines and `#` comments ignored.

    Raises:
        UsageError: the file cannot be read, holds a line that is not an http(s) URL,
            or holds no URL at all.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {path}: {error}") from error
    urls = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if not is_web_url(text):
            raise UsageError(f"{path}:{number}: not an http(s) URL: {text!r}")
        urls.append(text)
    if not urls:
        raise UsageError(f"{path}: no URLs in the file")
    return urls


class WebSpider(Spider):
    """Base of the spiders that fetch from the web."""

    # The seed file read when neither `url` nor `path` is given; None makes one required.
    default_seed_file: ClassVar[str | None] = None
    usage: ClassVar[str] = "-a url=URL or -a path=FILE"

    def __init__(self, url: str | None = None, path: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.targets = self.check_arguments(url=url, path=path)

    @classmethod
    def check_arguments(
        cls, url: str | None = None, path: str | None = None, **_other: Any
    ) -> list[str]:
        """The canonical start URLs; raises UsageError for a missing or bad argument."""
        if url and path:
            raise UsageError(f"spider {cls.name!r} takes {cls.usage}, not both")
        if url:
            if not is_web_url(url):
                raise UsageError(f"not an http(s) URL: {url!r}")
            urls = [url]
        elif path or cls.default_seed_file:
            seed_file = (
                Path(path).expanduser() if path else PROJECT_ROOT / str(cls.default_seed_file)
            )
            urls = read_url_list(seed_file)
        else:
            raise UsageError(f"spider {cls.name!r} needs {cls.usage}")
        return list(dict.fromkeys(canonicalize_url(u) for u in urls))

    def listing_request(self, url: str, callback: Any, **meta: Any) -> Request:
        """A request for a feed, sitemap or robots.txt; a 304 reaches the callback."""
        return Request(
            url,
            callback=callback,
            meta={ROLE: "listing", "handle_httpstatus_list": [304], **meta},
        )

    def refused_listing(self, url: str, reason: str, detail: str) -> ArticleItem:
        """The `rejects` record of a feed or sitemap refused whole, counted
        (`<spider>/unreadable`) and logged."""
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"{self.name}/unreadable")
        logger.warning("Refused listing %s (%s): %s", url, reason, detail)
        return refused_document(url, self.name, reason, detail)

    def cut_off_listing(self, url: str, used: int, how: str) -> ArticleItem:
        """The `listing_truncated` record of a feed or sitemap cut off short, whose `used`
        complete entries are still followed; counted (`<spider>/truncated`) and logged."""
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"{self.name}/truncated")
        logger.warning(
            "Listing %s is cut off, following its %d complete entries: %s", url, used, how
        )
        return truncated_listing(url, self.name, used, how)

    def article_requests(self, listed: list[ListedArticle], listing_url: str) -> Iterator[Request]:
        """Requests for the articles a listing names, canonical URLs, with its metadata."""
        assert self.crawler.stats is not None
        for article in listed:
            url = canonicalize_url(article.url)
            try:
                yield Request(
                    url,
                    callback=self.parse_article,
                    meta={
                        ROLE: "article",
                        CHANGED_AT: article.changed_at,
                        HINTS: {**article.hints(), "listed_in": listing_url},
                    },
                )
            except ValueError:
                self.crawler.stats.inc_value("web/bad_url")
                logger.info("Skipped a bad article URL in %s: %r", listing_url, article.url)

    def parse_article(self, response: Response) -> Iterator[ArticleItem | Request]:
        """The article item of a fetched page, or a request for the page an AMP page stands for."""
        assert self.crawler.stats is not None
        is_html = isinstance(response, TextResponse) and b"html" in (
            response.headers.get(b"Content-Type") or b"html"
        )
        declared = response.xpath(_CANONICAL_LINK).get() if is_html else None
        is_amp = is_html and is_amp_page(response.body)
        resolution = resolve_canonical(response.url, declared, is_amp)
        if resolution.fetch_url is not None and not response.meta.get(_AMP_HOPS):
            self.crawler.stats.inc_value("web/amp_resolved")
            meta = {
                key: response.meta[key]
                for key in (ROLE, CHANGED_AT, HINTS, REQUESTED_URL)
                if key in response.meta
            }
            yield Request(
                resolution.fetch_url, callback=self.parse_article, meta={**meta, _AMP_HOPS: 1}
            )
            return
        self.crawler.stats.inc_value("web/articles_fetched")
        now = datetime.now(UTC)
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        charset = _CHARSET.search(content_type)
        yield ArticleItem(
            url=resolution.store_url,
            body=response.body,
            fetched_at=now,
            source=self.name,
            observed_at=now,
            content_type=content_type.split(";", 1)[0].strip().lower() or None,
            declared_charset=charset.group(1) if charset else None,
            hints=dict(response.meta.get(HINTS) or {}),
            refetch_reason="listing_changed" if response.meta.get(REFETCH) else None,
        )
