"""`scrapy export` and the analysts' views, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.database import Database
from storage.repository import ArticleRecord, ArticleRepository
from tests.conftest import run_scrapy

START = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)


def fill(database_url: str, count: int = 30) -> None:
    """`count` articles over `count` days, in stories of three, every third one a copy."""
    database = Database(database_url)
    database.create_schema()
    repository = ArticleRepository(database)
    for number in range(count):
        url = f"https://site{number % 4}.example/a/{number}"
        first = number - number % 3
        story_key = f"https://site{first % 4}.example/a/{first}"
        repository.upsert_article(
            ArticleRecord(
                url=url,
                canonical_url=url,
                text=f"Report number {number} with ünïcödé and a comma, here.",
                text_hash=f"{number:064d}",
                word_count=9,
                fetched_at=START,
                story_key=story_key,
                title=f"Title {number}",
                authors=("Jane Doe", "Richard Roe") if number % 2 else (),
                published_at=START + timedelta(days=number),
                site=f"site{number % 4}.example",
                duplicate_of_url=story_key if number % 3 == 2 else None,
            )
        )
    database.dispose()


@pytest.mark.parametrize("export_format", ["csv", "jsonl", "parquet"])
def test_export_matches_the_table_row_for_row(
    database_url: str, tmp_path: Path, export_format: str
) -> None:
    fill(database_url)
    output = tmp_path / f"articles.{export_format}"
    result = run_scrapy(
        "export", "--format", export_format, "-o", str(output), database_url=database_url
    )
    assert result.returncode == 0, result.stderr
    assert "Exported 30 articles" in result.stdout
    rows = read_rows(output, export_format)
    assert [row["url"] for row in rows] == [f"https://site{n % 4}.example/a/{n}" for n in range(30)]
    assert rows[1]["text"] == "Report number 1 with ünïcödé and a comma, here."
    authors = rows[1]["authors"]
    assert (json.loads(authors) if isinstance(authors, str) else list(authors)) == [
        "Jane Doe",
        "Richard Roe",
    ]
    assert str(rows[2]["duplicate_of_id"]) == str(rows[0]["id"])


def test_export_since_until_filters_on_publish_date(database_url: str, tmp_path: Path) -> None:
    fill(database_url)
    output = tmp_path / "march.jsonl"
    result = run_scrapy(
        "export",
        "--format",
        "jsonl",
        "-o",
        str(output),
        "--since",
        "2024-03-05",
        "--until",
        "2024-03-08",
        database_url=database_url,
    )
    assert result.returncode == 0, result.stderr
    published = [row["published_at"][:10] for row in read_rows(output, "jsonl")]
    assert published == ["2024-03-05", "2024-03-06", "2024-03-07"]


def test_export_stories(database_url: str, tmp_path: Path) -> None:
    fill(database_url)
    output = tmp_path / "stories.csv"
    result = run_scrapy(
        "export", "--format", "csv", "-o", str(output), "--stories", database_url=database_url
    )
    assert result.returncode == 0, result.stderr
    rows = read_rows(output, "csv")
    assert len(rows) == 10
    assert {row["article_count"] for row in rows} == {"3"}


def test_views_answer_analysts_questions(database_url: str) -> None:
    fill(database_url)
    database = Database(database_url)
    with database.engine.connect() as connection:
        summary = connection.execute(
            text("SELECT story_id, title, articles, outlets FROM story_summary ORDER BY story_id")
        ).all()
        clean = connection.execute(
            text("SELECT count(*), count(DISTINCT story_id) FROM articles_clean")
        ).one()
    database.dispose()
    assert len(summary) == 10
    assert summary[0].title == "Title 0" and summary[0].articles == 3 and summary[0].outlets == 3
    assert tuple(clean) == (20, 10)


def read_rows(path: Path, export_format: str) -> list[dict[str, object]]:
    if export_format == "csv":
        with path.open(newline="", encoding="utf-8") as stream:
            return list(csv.DictReader(stream))
    if export_format == "jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()
