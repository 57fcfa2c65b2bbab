"""Extraction cost: CPU time per page of newsfold's extraction beside one trafilatura pass.

Usage: `.venv/bin/python bench/extraction_cost.py [--limit 100] [--profile N]`

Runs in this one process, page after page, on the WCXB dev pages
(../shared/data/wcxb-dev-articles): newsfold's `extract_article` with the default
options, and plain trafilatura `bare_extraction(with_metadata=True)` (what
bench/throughput.py compares against), each after a warm-up round. CPU time (`time.process_time`) is what it
reports, because wall-clock time is unreliable on a machine others load; the ratio of
the two is what decides how many worker processes newsfold needs to outrun one-process
trafilatura. With `--profile N`, prints the N most expensive functions of newsfold's
extraction (cumulative CPU time, cProfile).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gzip
import json
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "wcxb-dev-articles"


def load_pages(limit: int) -> list[tuple[str, bytes]]:
    """(url, html bytes) of the first `limit` dev pages (all when 0), by page id."""
    ids = sorted(path.name[:4] for path in (DATA / "ground-truth").glob("*.json"))
    if limit:
        ids = ids[:limit]
    pages = []
    for page_id in ids:
        truth = json.loads((DATA / "ground-truth" / f"{page_id}.json").read_text("utf-8"))
        pages.append(
            (truth["url"], gzip.decompress((DATA / "html" / f"{page_id}.html.gz").read_bytes()))
        )
    return pages


def newsfold_seconds(pages: list[tuple[str, bytes]], profiler: cProfile.Profile | None) -> float:
    """CPU seconds of `extract_article` over `pages`."""
    from pipelines.extraction.article import (
        ExtractionOptions,
        ExtractionRejected,
        RawDocument,
        extract_article,
    )
    from pipelines.extraction.language import LanguageDetector

    languages = LanguageDetector()
    options = ExtractionOptions()
    began = time.process_time()
    if profiler is not None:
        profiler.enable()
    for url, body in pages:
        with contextlib.suppress(ExtractionRejected):
            extract_article(RawDocument(url, body, "text/html"), options, languages)
    if profiler is not None:
        profiler.disable()
    return time.process_time() - began


def trafilatura_seconds(pages: list[tuple[str, bytes]]) -> float:
    """CPU seconds of one plain `bare_extraction(with_metadata=True)` per page."""
    import trafilatura

    began = time.process_time()
    for url, body in pages:
        trafilatura.bare_extraction(
            body.decode("utf-8", errors="replace"), url=url, with_metadata=True
        )
    return time.process_time() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=100, help="pages (0: all)")
    parser.add_argument("--profile", type=int, default=0, help="print the N costliest functions")
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"WCXB dev data not found at {DATA}; nothing to measure", file=sys.stderr)
        return 1
    pages = load_pages(args.limit)
    # A warm-up round over the same pages, so that model loading and the caches filled
    # on first use (htmldate's dateparser compiles each language's patterns) are not
    # counted: the figures are the steady state of a long crawl.
    newsfold_seconds(pages, None)
    trafilatura_seconds(pages)
    newsfold = newsfold_seconds(pages, None)
    plain = trafilatura_seconds(pages)
    count = len(pages)
    print(f"pages: {count}")
    print(f"newsfold extract_article:           {1000 * newsfold / count:7.1f} ms CPU/page")
    print(f"trafilatura bare_extraction (meta): {1000 * plain / count:7.1f} ms CPU/page")
    print(f"cost ratio newsfold / trafilatura:  {newsfold / plain:7.2f}")
    if args.profile:
        profiler = cProfile.Profile()
        newsfold_seconds(pages, profiler)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
