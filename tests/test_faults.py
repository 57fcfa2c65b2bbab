"""Faults (issue 8, cases 11-13): a crawl killed with SIGKILL and run again; secrets in logs.

- 11: `kill -9` of a `urls` crawl (database-backed resume: the incremental middleware
  skips what was stored) and of a `files` crawl (upsert by URL), then the same command
  again: every article stored exactly once, none lost. The same with `JOBDIR`, stopped
  by SIGINT (once, twice: resumed from the saved queue) and by SIGKILL (the job is
  started over by `JobDirResumeGuard`, the database skipping what was stored).
- 12, the database going away mid-run: `tests/test_outage.py::test_database_outage_mid_crawl_loses_nothing`.
- 13: a database password, proxy credentials and a password in a page URL never reach
  the logs or `rejects`; an unreachable database is reported masked by
  `tests/test_storage.py::test_unreachable_database_is_one_masked_line_and_exit_1`.
"""

from __future__ import annotations

import base64
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from crawler.guards import JOBDIR_IN_USE_MARKER, discard_unclosed_job_state
from tests.conftest import PROJECT_ROOT, wcxb_page
from tests.test_concurrency import write_articles
from tests.test_hostile_input import (
    PUBLIC_ADDRESS,
    RawServer,
    crawl,
    crawl_command,
    redirect,
    respond,
    seed_file,
    servers,  # noqa: F401  (fixture)
)

ARTICLES = 20


