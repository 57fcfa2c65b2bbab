"""Run history: every run leaves a `crawl_runs` row and one `source_health` row per site.

`RunHistoryRecorder` (an extension) counts per site from signals (responses, stored and
dropped items) and, when the spider closes (finished, failed or interrupted: Scrapy
closes with reason `shutdown` on SIGINT/SIGTERM), writes the run with its status and the
crawl stats. `RobotsBlockCounter` (a downloader middleware) counts requests that
robots.txt forbade, per site, in the stats (`health/robots_blocked/<site>`), which the
recorder reads.

Settings: `RUN_HISTORY_ENABLED`, `RUN_HISTORY_JOB`, `RUN_HISTORY_RUN_KEY`,
`RUN_HISTORY_ARGUMENTS`, `DATABASE_URL`.
Stats: `health/robots_blocked/<site>`, `run_history/recorded`, `run_history/failed`.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Self
from urllib.parse import urlsplit

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.statscollectors import StatsCollector
from sqlalchemy.exc import SQLAlchemyError

from crawler.guards import NO_RESPONSE_REASONS
from crawler.sourcehealth import LOCAL_SITE, SiteTally, site_of
from pipelines.database_settings import database_url_from_settings
from storage.database import Database
from storage.run_history import (
    RUN_FAILED,
    RUN_FINISHED,
    RUN_FINISHED_WITH_ERRORS,
    RUN_INTERRUPTED,
    RunHistory,
    RunRecord,
)

logger = logging.getLogger(__name__)

ROBOTS_BLOCKED_PREFIX = "health/robots_blocked/"
# Close reasons of a run that ended as planned (a limit reached counts as planned).
_COMPLETED_REASONS = frozenset(
    {
        "finished",
        "closespider_timeout",
        "closespider_itemcount",
        "closespider_pagecount",
        "idle_timeout",
    }
)


def run_status(reason: str, errors: int) -> str:
    """A run's status from Scrapy's close reason and the number of ERROR lines it logged."""
    if reason == "shutdown":
        return RUN_INTERRUPTED
    if reason in _COMPLETED_REASONS:
        return RUN_FINISHED_WITH_ERRORS if errors else RUN_FINISHED
    return RUN_FAILED


def arguments_from_command_line(argv: Sequence[str]) -> dict[str, str]:
    """The `-a NAME=VALUE` spider arguments of a `scrapy crawl` command line.

    (Scrapy removes the command name from `sys.argv` before the crawl starts.)
    """
    arguments: dict[str, str] = {}
    words = iter(argv[1:])
    for word in words:
        if word == "-a":
            value = next(words, "")
        elif word.startswith("-a") and "=" in word:
            value = word[2:]
        else:
            continue
        name, separator, argument = value.partition("=")
        if separator:
            arguments[name] = argument
    return arguments


def parse_arguments_setting(value: str) -> dict[str, str]:
    """`RUN_HISTORY_ARGUMENTS`: a JSON object of strings; raises ValueError otherwise."""
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as error:
        raise ValueError(f"RUN_HISTORY_ARGUMENTS must be a JSON object: {error}") from error
    if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
        raise ValueError("RUN_HISTORY_ARGUMENTS must be a JSON object of strings")
    return {str(name): value for name, value in parsed.items()}


def run_record_from_stats(
    stats: Mapping[str, Any],
    *,
    run_key: str,
    spider: str,
    job: str | None,
    arguments: Mapping[str, str],
    started_at: datetime,
    finished_at: datetime,
    reason: str,
    worker: str,
) -> RunRecord:
    """The `crawl_runs` row of a closed run, from its crawl stats."""

    def count(key: str) -> int:
        value = stats.get(key, 0)
        return value if isinstance(value, int) else 0

    rejects = {
        key.removeprefix("rejects/"): count(key)
        for key in sorted(stats)
        if key.startswith("rejects/")
    }
    errors = count("log_count/ERROR")
    return RunRecord(
        run_key=run_key,
        spider=spider,
        job=job,
        arguments=dict(arguments),
        started_at=started_at,
        finished_at=finished_at,
        status=run_status(reason, errors),
        finish_reason=reason,
        requested=count("downloader/request_count") + count("files/read"),
        fetched=count("downloader/response_count") + count("files/read"),
        stored=count("storage/upserted"),
        duplicates=count("grouping/duplicate"),
        stories_touched=count("grouping/stories_touched"),
        rejected_by_reason=rejects,
        bytes=count("downloader/response_bytes"),
        errors=errors,
        worker=worker,
    )


class RunHistoryRecorder:
    """Writes the run and its per-site counts when the spider closes."""

    def __init__(
        self,
        database_url: str,
        stats: StatsCollector,
        *,
        job: str | None = None,
        run_key: str | None = None,
        arguments: Mapping[str, str] | None = None,
    ) -> None:
        self.database_url = database_url
        self.stats = stats
        self.job = job
        self.run_key = run_key or uuid.uuid4().hex
        self.arguments = dict(arguments or {})
        self.tally = SiteTally()
        self.started_at: datetime | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not settings.getbool("RUN_HISTORY_ENABLED", True):
            raise NotConfigured("RUN_HISTORY_ENABLED is off")
        assert crawler.stats is not None
        arguments_setting = settings.get("RUN_HISTORY_ARGUMENTS") or ""
        arguments = (
            parse_arguments_setting(arguments_setting)
            if arguments_setting
            else arguments_from_command_line(sys.argv)
        )
        recorder = cls(
            database_url_from_settings(settings),
            crawler.stats,
            job=settings.get("RUN_HISTORY_JOB") or None,
            run_key=settings.get("RUN_HISTORY_RUN_KEY") or None,
            arguments=arguments,
        )
        crawler.signals.connect(recorder.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(recorder.response_received, signal=signals.response_received)
        crawler.signals.connect(recorder.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(recorder.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(recorder.spider_closed, signal=signals.spider_closed)
        return recorder

    def spider_opened(self, spider: Spider) -> None:
        self.started_at = datetime.now(UTC)

    def response_received(self, response: Response, request: Request, spider: Spider) -> None:
        if urlsplit(response.url).path == "/robots.txt":
            return  # the robots.txt fetch is housekeeping, and a missing one is normal
        site = site_of(response.url)
        self.tally.add(site, "http_errors" if response.status >= 400 else "fetched")

    def item_scraped(self, item: Any, response: Any, spider: Spider) -> None:
        site = self._item_site(item)
        if site == LOCAL_SITE:
            self.tally.add(site, "fetched")
        self.tally.add(site, "stored")

    def item_dropped(
        self, item: Any, response: Any, exception: BaseException, spider: Spider
    ) -> None:
        site = self._item_site(item)
        if site == LOCAL_SITE:
            self.tally.add(site, "fetched")
        if isinstance(exception, DropItem):
            no_response = getattr(item, "read_error", None) in NO_RESPONSE_REASONS
            self.tally.add(site, "download_failures" if no_response else "extraction_failures")

    def spider_closed(self, spider: Spider, reason: str) -> None:
        finished_at = datetime.now(UTC)
        stats = self.stats.get_stats()
        for key, value in stats.items():
            if key.startswith(ROBOTS_BLOCKED_PREFIX) and isinstance(value, int):
                self.tally.add(key.removeprefix(ROBOTS_BLOCKED_PREFIX), "robots_blocked", value)
        run = run_record_from_stats(
            stats,
            run_key=self.run_key,
            spider=spider.name,
            job=self.job,
            arguments=self.arguments,
            started_at=self.started_at or finished_at,
            finished_at=finished_at,
            reason=reason,
            worker=f"{socket.gethostname()}:{os.getpid()}",
        )
        database = Database(self.database_url)
        try:
            database.create_schema()
            run_id = RunHistory(database).record_run(run, self.tally.sites())
        except SQLAlchemyError as error:
            self.stats.inc_value("run_history/failed")
            logger.error("Could not record run %s: %s", self.run_key, error)
            return
        finally:
            database.dispose()
        self.stats.inc_value("run_history/recorded")
        logger.info(
            "Recorded run %d (%s, %s) with %d sites",
            run_id,
            run.status,
            reason,
            len(self.tally.sites()),
        )

    @staticmethod
    def _item_site(item: Any) -> str:
        url = getattr(item, "url", None)
        return site_of(url) if isinstance(url, str) else LOCAL_SITE


class RobotsBlockCounter:
    """Counts, per site, the requests robots.txt forbade (`health/robots_blocked/<site>`).

    Every downloader middleware's `process_exception` sees an `IgnoreRequest` raised by
    another's `process_request`, so this one sees `RobotsTxtMiddleware`'s refusals.
    """

    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        return cls(crawler.stats)

    def process_exception(self, request: Request, exception: BaseException) -> None:
        if isinstance(exception, IgnoreRequest) and "robots.txt" in str(exception):
            self.stats.inc_value(ROBOTS_BLOCKED_PREFIX + site_of(request.url))
