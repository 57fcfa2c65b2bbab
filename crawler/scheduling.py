"""Scheduling crawls: the job file, when each job is due, and the loop that runs them.

Pure code (no Scrapy): `scrapy schedule` wires it to real processes and the run history.
A job file is TOML, one table per job:

    [jobs.sample]
    spider = "files"                      # required
    interval = "30m"                      # or: cron = "*/5 * * * *" (one of the two)
    arguments = { path = "seeds/articles" }  # spider arguments (-a), optional
    settings = { LOG_LEVEL = "INFO" }        # Scrapy settings (-s), optional
    timeout = "2h"                        # interrupt a run that takes longer, optional

An interval job runs at start and then every interval; a cron job at each match of its
expression (UTC). A job never runs twice at once: a tick that comes while its previous run
is still going is skipped (and reported). Each run is its own process, so a failing or
crashing run cannot take the scheduler or other jobs down.
"""

from __future__ import annotations

import logging
import re
import signal
import subprocess
import tomllib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Protocol

logger = logging.getLogger(__name__)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_JOB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_JOB_KEYS = frozenset({"spider", "interval", "cron", "arguments", "settings", "timeout"})
# Seconds a run gets to close cleanly after SIGINT (timeout, scheduler stopping) before SIGKILL.
KILL_GRACE = 30.0


class ScheduleError(ValueError):
    """A job file that cannot be used; the message names the file and the job."""


def parse_duration(text: str) -> timedelta:
    """ "30s", "10m", "2h", "1d" as a positive timedelta; raises ValueError otherwise."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not a duration: {text!r} (use a number and s, m, h or d, like '10m')")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"duration must be positive: {text!r}")
    return timedelta(seconds=seconds)


def check_cron(expression: str) -> str:
    """The expression when croniter accepts it; raises ValueError otherwise."""
    from croniter import croniter

    if not croniter.is_valid(expression):
        raise ValueError(f"not a cron expression: {expression!r}")
    return expression


@dataclass(frozen=True)
class Job:
    """One scheduled crawl."""

    name: str
    spider: str
    interval: timedelta | None = None
    cron: str | None = None
    arguments: tuple[tuple[str, str], ...] = ()
    settings: tuple[tuple[str, str], ...] = ()
    timeout: timedelta | None = None

    def __post_init__(self) -> None:
        if (self.interval is None) == (self.cron is None):
            raise ValueError(f"job {self.name!r} needs exactly one of interval and cron")

    def first_run(self, start: datetime) -> datetime:
        """When the job first runs after the scheduler starts at `start`."""
        return start if self.interval is not None else self.next_run(start)

    def next_run(self, after: datetime) -> datetime:
        """The job's next time after `after` (plus the interval, or the next cron match)."""
        if self.interval is not None:
            return after + self.interval
        from croniter import croniter

        assert self.cron is not None
        next_time: datetime = croniter(self.cron, after).get_next(datetime)
        return next_time


