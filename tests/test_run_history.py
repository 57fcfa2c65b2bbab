"""Run history: `crawl_runs` and `source_health` rows for finished, failing and interrupted runs.

Real `scrapy crawl` runs (files spider, urls spider against a site on 127.0.0.1) on SQLite
and PostgreSQL, plus the pure parts (status, arguments, stats to record, site tally).
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crawler.runhistory import (
    RobotsBlockCounter,
    arguments_from_command_line,
    parse_arguments_setting,
    run_record_from_stats,
    run_status,
)
from crawler.sourcehealth import SiteTally, site_of
from storage.database import Database
from storage.run_history import CrawlRun, RunHistory, RunRecord, SiteCounts
from tests.conftest import PROJECT_ROOT, LocalSite, run_scrapy
from tests.test_concurrency import VOCABULARY as CONCURRENCY_VOCABULARY

# The concurrency test's words, and a few more.
VOCABULARY = [
    *CONCURRENCY_VOCABULARY,
    "mayor",
    "railway",
    "tunnel",
    "orchestra",
    "glacier",
    "pension",
    "vineyard",
    "lighthouse",
    "parliament",
    "ferry",
]
WEB_SETTINGS = (
    "ALLOW_PRIVATE_ADDRESSES=true",
    "AUTOTHROTTLE_ENABLED=false",
    "DOWNLOAD_DELAY=0",
    "RETRY_ENABLED=false",
    "CRAWL_INCREMENTAL=false",
)


def article_html(title: str, seed: int) -> str:
    """A plain news page whose body extraction keeps (six paragraphs of distinct words)."""
    generator = random.Random(seed)
    paragraphs = "".join(
        "<p>"
        + " ".join(generator.choice(VOCABULARY) for _ in range(40)).capitalize()
        + f". Note {seed}-{n}.</p>"
        for n in range(6)
    )
    return (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        f"{paragraphs}</article></body></html>"
    )


def web_crawl_arguments(url_file: Path) -> list[str]:
    command = ["crawl", "urls", "-a", f"path={url_file}"]
    for setting in WEB_SETTINGS:
        command += ["-s", setting]
    return command


def recorded_runs(database_url: str) -> list[CrawlRun]:
    database = Database(database_url)
    try:
        database.create_schema()
        return RunHistory(database).runs()
    finally:
        database.dispose()


def write_articles(folder: Path, count: int) -> None:
    folder.mkdir()
    for number in range(count):
        words = [random.Random(number).choice(VOCABULARY) for _ in range(150)]
        text = " ".join(
            random.Random(number * 7 + k).choice(VOCABULARY) for k, _ in enumerate(words)
        )
        (folder / f"article-{number}.txt").write_text(
            f"Headline {number}\n\n{text.capitalize()}. End {number}.\n"
        )


# --- pure parts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "errors", "status"),
    [
        ("finished", 0, "finished"),
        ("finished", 2, "finished_with_errors"),
        ("closespider_itemcount", 0, "finished"),
        ("idle_timeout", 0, "finished"),
        ("shutdown", 0, "interrupted"),
        ("shutdown", 3, "interrupted"),
        ("cancelled", 0, "failed"),
        ("closespider_errorcount", 5, "failed"),
    ],
)
def test_run_status_from_close_reason_and_errors(reason: str, errors: int, status: str) -> None:
    assert run_status(reason, errors) == status


def test_arguments_from_command_line_reads_only_spider_arguments() -> None:
    argv = [
        "scrapy",
        "urls",
        "-a",
        "path=seeds/x.txt",
        "-s",
        "A=1",
        "-aurl=http://e.org/?q=a=b",
        "-a",
        "junk",
    ]
    assert arguments_from_command_line(argv) == {
        "path": "seeds/x.txt",
        "url": "http://e.org/?q=a=b",
    }


def test_arguments_setting_must_be_a_json_object_of_strings() -> None:
    assert parse_arguments_setting('{"path": "a.txt"}') == {"path": "a.txt"}
    for bad in ("[1]", '{"n": 1}', "{oops"):
        with pytest.raises(ValueError, match="RUN_HISTORY_ARGUMENTS"):
            parse_arguments_setting(bad)


def test_run_record_takes_counts_from_stats() -> None:
    start = datetime(2025, 1, 6, tzinfo=UTC)
    stats = {
        "downloader/request_count": 7,
        "downloader/response_count": 6,
        "downloader/response_bytes": 12345,
        "storage/upserted": 4,
        "grouping/duplicate": 1,
        "grouping/stories_touched": 3,
        "rejects/no_article_body": 2,
        "rejects/http_error": 1,
        "log_count/ERROR": 1,
    }
    run = run_record_from_stats(
        stats,
        run_key="k",
        spider="urls",
        job=None,
        arguments={"path": "x"},
        started_at=start,
        finished_at=start + timedelta(minutes=1),
        reason="finished",
        worker="host:1",
    )
    assert (
        run.requested,
        run.fetched,
        run.stored,
        run.duplicates,
        run.stories_touched,
        run.bytes,
    ) == (
        7,
        6,
        4,
        1,
        3,
        12345,
    )
    assert run.rejected_by_reason == {"http_error": 1, "no_article_body": 2}
    assert run.status == "finished_with_errors"


def test_site_tally_counts_per_host_and_refuses_unknown_counts() -> None:
    tally = SiteTally()
    tally.add(site_of("https://News.Example.org/a"), "fetched")
    tally.add(site_of("https://news.example.org/b"), "stored", 2)
    tally.add(site_of("file:///tmp/a.txt"), "extraction_failures")
    assert tally.sites() == [
        SiteCounts("local", extraction_failures=1),
        SiteCounts("news.example.org", fetched=1, stored=2),
    ]
    with pytest.raises(ValueError, match="unknown site count"):
        tally.add("x", "bogus")


def test_robots_block_counter_counts_only_robots_refusals() -> None:
    from scrapy import Request
    from scrapy.exceptions import IgnoreRequest
    from scrapy.statscollectors import StatsCollector
    from scrapy.utils.test import get_crawler

    stats = StatsCollector(get_crawler())
    counter = RobotsBlockCounter(stats)
    counter.process_exception(
        Request("http://a.example/x"), IgnoreRequest("Forbidden by robots.txt")
    )
    counter.process_exception(Request("http://a.example/y"), IgnoreRequest("something else"))
    counter.process_exception(Request("http://a.example/z"), ValueError("robots.txt"))
    assert stats.get_value("health/robots_blocked/a.example") == 1


# --- repository on both databases -------------------------------------------------------


def test_repository_records_runs_sites_and_completes_them(database_url: str) -> None:
    database = Database(database_url)
    database.create_schema()
    history = RunHistory(database)
    start = datetime(2025, 1, 6, 12, tzinfo=UTC)
    run = RunRecord(
        "run-1",
        "urls",
        start,
        start + timedelta(seconds=5),
        "finished",
        finish_reason="finished",
        arguments={"path": "a.txt"},
        rejected_by_reason={"no_article_body": 2},
        stored=3,
    )
    history.record_run(run, [SiteCounts("a.example", fetched=4, stored=3, http_errors=1)])
    history.complete_run(
        RunRecord("run-1", "urls", start, start, "failed", job="hourly", exit_code=1)
    )
    history.complete_run(
        RunRecord("run-2", "files", start, start + timedelta(seconds=1), "failed", exit_code=2)
    )
    runs = history.runs()
    sites = history.site_runs(per_site=5)
    database.dispose()

    assert [(r.run_key, r.status, r.exit_code, r.job) for r in runs] == [
        ("run-1", "failed", 1, "hourly"),
        ("run-2", "failed", 2, None),
    ]
    assert runs[0].rejected == 2 and runs[0].rejected_by_reason == {"no_article_body": 2}
    assert runs[0].arguments == {"path": "a.txt"} and runs[0].stored == 3
    assert list(sites) == ["a.example"]
    assert (sites["a.example"][0].fetched, sites["a.example"][0].http_errors) == (4, 1)


# --- real crawls --------------------------------------------------------------------------


def test_files_crawl_records_its_run_and_site(database_url: str, tmp_path: Path) -> None:
    write_articles(tmp_path / "articles", 3)
    (tmp_path / "articles" / "empty.txt").write_text("")

    result = run_scrapy(
        "crawl", "files", "-a", f"path={tmp_path / 'articles'}", database_url=database_url
    )

    assert result.returncode == 0, result.stderr[-3000:]
    [run] = recorded_runs(database_url)
    assert (run.spider, run.status, run.finish_reason) == ("files", "finished", "finished")
    assert run.arguments == {"path": str(tmp_path / "articles")}
    assert (run.fetched, run.stored, run.rejected) == (4, 3, 1)
    assert sum(run.rejected_by_reason.values()) == 1
    assert run.finished_at is not None and run.finished_at >= run.started_at
    database = Database(database_url)
    sites = RunHistory(database).site_runs(per_site=3)
    database.dispose()
    [local] = sites["local"]
    assert (local.fetched, local.stored, local.extraction_failures) == (4, 3, 1)


def test_web_crawl_counts_http_errors_and_robots_blocks_per_site(
    local_site: LocalSite, sqlite_url: str, tmp_path: Path
) -> None:
    urls = [local_site.add(f"/news/{n}.html", article_html(f"Story {n}", n)) for n in range(3)]
    urls.append(local_site.add("/news/broken.html", "oops", status=500))
    urls.append(local_site.add("/private/secret.html", article_html("Secret", 99)))
    local_site.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    with socket.socket() as probe:  # a port nothing listens on: the connection is refused
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    urls.append(f"http://127.0.0.1:{closed_port}/gone.html")
    url_file = tmp_path / "urls.txt"
    url_file.write_text("\n".join(urls) + "\n")

    # Five requests wait for robots.txt at once (plain Scrapy 2.19 would let the third on
    # through unchecked; crawler.middlewares.SharedRobotsTxtMiddleware does not).
    result = run_scrapy(*web_crawl_arguments(url_file), database_url=sqlite_url)

    assert result.returncode == 0, result.stderr[-3000:]
    [run] = recorded_runs(sqlite_url)
    assert run.spider == "urls" and run.stored == 3
    database = Database(sqlite_url)
    [site] = RunHistory(database).site_runs(per_site=3)["127.0.0.1"]
    database.dispose()
    assert (site.stored, site.http_errors, site.robots_blocked) == (3, 1, 1)
    assert (site.download_failures, site.extraction_failures) == (1, 0)
    # the three pages answered 200 (robots.txt is not counted)
    assert site.fetched == 3


class _StalledSite:
    """A server on 127.0.0.1 whose article pages hang until released."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        self.release = threading.Event()
        stalled = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/robots.txt":
                    stalled.requested.set()
                    stalled.release.wait(timeout=60)
                body = b"" if self.path == "/robots.txt" else article_html("Slow", 5).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def stalled_site() -> Iterator[_StalledSite]:
    site = _StalledSite()
    site.thread.start()
    try:
        yield site
    finally:
        site.release.set()
        site.server.shutdown()
        site.server.server_close()


