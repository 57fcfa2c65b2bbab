"""Real `scrapy crawl files` runs in a subprocess, into a temporary SQLite file."""

from __future__ import annotations

import gzip
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.database import Database
from storage.models import Article, Reject, Story
from tests.conftest import run_scrapy

SEEDS = Path(__file__).resolve().parents[1] / "seeds" / "articles"


def stored(database_url: str) -> tuple[list[Article], list[Story], list[Reject]]:
    database = Database(database_url)
    with database.sessions() as session:
        articles = list(session.scalars(select(Article).order_by(Article.id)))
        stories = list(session.scalars(select(Story).order_by(Story.id)))
        rejects = list(session.scalars(select(Reject).order_by(Reject.id)))
    database.dispose()
    return articles, stories, rejects


def test_seed_crawl_stores_one_story_and_reruns_in_place(sqlite_url: str) -> None:
    first = run_scrapy("crawl", "files", "-a", f"path={SEEDS}", database_url=sqlite_url)
    assert first.returncode == 0, first.stderr
    assert "articles stored:   2" in first.stderr
    assert "stories touched:   1" in first.stderr
    # No way into the running crawl: telnet console and remote-control server stay off.
    enabled = first.stderr.split("Enabled extensions:", 1)[1].split("]", 1)[0]
    assert "CoreStats" in enabled
    assert "TelnetConsole" not in enabled and "RemoteControl" not in enabled
    articles, stories, rejects = stored(sqlite_url)
    assert [Path(article.url).name for article in articles] == [
        "military-com-biden-airstrikes-syria.txt",
        "washington-times-biden-airstrikes-syria.txt",
    ]
    assert len(stories) == 1 and stories[0].article_count == 2 and stories[0].outlet_count == 2
    assert {article.story_id for article in articles} == {stories[0].id}
    assert stories[0].first_published_at == datetime(2021, 2, 25, tzinfo=UTC)
    assert rejects == []

    # Again, reading one file at a time (it waits for the pipelines, never stalls).
    second = run_scrapy(
        "crawl", "files", "-a", f"path={SEEDS}", "-s", "CONCURRENT_ITEMS=1", database_url=sqlite_url
    )
    assert second.returncode == 0, second.stderr
    assert "'files/read': 2" in second.stderr
    again, stories_again, _ = stored(sqlite_url)
    assert [(a.id, a.url, a.text_hash, a.story_id) for a in again] == [
        (a.id, a.url, a.text_hash, a.story_id) for a in articles
    ]
    assert [(s.id, s.article_count) for s in stories_again] == [(stories[0].id, 2)]


def test_stories_command_prints_the_seed_story(sqlite_url: str) -> None:
    assert (
        run_scrapy("crawl", "files", "-a", f"path={SEEDS}", database_url=sqlite_url).returncode == 0
    )
    listing = run_scrapy("stories", database_url=sqlite_url)
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.strip().splitlines()
    assert len(lines) == 1
    assert "Biden Orders Airstrikes" in lines[0]
    assert "military.com" in lines[0] and "The Washington Times" in lines[0]
    assert "2 articles" in lines[0]


def test_missing_path_is_one_error_line_and_nonzero_exit(tmp_path: Path, sqlite_url: str) -> None:
    missing = tmp_path / "no-such-folder"
    result = run_scrapy("crawl", "files", "-a", f"path={missing}", database_url=sqlite_url)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert errors == [f"scrapy crawl files: error: path not found: {missing}"]
    assert "Traceback" not in result.stderr


def write_bad_inputs(folder: Path) -> None:
    """One file per bad-input case, beside one good article."""
    shutil.copy(SEEDS / "military-com-biden-airstrikes-syria.txt", folder / "good.txt")
    (folder / "binary.html").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(2048))
    (folder / "empty.txt").write_bytes(b"")
    cp1252_text = (
        "Café owners in the old town protest new rules\n\n"
        + "The café owners said the rules would cost them their terraces and their customers. " * 8
        + "\n\nThe mayor’s office said the rules were needed for safety on the narrow streets.\n"
    )
    (folder / "cp1252.txt").write_bytes(cp1252_text.encode("cp1252"))
    invalid_utf8 = (
        "Valid words before the broken bytes, spoken by the minister in the chamber. " * 10
    ).encode()
    (folder / "invalid-utf8.txt").write_bytes(
        invalid_utf8 + b"\xff\xfe\xc3\x28 tail words " + invalid_utf8
    )
    with (folder / "huge.txt").open("wb") as huge:
        huge.write(b"word " * (50 * 1024 * 1024 // 5))
    (folder / "bomb.html.gz").write_bytes(
        gzip.compress(b"<p>" + b"a" * (20 * 1024 * 1024) + b"</p>")
    )
    (folder / "corrupt.txt.gz").write_bytes(b"\x1f\x8b\x08\x00not really gzip at all")
    # A file the kernel refuses to read, whoever we are (root reads chmod-000 files).
    (folder / "unreadable.txt").symlink_to("/proc/self/mem")


def test_bad_inputs_are_recorded_and_the_run_goes_on(tmp_path: Path, sqlite_url: str) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    write_bad_inputs(folder)
    result = run_scrapy("crawl", "files", "-a", f"path={folder}", database_url=sqlite_url)
    assert result.returncode == 0, result.stderr[-3000:]
    articles, _, rejects = stored(sqlite_url)

    by_name = {Path(article.url).name: article for article in articles}
    assert sorted(by_name) == ["cp1252.txt", "good.txt", "invalid-utf8.txt"]
    assert by_name["cp1252.txt"].title == "Café owners in the old town protest new rules"
    assert "mayor’s office" in by_name["cp1252.txt"].text
    assert "Valid words before the broken bytes" in by_name["invalid-utf8.txt"].text

    reasons = {Path(reject.url).name: reject.reason for reject in rejects}
    assert reasons == {
        "binary.html": "binary",
        "bomb.html.gz": "too_large",
        "corrupt.txt.gz": "unreadable",
        "empty.txt": "empty",
        "huge.txt": "too_large",
        "unreadable.txt": "unreadable",
    }
    assert all(reject.detail for reject in rejects)
    assert "rejected:          6" in result.stderr
    for reason, number in {"binary": 1, "empty": 1, "too_large": 2, "unreadable": 2}.items():
        assert f"    {reason}: {number}" in result.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_permission_denied_file_is_recorded(tmp_path: Path, sqlite_url: str) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    locked = folder / "locked.txt"
    locked.write_text("text nobody may read")
    locked.chmod(0)
    result = run_scrapy("crawl", "files", "-a", f"path={folder}", database_url=sqlite_url)
    assert result.returncode == 0
    _, _, rejects = stored(sqlite_url)
    assert [(Path(r.url).name, r.reason) for r in rejects] == [("locked.txt", "unreadable")]
