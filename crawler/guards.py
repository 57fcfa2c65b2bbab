"""Guards of the web spiders against hostile servers, and of the logs against secrets.

- `DownloadFailureRecorder` (spider middleware) gives every request of a spider an
  errback. A download that ends without a response the spider can use (timeout, DNS
  failure, refused or lost connection, a body over `DOWNLOAD_MAXSIZE`, a decompression
  bomb, a redirect loop) becomes an `ArticleItem` carrying the reason as its read error,
  so extraction rejects it and storage records it in `rejects` like any refused item.
  Refusals already recorded (the address guard), robots.txt blocks, stored articles
  skipped and HTTP error statuses are left to their own components. A gzipped listing
  (a `sitemap.xml.gz` served without `Content-Encoding`) that inflates past
  `DOWNLOAD_MAXSIZE` is refused before the spider inflates it.
  Settings: `DOWNLOAD_MAXSIZE`. Stats: `guard/download_failed/<reason>`, and through
  the pipelines `rejects/<reason>`.
- `refused_document` and `truncated_listing` build the item standing for a document
  refused before extraction (a failed download, an unreadable, hostile or cut-off feed
  or sitemap), which the pipelines record in `rejects` like any refused item.
- `RedirectLoopGuard` (downloader middleware) refuses a redirect back to a URL of its
  own chain, which Scrapy's duplicate filter would drop without a trace; a chain of
  ever new URLs ends at `REDIRECT_MAX_TIMES`, recorded by `DownloadFailureRecorder`.
  Stats: `guard/redirect_loop`.
- `CrossHostHeaderGuard` (downloader middleware) drops `Authorization` and `Cookie`
  headers from a redirected request that left the origin of the first request, after
  `DefaultHeadersMiddleware` has set them again (Scrapy's `RedirectMiddleware` drops
  them, but each hop goes through every middleware anew). Cookies the cookie jar holds
  for the new host are added afterwards by `CookiesMiddleware`, as usual.
  Stats: `guard/credentials_stripped`.
- `OfflineCookiesMiddleware` (downloader middleware) is Scrapy's `CookiesMiddleware`
  judging cookie domains with the public suffix list bundled with tldextract: Scrapy's
  own makes tldextract fetch the list from publicsuffix.org the first time a response
  sets a cookie, a request nobody asked for that leaves the crawl's allowed hosts.
  Settings: those of `CookiesMiddleware`.
- `JobDirResumeGuard` (extension, with `JOBDIR`) starts over a job whose last crawl did
  not close (`kill -9`, a crash): Scrapy saves the request queue only on a clean close
  but writes seen-request fingerprints as it goes, so resuming such a job would skip,
  as already seen, requests that are in no queue, and lose their articles. The job's
  saved state is discarded and the crawl starts again from its seeds; the database
  (upserts by URL, stored articles skipped) makes that a resume. A job paused cleanly
  (SIGINT, once or twice) resumes from its queue as Scrapy documents.
  Settings: `JOBDIR`. Stats: `guard/jobdir_discarded`.
- `SecretRedaction` (extension) takes URL passwords, the database password and proxy
  credentials out of every log record while the crawl runs.
  Settings: `DATABASE_URL`, `SAFETY_REDACT_LOGS`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import urllib.request
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime
from http.cookiejar import Cookie
from pathlib import Path
from typing import Any, Self
from urllib.parse import urldefrag, urljoin

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.cookies import CookiesMiddleware
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    NotConfigured,
    ResponseDataLossError,
)
from scrapy.http import Response
from scrapy.http.cookies import CookieJar
from scrapy.statscollectors import StatsCollector
from scrapy.utils.httpobj import urlparse_cached
from tldextract import TLDExtract
from twisted.internet import defer
from twisted.internet import error as twisted_errors
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseFailed, ResponseNeverReceived

from crawler.items import ArticleItem
from crawler.safety import (
    GZIP_MAGIC,
    crosses_origin,
    gzip_inflates_beyond,
    redact_secrets,
    url_secrets,
)
from crawler.urls import canonicalize_url
from pipelines.database_settings import database_url_from_settings

logger = logging.getLogger(__name__)

# The spider attribute under which the errback is reachable, so JOBDIR can store requests.
ERRBACK_ATTRIBUTE = "newsfold_download_failed"
# Request meta roles (`crawler.middlewares.ROLE`) whose responses are listings.
_ROLE = "newsfold_role"
_DETAIL_LIMIT = 500
# The file in a JOBDIR that says a crawl is using it; left behind, the crawl did not close.
JOBDIR_IN_USE_MARKER = "newsfold.running"
# What Scrapy saves in a JOBDIR: seen fingerprints, the request queue, the spider's state.
_JOBDIR_STATE = ("requests.seen", "requests.queue", "spider.state")


class RefusedResponse(IgnoreRequest):
    """A response a guard would not hand to the spider, with its rejects-table reason."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


