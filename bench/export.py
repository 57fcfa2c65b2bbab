"""Export benchmark: peak memory of `scrapy export` on 1k and 10k articles, per format.

Builds two SQLite databases of synthetic 1,000-word articles, exports each in every
format in a subprocess, checks the row counts against the table, and prints rows/s and
the peak RSS of each export. Constant memory shows as a 10k/1k peak ratio near 1.

Usage: .venv/bin/python bench/export.py [--articles 10000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from storage.database import Database  # noqa: E402
from storage.repository import ArticleRecord, ArticleRepository  # noqa: E402

WORDS = [
    "council",
    "harbour",
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
    "said",
    "year",
    "police",
    "city",
]


def build_database(database_url: str, articles: int) -> None:
    """Fill `database_url` with `articles` synthetic articles, 500 per transaction."""
    generator = random.Random(articles)
    database = Database(database_url)
    database.create_schema()
    repository = ArticleRepository(database)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    batch: list[ArticleRecord] = []
    for number in range(articles):
        url = f"https://site{number % 50}.example/news/{number}"
        batch.append(
            ArticleRecord(
                url=url,
                canonical_url=url,
                text=" ".join(generator.choice(WORDS) for _ in range(1000)),
                text_hash=f"{number:064x}",
                word_count=1000,
                fetched_at=start,
                story_key=f"story-{number // 5}",
                title=f"Synthetic report {number}",
                authors=("Jane Doe",),
                published_at=start + timedelta(minutes=number),
                site=f"site{number % 50}.example",
            )
        )
        if len(batch) == 500:
            repository.upsert_articles(batch)
            batch = []
    if batch:
        repository.upsert_articles(batch)
    database.dispose()


def export_peak(database_url: str, export_format: str, output: Path) -> tuple[float, int, float]:
    """Run one export; returns (seconds, rows reported, peak RSS of the export in MiB)."""
    code = (
        "import resource, sys\n"
        "from scrapy.cmdline import execute\n"
        "try:\n"
        f"    execute(['scrapy', 'export', '--format', '{export_format}', '-o', r'{output}'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    )
    began = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - began
    rows = int(completed.stdout.split()[1])
    peak_kib = int(completed.stderr.rsplit("PEAK", 1)[1].split()[0])
    return seconds, rows, peak_kib / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    arguments = parser.parse_args()
    sizes = (arguments.articles // 10, arguments.articles)
    with tempfile.TemporaryDirectory(prefix="newsfold-export-") as folder:
        peaks: dict[tuple[str, int], float] = {}
        for size in sizes:
            database_url = f"sqlite:///{folder}/bench-{size}.db"
            began = time.perf_counter()
            build_database(database_url, size)
            print(f"built {size} articles in {time.perf_counter() - began:.1f} s")
            for export_format in ("csv", "jsonl", "parquet"):
                output = Path(folder) / f"out-{size}.{export_format}"
                seconds, rows, peak = export_peak(database_url, export_format, output)
                assert rows == size, f"{export_format}: exported {rows} rows, table has {size}"
                peaks[(export_format, size)] = peak
                print(
                    f"  {export_format:8} {rows:6d} rows  {rows / seconds:8.0f} rows/s  "
                    f"peak RSS {peak:6.1f} MiB  file {output.stat().st_size / 2**20:6.1f} MiB"
                )
        print("peak RSS ratio, 10x the rows (1.0 = constant memory):")
        for export_format in ("csv", "jsonl", "parquet"):
            ratio = peaks[(export_format, sizes[1])] / peaks[(export_format, sizes[0])]
            print(f"  {export_format:8} {ratio:.2f}")


if __name__ == "__main__":
    main()
