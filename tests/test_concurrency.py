"""Two crawls writing into one database at once lose no rows and never see a locked database."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from storage.database import Database
from storage.models import Article
from tests.conftest import PROJECT_ROOT

VOCABULARY = [
    "harbour",
    "council",
    "budget",
    "minister",
    "river",
    "election",
    "court",
    "museum",
    "festival",
    "bridge",
    "station",
    "farmers",
    "rainfall",
    "hospital",
    "teachers",
    "union",
    "airport",
    "library",
    "vaccine",
    "storm",
    "factory",
]


def write_articles(folder: Path, count: int, seed: int) -> None:
    generator = random.Random(seed)
    folder.mkdir()
    for number in range(count):
        words = [generator.choice(VOCABULARY) for _ in range(120)]
        body = " ".join(words).capitalize() + f". Report {seed}-{number}."
        (folder / f"article-{number:03d}.txt").write_text(f"Headline {seed} {number}\n\n{body}\n")


def start_crawl(folder: Path, database_url: str) -> subprocess.Popen[str]:
    environment = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.Popen(
        [sys.executable, "-m", "scrapy", "crawl", "files", "-a", f"path={folder}"],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_crawls_into_one_database_at_once(database_url: str, tmp_path: Path) -> None:
    Database(database_url).create_schema()
    write_articles(tmp_path / "first", 40, seed=1)
    write_articles(tmp_path / "second", 40, seed=2)
    crawls = [start_crawl(tmp_path / name, database_url) for name in ("first", "second")]
    outputs = [crawl.communicate(timeout=600) for crawl in crawls]

    for crawl, (_, stderr) in zip(crawls, outputs, strict=True):
        assert crawl.returncode == 0, stderr[-2000:]
        assert "database is locked" not in stderr
        assert "articles stored:   40" in stderr
    database = Database(database_url)
    with database.sessions() as session:
        stored = session.scalar(select(func.count(func.distinct(Article.url))))
        rows = session.scalar(select(func.count()).select_from(Article))
    database.dispose()
    assert stored == rows == 80
