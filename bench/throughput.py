"""Throughput benchmark: newsfold end to end versus one-process trafilatura, same pages.

Builds a WARC of at least `--pages` HTML responses from ../shared/data/wcxb-dev-articles
(pages repeat under new URLs when the set is smaller), then in the same run:
1. `scrapy crawl warc` on it into a fresh SQLite database, after an untimed one-page
   crawl (a fresh checkout's first crawl compiles the grouping kernels) (extraction in worker
   processes, grouping, batched storage): pages/s, the peak memory of the whole process
   tree (Scrapy plus its extraction workers: summed RSS, and summed PSS, which counts
   pages the workers share once) and the CPU time of each part;
2. plain trafilatura, `bare_extraction(..., with_metadata=True)` page by page in one
   process: pages/s, timed before and again after newsfold (a shared machine's speed
   drifts over minutes; the ratio is against the mean of the two, and against each);
3. for reference, plain trafilatura on the same pages split among as many processes as
   the machine has cores, all at once: how much the cores slow each other down when all
   are busy, which caps what any extractor running on every core can gain.
Prints both rates and their ratio, and the start-up cost inside newsfold's rate: a crawl
of a one-page WARC, timed from process start to its page leaving the pipelines and to exit.

Usage: .venv/bin/python bench/throughput.py [--pages 1000] [--workers N] [--set NAME=VALUE]
"""

from __future__ import annotations

import argparse
import gzip
import io
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
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


