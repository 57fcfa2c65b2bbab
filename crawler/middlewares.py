"""Downloader middlewares of the web spiders: address guard, incremental state, backoff.

- `PrivateAddressGuard` refuses non-http(s) URLs and, unless `ALLOW_PRIVATE_ADDRESSES`,
  hosts resolving to loopback, private, link-local or cloud-metadata addresses. It sees
  every request, followed redirects and robots.txt included, records each refusal in
  `rejects`, and records the redirects to other schemes that Scrapy declines to follow.
  Settings: `ALLOW_PRIVATE_ADDRESSES`, `DATABASE_URL`.
  Stats: `guard/refused`, `rejects/<reason>`.
- `IncrementalCrawlMiddleware` sends feeds and sitemaps with the validators of their
  last response (conditional GET), skips article URLs already stored unless their
  listing says they changed (marking the re-fetch, so storage keeps the old text as a
  revision if it changed), and remembers where each fetched URL was stored. A listing refused or cut off (its record
  dropped by the pipelines) has its validators forgotten, so the next run reads it whole
  instead of hearing "not modified". Settings: `CRAWL_INCREMENTAL`,
  `DATABASE_URL`. Stats: `incremental/skipped`, `incremental/refetched`,
  `incremental/not_modified`.
- `SharedRobotsTxtMiddleware` is Scrapy's `RobotsTxtMiddleware` with every request that
  waited for a site's robots.txt checked against it (in Scrapy 2.19 only the first
  waiter gets the parser; the others see None and go through unchecked).
  Settings: those of `RobotsTxtMiddleware`.
- `ContactUserAgentMiddleware` is Scrapy's `UserAgentMiddleware` with the contact URL
  always in the User-Agent, so `-s NEWSFOLD_CONTACT_URL=...` alone changes it.
  Settings: `USER_AGENT`, `NEWSFOLD_CONTACT_URL`.
- `BackoffRetryMiddleware` is Scrapy's `RetryMiddleware` that waits before each retry:
  what `Retry-After` asks for, else exponential backoff. Settings: those of
  `RetryMiddleware`, `RETRY_BACKOFF_BASE`, `RETRY_BACKOFF_MAX`, `RETRY_AFTER_MAX`.
  Stats: `retry/backoff_wait`, `retry/retry_after_too_long`.

The spiders mark requests with the meta keys below; the middlewares read only those.
"""

from __future__ import annotations

import ipaddress
import logging
from datetime import UTC, datetime
from typing import Any, Self
from urllib.parse import urljoin, urlsplit

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.downloadermiddlewares.useragent import UserAgentMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.robotstxt import RobotParser
from scrapy.settings import BaseSettings
from scrapy.statscollectors import StatsCollector
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.response import response_status_message
from twisted.internet.defer import Deferred
from twisted.internet.error import DNSLookupError

from crawler.fetching import (
    backoff_delay,
    forbidden_address,
    is_newer,
    retry_after_seconds,
    user_agent_with_contact,
)
from crawler.urls import WEB_SCHEMES, canonicalize_url, is_web_url
from pipelines.database_settings import database_url_from_settings
from storage.crawl_state import CrawlStateRepository, Validators
from storage.database import Database
from storage.repository import ArticleRepository

logger = logging.getLogger(__name__)

# Request meta keys set by the web spiders.
ROLE = "newsfold_role"  # "listing" (feed, sitemap, robots.txt) or "article"
CHANGED_AT = "newsfold_changed_at"  # the listing's lastmod/updated date of an article
HINTS = "newsfold_hints"  # the listing's fallback metadata for extraction
REQUESTED_URL = "newsfold_requested_url"  # the canonical URL first asked for
REFETCH = "newsfold_refetch"  # set here: a stored article fetched again because it changed


