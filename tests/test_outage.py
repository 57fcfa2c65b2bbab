"""The database goes away in the middle of a crawl and comes back: nothing is lost.

The test starts its own throwaway PostgreSQL (initdb + pg_ctl on a free port), stops it
while the crawl is writing, and starts it again a few seconds later.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError

from storage.database import Database
from storage.models import Article
from tests.conftest import PROJECT_ROOT
from tests.test_concurrency import write_articles


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


def test_database_outage_mid_crawl_loses_nothing(
    throwaway_postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    write_articles(tmp_path / "inbox", 300, seed=7)
    database = Database(throwaway_postgres.url)
    database.create_schema()
    database.dispose()
    crawl = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scrapy",
            "crawl",
            "files",
            "-a",
            f"path={tmp_path / 'inbox'}",
            "-s",
            "STORAGE_BATCH_SIZE=5",
            "-s",
            "STORAGE_FLUSH_SECONDS=0",
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": throwaway_postgres.url},
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

    assert crawl.returncode == 0, stderr[-3000:]
    assert stored_before_outage is not None and 0 < stored_before_outage < 300
    assert "unavailable, keeping" in stderr  # the outage was really met
    assert count_articles(throwaway_postgres.url) == 300
    assert "articles stored:   300" in stderr