def load_schedule(path: Path) -> list[Job]:
    """The jobs of a TOML job file, by name; raises ScheduleError naming what is wrong."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ScheduleError(f"cannot read {path}: {error}") from error
    tables = document.get("jobs")
    if not isinstance(tables, dict) or not tables:
        raise ScheduleError(f"{path}: no [jobs.NAME] tables")
    return [_job(path, name, table) for name, table in sorted(tables.items())]


def _job(path: Path, name: str, table: Any) -> Job:
    where = f"{path}: job {name!r}"
    if not _JOB_NAME.match(name):
        raise ScheduleError(f"{where}: names use letters, digits, '_', '-' and '.'")
    if not isinstance(table, dict):
        raise ScheduleError(f"{where}: must be a table")
    unknown = set(table) - _JOB_KEYS
    if unknown:
        raise ScheduleError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    spider = table.get("spider")
    if not isinstance(spider, str) or not spider:
        raise ScheduleError(f'{where}: needs spider = "NAME"')
    try:
        interval = parse_duration(_text(table, "interval")) if "interval" in table else None
        cron = check_cron(_text(table, "cron")) if "cron" in table else None
        timeout = parse_duration(_text(table, "timeout")) if "timeout" in table else None
        return Job(
            name,
            spider,
            interval=interval,
            cron=cron,
            arguments=_pairs(table, "arguments"),
            settings=_pairs(table, "settings"),
            timeout=timeout,
        )
    except ValueError as error:
        raise ScheduleError(f"{where}: {error}") from error


def _text(table: Mapping[str, Any], key: str) -> str:
    value = table[key]
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a string")
    return value


def _pairs(table: Mapping[str, Any], key: str) -> tuple[tuple[str, str], ...]:
    value = table.get(key, {})
    if not isinstance(value, dict):
        raise ValueError(f"{key} must be a table")
    return tuple(sorted((str(name), _setting_text(item)) for name, item in value.items()))


def _setting_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise ValueError(f"values must be strings, numbers or booleans, not {value!r}")


class RunningProcess(Protocol):
    """What the scheduler needs of a started run (a `subprocess.Popen` has it)."""

    def poll(self) -> int | None: ...

    def send_signal(self, sig: int) -> None: ...

    def kill(self) -> None: ...


Launcher = Callable[[Job, str], RunningProcess]


@dataclass(frozen=True)
class RunOutcome:
    """A run that ended (or a tick that was skipped): what the run history records."""

    job: Job
    run_key: str
    started_at: datetime
    finished_at: datetime
    exit_code: int | None
    skipped: bool = False


@dataclass
class _Running:
    run_key: str
    process: RunningProcess
    started_at: datetime
    interrupted_at: datetime | None = None


@dataclass
class _JobState:
    job: Job
    due: datetime
    runs: int = 0
    running: _Running | None = None


@dataclass
class Scheduler:
    """Starts due jobs through `launcher`, skips overlapping ticks, reports every outcome.

    Drive it with `step(now)`; it returns the outcomes of that step. With `max_runs`
    each job runs at most that many times; after `stop()` nothing new starts and
    running crawls are asked to stop (SIGINT).
    """

    jobs: Sequence[Job]
    launcher: Launcher
    start: datetime
    max_runs: int | None = None
    kill_grace: timedelta = timedelta(seconds=KILL_GRACE)
    _states: list[_JobState] = field(init=False)
    _stopping: bool = field(init=False, default=False)
    _interrupting: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        if not self.jobs:
            raise ValueError("no jobs to schedule")
        self._states = [_JobState(job, job.first_run(self.start)) for job in self.jobs]

    def stop(self, interrupt: bool = True) -> None:
        """Start nothing more; with `interrupt`, ask running crawls to close (and record)."""
        self._stopping = True
        self._interrupting = self._interrupting or interrupt

    @property
    def finished(self) -> bool:
        """Nothing is running and nothing more will start."""
        idle = all(state.running is None for state in self._states)
        return idle and (self._stopping or all(self._exhausted(state) for state in self._states))

    def next_wakeup(self) -> datetime | None:
        """The earliest time a job is due (None when none will start again)."""
        waiting = [
            state.due for state in self._states if not self._stopping and not self._exhausted(state)
        ]
        return min(waiting, default=None)

    def step(self, now: datetime) -> list[RunOutcome]:
        """Reap ended runs, enforce timeouts, start or skip due jobs."""
        outcomes = self._reap(now)
        for state in self._states:
            running = state.running
            if running is None:
                continue
            timeout = state.job.timeout
            if running.interrupted_at is None and self._interrupting:
                self._interrupt(running, "the scheduler is stopping")
                running.interrupted_at = now
            elif (
                running.interrupted_at is None
                and timeout is not None
                and now - running.started_at > timeout
            ):
                self._interrupt(running, f"job {state.job.name!r} ran longer than its timeout")
                running.interrupted_at = now
            elif (
                running.interrupted_at is not None
                and now - running.interrupted_at > self.kill_grace
            ):
                logger.warning(
                    "Killing run %s of job %s: it did not stop", running.run_key, state.job.name
                )
                running.process.kill()
        if self._stopping:
            return outcomes
        for state in self._states:
            if self._exhausted(state) or now < state.due:
                continue
            if state.running is not None:
                logger.warning(
                    "Skipped a tick of job %s: its run %s is still going",
                    state.job.name,
                    state.running.run_key,
                )
                outcomes.append(
                    RunOutcome(state.job, uuid.uuid4().hex, now, now, None, skipped=True)
                )
            else:
                run_key = uuid.uuid4().hex
                logger.info("Starting job %s (run %s)", state.job.name, run_key)
                try:
                    process = self.launcher(state.job, run_key)
                except OSError as error:
                    logger.error("Could not start job %s: %s", state.job.name, error)
                    outcomes.append(RunOutcome(state.job, run_key, now, now, -1))
                else:
                    state.running = _Running(run_key, process, now)
                state.runs += 1
            state.due = _next_due(state.job, state.due, now)
        return outcomes

    def _reap(self, now: datetime) -> list[RunOutcome]:
        outcomes = []
        for state in self._states:
            running = state.running
            if running is None:
                continue
            exit_code = running.process.poll()
            if exit_code is None:
                continue
            state.running = None
            log = logger.info if exit_code == 0 else logger.error
            log(
                "Job %s (run %s) ended with exit status %d",
                state.job.name,
                running.run_key,
                exit_code,
            )
            outcomes.append(
                RunOutcome(state.job, running.run_key, running.started_at, now, exit_code)
            )
        return outcomes

    def _exhausted(self, state: _JobState) -> bool:
        return self.max_runs is not None and state.runs >= self.max_runs

    @staticmethod
    def _interrupt(running: _Running, why: str) -> None:
        logger.warning("Interrupting run %s: %s", running.run_key, why)
        running.process.send_signal(signal.SIGINT)


def _next_due(job: Job, due: datetime, now: datetime) -> datetime:
    """The first of the job's times after `now`, counted on from `due` (no backlog of ticks)."""
    following = job.next_run(due)
    while following <= now:
        following = job.next_run(following)
    return following


