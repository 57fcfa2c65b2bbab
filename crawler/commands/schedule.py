"""`scrapy schedule`: run the jobs of a TOML job file on their intervals or cron expressions.

Each run is its own `scrapy crawl` process with its output in `SCHEDULE_LOG_DIR`; a job
never runs twice at once (an overlapping tick is skipped and recorded as `skipped`); a
failing run is recorded as `failed` and the schedule goes on. Every run is completed in
`crawl_runs` with its exit status. SIGINT or SIGTERM stops the scheduler: running crawls
are interrupted, close cleanly and record themselves as `interrupted`.

Examples:
  scrapy schedule                                   # seeds/schedule.toml, until stopped
  scrapy schedule --config jobs.toml --max-runs 1   # each job once, then exit

Settings: `SCHEDULE_CONFIG`, `SCHEDULE_LOG_DIR`, `DATABASE_URL`.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from scrapy.utils.conf import closest_scrapy_cfg
from sqlalchemy.exc import SQLAlchemyError

from crawler.scheduling import (
    CrawlLauncher,
    Job,
    RunOutcome,
    ScheduleError,
    Scheduler,
    load_schedule,
    parse_duration,
)
from pipelines.database_settings import open_database
from storage.database import Database, DatabaseUnavailable, mask_password
from storage.migrate import SchemaOutOfDate
from storage.run_history import RUN_FAILED, RUN_FINISHED, RUN_SKIPPED, RunHistory, RunRecord

logger = logging.getLogger(__name__)

# Longest sleep between two looks at the running crawls, in seconds.
_POLL_SECONDS = 0.5


def outcome_record(outcome: RunOutcome, worker: str) -> RunRecord:
    """The `crawl_runs` row the scheduler completes (or writes) for an outcome."""
    if outcome.skipped:
        status = RUN_SKIPPED
    else:
        status = RUN_FINISHED if outcome.exit_code == 0 else RUN_FAILED
    return RunRecord(
        run_key=outcome.run_key,
        spider=outcome.job.spider,
        started_at=outcome.started_at,
        finished_at=outcome.finished_at,
        status=status,
        job=outcome.job.name,
        arguments=dict(outcome.job.arguments),
        exit_code=outcome.exit_code,
        worker=worker,
    )


class Command(ScrapyCommand):
    requires_project = True
    default_settings = {"LOG_LEVEL": "INFO"}

    def syntax(self) -> str:
        return "[--config FILE] [--max-runs N] [--duration TIME] [--log-dir DIR]"

    def short_desc(self) -> str:
        return "Run scheduled crawls (interval or cron), one process per run, each recorded"

    def long_desc(self) -> str:
        return (
            "Run the jobs of a TOML job file (default SCHEDULE_CONFIG, seeds/schedule.toml) on "
            "their intervals or cron expressions, each run a `scrapy crawl` process recorded in "
            "crawl_runs. Overlapping ticks are skipped; failed runs are recorded and the schedule "
            "goes on. --max-runs N: each job at most N times; --duration TIME (e.g. 90s, 8h): "
            "start nothing after TIME; the command ends when the last run has."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--config", help="job file (TOML); default SCHEDULE_CONFIG")
        parser.add_argument(
            "--max-runs", type=int, default=None, help="run each job at most N times"
        )
        parser.add_argument(
            "--duration", default=None, help="start no run after this long (30s, 10m, 8h)"
        )
        parser.add_argument(
            "--log-dir", default=None, help="where each run's log goes; default SCHEDULE_LOG_DIR"
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError(f"unexpected arguments: {' '.join(args)}")
        if opts.max_runs is not None and opts.max_runs < 1:
            raise UsageError("--max-runs must be at least 1")
        try:
            duration = parse_duration(opts.duration) if opts.duration else None
        except ValueError as error:
            raise UsageError(f"--duration: {error}") from error
        assert self.settings is not None and self.crawler_process is not None
        project_root = _project_root()
        config = Path(opts.config or self.settings.get("SCHEDULE_CONFIG"))
        try:
            jobs = load_schedule(config if config.is_absolute() else project_root / config)
        except ScheduleError as error:
            print(f"scrapy schedule: error: {error}", file=sys.stderr)
            self.exitcode = 2
            return
        known = set(self.crawler_process.spider_loader.list())
        for job in jobs:
            if job.spider not in known:
                print(
                    f"scrapy schedule: error: job {job.name!r}: no spider {job.spider!r}",
                    file=sys.stderr,
                )
                self.exitcode = 2
                return

        try:
            with open_database(self.settings) as database:
                totals = self._schedule(jobs, config, database, project_root, opts, duration)
        except (DatabaseUnavailable, SchemaOutOfDate) as error:
            print(f"scrapy schedule: error: {error}", file=sys.stderr)
            self.exitcode = 1
            return
        print(
            f"Scheduler stopped: {totals[RUN_FINISHED]} runs succeeded, "
            f"{totals[RUN_FAILED]} failed, "
            f"{totals[RUN_SKIPPED]} ticks skipped"
        )

    def _schedule(
        self,
        jobs: list[Job],
        config: Path,
        database: Database,
        project_root: Path,
        opts: argparse.Namespace,
        duration: timedelta | None,
    ) -> Counter[str]:
        """Run the jobs until stopped; how many runs ended in each status."""
        assert self.settings is not None
        log_dir = Path(opts.log_dir or self.settings.get("SCHEDULE_LOG_DIR"))
        launcher = CrawlLauncher(
            sys.executable,
            project_root,
            log_dir if log_dir.is_absolute() else project_root / log_dir,
            environment={**os.environ, "DATABASE_URL": database.url},
        )
        start = datetime.now(UTC)
        scheduler = Scheduler(jobs, launcher, start, max_runs=opts.max_runs)
        logger.info(
            "Scheduling %d jobs from %s into %s: %s",
            len(jobs),
            config,
            mask_password(database.url),
            ", ".join(job.name for job in jobs),
        )
        totals: Counter[str] = Counter()
        previous = _stop_on_signals(scheduler)
        try:
            self._loop(scheduler, RunHistory(database), start, duration, totals)
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
        return totals

    @staticmethod
    def _loop(
        scheduler: Scheduler,
        history: RunHistory,
        start: datetime,
        duration: timedelta | None,
        totals: Counter[str],
    ) -> None:
        worker = f"{socket.gethostname()}:{os.getpid()}"
        while not scheduler.finished:
            now = datetime.now(UTC)
            if duration is not None and now - start >= duration:
                scheduler.stop(interrupt=False)
            for outcome in scheduler.step(now):
                record = outcome_record(outcome, worker)
                totals[record.status] += 1
                try:
                    history.complete_run(record)
                except SQLAlchemyError as error:
                    logger.error(
                        "Could not record run %s of job %s: %s", record.run_key, record.job, error
                    )
            wakeup = scheduler.next_wakeup()
            pause = (
                _POLL_SECONDS if wakeup is None else (wakeup - datetime.now(UTC)).total_seconds()
            )
            time.sleep(min(max(pause, 0.05), _POLL_SECONDS))


def _project_root() -> Path:
    scrapy_cfg = closest_scrapy_cfg()
    return Path(scrapy_cfg).parent if scrapy_cfg else Path.cwd()


def _stop_on_signals(scheduler: Scheduler) -> dict[int, signal._HANDLER]:
    """SIGINT and SIGTERM stop the scheduler cleanly; returns the handlers they replace."""

    def handle(number: int, _frame: FrameType | None) -> None:
        logger.warning("Received %s: stopping the schedule", signal.Signals(number).name)
        scheduler.stop(interrupt=True)

    return {number: signal.signal(number, handle) for number in (signal.SIGINT, signal.SIGTERM)}
