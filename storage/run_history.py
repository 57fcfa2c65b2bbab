"""Run history: one `crawl_runs` row per run and one `source_health` row per site per run.

The run-history extension writes both when a spider closes (also after a failure or an
interrupt); the scheduler completes the row with the crawl process's exit status, or
writes a `failed` row itself when the process died before its spider closed. `scrapy
health` reads the per-site rows back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, func, select
from sqlalchemy.orm import Mapped, aliased, mapped_column

from storage.database import Database
from storage.models import Base, UTCDateTime

# Statuses a run can end in.
RUN_FINISHED = "finished"
RUN_FINISHED_WITH_ERRORS = "finished_with_errors"
RUN_INTERRUPTED = "interrupted"
RUN_FAILED = "failed"
# A scheduled tick not run because the job's previous run was still going.
RUN_SKIPPED = "skipped"


class CrawlRun(Base):
    """One crawl: what ran, when, how it ended and what it counted."""

    __tablename__ = "crawl_runs"
    __table_args__ = (
        Index("ix_crawl_runs_started_at", "started_at"),
        Index("ix_crawl_runs_job", "job"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Unique key of the run, chosen by whoever starts it (the scheduler) or the crawl itself.
    run_key: Mapped[str] = mapped_column(String(64), unique=True)
    # Name of the scheduled job; null for a crawl started by hand.
    job: Mapped[str | None] = mapped_column(String(128))
    spider: Mapped[str] = mapped_column(String(128))
    arguments: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # finished, finished_with_errors, interrupted, failed or skipped (scheduler tick).
    status: Mapped[str] = mapped_column(String(32))
    # Scrapy's close reason (finished, shutdown, closespider_*, idle_timeout...).
    finish_reason: Mapped[str | None] = mapped_column(String(64))
    # Exit status of the crawl process, when a scheduler started it.
    exit_code: Mapped[int | None] = mapped_column(Integer)
    requested: Mapped[int] = mapped_column(Integer, default=0)
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    stored: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    stories_touched: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    rejected_by_reason: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    # ERROR lines the crawl logged.
    errors: Mapped[int] = mapped_column(Integer, default=0)
    # host:pid of the process that ran the crawl.
    worker: Mapped[str | None] = mapped_column(String(255))


class SourceHealth(Base):
    """What one site yielded in one run."""

    __tablename__ = "source_health"
    __table_args__ = (
        Index("ix_source_health_run_site", "run_id", "site", unique=True),
        Index("ix_source_health_site_finished_at", "site", "finished_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id", ondelete="CASCADE"))
    # Host name of the site; "local" for files read from disk.
    site: Mapped[str] = mapped_column(String(255))
    spider: Mapped[str] = mapped_column(String(128))
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    stored: Mapped[int] = mapped_column(Integer, default=0)
    extraction_failures: Mapped[int] = mapped_column(Integer, default=0)
    http_errors: Mapped[int] = mapped_column(Integer, default=0)
    robots_blocked: Mapped[int] = mapped_column(Integer, default=0)
    # Requests that got no response: refused or lost connections, DNS failures, timeouts.
    download_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


@dataclass(frozen=True)
class SiteCounts:
    """One site's counts in one run."""

    site: str
    fetched: int = 0
    stored: int = 0
    extraction_failures: int = 0
    http_errors: int = 0
    robots_blocked: int = 0
    download_failures: int = 0


@dataclass(frozen=True)
class RunRecord:
    """Everything recorded about one finished run."""

    run_key: str
    spider: str
    started_at: datetime
    finished_at: datetime
    status: str
    finish_reason: str | None = None
    job: str | None = None
    arguments: Mapping[str, str] = field(default_factory=dict)
    exit_code: int | None = None
    requested: int = 0
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    stories_touched: int = 0
    rejected_by_reason: Mapping[str, int] = field(default_factory=dict)
    bytes: int = 0
    errors: int = 0
    worker: str | None = None