# Reasons of requests that got no response at all (counted per site as download failures).
NO_RESPONSE_REASONS = frozenset(
    {"download_timeout", "dns_failure", "connection_failed", "connection_lost", "download_failed"}
)


def download_failure_reason(exception: BaseException) -> str | None:
    """The rejects-table reason for a failed download, or None when it is not ours to record."""
    if isinstance(exception, RefusedResponse):
        return exception.reason
    if isinstance(exception, IgnoreRequest):
        message = str(exception)
        if "DOWNLOAD_MAXSIZE" in message:
            return "too_large"  # HttpCompressionMiddleware: a decompression bomb
        if "max redirections" in message:
            return "redirect_loop"
        return None  # address guard (recorded), robots.txt, stored articles, HTTP errors
    if isinstance(
        exception, DownloadTimeoutError | twisted_errors.TimeoutError | defer.TimeoutError
    ):
        return "download_timeout"
    if isinstance(exception, CannotResolveHostError | twisted_errors.DNSLookupError):
        return "dns_failure"
    if isinstance(exception, DownloadCancelledError | defer.CancelledError):
        return "too_large"  # the download handler cancels a body over DOWNLOAD_MAXSIZE
    if isinstance(
        exception,
        DownloadConnectionRefusedError
        | twisted_errors.ConnectionRefusedError
        | twisted_errors.ConnectError,
    ):
        return "connection_failed"
    if isinstance(
        exception,
        ResponseDataLossError
        | ResponseNeverReceived
        | ResponseFailed
        | twisted_errors.ConnectionLost
        | twisted_errors.ConnectionDone,
    ):
        return "connection_lost"
    return "download_failed"


def refused_document(url: str, source: str, reason: str, detail: str) -> ArticleItem:
    """The item standing for a document refused before extraction, for `rejects`.

    Extraction rejects it with `reason` and storage records it, as it does every refused
    item; URL passwords are masked in the URL and the detail.
    """
    safe_url = redact_secrets(url)
    with contextlib.suppress(ValueError):  # an odd URL is recorded as it was asked for
        safe_url = canonicalize_url(safe_url)
    return ArticleItem(
        url=safe_url,
        body=None,
        fetched_at=datetime.now(UTC),
        source=source,
        read_error=reason,
        read_error_detail=redact_secrets(detail)[:_DETAIL_LIMIT],
    )


def truncated_listing(url: str, source: str, used: int, how: str) -> ArticleItem:
    """The `listing_truncated` record of a feed or sitemap cut off short.

    The complete entries before the cut are used all the same; the record says how many,
    so a listing that keeps arriving cut off (or yields nothing) shows in `rejects`.
    """
    return refused_document(
        url, source, "listing_truncated", f"{used} complete entries used; {how}"
    )