@dataclass(frozen=True)
class CrawlLauncher:
    """Starts a run as `python -m scrapy crawl SPIDER -a ... -s ...` in its own process.

    Each run writes its output to `<log_dir>/<job>-<UTC time>-<run key>.log` and gets the
    run-history settings (job name, run key, arguments) so its `crawl_runs` row can be
    found and completed.
    """

    python: str
    project_root: Path
    log_dir: Path
    environment: Mapping[str, str] | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def __call__(self, job: Job, run_key: str) -> subprocess.Popen[bytes]:
        import json

        command = [self.python, "-m", "scrapy", "crawl", job.spider]
        for name, value in job.arguments:
            command += ["-a", f"{name}={value}"]
        for name, value in job.settings:
            command += ["-s", f"{name}={value}"]
        command += [
            "-s",
            f"RUN_HISTORY_JOB={job.name}",
            "-s",
            f"RUN_HISTORY_RUN_KEY={run_key}",
            "-s",
            f"RUN_HISTORY_ARGUMENTS={json.dumps(dict(job.arguments))}",
        ]
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{job.name}-{self.clock():%Y%m%dT%H%M%S}-{run_key[:8]}.log"
        log_file: IO[bytes] = log_path.open("wb")
        try:
            return subprocess.Popen(
                command,
                cwd=self.project_root,
                env=dict(self.environment) if self.environment is not None else None,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                # Its own session: a Ctrl-C meant for the scheduler reaches a run only
                # through the scheduler, which interrupts it cleanly.
                start_new_session=True,
            )
        finally:
            log_file.close()
