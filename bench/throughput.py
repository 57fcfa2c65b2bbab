"""Throughput benchmark: newsfold end to end versus one-process trafilatura, same pages.

Builds a WARC of at least `--pages` HTML responses from ../shared/data/wcxb-dev-articles
(pages repeat under new URLs when the set is smaller), then in the same run:
1. `scrapy crawl warc` on it into a fresh SQLite database (extraction in worker
   processes, grouping, batched storage): pages/s and the peak RSS of the whole process
   tree (Scrapy plus its extraction workers);
2. plain trafilatura, `bare_extraction(..., with_metadata=True)` page by page in one
   process: pages/s.
Prints both rates and their ratio.

Usage: .venv/bin/python bench/throughput.py [--pages 1000] [--workers N]
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import trafilatura
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATASET = PROJECT_ROOT.parent / "shared" / "data" / "wcxb-dev-articles"


def load_pages() -> list[bytes]:
    pages = [
        gzip.decompress(path.read_bytes()) for path in sorted((DATASET / "html").glob("*.html.gz"))
    ]
    if not pages:
        sys.exit(f"no pages found in {DATASET} (../shared/data beside the project)")
    return pages


def write_warc(path: Path, pages: list[bytes], count: int) -> None:
    """`count` HTML response records cycling through `pages`, each under its own URL."""
    with path.open("wb") as stream:
        writer = WARCWriter(stream, gzip=True)
        for number in range(count):
            body = pages[number % len(pages)]
            headers = StatusAndHeaders(
                "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
            )
            record = writer.create_warc_record(
                f"https://bench{number % 40}.example/news/{number}.html",
                "response",
                payload=io.BytesIO(body),
                http_headers=headers,
                warc_headers_dict={
                    "WARC-Date": datetime(2024, 5, 1, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                },
            )
            writer.write_record(record)


def tree_rss_mib(root_pid: int) -> float:
    """Resident memory of a process and all its descendants, in MiB."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, parent = int(entry), int(fields[1])
        children.setdefault(parent, []).append(pid)
        rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total / 2**20


def run_newsfold(warc: Path, database: Path, workers: int | None) -> tuple[float, float, str]:
    """Seconds, peak tree RSS (MiB) and the log of `scrapy crawl warc`."""
    command = [
        sys.executable,
        "-m",
        "scrapy",
        "crawl",
        "warc",
        "-a",
        f"path={warc}",
        "-s",
        "LOG_LEVEL=INFO",
    ]
    if workers is not None:
        command += ["-s", f"EXTRACTION_WORKERS={workers}"]
    began = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": f"sqlite:///{database}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = 0.0
    log: list[str] = []
    reader = threading.Thread(target=lambda: log.extend(process.stderr or []), daemon=True)
    reader.start()
    while process.poll() is None:
        peak = max(peak, tree_rss_mib(process.pid))
        time.sleep(0.2)
    reader.join()
    seconds = time.perf_counter() - began
    if process.returncode != 0:
        sys.exit("".join(log[-40:]))
    return seconds, peak, "".join(log)


def run_trafilatura(pages: list[bytes], count: int) -> float:
    """Seconds plain trafilatura takes for the same `count` pages in one process."""
    began = time.perf_counter()
    for number in range(count):
        trafilatura.bare_extraction(
            pages[number % len(pages)].decode("utf-8", errors="replace"),
            url=f"https://bench{number % 40}.example/news/{number}.html",
            with_metadata=True,
        )
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument(
        "--workers", type=int, default=None, help="EXTRACTION_WORKERS (default: the setting)"
    )
    arguments = parser.parse_args()
    pages = load_pages()
    with tempfile.TemporaryDirectory(prefix="newsfold-throughput-") as folder:
        warc = Path(folder) / "bench.warc.gz"
        write_warc(warc, pages, arguments.pages)
        print(
            f"WARC: {arguments.pages} pages, {warc.stat().st_size / 2**20:.1f} MiB; {os.cpu_count()} cores"
        )
        seconds, peak, log = run_newsfold(warc, Path(folder) / "bench.db", arguments.workers)
        stored = next(
            (line.split(":")[1].strip() for line in log.splitlines() if "articles stored:" in line),
            "?",
        )
        newsfold_rate = arguments.pages / seconds
        print(
            f"newsfold (scrapy crawl warc, end to end): {seconds:6.1f} s  {newsfold_rate:6.1f} pages/s  "
            f"stored {stored}  peak RSS {peak:.0f} MiB"
        )
        trafilatura_seconds = run_trafilatura(pages, arguments.pages)
        trafilatura_rate = arguments.pages / trafilatura_seconds
        print(
            f"trafilatura bare_extraction, one process: {trafilatura_seconds:6.1f} s  {trafilatura_rate:6.1f} pages/s"
        )
        print(f"ratio newsfold / trafilatura: {newsfold_rate / trafilatura_rate:.2f}x")


if __name__ == "__main__":
    main()
