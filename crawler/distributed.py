"""Distributed mode: many workers share one frontier in Redis (scrapy-redis) and one database.

With `REDIS_URL` set (in the environment or with `-s`), the `DistributedMode` add-on
switches the scheduler and duplicate filter to scrapy-redis, keyed under
`REDIS_KEY_PREFIX`, and grouping to the shared pipeline: every worker pushes the
requests it makes (start URLs included) into one shared queue, and one shared fingerprint
set lets each URL in only once, so start URLs given to every worker are still fetched
once. `IdleStop` keeps a worker whose share of the queue ran dry waiting for requests
other workers may still add, and closes it (reason `idle_timeout`) after
`DISTRIBUTED_IDLE_TIMEOUT` seconds without any, instead of waiting forever.

Settings: `REDIS_URL`, `DISTRIBUTED_IDLE_TIMEOUT`.
Stats: `distributed/idle_waits`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Self

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, DontCloseSpider, NotConfigured
from scrapy.settings import BaseSettings
from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

IDLE_TIMEOUT_REASON = "idle_timeout"


class DistributedMode:
    """Scrapy add-on: with `REDIS_URL` set, this process is one worker of many.

    Runs after the command line's `-s` options are applied, so `REDIS_URL` and
    `REDIS_KEY_PREFIX` may come from the environment (through `crawler/settings.py`) or
    from `-s`. Without `REDIS_URL` it changes nothing.
    """

    def update_settings(self, settings: BaseSettings) -> None:
        if not settings.get("REDIS_URL"):
            return
        prefix = settings.get("REDIS_KEY_PREFIX")
        settings.set("SCHEDULER", "scrapy_redis.scheduler.Scheduler", "addon")
        settings.set("DUPEFILTER_CLASS", "scrapy_redis.dupefilter.RFPDupeFilter", "addon")
        # Keep the queue and fingerprints when one worker stops: the others go on with them.
        settings.set("SCHEDULER_PERSIST", True, "addon")
        settings.set("SCHEDULER_QUEUE_KEY", f"{prefix}:%(spider)s:requests", "addon")
        settings.set("SCHEDULER_DUPEFILTER_KEY", f"{prefix}:%(spider)s:dupefilter", "addon")
        # Grouping decisions taken in turn, each worker seeing the others' (one group per story).
        pipelines = settings.getwithbase("ITEM_PIPELINES")
        order = pipelines.get("pipelines.grouping.GroupingPipeline")
        if order is not None:
            settings["ITEM_PIPELINES"]["pipelines.grouping.GroupingPipeline"] = None
            settings["ITEM_PIPELINES"]["pipelines.shared_grouping.SharedGroupingPipeline"] = order


class IdleStop:
    """Keeps an idle worker open until the frontier stayed empty for `idle_timeout` seconds."""

    def __init__(
        self,
        idle_timeout: float,
        stats: StatsCollector,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.idle_timeout = idle_timeout
        self.stats = stats
        self.clock = clock
        self.idle_since: float | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not settings.get("REDIS_URL"):
            raise NotConfigured("REDIS_URL is not set: not in distributed mode")
        idle_timeout = settings.getfloat("DISTRIBUTED_IDLE_TIMEOUT")
        if idle_timeout < 0:
            raise ValueError(f"DISTRIBUTED_IDLE_TIMEOUT must be >= 0, not {idle_timeout!r}")
        assert crawler.stats is not None
        extension = cls(idle_timeout, crawler.stats)
        crawler.signals.connect(extension.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(extension.activity, signal=signals.request_scheduled)
        crawler.signals.connect(extension.activity, signal=signals.response_received)
        return extension

    def activity(self, **_kwargs: Any) -> None:
        """Any request or response ends an idle spell."""
        self.idle_since = None

    def spider_idle(self, spider: Spider) -> None:
        now = self.clock()
        if self.idle_since is None:
            self.idle_since = now
        waited = now - self.idle_since
        if waited < self.idle_timeout:
            self.stats.inc_value("distributed/idle_waits")
            raise DontCloseSpider(f"frontier empty for {waited:.0f}s")
        logger.info("Frontier empty for %.0f seconds: stopping this worker", waited)
        raise CloseSpider(IDLE_TIMEOUT_REASON)
