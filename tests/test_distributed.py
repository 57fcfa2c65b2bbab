"""Distributed mode: two workers share one Redis frontier and one PostgreSQL database.

The site holds article responses until both workers have requests in flight (each may
have at most two), so both surely take part without any timing assumption. Each test
uses its own Redis key prefix and deletes its keys afterwards.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from scrapy.exceptions import CloseSpider, DontCloseSpider
from scrapy.settings import Settings
from scrapy.statscollectors import StatsCollector
from scrapy.utils.test import get_crawler
from sqlalchemy import select

from crawler.distributed import DistributedMode, IdleStop
from storage.database import Database
from storage.models import Article, Story
from tests.conftest import PROJECT_ROOT
from tests.test_run_history import VOCABULARY, recorded_runs

REDIS_URL = "redis://127.0.0.1:6379/0"
ARTICLES = 20
WORKER_SETTINGS = (
    "ALLOW_PRIVATE_ADDRESSES=true",
    "AUTOTHROTTLE_ENABLED=false",
    "DOWNLOAD_DELAY=0",
    "RETRY_ENABLED=false",
    "CRAWL_INCREMENTAL=false",
    "CONCURRENT_REQUESTS=2",
    "CONCURRENT_REQUESTS_PER_DOMAIN=2",
    "DISTRIBUTED_IDLE_TIMEOUT=3",
    # Extraction in each worker's own process: this test is about the shared frontier and
    # grouping, and two crawls with two extraction processes each overload a small machine.
    "EXTRACTION_WORKERS=0",
)


def project_settings(**overrides: str) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.setdict(overrides, priority="cmdline")
    return settings


def test_distributed_mode_shares_scheduler_and_grouping_only_with_redis_url() -> None:
    alone = project_settings(REDIS_URL="")
    DistributedMode().update_settings(alone)
    assert alone.get("SCHEDULER") == "scrapy.core.scheduler.Scheduler"
    assert alone.getwithbase("ITEM_PIPELINES").get("pipelines.grouping.GroupingPipeline") == 200

    worker = project_settings(REDIS_URL=REDIS_URL, REDIS_KEY_PREFIX="crawl-7")
    DistributedMode().update_settings(worker)
    assert worker.get("SCHEDULER") == "scrapy_redis.scheduler.Scheduler"
    assert worker.get("DUPEFILTER_CLASS") == "scrapy_redis.dupefilter.RFPDupeFilter"
    assert worker.get("SCHEDULER_QUEUE_KEY") == "crawl-7:%(spider)s:requests"
    pipelines = worker.getwithbase("ITEM_PIPELINES")
    assert pipelines.get("pipelines.grouping.GroupingPipeline") is None
    assert pipelines.get("pipelines.shared_grouping.SharedGroupingPipeline") == 200


def test_idle_stop_waits_then_closes_and_activity_resets_it() -> None:
    now = [100.0]
    extension = IdleStop(10.0, StatsCollector(get_crawler()), clock=lambda: now[0])
    with pytest.raises(DontCloseSpider):
        extension.spider_idle(spider=None)  # type: ignore[arg-type]
    now[0] = 105.0
    extension.activity()
    now[0] = 112.0
    with pytest.raises(DontCloseSpider):
        extension.spider_idle(spider=None)  # type: ignore[arg-type]
    now[0] = 123.0
    with pytest.raises(CloseSpider) as closed:
        extension.spider_idle(spider=None)  # type: ignore[arg-type]
    assert closed.value.reason == "idle_timeout"


class _GatedSite:
    """Serves the articles, but answers none before `gate` requests are in flight at once."""

    def __init__(self, pages: dict[str, bytes], gate: int) -> None:
        self.in_flight = 0
        self.open = threading.Event()
        lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                body = pages.get(self.path)
                if body is None:
                    self.answer(404, b"")
                    return
                with lock:
                    site.in_flight += 1
                    if site.in_flight >= gate:
                        site.open.set()
                site.open.wait(timeout=120)
                with lock:
                    site.in_flight -= 1
                self.answer(200, body)

            def answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"


SUFFIXES = ("ia", "on", "er", "us", "ix", "al", "or", "um")


def page(title: str, vocabulary: list[str], seed: int, extra: str = "") -> bytes:
    """A news page of six paragraphs drawn from `vocabulary`."""
    generator = random.Random(seed)
    paragraphs = "".join(
        "<p>" + " ".join(generator.choice(vocabulary) for _ in range(40)).capitalize() + ".</p>"
        for _ in range(6)
    )
    return (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        f"{paragraphs}{extra}</article></body></html>"
    ).encode()


def site_pages() -> dict[str, bytes]:
    """Four stories and four single articles, each on words of its own.

    A story has an original, an exact copy, a copy with a note added, and a second report
    (other sentences on the same words): three copies and a related report.
    """
    vocabularies = [[word + suffix for word in VOCABULARY] for suffix in SUFFIXES]
    pages = {}
    for story in range(4):
        original = page(f"Story {story}", vocabularies[story], seed=story)
        pages[f"/news/{story}.html"] = original
        pages[f"/mirror/{story}.html"] = original
        pages[f"/wire/{story}.html"] = page(
            f"Story {story}",
            vocabularies[story],
            seed=story,
            extra="<p>Updated with a note from the editors.</p>",
        )
        pages[f"/report/{story}.html"] = page(
            f"Report {story}", vocabularies[story], seed=100 + story
        )
    for single in range(4):
        pages[f"/single/{single}.html"] = page(
            f"Single {single}", vocabularies[4 + single], seed=200 + single
        )
    assert len(pages) == ARTICLES
    return pages


@pytest.fixture
def gated_site() -> Iterator[_GatedSite]:
    # Two workers, each at most two requests in flight: three at once means both are fetching.
    site = _GatedSite(site_pages(), gate=3)
    thread = threading.Thread(target=site.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        site.open.set()
        site.server.shutdown()
        site.server.server_close()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    redis = pytest.importorskip("redis")
    pytest.importorskip("scrapy_redis")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as error:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"Redis on 127.0.0.1:6379 not reachable: {error}")
    prefix = f"newsfold-test-{uuid.uuid4().hex[:12]}"
    try:
        yield prefix
    finally:
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()


def start_worker(
    url_file: Path, database_url: str, redis_prefix: str | None, via_setting: bool = False
) -> subprocess.Popen[str]:
    """A crawl of `url_file`; with `redis_prefix`, a worker of the shared frontier, told so
    through the environment or, `via_setting`, through `-s` options."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("REDIS_URL", "REDIS_KEY_PREFIX")
    }
    environment["DATABASE_URL"] = database_url
    command = [sys.executable, "-m", "scrapy", "crawl", "urls", "-a", f"path={url_file}"]
    if redis_prefix is not None and via_setting:
        command += ["-s", f"REDIS_URL={REDIS_URL}", "-s", f"REDIS_KEY_PREFIX={redis_prefix}"]
    elif redis_prefix is not None:
        environment |= {"REDIS_URL": REDIS_URL, "REDIS_KEY_PREFIX": redis_prefix}
    for setting in WORKER_SETTINGS:
        command += ["-s", setting]
    return subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(worker: subprocess.Popen[str]) -> str:
    try:
        _, stderr = worker.communicate(timeout=300)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, stderr[-3000:]
    return stderr