def count_rows(database: Path, query: str) -> int:
    try:
        with sqlite3.connect(database, timeout=30) as connection:
            return int(connection.execute(query).fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # no table yet


def kill_when_some_are_stored(
    command: list[str],
    env: dict[str, str],
    database: Path,
    total: int,
    signals: tuple[signal.Signals, ...] = (signal.SIGKILL,),
) -> int:
    """Start the crawl, send it `signals` once some (not all) articles are stored; how many were.

    After the signals the crawl is given a minute to end on its own, then killed.
    """
    crawl_process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120  # a safety net only
        while count_rows(database, "SELECT count(*) FROM articles") == 0:
            assert crawl_process.poll() is None, "the crawl ended before it could be killed"
            assert time.monotonic() < deadline, "nothing stored within two minutes"
            time.sleep(0.05)
        for stop in signals:
            os.killpg(crawl_process.pid, stop)  # its own session: this crawl only
            time.sleep(0.2)
        crawl_process.wait(timeout=60)
    finally:
        if crawl_process.poll() is None:
            os.killpg(crawl_process.pid, signal.SIGKILL)
            crawl_process.wait(timeout=30)
    stored = count_rows(database, "SELECT count(*) FROM articles")
    assert 0 < stored < total, "the kill came too late to test a resume"
    return stored


def plain_article(number: int) -> str:
    words = ["harbour", "council", "budget", "minister", "river", "election", "court", "museum"]
    body = " ".join(words[(number * 3 + k * 5) % len(words)] for k in range(150))
    return f"Headline number {number}\n\n{body.capitalize()}. Report {number} ends here.\n"


def test_kill_9_then_the_same_urls_crawl_stores_every_article_once(
    servers: Callable[..., RawServer],  # noqa: F811
    tmp_path: Path,
) -> None:
    site = servers()
    urls = [site.url(f"/news/{number}.txt") for number in range(ARTICLES)]
    for number in range(ARTICLES):
        site.routes[f"/news/{number}.txt"] = respond(
            plain_article(number), content_type="text/plain; charset=utf-8"
        )
    arguments = (seed_file(tmp_path, urls),)
    settings = {
        "CONCURRENT_REQUESTS": "1",
        "DOWNLOAD_DELAY": "0.1",
        "STORAGE_BATCH_SIZE": "1",
        "STORAGE_FLUSH_SECONDS": "0",
    }
    database = tmp_path / "crawl.db"
    command, env = crawl_command(tmp_path, "urls", *arguments, settings=settings)

    stored_before = kill_when_some_are_stored(command, env, database, ARTICLES)
    with sqlite3.connect(database) as connection:
        before = {url for (url,) in connection.execute("SELECT url FROM articles")}
    first_run_requests = len(site.targets())

    crawl(tmp_path, "urls", *arguments, settings=settings)

    with sqlite3.connect(database) as connection:
        stored = [url for (url,) in connection.execute("SELECT url FROM articles")]
        story_total = connection.execute("SELECT sum(article_count) FROM stories").fetchone()[0]
    assert sorted(stored) == sorted(urls)  # every article, each once
    assert story_total == ARTICLES
    second_run = set(site.targets()[first_run_requests:])
    assert not second_run & {url.removeprefix(site.base_url) for url in before}
    assert len(before) == stored_before


# Enough start requests that Scrapy's seen-requests file is written out before a kill (it
# is buffered 8 KiB at a time, about 370 fingerprints), which is when a killed job's
# resume would skip them.
JOBDIR_ARTICLES = 450


@pytest.mark.parametrize(
    "signals",
    [(signal.SIGINT,), (signal.SIGINT, signal.SIGINT), (signal.SIGKILL,)],
    ids=["sigint", "sigint_twice", "sigkill"],
)
def test_a_jobdir_crawl_stopped_midway_then_run_again_stores_every_article_once(
    servers: Callable[..., RawServer],  # noqa: F811
    tmp_path: Path,
    signals: tuple[signal.Signals, ...],
) -> None:
    site = servers()
    urls = [site.url(f"/news/{number}.txt") for number in range(JOBDIR_ARTICLES)]
    for number in range(JOBDIR_ARTICLES):
        site.routes[f"/news/{number}.txt"] = respond(
            plain_article(number), content_type="text/plain; charset=utf-8"
        )
    arguments = (seed_file(tmp_path, urls),)
    jobdir = tmp_path / "job"
    settings = {
        "CONCURRENT_REQUESTS": "1",
        "STORAGE_BATCH_SIZE": "1",
        "STORAGE_FLUSH_SECONDS": "0",
        "JOBDIR": str(jobdir),
    }
    database = tmp_path / "crawl.db"
    command, env = crawl_command(tmp_path, "urls", *arguments, settings=settings)

    kill_when_some_are_stored(command, env, database, JOBDIR_ARTICLES, signals)
    with sqlite3.connect(database) as connection:
        before = {url for (url,) in connection.execute("SELECT url FROM articles")}
    first_run_requests = len(site.targets())
    # A crawl that closed removed its marker; SIGKILL never lets it. (A second SIGINT
    # arriving while the first one's close is under way can cut the close short too.)
    killed = (jobdir / JOBDIR_IN_USE_MARKER).exists()
    if signals == (signal.SIGKILL,):
        assert killed
    elif signals == (signal.SIGINT,):
        assert not killed  # Scrapy's clean pause
    result = crawl(tmp_path, "urls", *arguments, settings=settings)

    with sqlite3.connect(database) as connection:
        stored = [url for (url,) in connection.execute("SELECT url FROM articles")]
    assert sorted(stored) == sorted(urls)  # every article, each once
    second_run = site.targets()[first_run_requests:]
    assert len(second_run) == len(set(second_run))
    assert not set(second_run) & {url.removeprefix(site.base_url) for url in before}
    if killed:  # the queue died with the crawl: started over, the database skipping
        assert "'guard/jobdir_discarded': 1" in result.stderr
        assert "'incremental/skipped': " in result.stderr
    else:  # closed cleanly: resumed from the saved queue
        assert "Resuming crawl" in result.stderr
        assert "guard/jobdir_discarded" not in result.stderr
    assert not (jobdir / JOBDIR_IN_USE_MARKER).exists()


def test_only_the_state_of_an_unclosed_job_is_discarded(tmp_path: Path) -> None:
    (tmp_path / "requests.queue").mkdir()
    (tmp_path / "requests.queue" / "active.json").write_text("[]")
    (tmp_path / "requests.seen").write_bytes(b"\0" * 21)
    assert discard_unclosed_job_state(tmp_path) == []  # paused cleanly: kept
    assert (tmp_path / "requests.seen").exists()

    (tmp_path / JOBDIR_IN_USE_MARKER).write_text("4242\n")
    assert discard_unclosed_job_state(tmp_path) == ["requests.seen", "requests.queue"]
    assert list(tmp_path.iterdir()) == []


def test_kill_9_then_the_same_files_crawl_stores_every_article_once(tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    write_articles(folder, 80, seed=5)
    settings = {"STORAGE_BATCH_SIZE": "5", "STORAGE_FLUSH_SECONDS": "0"}
    database = tmp_path / "crawl.db"
    command, env = crawl_command(tmp_path, "files", f"path={folder}", settings=settings)

    kill_when_some_are_stored(command, env, database, 80)
    crawl(tmp_path, "files", f"path={folder}", settings=settings)

    assert count_rows(database, "SELECT count(*) FROM articles") == 80
    assert count_rows(database, "SELECT count(DISTINCT url) FROM articles") == 80
    assert count_rows(database, "SELECT sum(article_count) FROM stories") == 80


def test_secrets_never_reach_logs_or_rejects(
    servers: Callable[..., RawServer],  # noqa: F811
    tmp_path: Path,
    postgres_url: str,
) -> None:
    database_secret, proxy_secret, page_secret = "db-s3cret-pw", "pr0xy-s3cret", "page-s3cret"
    database_url = postgres_url.replace("postgres@", f"postgres:{database_secret}@", 1)
    proxy = servers()  # a forward proxy standing in for a public site
    proxy.routes[f"http://{PUBLIC_ADDRESS}/news/1.html"] = respond(wcxb_page("0014")[0])
    proxy.routes["/members/loop"] = redirect("/members/loop")  # any host, creds or not
    proxy.routes[f"http://{PUBLIC_ADDRESS}/gone"] = redirect("/gone")
    seeds = [
        f"http://{PUBLIC_ADDRESS}/news/1.html",
        f"http://reader:{page_secret}@{PUBLIC_ADDRESS}/members/loop",
        f"http://{PUBLIC_ADDRESS}/gone",
    ]

    result = crawl(
        tmp_path,
        "urls",
        seed_file(tmp_path, seeds),
        settings={"LOG_LEVEL": "DEBUG", "ALLOW_PRIVATE_ADDRESSES": "false"},
        environment={"http_proxy": f"http://crawler:{proxy_secret}@127.0.0.1:{proxy.port}"},
        database_url=database_url,
    )

    engine = create_engine(postgres_url)
    with engine.connect() as connection:
        articles = connection.execute(text("SELECT url FROM articles")).all()
        rejected = connection.execute(text("SELECT url, reason, detail FROM rejects")).all()
    engine.dispose()
    assert [url for (url,) in articles] == [seeds[0]]  # the crawl went through the proxy
    assert {reason for _, reason, _ in rejected} == {"redirect_loop"} and len(rejected) == 2
    assert any("proxy-authorization" in seen.headers for seen in proxy.seen)
    proxy_token = base64.b64encode(f"crawler:{proxy_secret}".encode()).decode()
    page_token = base64.b64encode(f"reader:{page_secret}".encode()).decode()
    exposed = result.stdout + result.stderr + repr(rejected)
    for secret in (database_secret, proxy_secret, page_secret, proxy_token, page_token):
        assert secret not in exposed
    assert "reader:***@" in repr(rejected)
