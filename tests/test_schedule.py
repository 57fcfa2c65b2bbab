"""`scrapy schedule`: the job file, the scheduling loop with a fake clock, and real runs.

The loop tests drive `Scheduler.step` with explicit times and fake processes, so overlap,
failure and timeouts are decided exactly; the end-to-end tests run `scrapy schedule`
with a few-second interval and read `crawl_runs`.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crawler.scheduling import (
    Job,
    RunOutcome,
    ScheduleError,
    Scheduler,
    load_schedule,
    parse_duration,
)
from tests.conftest import PROJECT_ROOT, run_scrapy
from tests.test_run_history import article_html, recorded_runs, write_articles

START = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)


class FakeProcess:
    """A run whose end the test decides."""

    def __init__(self) -> None:
        self.exit_code: int | None = None
        self.signals: list[int] = []
        self.killed = False

    def poll(self) -> int | None:
        return self.exit_code

    def send_signal(self, sig: int) -> None:
        self.signals.append(sig)

    def kill(self) -> None:
        self.killed = True
        self.exit_code = -9


class FakeLauncher:
    def __init__(self) -> None:
        self.started: list[tuple[str, FakeProcess]] = []

    def __call__(self, job: Job, run_key: str) -> FakeProcess:
        process = FakeProcess()
        self.started.append((job.name, process))
        return process


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def summary(outcomes: list[RunOutcome]) -> list[tuple[str, int | None, bool]]:
    return [(outcome.job.name, outcome.exit_code, outcome.skipped) for outcome in outcomes]


# --- durations and the job file ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("10m", 600), ("2h", 7200), ("1d", 86400), ("1.5m", 90)]
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "10", "5 minutes", "0s", "-1m"])
def test_parse_duration_refuses_bad_text(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_load_schedule_reads_jobs(tmp_path: Path) -> None:
    path = tmp_path / "jobs.toml"
    path.write_text(
        '[jobs.news]\nspider = "feeds"\ncron = "*/5 * * * *"\ntimeout = "4m"\n'
        'arguments = { path = "seeds/feeds.txt" }\n'
        "settings = { CRAWL_INCREMENTAL = false, RETRY_TIMES = 2 }\n"
        '[jobs.files]\nspider = "files"\ninterval = "10m"\n'
    )
    files, news = load_schedule(path)
    assert (files.name, files.interval, files.cron) == ("files", timedelta(minutes=10), None)
    assert news.cron == "*/5 * * * *" and news.timeout == timedelta(minutes=4)
    assert news.arguments == (("path", "seeds/feeds.txt"),)
    assert news.settings == (("CRAWL_INCREMENTAL", "false"), ("RETRY_TIMES", "2"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[jobs.a]\nspider = "files"\n', "exactly one of interval and cron"),
        ('[jobs.a]\nspider = "files"\ninterval = "1m"\ncron = "* * * * *"\n', "exactly one"),
        ('[jobs.a]\nspider = "files"\ncron = "every minute"\n', "not a cron expression"),
        ('[jobs.a]\ninterval = "1m"\n', "needs spider"),
        ('[jobs.a]\nspider = "files"\ninterval = "1m"\nevery = 3\n', "unknown keys every"),
        ('[jobs.a]\nspider = "files"\ninterval = "soon"\n', "not a duration"),
        ("title = 'no jobs'\n", "no [jobs.NAME] tables"),
        ("[jobs.a\n", "cannot read"),
    ],
)
def test_load_schedule_names_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "jobs.toml"
    path.write_text(text)
    with pytest.raises(ScheduleError, match=r"jobs\.toml") as raised:
        load_schedule(path)
    assert message in str(raised.value)


def test_project_schedule_file_loads() -> None:
    jobs = load_schedule(PROJECT_ROOT / "seeds" / "schedule.toml")
    assert jobs and all(job.spider for job in jobs)


def test_cron_job_runs_at_the_next_match() -> None:
    job = Job("c", "files", cron="*/5 * * * *")
    assert job.first_run(at(61)) == START + timedelta(minutes=5)
    assert job.next_run(START + timedelta(minutes=5)) == START + timedelta(minutes=10)


# --- the loop ---------------------------------------------------------------------------


def test_interval_job_runs_at_start_and_every_interval() -> None:
    launcher = FakeLauncher()
    scheduler = Scheduler([Job("a", "files", interval=timedelta(seconds=10))], launcher, START)
    scheduler.step(at(0))
    launcher.started[-1][1].exit_code = 0
    assert summary(scheduler.step(at(5))) == [("a", 0, False)]
    assert len(launcher.started) == 1
    scheduler.step(at(10))
    assert len(launcher.started) == 2


def test_overlapping_tick_is_skipped_and_no_second_run_starts() -> None:
    launcher = FakeLauncher()
    scheduler = Scheduler([Job("a", "files", interval=timedelta(seconds=10))], launcher, START)
    scheduler.step(at(0))
    outcomes = scheduler.step(at(10)) + scheduler.step(at(20))
    assert summary(outcomes) == [("a", None, True), ("a", None, True)]
    assert len(launcher.started) == 1
    launcher.started[0][1].exit_code = 0
    assert summary(scheduler.step(at(25))) == [("a", 0, False)]
    scheduler.step(at(30))
    assert len(launcher.started) == 2


def test_failing_job_is_reported_and_it_and_others_run_again() -> None:
    launcher = FakeLauncher()
    jobs = [
        Job("bad", "files", interval=timedelta(seconds=10)),
        Job("good", "files", interval=timedelta(seconds=10)),
    ]
    scheduler = Scheduler(jobs, launcher, START)
    scheduler.step(at(0))
    for name, process in launcher.started:
        process.exit_code = 2 if name == "bad" else 0
    assert sorted(summary(scheduler.step(at(1)))) == [("bad", 2, False), ("good", 0, False)]
    scheduler.step(at(10))
    assert [name for name, _ in launcher.started] == ["bad", "good", "bad", "good"]


def test_max_runs_ends_the_schedule_after_the_last_run_ends() -> None:
    launcher = FakeLauncher()
    scheduler = Scheduler(
        [Job("a", "files", interval=timedelta(seconds=1))], launcher, START, max_runs=2
    )
    for second in range(6):
        scheduler.step(at(second))
        if launcher.started:
            launcher.started[-1][1].exit_code = 0
    assert len(launcher.started) == 2
    assert scheduler.step(at(7)) == [] and scheduler.finished


def test_timeout_interrupts_then_kills_a_run_that_will_not_stop() -> None:
    launcher = FakeLauncher()
    job = Job("slow", "files", interval=timedelta(hours=1), timeout=timedelta(seconds=30))
    scheduler = Scheduler([job], launcher, START, kill_grace=timedelta(seconds=10))
    scheduler.step(at(0))
    process = launcher.started[0][1]
    scheduler.step(at(20))
    assert process.signals == []
    scheduler.step(at(31))
    assert process.signals == [signal.SIGINT] and not process.killed
    scheduler.step(at(45))
    assert process.killed
    assert summary(scheduler.step(at(46))) == [("slow", -9, False)]


def test_stop_interrupts_running_crawls_and_starts_nothing() -> None:
    launcher = FakeLauncher()
    scheduler = Scheduler([Job("a", "files", interval=timedelta(seconds=5))], launcher, START)
    scheduler.step(at(0))
    scheduler.stop()
    scheduler.step(at(1))
    process = launcher.started[0][1]
    assert process.signals == [signal.SIGINT] and not scheduler.finished
    process.exit_code = 0
    scheduler.step(at(10))
    assert len(launcher.started) == 1 and scheduler.finished


# --- real runs ----------------------------------------------------------------------------


def write_jobs(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_schedule_runs_jobs_twice_and_records_failures(tmp_path: Path, sqlite_url: str) -> None:
    write_articles(tmp_path / "articles", 3)
    jobs = write_jobs(
        tmp_path / "jobs.toml",
        f'[jobs.good]\nspider = "files"\ninterval = "2s"\n'
        f'arguments = {{ path = "{tmp_path / "articles"}" }}\n'
        f'[jobs.broken]\nspider = "files"\ninterval = "2s"\n'
        f'arguments = {{ path = "{tmp_path / "missing"}" }}\n',
    )

    result = run_scrapy(
        "schedule",
        "--config",
        str(jobs),
        "--max-runs",
        "2",
        "--log-dir",
        str(tmp_path / "logs"),
        database_url=sqlite_url,
        timeout=400,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    runs = [run for run in recorded_runs(sqlite_url) if run.status != "skipped"]
    good = [run for run in runs if run.job == "good"]
    broken = [run for run in runs if run.job == "broken"]
    assert [(run.status, run.exit_code, run.stored) for run in good] == [("finished", 0, 3)] * 2
    assert good[0].arguments == {"path": str(tmp_path / "articles")}
    assert [(run.status, run.exit_code) for run in broken] == [("failed", 2)] * 2
    assert len(list((tmp_path / "logs").glob("broken-*.log"))) == 2
    assert "2 failed" in result.stdout


class _SlowSite:
    """A server on 127.0.0.1 whose article page takes `delay` seconds to answer."""

    def __init__(self, delay: float) -> None:
        body = article_html("Slow story", 3).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/robots.txt":
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                time.sleep(delay)
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/news/slow.html"


@pytest.fixture
def slow_site() -> Iterator[_SlowSite]:
    site = _SlowSite(delay=6.0)
    thread = threading.Thread(target=site.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        site.server.shutdown()
        site.server.server_close()


def test_overlapping_tick_is_skipped_while_a_run_is_going(
    slow_site: _SlowSite, tmp_path: Path, sqlite_url: str
) -> None:
    url_file = tmp_path / "urls.txt"
    url_file.write_text(slow_site.url + "\n")
    settings = (
        "ALLOW_PRIVATE_ADDRESSES = true\nAUTOTHROTTLE_ENABLED = false\nRETRY_ENABLED = false\n"
        "CRAWL_INCREMENTAL = false\n"
    )
    jobs = write_jobs(
        tmp_path / "jobs.toml",
        f'[jobs.slow]\nspider = "urls"\ninterval = "1s"\narguments = {{ path = "{url_file}" }}\n'
        f"[jobs.slow.settings]\n{settings}",
    )

    result = run_scrapy(
        "schedule",
        "--config",
        str(jobs),
        "--max-runs",
        "2",
        "--log-dir",
        str(tmp_path / "logs"),
        database_url=sqlite_url,
        timeout=400,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    runs = recorded_runs(sqlite_url)
    crawls = [run for run in runs if run.status != "skipped"]
    skipped = [run for run in runs if run.status == "skipped"]
    assert [(run.status, run.stored) for run in crawls] == [("finished", 1)] * 2
    # The page takes six seconds and the interval is one: ticks came while a run was going.
    assert skipped and "Skipped a tick of job slow" in result.stderr
    first, second = crawls
    assert first.finished_at is not None and second.started_at >= first.finished_at


def test_drain_lets_the_running_crawl_finish_and_starts_nothing() -> None:
    launcher = FakeLauncher()
    scheduler = Scheduler([Job("a", "files", interval=timedelta(seconds=5))], launcher, START)
    scheduler.step(at(0))
    scheduler.stop(interrupt=False)
    scheduler.step(at(6))
    process = launcher.started[0][1]
    assert process.signals == [] and not scheduler.finished
    process.exit_code = 0
    assert summary(scheduler.step(at(7))) == [("a", 0, False)]
    assert len(launcher.started) == 1 and scheduler.finished
