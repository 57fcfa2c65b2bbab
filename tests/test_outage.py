"""The database goes away in the middle of a crawl and comes back: nothing is lost.

The tests start their own throwaway PostgreSQL (initdb + pg_ctl on a free port), stop it
while the crawl is writing, and start it again a few seconds later; the crawl runs alone
or as a worker of the distributed mode (grouping under the lock shared by the workers).
The grouping lock is also seen to recover when its session is ended under it.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from scrapy.utils.test import get_crawler
from sqlalchemy import Connection, create_engine, func, select, text
from sqlalchemy.exc import DBAPIError, OperationalError

from crawler.items import ArticleItem
from crawler.spiders.files import FilesSpider
from pipelines.shared_grouping import SharedGroupingPipeline
from storage.database import Database
from storage.grouping_store import GroupingSignature
from storage.grouping_sync import GroupingLock
from storage.models import Article
from tests.conftest import PROJECT_ROOT
from tests.test_concurrency import write_articles
from tests.test_distributed import REDIS_URL, redis_prefix  # noqa: F401 - fixture


def postgres_bin() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not candidates and not shutil.which("pg_ctl"):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not installed")
    return Path(candidates[-1]).parent if candidates else Path(shutil.which("pg_ctl") or "").parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ThrowawayPostgres:
    """A PostgreSQL server of the test's own, in a temporary folder."""

    def __init__(self, folder: Path) -> None:
        self.bin = postgres_bin()
        self.data = folder / "pgdata"
        self.port = free_port()
        self.as_postgres: list[str] = []
        if os.geteuid() == 0:  # initdb refuses to run as root
            self.as_postgres = ["runuser", "-u", "postgres", "--"]
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, *command: str) -> None:
        subprocess.run([*self.as_postgres, *command], check=True, capture_output=True, timeout=120)

    def initialise(self) -> None:
        self.run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        )

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data}"
        self.run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-w",
            "start",
            "-l",
            str(self.data / "log"),
        )

    def stop(self) -> None:
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")


