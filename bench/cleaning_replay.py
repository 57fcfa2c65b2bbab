"""Replay the body cleaning on cached extractor output: seconds per try, not minutes.

Usage:
  `.venv/bin/python bench/cleaning_replay.py capture CACHE` runs newsfold's HTML path on
  the WCXB dev articles once and stores, per page, the paragraphs handed to
  `clean_paragraphs` (trafilatura's blocks after body.py's steps).
  `.venv/bin/python bench/cleaning_replay.py score CACHE [--split odd] [--dump FILE]`
  cleans the cached paragraphs with the current `boilerplate.clean_paragraphs` and
  prints body precision, recall and F1 (bench/extraction.py's metric) per split.

Both halves of a before/after comparison see the same extractor output, so the figures
move only with the cleaning rules. bench/extraction.py stays the figure that counts.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from functools import lru_cache
from multiprocessing import Pool
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.extraction import DATA, body_scores, tp_fp_fn  # noqa: E402


@lru_cache(maxsize=1)
def _languages() -> Any:
    from pipelines.extraction.language import LanguageDetector

    return LanguageDetector()


def captured_paragraphs(page_id: str) -> dict[str, Any]:
    """The paragraphs newsfold hands to `clean_paragraphs` for one page (None: rejected)."""
    from pipelines.extraction import article

    truth = json.loads((DATA / "ground-truth" / f"{page_id}.json").read_text("utf-8"))
    body = gzip.decompress((DATA / "html" / f"{page_id}.html.gz").read_bytes())
    seen: list[list[str]] = []
    original = article.clean_paragraphs

    def recording(paragraphs: list[str], **kwargs: Any) -> Any:
        seen.append(list(paragraphs))
        return original(paragraphs, **kwargs)

    article.clean_paragraphs = recording
    try:
        article.extract_article(
            article.RawDocument(truth["url"], body, "text/html"),
            article.ExtractionOptions(),
            _languages(),
        )
    except article.ExtractionRejected:
        pass
    finally:
        article.clean_paragraphs = original
    return {
        "id": page_id,
        "truth": truth["ground_truth"].get("main_content") or "",
        "paragraphs": seen[0] if seen else None,
    }


def capture(cache: Path, workers: int) -> None:
    ids = sorted(path.name[:4] for path in (DATA / "ground-truth").glob("*.json"))
    with Pool(min(workers, 2)) as pool:
        records = pool.map(captured_paragraphs, ids, chunksize=8)
    with cache.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record) + "\n")
    print(f"{len(records)} pages captured to {cache}")


def score(cache: Path, split: str, dump: Path | None) -> None:
    from pipelines.extraction.boilerplate import clean_paragraphs

    records = [json.loads(line) for line in cache.open(encoding="utf-8")]
    rows = []
    for record in records:
        paragraphs = record["paragraphs"]
        text = clean_paragraphs(paragraphs).text if paragraphs else ""
        rows.append((record["id"], tp_fp_fn(record["truth"], text), text))
    splits = {
        "all": rows,
        "odd": [row for row in rows if int(row[0]) % 2 == 1],
        "even": [row for row in rows if int(row[0]) % 2 == 0],
    }
    for name, split_rows in splits.items():
        if split != "all" and name != split:
            continue
        precision, recall, f1 = body_scores(row[1] for row in split_rows)
        print(f"{name:<6}{len(split_rows):>5}  P {precision:.4f}  R {recall:.4f}  F1 {f1:.4f}")
    if dump:
        with dump.open("w", encoding="utf-8") as out:
            for page_id, (tp, fp, fn), text in rows:
                out.write(json.dumps({"id": page_id, "tp": tp, "fp": fp, "fn": fn, "text": text}))
                out.write("\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("capture", "score"))
    parser.add_argument("cache", type=Path)
    parser.add_argument("--split", choices=("all", "odd", "even"), default="all")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dump", type=Path, help="write per-page scores and text as JSON lines")
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"WCXB dev data not found at {DATA}; nothing to replay", file=sys.stderr)
        return 1
    if args.action == "capture":
        capture(args.cache, args.workers)
    else:
        score(args.cache, args.split, args.dump)
    return 0


if __name__ == "__main__":
    sys.exit(main())