class DownloadFailureRecorder:
    """Turns failed downloads into rejected items, so each is recorded with its reason."""

    def __init__(self, max_bytes: int, source: str, stats: StatsCollector) -> None:
        self.max_bytes = max_bytes
        self.source = source
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        spider = crawler.spider
        recorder = cls(
            crawler.settings.getint("DOWNLOAD_MAXSIZE"),
            str(getattr(spider, "name", None) or "web"),
            crawler.stats,
        )
        if spider is not None:
            # Found by name on the spider, the errback survives JOBDIR's request queues.
            setattr(spider, ERRBACK_ATTRIBUTE, recorder.download_failed)
        return recorder

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for request_or_item in start:
            yield self._with_errback(request_or_item)

    def process_spider_output(
        self, response: Response, result: Iterable[Any], spider: Spider | None = None
    ) -> Iterator[Any]:
        for request_or_item in result:
            yield self._with_errback(request_or_item)

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any], spider: Spider | None = None
    ) -> AsyncIterator[Any]:
        async for request_or_item in result:
            yield self._with_errback(request_or_item)

    def process_spider_input(self, response: Response, spider: Spider | None = None) -> None:
        """Refuse a gzipped listing that would inflate past DOWNLOAD_MAXSIZE."""
        if response.meta.get(_ROLE) != "listing" or not response.body.startswith(GZIP_MAGIC):
            return
        limit = self.max_bytes or 2**62
        inflated = gzip_inflates_beyond(response.body, limit)
        if inflated is not None:
            raise RefusedResponse(
                "too_large",
                f"{len(response.body)} B of gzip inflate past DOWNLOAD_MAXSIZE ({limit} B)",
            )

    def download_failed(self, failure: Failure) -> list[ArticleItem]:
        """The rejected item standing for a failed download; other failures are raised again.

        Raising what is not ours hands it back to Scrapy as if there were no errback:
        `HttpErrorMiddleware` still logs and counts error statuses, and other refusals
        stay silent.
        """
        request = getattr(failure, "request", None)
        reason = download_failure_reason(failure.value) if failure.value is not None else None
        if reason is None or request is None:
            failure.raiseException()
        first_url = (request.meta.get("redirect_urls") or [request.url])[0]
        refusal = refused_document(
            first_url, self.source, reason, f"{type(failure.value).__name__}: {failure.value}"
        )
        self.stats.inc_value(f"guard/download_failed/{reason}")
        # As Scrapy logs a failed download: an error, unless a middleware refused it.
        level = logging.WARNING if isinstance(failure.value, IgnoreRequest) else logging.ERROR
        logger.log(
            level, "Download of %s failed (%s): %s", refusal.url, reason, refusal.read_error_detail
        )
        return [refusal]

    def _with_errback(self, request_or_item: Any) -> Any:
        if isinstance(request_or_item, Request) and request_or_item.errback is None:
            request_or_item.errback = self.download_failed
        return request_or_item


class RedirectLoopGuard:
    """Refuses a redirect that leads back into its own chain."""

    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        return cls(crawler.stats)

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        location = response.headers.get(b"Location")
        if not (300 <= response.status < 400 and location) or request.meta.get("dont_redirect"):
            return response
        target = urldefrag(urljoin(request.url, location.decode("latin-1").strip()))[0]
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if target in {urldefrag(url)[0] for url in chain}:
            self.stats.inc_value("guard/redirect_loop")
            raise RefusedResponse(
                "redirect_loop", f"{request.url} redirects back to {target} ({len(chain)} hops)"
            )
        return response


class CrossHostHeaderGuard:
    """Keeps `Authorization` and `Cookie` headers from following a redirect to another host."""

    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        return cls(crawler.stats)

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        redirect_urls = request.meta.get("redirect_urls")
        if not redirect_urls:
            return
        for header in ("Authorization", "Cookie"):
            if header in request.headers and crosses_origin(redirect_urls[0], request.url, header):
                del request.headers[header]
                self.stats.inc_value("guard/credentials_stripped")
                logger.info("Dropped the %s header redirecting to %s", header, request.url)


class OfflineCookiesMiddleware(CookiesMiddleware):
    """CookiesMiddleware that never fetches the public suffix list: it uses the bundled one."""

    def __init__(self, debug: bool = False) -> None:
        super().__init__(debug)
        # No cache and no URLs: tldextract reads the snapshot shipped with it, nothing else.
        self.public_suffixes = TLDExtract(
            cache_dir=None, suffix_list_urls=(), include_psl_private_domains=True
        )

    def is_public_domain(self, domain: str) -> bool:
        """Whether `domain` is a public suffix (`co.uk`, `github.io`), where no cookie may live."""
        return not self.public_suffixes(domain).domain

    def _process_cookies(
        self, cookies: Iterable[Cookie], *, jar: CookieJar, request: Request
    ) -> None:
        # Scrapy's own (2.19), with the public-suffix check above instead of its module's.
        for cookie in cookies:
            cookie_domain = cookie.domain.removeprefix(".")
            hostname = urlparse_cached(request).hostname
            if hostname is None:
                continue
            request_domain = hostname.lower()
            if cookie_domain and self.is_public_domain(cookie_domain):
                if cookie_domain != request_domain:
                    continue
                cookie.domain = request_domain
            jar.set_cookie_if_ok(cookie, request)