@pytest.fixture
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    pytest.importorskip("psycopg")
    # Outside pytest's private temporary folder, which the postgres user cannot enter.
    folder = Path(tempfile.mkdtemp(prefix="newsfold-pg-"))
    folder.chmod(0o777)
    server = ThrowawayPostgres(folder)
    server.initialise()
    server.start()
    try:
        yield server
    finally:
        subprocess.run(
            [
                *server.as_postgres,
                str(server.bin / "pg_ctl"),
                "-D",
                str(server.data),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(folder, ignore_errors=True)


def count_articles(url: str) -> int | None:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            return int(connection.scalar(select(func.count()).select_from(Article)) or 0)
    except OperationalError:
        return None
    finally:
        engine.dispose()


def stored_articles(url: str) -> tuple[int, int]:
    """How many articles are stored, and how many of them have no story."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            total = connection.scalar(select(func.count()).select_from(Article))
            storyless = connection.scalar(
                select(func.count()).select_from(Article).where(Article.story_id.is_(None))
            )
        return int(total or 0), int(storyless or 0)
    finally:
        engine.dispose()


@pytest.mark.parametrize("distributed", [False, True], ids=["alone", "distributed"])
def test_database_outage_mid_crawl_loses_nothing(
    throwaway_postgres: ThrowawayPostgres,
    tmp_path: Path,
    distributed: bool,
    request: pytest.FixtureRequest,
) -> None:
    """Distributed, grouping takes the shared lock for each batch: the outage meets it."""
    environment = {**os.environ, "DATABASE_URL": throwaway_postgres.url}
    settings = ["STORAGE_BATCH_SIZE=5", "STORAGE_FLUSH_SECONDS=0"]
    if distributed:
        prefix = request.getfixturevalue("redis_prefix")
        environment |= {"REDIS_URL": REDIS_URL, "REDIS_KEY_PREFIX": prefix}
        settings += ["DISTRIBUTED_IDLE_TIMEOUT=1", "DEDUP_BATCH_SIZE=8"]
    else:
        environment = {
            key: value for key, value in environment.items() if not key.startswith("REDIS_")
        }
    write_articles(tmp_path / "inbox", 300, seed=7)
    database = Database(throwaway_postgres.url)
    database.create_schema()
    database.dispose()
    command = [sys.executable, "-m", "scrapy", "crawl", "files", "-a", f"path={tmp_path / 'inbox'}"]
    for setting in settings:
        command += ["-s", setting]
    crawl = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while (count_articles(throwaway_postgres.url) or 0) == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    # Paused while the database goes down, so the crawl cannot finish in between however
    # fast it runs; it then goes on writing into the outage.
    crawl.send_signal(signal.SIGSTOP)
    stored_before_outage = count_articles(throwaway_postgres.url)
    throwaway_postgres.stop()
    crawl.send_signal(signal.SIGCONT)
    time.sleep(4)
    throwaway_postgres.start()
    _, stderr = crawl.communicate(timeout=300)
    (tmp_path / "crawl.log").write_text(stderr)

    assert crawl.returncode == 0, stderr[-3000:]
    assert stored_before_outage is not None and 0 < stored_before_outage < 300
    # The outage was really met: by storage, or distributed by grouping's lock first (the
    # pipeline waits for it there, and storage after it may then never meet the outage).
    outage_seen = "trying again" if distributed else "unavailable, keeping"
    assert outage_seen in stderr, stderr[-3000:]
    assert stored_articles(throwaway_postgres.url) == (300, 0)  # all stored, all grouped
    assert "articles stored:   300" in stderr
    assert "Error processing" not in stderr
    if distributed:
        assert "SharedGroupingPipeline" in stderr
        assert "'grouping/lock_retries'" in stderr
        methods = ("exact", "containment", "tfidf_avglink", "new_story", "too_short")
        decided = re.findall(rf"'grouping/(?:{'|'.join(methods)})': (\d+)", stderr)
        assert sum(int(count) for count in decided) == 300  # none decided twice
        assert "grouping/unlocked_decisions" not in stderr  # the outage was shorter than 120 s


# -- the shared grouping pipeline and its lock, one step at a time ---------------------

ARTICLE_WORDS = (
    "harbour council approves new ferry timetable after months of debate among residents "
    "who complained about crowded morning crossings and late evening returns"
)


def article_item(number: int) -> ArticleItem:
    """An extracted article of its own words (no two of them grouped together)."""
    from tests.test_grouping_pipeline import item  # it imports this module's fixture

    words = [f"{word}{number}" for word in ARTICLE_WORDS.split()] * 3
    return item(f"https://news{number}.example/a", " ".join(words))


def shared_pipeline(database_url: str, retry_seconds: float) -> SharedGroupingPipeline:
    crawler = get_crawler(
        FilesSpider,
        settings_dict={"DATABASE_URL": database_url, "STORAGE_RETRY_SECONDS": retry_seconds},
    )
    return SharedGroupingPipeline.from_crawler(crawler)


def decided_count(pipeline: SharedGroupingPipeline) -> int:
    """How many decisions the pipeline counted, of any method."""
    methods = ("exact", "containment", "tfidf_avglink", "new_story", "too_short")
    return sum(pipeline.stats.get_value(f"grouping/{method}", 0) for method in methods)


def signature_urls(database_url: str) -> set[str]:
    database = Database(database_url)
    try:
        with database.read_sessions() as session:
            return set(session.scalars(select(GroupingSignature.url)))
    finally:
        database.dispose()


@contextmanager
def autocommit_connection(database_url: str) -> Iterator[Connection]:
    """A connection of its own to the database, outside any transaction."""
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def end_lock_sessions(database_url: str) -> int:
    """End (from another session) every session holding an advisory lock in the database."""
    with autocommit_connection(database_url) as connection:
        return len(
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype ="
                    " 'advisory' AND granted AND database ="
                    " (SELECT oid FROM pg_database WHERE datname = current_database())"
                )
            ).all()
        )


def lock_is_free(database_url: str) -> bool:
    """True when another session could take the grouping lock now."""
    from storage.grouping_sync import _GROUPING_LOCK_KEY

    with autocommit_connection(database_url) as connection:
        taken = bool(
            connection.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": _GROUPING_LOCK_KEY})
        )
        if taken:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _GROUPING_LOCK_KEY})
        return taken


def end_other_sessions(database_url: str) -> int:
    """End every other session of the database (the lock's among them)."""
    with autocommit_connection(database_url) as connection:
        return len(
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).all()
        )


def test_grouping_lock_recovers_when_its_session_is_ended(postgres_url: str) -> None:
    database = Database(postgres_url)
    lock = GroupingLock(database)
    try:
        with lock.held():
            assert not lock_is_free(postgres_url)
        # Ended while idle (a restart between two decisions): the next hold takes the
        # lock on a fresh session, without failing.
        assert end_other_sessions(postgres_url) == 1
        with lock.held():
            assert not lock_is_free(postgres_url)
        # Ended while held: the server let go of the lock at once, and letting go says so.
        with pytest.raises(DBAPIError), lock.held():
            assert end_lock_sessions(postgres_url) == 1
            assert lock_is_free(postgres_url)
        with lock.held():
            assert not lock_is_free(postgres_url)
        assert lock_is_free(postgres_url)
    finally:
        lock.close()
        database.dispose()


def restart_later(server: ThrowawayPostgres, seconds: float) -> threading.Thread:
    """Start the stopped server again after `seconds`, from another thread."""

    def restart() -> None:
        time.sleep(seconds)
        server.start()

    thread = threading.Thread(target=restart)
    thread.start()
    return thread


def test_shared_grouping_waits_out_an_outage_then_decides_under_the_lock(
    throwaway_postgres: ThrowawayPostgres,
) -> None:
    url = throwaway_postgres.url
    pipeline = shared_pipeline(url, retry_seconds=60)
    pipeline.open_spider()
    items = [article_item(number) for number in range(3)]
    pipeline.process_item(items[0])
    throwaway_postgres.stop()
    restart = restart_later(throwaway_postgres, 3)
    try:
        pipeline.process_item(items[1])  # waits for the database, lock and all
    finally:
        restart.join()
    pipeline.process_item(items[2])
    pipeline.close_spider()
    pipeline.spider_closed()

    assert all(each.grouping is not None for each in items)
    assert pipeline.stats.get_value("grouping/lock_retries", 0) >= 1
    assert pipeline.stats.get_value("grouping/unlocked_decisions") is None
    assert decided_count(pipeline) == 3
    assert signature_urls(url) == {each.url for each in items}


def test_shared_grouping_decides_without_the_lock_once_patience_is_spent(
    throwaway_postgres: ThrowawayPostgres,
) -> None:
    url = throwaway_postgres.url
    pipeline = shared_pipeline(url, retry_seconds=2)
    pipeline.open_spider()
    items = [article_item(number) for number in range(4)]
    pipeline.process_item(items[0])
    throwaway_postgres.stop()
    pipeline.process_item(items[1])  # tries for 2 s, then decides alone
    retries = pipeline.stats.get_value("grouping/lock_retries")
    assert retries >= 2
    pipeline.process_item(items[2])  # tries once only: the lock was just missed
    assert pipeline.stats.get_value("grouping/lock_retries") == retries + 1
    assert pipeline.stats.get_value("grouping/unlocked_decisions") == 2
    throwaway_postgres.start()
    pipeline.process_item(items[3])  # under the lock again; saves what waited
    pipeline.close_spider()
    pipeline.spider_closed()

    assert all(each.grouping is not None for each in items)
    assert pipeline.stats.get_value("grouping/unlocked_decisions") == 2
    assert decided_count(pipeline) == 4
    assert signature_urls(url) == {each.url for each in items}


class LockLostWhileSaving(SharedGroupingPipeline):
    """Ends the lock's session when the decisions are being saved, once."""

    end_lock_session = False

    def flush(self) -> bool:
        if self.end_lock_session and self.lock is not None:
            self.end_lock_session = False
            assert self.database is not None
            assert end_lock_sessions(self.database.url) == 1
        return super().flush()


def test_shared_grouping_does_not_decide_twice_when_the_lock_is_lost_after_deciding(
    postgres_url: str,
) -> None:
    crawler = get_crawler(FilesSpider, settings_dict={"DATABASE_URL": postgres_url})
    pipeline = LockLostWhileSaving.from_crawler(crawler)
    pipeline.open_spider()
    items = [article_item(number) for number in range(3)]
    pipeline.process_item(items[0])
    pipeline.end_lock_session = True
    pipeline.process_item(items[1])  # decided, saved, then letting go fails: step redone
    assert not pipeline.end_lock_session
    pipeline.process_item(items[2])
    pipeline.close_spider()
    pipeline.spider_closed()

    assert pipeline.stats.get_value("grouping/lock_retries") == 1
    assert decided_count(pipeline) == 3  # the redone step did not decide items[1] again
    assert pipeline.stats.get_value("grouping/new_story") == 3
    assert pipeline.stats.get_value("grouping/unlocked_decisions") is None
    assert signature_urls(postgres_url) == {each.url for each in items}