def groups(database_url: str) -> tuple[set[frozenset[str]], set[frozenset[str]]]:
    """The copy groups (canonical and its copies) and the story groups, as sets of URL paths."""
    database = Database(database_url)
    with database.read_sessions() as session:
        rows = session.execute(
            select(Article.id, Article.url, Article.duplicate_of_id, Story.key).outerjoin(
                Story, Story.id == Article.story_id
            )
        ).all()
    database.dispose()
    path_of = {article_id: url.split("/", 3)[3] for article_id, url, _, _ in rows}
    copies: dict[int, set[str]] = {}
    stories: dict[str | None, set[str]] = {}
    for article_id, _url, duplicate_of_id, story_key in rows:
        copies.setdefault(duplicate_of_id or article_id, set()).add(path_of[article_id])
        stories.setdefault(story_key, set()).add(path_of[article_id])
    return {frozenset(group) for group in copies.values()}, {
        frozenset(group) for group in stories.values()
    }


def test_two_workers_share_one_frontier_and_group_like_one(
    gated_site: _GatedSite, redis_prefix: str, tmp_path: Path, postgres_url: str, sqlite_url: str
) -> None:
    url_file = tmp_path / "urls.txt"
    url_file.write_text("".join(f"{gated_site.base_url}{path}\n" for path in sorted(site_pages())))

    # As a deployment would: the schema exists before the workers start.
    database = Database(postgres_url)
    database.create_schema()
    database.dispose()
    # One worker learns of Redis from the environment, the other from -s options.
    workers = [
        start_worker(url_file, postgres_url, redis_prefix, via_setting=via_setting)
        for via_setting in (False, True)
    ]
    logs = [finish(worker) for worker in workers]

    runs = recorded_runs(postgres_url)
    assert len(runs) == 2 and all(run.finish_reason == "idle_timeout" for run in runs)
    assert sorted(run.stored > 0 for run in runs) == [True, True], [run.stored for run in runs]
    assert sum(run.stored for run in runs) == ARTICLES
    database = Database(postgres_url)
    with database.read_sessions() as session:
        urls = list(session.scalars(select(Article.url)))
    database.dispose()
    assert len(urls) == len(set(urls)) == ARTICLES

    # The same site crawled by one worker alone, without Redis.
    gated_site.open.set()
    finish(start_worker(url_file, sqlite_url, None))
    single_copies, single_stories = groups(sqlite_url)
    shared_copies, shared_stories = groups(postgres_url)
    # Per story: one group of three copies and the second report; then the single articles.
    assert sorted(len(group) for group in single_copies) == [1] * 8 + [3] * 4
    assert sorted(len(group) for group in single_stories) == [1] * 4 + [4] * 4
    assert shared_copies == single_copies
    for number, log in enumerate(logs):
        (tmp_path / f"worker-{number}.log").write_text(log)
    assert shared_stories == single_stories, f"worker logs in {tmp_path}"


def test_grouping_lock_shuts_out_every_other_holder(database_url: str) -> None:
    import fcntl

    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from storage.grouping_sync import _GROUPING_LOCK_KEY, GroupingLock

    database = Database(database_url)
    database.create_schema()
    lock = GroupingLock(database)

    def someone_else_can_take_it() -> bool:
        url = make_url(database_url)
        if url.get_backend_name() == "postgresql":
            with database.engine.connect() as connection:
                taken = bool(
                    connection.execute(
                        text("SELECT pg_try_advisory_lock(:k)"), {"k": _GROUPING_LOCK_KEY}
                    ).scalar()
                )
                if taken:
                    connection.execute(
                        text("SELECT pg_advisory_unlock(:k)"), {"k": _GROUPING_LOCK_KEY}
                    )
                return taken
        with open(f"{url.database}.grouping-lock", "ab") as other:
            try:
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            fcntl.flock(other, fcntl.LOCK_UN)
            return True

    try:
        with lock.held():
            assert not someone_else_can_take_it()
        assert someone_else_can_take_it()
    finally:
        lock.close()
        database.dispose()