def discard_unclosed_job_state(jobdir: Path) -> list[str]:
    """Remove the saved state of a job whose last crawl did not close; the names removed.

    A job is unclosed when its in-use marker is still there. Its state is left alone
    otherwise (a fresh job, or one paused cleanly).
    """
    if not (jobdir / JOBDIR_IN_USE_MARKER).exists():
        return []
    removed = []
    for name in _JOBDIR_STATE:
        path = jobdir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        else:
            continue
        removed.append(name)
    (jobdir / JOBDIR_IN_USE_MARKER).unlink()
    return removed


class JobDirResumeGuard:
    """Starts a `JOBDIR` job over when its last crawl was killed, so no request is lost."""

    def __init__(self, jobdir: Path, stats: StatsCollector) -> None:
        self.jobdir = jobdir
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        jobdir = crawler.settings.get("JOBDIR")
        if not jobdir:
            raise NotConfigured("no JOBDIR")
        assert crawler.stats is not None
        guard = cls(Path(jobdir), crawler.stats)
        # Now, before the engine builds the scheduler, which reads the saved state.
        guard.discard_state_of_unclosed_crawl()
        crawler.signals.connect(guard.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(guard.spider_closed, signal=signals.spider_closed)
        return guard

    def discard_state_of_unclosed_crawl(self) -> None:
        """Remove the job's state if its last crawl never closed, and say so."""
        removed = discard_unclosed_job_state(self.jobdir)
        if removed:
            self.stats.inc_value("guard/jobdir_discarded")
            logger.warning(
                "JOBDIR %s is left from a crawl that did not close (killed?): its request "
                "queue is lost, so its saved state (%s) is discarded and the crawl starts "
                "over; articles already stored are skipped",
                self.jobdir,
                ", ".join(removed),
            )

    def spider_opened(self, spider: Spider) -> None:
        self.jobdir.mkdir(parents=True, exist_ok=True)
        (self.jobdir / JOBDIR_IN_USE_MARKER).write_text(f"{os.getpid()}\n", encoding="ascii")

    def spider_closed(self, spider: Spider) -> None:
        """The scheduler has saved its queue by now (it closes before this signal)."""
        (self.jobdir / JOBDIR_IN_USE_MARKER).unlink(missing_ok=True)


class _RedactingFilter(logging.Filter):
    """Rewrites each record's message with its secrets masked."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__("newsfold.redaction")
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        redacted = redact_secrets(message, self.secrets)
        exc_text = redact_secrets(record.exc_text, self.secrets) if record.exc_text else None
        if redacted != message or exc_text != record.exc_text:
            record.msg, record.args = redacted, ()
            record.exc_text = exc_text
        return True


class SecretRedaction:
    """Masks URL passwords, the database password and proxy credentials in every log line."""

    def __init__(self, secrets: list[str]) -> None:
        self.filter = _RedactingFilter(secrets)
        self.handlers: list[logging.Handler] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("SAFETY_REDACT_LOGS", True):
            raise NotConfigured("SAFETY_REDACT_LOGS is off")
        secrets = url_secrets(database_url_from_settings(crawler.settings))
        for proxy_url in urllib.request.getproxies().values():
            secrets.extend(url_secrets(proxy_url))
        extension = cls(secrets)
        extension.install(logging.getLogger())
        crawler.signals.connect(extension.engine_stopped, signal=signals.engine_stopped)
        return extension

    def install(self, root: logging.Logger) -> None:
        """Filter every handler of `root` (Scrapy's log handler among them)."""
        for handler in root.handlers:
            handler.addFilter(self.filter)
            self.handlers.append(handler)

    def engine_stopped(self) -> None:
        for handler in self.handlers:
            handler.removeFilter(self.filter)
        self.handlers = []