class RequestRefused(IgnoreRequest):
    """A request the guard would not send, with the rejects-table reason."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class PrivateAddressGuard:
    """Refuses requests that could reach the crawler's own network (SSRF)."""

    def __init__(
        self, allow_private_addresses: bool, database_url: str, stats: StatsCollector
    ) -> None:
        self.allow_private_addresses = allow_private_addresses
        self.database_url = database_url
        self.stats = stats
        self.database: Database | None = None
        self.repository: ArticleRepository | None = None
        self.source: str | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        guard = cls(
            crawler.settings.getbool("ALLOW_PRIVATE_ADDRESSES"),
            database_url_from_settings(crawler.settings),
            crawler.stats,
        )
        crawler.signals.connect(guard.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(guard.spider_closed, signal=signals.spider_closed)
        return guard

    def spider_opened(self, spider: Spider) -> None:
        self.source = spider.name
        self.database = Database(self.database_url)
        self.database.create_schema()
        self.repository = ArticleRepository(self.database)

    def spider_closed(self, spider: Spider) -> None:
        if self.database is not None:
            self.database.dispose()

    async def process_request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme.lower() not in WEB_SCHEMES:
            self.refuse(
                request.url,
                "forbidden_scheme",
                f"scheme {parts.scheme or '(none)'!r} is not http or https",
            )
        host = parts.hostname
        if not host:
            self.refuse(request.url, "forbidden_scheme", "URL has no host")
        assert host is not None
        if self.allow_private_addresses:
            return
        address = await self._resolve(host)
        if address is None:
            return  # unresolvable: the download fails on its own, through the same resolver
        why = forbidden_address(address)
        if why is not None:
            self.refuse(request.url, "private_address", f"{host} resolves to {address} ({why})")

    def process_response(self, request: Request, response: Response) -> Response:
        """Record a redirect to a non-web scheme, which Scrapy would drop without a trace."""
        location = response.headers.get(b"Location")
        if 300 <= response.status < 400 and location:
            target = urljoin(request.url, location.decode("latin-1").strip())
            scheme = urlsplit(target).scheme.lower()
            if scheme not in WEB_SCHEMES:
                self.refuse(
                    target, "forbidden_scheme", f"redirect from {request.url} to scheme {scheme!r}"
                )
        return response

    async def _resolve(self, host: str) -> str | None:
        """The address the downloader will connect to: Scrapy's caching resolver's answer."""
        try:
            ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            return host
        from twisted.internet import reactor

        try:
            address: str = await maybe_deferred_to_future(reactor.resolve(host))  # type: ignore[arg-type]
        except DNSLookupError:
            return None
        return address

    def refuse(self, url: str, reason: str, detail: str) -> None:
        """Count and record the refusal, then drop the request."""
        self.stats.inc_value("guard/refused")
        self.stats.inc_value(f"rejects/{reason}")
        logger.warning("Refused %s: %s", url, detail)
        if self.repository is not None:
            self.repository.record_rejection(url, reason, detail, self.source)
        raise RequestRefused(reason, detail)


class IncrementalCrawlMiddleware:
    """Fetches only what is new or changed since the last run, from database state."""

    def __init__(self, database_url: str, stats: StatsCollector) -> None:
        self.database_url = database_url
        self.stats = stats
        self.database: Database | None = None
        self.state: CrawlStateRepository | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("CRAWL_INCREMENTAL", True):
            raise NotConfigured("CRAWL_INCREMENTAL is off")
        assert crawler.stats is not None
        middleware = cls(database_url_from_settings(crawler.settings), crawler.stats)
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(middleware.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(middleware.item_dropped, signal=signals.item_dropped)
        return middleware

    def spider_opened(self, spider: Spider) -> None:
        self.database = Database(self.database_url)
        self.database.create_schema()
        self.state = CrawlStateRepository(self.database)

    def spider_closed(self, spider: Spider) -> None:
        if self.database is not None:
            self.database.dispose()

    def process_request(self, request: Request) -> None:
        if self.state is None:
            return
        role = request.meta.get(ROLE)
        if role == "listing":
            self._add_validators(request, self.state)
        elif role == "article":
            self._skip_if_stored(request, self.state)

    def process_response(self, request: Request, response: Response) -> Response:
        if self.state is None:
            return response
        role = request.meta.get(ROLE)
        if role == "listing" and response.status == 304:
            self.stats.inc_value("incremental/not_modified")
        elif role == "listing" and response.status == 200:
            etag = _header(response, b"ETag")
            last_modified = _header(response, b"Last-Modified")
            if etag or last_modified:
                self.state.keep_listing_validators(request.url, Validators(etag, last_modified))
        return response

    def item_scraped(self, item: Any, response: Response | None, spider: Spider) -> None:
        """Remember which URL a fetched article was stored under, and for which listing date."""
        if self.state is None or response is None or response.meta.get(ROLE) != "article":
            return
        stored_url = getattr(item, "url", None)
        if not stored_url:
            return
        requested = response.meta.get(REQUESTED_URL) or canonicalize_url(response.url)
        self.state.record_fetch(requested, stored_url, response.meta.get(CHANGED_AT))

    def item_dropped(self, item: Any, response: Any, spider: Spider) -> None:
        """Forget the validators of a listing whose refusal (unreadable, cut off) was dropped.

        The only items a listing's response yields are such records; a conditional GET
        next time would get 304 for a document that was never read whole. (Items made by
        an errback come with the download's Failure instead of a response.)
        """
        if self.state is None or not isinstance(response, Response):
            return
        if response.meta.get(ROLE) != "listing":
            return
        self.state.keep_listing_validators(response.url, Validators(None, None))

    def _add_validators(self, request: Request, state: CrawlStateRepository) -> None:
        validators = state.listing_validators(request.url)
        if validators is None:
            return
        if validators.etag and b"If-None-Match" not in request.headers:
            request.headers[b"If-None-Match"] = validators.etag
        if validators.last_modified and b"If-Modified-Since" not in request.headers:
            request.headers[b"If-Modified-Since"] = validators.last_modified

    def _skip_if_stored(self, request: Request, state: CrawlStateRepository) -> None:
        request.meta.setdefault(REQUESTED_URL, canonicalize_url(request.url))
        if REFETCH in request.meta:
            return  # decided on the first attempt; this is a retry or a redirect
        page = state.stored_page(canonicalize_url(request.url))
        if not page.stored:
            request.meta[REFETCH] = False
            return
        changed_at = request.meta.get(CHANGED_AT)
        if is_newer(changed_at, page.listed_changed_at or page.fetched_at):
            request.meta[REFETCH] = True
            self.stats.inc_value("incremental/refetched")
            logger.info(
                "Fetching %s again: its listing says it changed at %s", request.url, changed_at
            )
            return
        self.stats.inc_value("incremental/skipped")
        raise IgnoreRequest(f"already stored: {request.url}")


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """RobotsTxtMiddleware whose parser reaches every request that waited for it."""

    async def robot_parser(self, request: Request) -> RobotParser | None:
        parser = await super().robot_parser(request)
        if parser is not None:
            return parser
        # Awaiting the shared Deferred hands its result to the first waiter only; by now
        # the parser (or None, when robots.txt could not be fetched) is stored by host.
        stored = self._parsers.get(urlparse_cached(request).netloc)
        return None if isinstance(stored, Deferred) else stored


class ContactUserAgentMiddleware(UserAgentMiddleware):
    """Sends a User-Agent naming `NEWSFOLD_CONTACT_URL`, where site operators reach us."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        contact_url = str(crawler.settings.get("NEWSFOLD_CONTACT_URL") or "")
        if not is_web_url(contact_url):
            raise ValueError(
                f"NEWSFOLD_CONTACT_URL must be an http(s) URL where site operators can reach "
                f"whoever runs the crawl, not {contact_url!r}"
            )
        user_agent = user_agent_with_contact(
            str(crawler.settings.get("USER_AGENT") or "newsfold"), contact_url
        )
        middleware = cls(user_agent)
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        return middleware


class BackoffRetryMiddleware(RetryMiddleware):
    """RetryMiddleware that waits before retrying, honouring `Retry-After`."""

    def __init__(
        self,
        settings: BaseSettings,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        retry_after_max: float = 300.0,
    ) -> None:
        super().__init__(settings)
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.retry_after_max = retry_after_max

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        backoff_base = settings.getfloat("RETRY_BACKOFF_BASE", 1.0)
        backoff_max = settings.getfloat("RETRY_BACKOFF_MAX", 60.0)
        retry_after_max = settings.getfloat("RETRY_AFTER_MAX", 300.0)
        for name, value in (
            ("RETRY_BACKOFF_BASE", backoff_base),
            ("RETRY_BACKOFF_MAX", backoff_max),
            ("RETRY_AFTER_MAX", retry_after_max),
        ):
            if value < 0:
                raise ValueError(f"{name} must be 0 or more seconds, not {value}")
        middleware = cls(settings, backoff_base, backoff_max, retry_after_max)
        middleware.crawler = crawler
        return middleware

    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        wait = retry_after_seconds(response.headers.get(b"Retry-After"), datetime.now(UTC))
        if wait is not None and wait > self.retry_after_max:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("retry/retry_after_too_long")
            logger.info("Not retrying %s: Retry-After asks for %.0f s", request.url, wait)
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        await self._wait(wait if wait is not None else self._backoff(retry))
        return retry

    async def process_exception(  # type: ignore[override]
        self, request: Request, exception: Exception, spider: Spider | None = None
    ) -> Request | Response | None:
        retry = super().process_exception(request, exception)
        if isinstance(retry, Request):
            await self._wait(self._backoff(retry))
        return retry

    def _backoff(self, retry: Request) -> float:
        return backoff_delay(
            int(retry.meta.get("retry_times", 1)), self.backoff_base, self.backoff_max
        )

    async def _wait(self, seconds: float) -> None:
        if seconds <= 0:
            return
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("retry/backoff_wait")
        from twisted.internet import reactor
        from twisted.internet.task import deferLater

        await maybe_deferred_to_future(deferLater(reactor, seconds, lambda: None))


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