@dataclass(frozen=True)
class SiteRun:
    """One site's counts in one run, with the run's time, as `scrapy health` reads them."""

    site: str
    run_id: int
    finished_at: datetime
    fetched: int
    stored: int
    extraction_failures: int
    http_errors: int
    robots_blocked: int
    download_failures: int = 0


class RunHistory:
    """Writes and reads `crawl_runs` and `source_health`."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def record_run(self, run: RunRecord, sites: Sequence[SiteCounts] = ()) -> int:
        """Insert a run and its sites (or replace the counts of a run with its key); its id."""
        values = _run_values(run)
        with self.database.sessions.begin() as session:
            row = session.scalar(select(CrawlRun).where(CrawlRun.run_key == run.run_key))
            if row is None:
                row = CrawlRun(**values)
                session.add(row)
            else:
                for name, value in values.items():
                    setattr(row, name, value)
            session.flush()
            run_id = row.id
            for counts in sites:
                session.add(
                    SourceHealth(
                        run_id=run_id,
                        site=counts.site,
                        spider=run.spider,
                        finished_at=run.finished_at,
                        fetched=counts.fetched,
                        stored=counts.stored,
                        extraction_failures=counts.extraction_failures,
                        http_errors=counts.http_errors,
                        robots_blocked=counts.robots_blocked,
                        download_failures=counts.download_failures,
                    )
                )
        return run_id

    def complete_run(self, run: RunRecord) -> None:
        """Add the exit status to the run the crawl recorded, or record it when the crawl could not.

        A non-zero exit status turns a recorded `finished` run into `failed`.
        """
        with self.database.sessions.begin() as session:
            row = session.scalar(select(CrawlRun).where(CrawlRun.run_key == run.run_key))
            if row is None:
                session.add(CrawlRun(**_run_values(run)))
                return
            row.exit_code = run.exit_code
            if row.job is None:
                row.job = run.job
            if run.exit_code and row.status != RUN_INTERRUPTED:
                row.status = RUN_FAILED

    def runs(self, job: str | None = None, limit: int | None = None) -> list[CrawlRun]:
        """Recorded runs, oldest first (the latest `limit` when given)."""
        query = select(CrawlRun).order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
        if job is not None:
            query = query.where(CrawlRun.job == job)
        if limit is not None:
            query = query.limit(limit)
        with self.database.read_sessions() as session:
            rows = list(session.scalars(query))
        return rows[::-1]

    def site_runs(self, per_site: int) -> dict[str, list[SiteRun]]:
        """The latest `per_site` runs of every site, oldest first."""
        rank = (
            func.row_number()
            .over(
                partition_by=SourceHealth.site,
                order_by=(SourceHealth.finished_at.desc(), SourceHealth.id.desc()),
            )
            .label("rank")
        )
        latest = select(SourceHealth, rank).subquery()
        row = aliased(SourceHealth, latest)
        query = (
            select(row).where(latest.c.rank <= per_site).order_by(row.site, row.finished_at, row.id)
        )
        history: dict[str, list[SiteRun]] = {}
        with self.database.read_sessions() as session:
            for health in session.scalars(query):
                history.setdefault(health.site, []).append(
                    SiteRun(
                        health.site,
                        health.run_id,
                        health.finished_at,
                        health.fetched,
                        health.stored,
                        health.extraction_failures,
                        health.http_errors,
                        health.robots_blocked,
                        health.download_failures,
                    )
                )
        return history


def _run_values(run: RunRecord) -> dict[str, Any]:
    return {
        "run_key": run.run_key,
        "job": run.job,
        "spider": run.spider,
        "arguments": dict(run.arguments),
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "status": run.status,
        "finish_reason": run.finish_reason,
        "exit_code": run.exit_code,
        "requested": run.requested,
        "fetched": run.fetched,
        "stored": run.stored,
        "duplicates": run.duplicates,
        "stories_touched": run.stories_touched,
        "rejected": sum(run.rejected_by_reason.values()),
        "rejected_by_reason": dict(run.rejected_by_reason),
        "bytes": run.bytes,
        "errors": run.errors,
        "worker": run.worker,
    }
