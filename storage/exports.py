"""Streaming exports of articles or stories to CSV, JSON Lines or Parquet.

Rows are read in chunks (`yield_per`) and written as they come, so memory stays
constant whatever the table size.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Select, select

from storage.database import Database
from storage.models import Article, Story

ExportFormat = Literal["csv", "jsonl", "parquet"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("csv", "jsonl", "parquet")
_CHUNK_ROWS = 1000

ARTICLE_COLUMNS = (
    "id",
    "url",
    "canonical_url",
    "site",
    "title",
    "authors",
    "published_at",
    "published_day",
    "date_source",
    "modified_at",
    "language",
    "language_confidence",
    "word_count",
    "story_id",
    "duplicate_of_id",
    "link_method",
    "link_similarity",
    "fetched_at",
    "text",
)
STORY_COLUMNS = (
    "id",
    "title",
    "first_published_at",
    "last_published_at",
    "article_count",
    "outlet_count",
)


@dataclass(frozen=True)
class ExportRequest:
    """What to export: articles (or stories) published in [since, until)."""

    stories: bool = False
    since: datetime | None = None
    until: datetime | None = None


def export_rows(
    database: Database, request: ExportRequest
) -> tuple[tuple[str, ...], Iterator[dict[str, Any]]]:
    """The column names and a stream of rows for `request`, ordered by id."""
    if request.stories:
        return STORY_COLUMNS, _stream(database, _story_query(request), STORY_COLUMNS)
    return ARTICLE_COLUMNS, _stream(database, _article_query(request), ARTICLE_COLUMNS)


def write_export(
    columns: tuple[str, ...],
    rows: Iterator[dict[str, Any]],
    output: Path,
    export_format: ExportFormat,
) -> int:
    """Write `rows` to `output` in `export_format`; returns the number of rows written."""
    output.parent.mkdir(parents=True, exist_ok=True)
    if export_format == "csv":
        return _write_csv(columns, rows, output)
    if export_format == "jsonl":
        return _write_jsonl(rows, output)
    return _write_parquet(columns, rows, output)


def _article_query(request: ExportRequest) -> Select[Any]:
    query = select(*(getattr(Article, name) for name in ARTICLE_COLUMNS)).order_by(Article.id)
    if request.since is not None:
        query = query.where(Article.published_at >= request.since)
    if request.until is not None:
        query = query.where(Article.published_at < request.until)
    return query


def _story_query(request: ExportRequest) -> Select[Any]:
    query = select(*(getattr(Story, name) for name in STORY_COLUMNS)).where(Story.article_count > 0)
    if request.since is not None:
        query = query.where(Story.last_published_at >= request.since)
    if request.until is not None:
        query = query.where(Story.first_published_at < request.until)
    return query.order_by(Story.id)


def _stream(
    database: Database, query: Select[Any], columns: tuple[str, ...]
) -> Iterator[dict[str, Any]]:
    with database.read_engine.connect() as connection:
        result = connection.execution_options(stream_results=True, yield_per=_CHUNK_ROWS).execute(
            query
        )
        for row in result:
            yield dict(zip(columns, row, strict=True))


def _plain(value: Any) -> Any:
    """A JSON/CSV-friendly form: ISO 8601 datetimes and days, lists as they are."""
    return value.isoformat() if isinstance(value, datetime | date) else value


def _write_csv(columns: tuple[str, ...], rows: Iterator[dict[str, Any]], output: Path) -> int:
    written = 0
    with output.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    key: json.dumps(value, ensure_ascii=False)
                    if isinstance(value, list)
                    else _plain(value)
                    for key, value in row.items()
                }
            )
            written += 1
    return written


def _write_jsonl(rows: Iterator[dict[str, Any]], output: Path) -> int:
    written = 0
    with output.open("w", encoding="utf-8") as stream:
        for row in rows:
            stream.write(
                json.dumps({key: _plain(value) for key, value in row.items()}, ensure_ascii=False)
            )
            stream.write("\n")
            written += 1
    return written


def _write_parquet(columns: tuple[str, ...], rows: Iterator[dict[str, Any]], output: Path) -> int:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as error:
        raise RuntimeError(
            "Parquet export needs pyarrow: .venv/bin/pip install -e '.[parquet]'"
        ) from error
    schema = pa.schema([(name, _arrow_type(pa, name)) for name in columns])
    written = 0
    with pq.ParquetWriter(output, schema) as writer:
        chunk: list[dict[str, Any]] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) == _CHUNK_ROWS:
                writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
                written += len(chunk)
                chunk = []
        if chunk:
            writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
            written += len(chunk)
    return written


def _arrow_type(pa: Any, column: str) -> Any:
    if column in {
        "id",
        "word_count",
        "story_id",
        "duplicate_of_id",
        "article_count",
        "outlet_count",
    }:
        return pa.int64()
    if column in {"language_confidence", "link_similarity"}:
        return pa.float64()
    if column.endswith("_at"):
        return pa.timestamp("us", tz="UTC")
    if column.endswith("_day"):
        return pa.date32()
    if column == "authors":
        return pa.list_(pa.string())
    return pa.string()