def test_interrupted_crawl_is_recorded_as_interrupted(
    stalled_site: _StalledSite, database_url: str, tmp_path: Path
) -> None:
    url_file = tmp_path / "urls.txt"
    url_file.write_text(f"{stalled_site.base_url}/news/slow.html\n")
    environment = {**os.environ, "DATABASE_URL": database_url}
    crawl = subprocess.Popen(
        [sys.executable, "-m", "scrapy", *web_crawl_arguments(url_file)],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert stalled_site.requested.wait(timeout=120), "the crawl never reached the page"
        crawl.send_signal(signal.SIGINT)
        stalled_site.release.set()
        _, stderr = crawl.communicate(timeout=120)
    finally:
        if crawl.poll() is None:
            crawl.kill()
    [run] = recorded_runs(database_url)
    assert (run.status, run.finish_reason) == ("interrupted", "shutdown"), stderr[-3000:]


def test_site_runs_keep_the_latest_runs_of_each_site_oldest_first(database_url: str) -> None:
    database = Database(database_url)
    database.create_schema()
    history = RunHistory(database)
    start = datetime(2025, 1, 6, tzinfo=UTC)
    for number in range(5):
        sites = [SiteCounts("a.example", stored=number)]
        if number % 2 == 0:
            sites.append(SiteCounts("b.example", stored=10 * number))
        finished = start + timedelta(hours=number)
        history.record_run(
            RunRecord(f"run-{number}", "urls", finished, finished, "finished"), sites
        )
    runs = history.site_runs(per_site=2)
    database.dispose()
    assert {site: [run.stored for run in site_runs] for site, site_runs in runs.items()} == {
        "a.example": [3, 4],
        "b.example": [20, 40],
    }