@dataclass
class TreeUsage:
    """Peak memory of a process tree, and the CPU time each of its processes used.

    RSS summed over the processes counts pages they share (what workers forked from one
    server inherit) once per process; PSS splits each shared page among its sharers, so
    its sum is the memory the tree really holds.
    """

    peak_rss_mib: float = 0.0
    peak_pss_mib: float = 0.0
    peak_root_rss_mib: float = 0.0
    cpu_seconds: dict[int, float] = field(default_factory=dict)

    def sample(self, root_pid: int) -> None:
        """Read /proc once: add the tree's current RSS, keep each process's latest CPU time."""
        children: dict[int, list[int]] = {}
        rss: dict[int, int] = {}
        cpu: dict[int, float] = {}
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
            cpu[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        total, total_pss, stack = 0, 0, [root_pid]
        while stack:
            pid = stack.pop()
            total += rss.get(pid, 0)
            total_pss += _pss_bytes(pid)
            self.cpu_seconds[pid] = max(cpu.get(pid, 0.0), self.cpu_seconds.get(pid, 0.0))
            stack.extend(children.get(pid, []))
        self.peak_rss_mib = max(self.peak_rss_mib, total / 2**20)
        self.peak_pss_mib = max(self.peak_pss_mib, total_pss / 2**20)
        self.peak_root_rss_mib = max(self.peak_root_rss_mib, rss.get(root_pid, 0) / 2**20)


def _pss_bytes(pid: int) -> int:
    """Proportional set size of one process (0 when it is gone or the kernel has no rollup)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_newsfold(
    warc: Path, database: Path, workers: int | None, settings: list[str]
) -> tuple[float, TreeUsage, int, list[tuple[float, str]]]:
    """Seconds, memory and CPU of the process tree, its root's pid, and the log of
    `scrapy crawl warc` (each line with the seconds since start it arrived at)."""
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
    for setting in settings:
        command += ["-s", setting]
    began = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": f"sqlite:///{database}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    usage = TreeUsage()
    log: list[tuple[float, str]] = []
    reader = threading.Thread(
        target=lambda: log.extend(
            (time.perf_counter() - began, line) for line in process.stderr or []
        ),
        daemon=True,
    )
    reader.start()
    while process.poll() is None:
        usage.sample(process.pid)
        time.sleep(0.2)
    reader.join()
    seconds = time.perf_counter() - began
    if process.returncode != 0:
        sys.exit("".join(line for _, line in log[-40:]))
    return seconds, usage, process.pid, log


def measure_startup(folder: Path, pages: list[bytes], workers: int | None) -> tuple[float, float]:
    """Seconds from process start until a one-page crawl's page has left the pipelines,
    and until the process exits."""
    warc = folder / "one-page.warc.gz"
    write_warc(warc, pages, 1)
    seconds, _, _, log = run_newsfold(warc, folder / "one-page.db", workers, ["LOG_LEVEL=DEBUG"])
    first_page = next((at for at, line in log if "Scraped from" in line), float("nan"))
    return first_page, seconds


def run_trafilatura(pages: list[bytes], numbers: range) -> tuple[float, float]:
    """Seconds and CPU seconds plain trafilatura takes in this process for the WARC's pages
    `numbers` (the same pages under the same URLs)."""
    began, began_cpu = time.perf_counter(), time.process_time()
    for number in numbers:
        trafilatura.bare_extraction(
            pages[number % len(pages)].decode("utf-8", errors="replace"),
            url=f"https://bench{number % 40}.example/news/{number}.html",
            with_metadata=True,
        )
    return time.perf_counter() - began, time.process_time() - began_cpu


def run_trafilatura_in_parallel(
    pages: list[bytes], count: int, processes: int
) -> tuple[float, float]:
    """Seconds and summed CPU seconds of plain trafilatura over the same `count` pages
    shared among `processes` processes running at once.

    Its CPU per page against one process's is the machine's own slow-down when all its
    cores are busy (shared caches, memory bandwidth, clock): a cost any extractor pays
    that runs on every core, newsfold's workers included.
    """
    shares = [range(first, count, processes) for first in range(processes)]
    began = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        runs = pool.starmap(run_trafilatura, [(pages, share) for share in shares])
    return time.perf_counter() - began, sum(cpu for _, cpu in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument(
        "--workers", type=int, default=None, help="EXTRACTION_WORKERS (default: the setting)"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="another Scrapy setting for the crawl (repeatable)",
    )
    arguments = parser.parse_args()
    pages = load_pages()
    with tempfile.TemporaryDirectory(prefix="newsfold-throughput-") as folder:
        warc = Path(folder) / "bench.warc.gz"
        write_warc(warc, pages, arguments.pages)
        print(
            f"WARC: {arguments.pages} pages, {warc.stat().st_size / 2**20:.1f} MiB; {os.cpu_count()} cores"
        )
        before = run_trafilatura(pages, range(arguments.pages))
        # Untimed: a first crawl on a fresh checkout compiles the grouping kernels (numba
        # caches them beside the code), which no later crawl pays again.
        warm_up = Path(folder) / "warm-up.warc.gz"
        write_warc(warm_up, pages, 1)
        run_newsfold(warm_up, Path(folder) / "warm-up.db", arguments.workers, arguments.set)
        seconds, usage, root, log = run_newsfold(
            warc, Path(folder) / "bench.db", arguments.workers, arguments.set
        )
        stored = next(
            (line.split(":")[1].strip() for _, line in log if "articles stored:" in line), "?"
        )
        newsfold_rate = arguments.pages / seconds
        print(
            f"newsfold (scrapy crawl warc, end to end): {seconds:6.1f} s  {newsfold_rate:6.1f} pages/s  "
            f"stored {stored}  peak memory (PSS) {usage.peak_pss_mib:.0f} MiB; "
            f"RSS summed {usage.peak_rss_mib:.0f} MiB (Scrapy process {usage.peak_root_rss_mib:.0f} MiB)"
        )
        scrapy_cpu = usage.cpu_seconds.get(root, 0.0)
        workers_cpu = sum(usage.cpu_seconds.values()) - scrapy_cpu
        per_page = 1000 / arguments.pages
        print(
            f"  CPU: Scrapy process {scrapy_cpu * per_page:5.1f} ms/page, "
            f"other processes (extraction workers) {workers_cpu * per_page:5.1f} ms/page"
        )
        first_page, exit_seconds = measure_startup(Path(folder), pages, arguments.workers)
        print(
            f"  start-up: a one-page crawl has its page through after {first_page:.2f} s "
            f"and exits after {exit_seconds:.2f} s"
        )
        # Timed once before and once after newsfold: a shared machine's speed drifts over
        # minutes, and the mean of the two brackets the conditions newsfold ran in.
        trafilatura_runs = [before, run_trafilatura(pages, range(arguments.pages))]
        for label, (run_seconds, run_cpu) in zip(
            ("before", "after"), trafilatura_runs, strict=True
        ):
            print(
                f"trafilatura bare_extraction, one process ({label}): {run_seconds:6.1f} s  "
                f"{arguments.pages / run_seconds:6.1f} pages/s  CPU {run_cpu * per_page:5.1f} ms/page"
            )
        trafilatura_seconds = sum(run[0] for run in trafilatura_runs) / 2
        trafilatura_cpu = sum(run[1] for run in trafilatura_runs) / 2
        trafilatura_rate = arguments.pages / trafilatura_seconds
        print(
            f"ratio newsfold / trafilatura (mean of both): {newsfold_rate / trafilatura_rate:.2f}x "
            f"(against each: {', '.join(f'{run[0] / seconds:.2f}x' for run in trafilatura_runs)})"
        )
        total_cpu = scrapy_cpu + workers_cpu
        cores = os.cpu_count() or 1
        workers = cores if arguments.workers is None else arguments.workers
        # CPU-bound ceiling: all cores busy, the one Scrapy process saturated, or every
        # worker busy, whichever comes first.
        busiest = max(total_cpu / cores, scrapy_cpu, workers_cpu / max(workers, 1))
        ceiling = trafilatura_cpu / busiest
        print(
            f"CPU per page newsfold / trafilatura: {total_cpu / trafilatura_cpu:.2f} "
            f"(rate ratio on {cores} idle cores at most {ceiling:.2f}x)"
        )
        if cores > 1:
            parallel_seconds, parallel_cpu = run_trafilatura_in_parallel(
                pages, arguments.pages, cores
            )
            print(
                f"trafilatura in {cores} processes at once (reference): {parallel_seconds:6.1f} s  "
                f"{trafilatura_seconds / parallel_seconds:.2f}x one process; CPU per page "
                f"{parallel_cpu / trafilatura_cpu:.2f}x one process's (the cores' slow-down "
                f"when all are busy)"
            )


if __name__ == "__main__":
    main()
