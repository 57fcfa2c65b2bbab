"""Extraction benchmark: newsfold beside plain trafilatura on the WCXB dev articles.

Usage: `.venv/bin/python bench/extraction.py [--split all|odd|even] [--limit N] [--workers 2]`

Body metric (the article-extraction benchmark's): per page, the multisets of 4-token
shingles (tokens are `\\w+` runs) of the extracted text and of `main_content`; TP, FP
and FN normalised to sum 1 per page; precision is the mean of tp/(tp+fp) over pages with
a prediction, recall the mean of tp/(tp+fn) over pages with ground truth, F1 their
harmonic mean. Title: exact match, case- and space-insensitive. Date: same calendar
day (UTC) on pages whose ground truth has one. Authors: the set of names equals the
ground truth's (split on commas/"and", credentials such as "PhD" dropped), on pages whose
ground truth names one. Plain trafilatura is `extract()` for the body and
`bare_extraction(with_metadata=True)` for title, date and author, both with defaults.

The "odd" and "even" splits (by page id) are how we keep ourselves honest: rules are
tuned looking at odd pages only and checked on even pages.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "wcxb-dev-articles"
_TOKEN = re.compile(r"\w+")
_PLAIN_PUNCTUATION = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-"})
_CREDENTIAL = re.compile(
    # Capitals only, whatever the flag below: an acronym ("CFP", "MPH"), not a short name.
    r"^(?:ph\.?\s?d\.?|m\.?d\.?|m\.?s\.?|r\.?d\.?|r\.?n\.?|mba|jr\.?|sr\.?|(?-i:[A-Z]{2,6}(?:-[A-Z0-9]+)?)"
    r"(?:\s+\d+)?)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PageResult:
    """What one extractor produced for one page."""

    text: str
    title: str | None
    date: str | None
    authors: tuple[str, ...]


def shingles(text: str, size: int = 4) -> Counter[tuple[str, ...]]:
    """The multiset of `size`-token shingles of `text`."""
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i : i + size]) for i in range(max(0, len(tokens) - size + 1)))


def tp_fp_fn(truth: str, predicted: str) -> tuple[float, float, float]:
    """Per-page TP, FP, FN of shingles, normalised to sum 1 (all 0 when both are empty)."""
    true_counts, pred_counts = shingles(truth), shingles(predicted)
    tp = fp = fn = 0.0
    for key in true_counts.keys() | pred_counts.keys():
        expected, got = true_counts.get(key, 0), pred_counts.get(key, 0)
        tp += min(expected, got)
        fp += max(0, got - expected)
        fn += max(0, expected - got)
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def body_scores(pairs: Iterable[tuple[float, float, float]]) -> tuple[float, float, float]:
    """Precision, recall, F1 over pages, as the article-extraction benchmark computes them."""
    counts = list(pairs)
    precisions = [
        1.0 if fp == fn == 0 else tp / (tp + fp)
        for tp, fp, fn in counts
        if tp + fp > 0 or fp == fn == 0
    ]
    recalls = [1.0 if fp == fn == 0 else tp / (tp + fn) for tp, fp, fn in counts if tp + fn > 0]
    precision = statistics.mean(precisions) if precisions else 0.0
    recall = statistics.mean(recalls) if recalls else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def normal_title(title: str | None) -> str:
    """Lower-cased, spaces collapsed, typographic quotes and dashes made plain."""
    title = (title or "").translate(_PLAIN_PUNCTUATION)
    return " ".join(title.lower().split())


def author_names(field: str | None) -> set[str]:
    """Names in a ground-truth or extracted author string, credentials dropped, lower-cased."""
    if not field:
        return set()
    parts = re.split(r"\s*(?:,|;|\band\b|&|\|)\s*", field)
    names = set()
    for part in parts:
        part = " ".join(part.split()).strip(" .")
        if part and not _CREDENTIAL.match(part):
            names.add(part.lower())
    return names


def run_newsfold(url: str, body: bytes) -> PageResult:
    from pipelines.extraction.article import (
        ExtractionOptions,
        ExtractionRejected,
        RawDocument,
        extract_article,
    )
    from pipelines.extraction.language import LanguageDetector

    detector = _CACHE.get("languages")
    if detector is None:
        detector = _CACHE["languages"] = LanguageDetector()
    try:
        article = extract_article(
            RawDocument(url, body, "text/html"), ExtractionOptions(), detector
        )
    except ExtractionRejected:
        return PageResult("", None, None, ())
    date = article.published_day.isoformat() if article.published_day else None
    return PageResult(article.text, article.title, date, article.authors)


def run_trafilatura(url: str, body: bytes) -> PageResult:
    import trafilatura

    text = trafilatura.extract(body, url=url) or ""
    meta = trafilatura.bare_extraction(body, url=url, with_metadata=True)
    if meta is None:
        return PageResult(text, None, None, ())
    fields = meta if isinstance(meta, dict) else meta.as_dict()
    authors = tuple(a.strip() for a in (fields.get("author") or "").split(";") if a.strip())
    return PageResult(text, fields.get("title"), fields.get("date"), authors)


_CACHE: dict[str, Any] = {}


def evaluate_page(page_id: str) -> dict[str, Any]:
    """Both extractors' scores on one page."""
    truth = json.loads((DATA / "ground-truth" / f"{page_id}.json").read_text("utf-8"))
    gold = truth["ground_truth"]
    body = gzip.decompress((DATA / "html" / f"{page_id}.html.gz").read_bytes())
    row: dict[str, Any] = {"id": page_id}
    for name, runner in (("newsfold", run_newsfold), ("trafilatura", run_trafilatura)):
        started = time.perf_counter()
        result = runner(truth["url"], body)
        row[name] = {
            "body": tp_fp_fn(gold.get("main_content") or "", result.text),
            "title": normal_title(result.title) == normal_title(gold.get("title")),
            "date": (result.date or "")[:10] == (gold.get("publish_date") or "")[:10]
            if gold.get("publish_date")
            else None,
            "author": author_names("; ".join(result.authors)) == author_names(gold.get("author"))
            if gold.get("author")
            else None,
            "seconds": time.perf_counter() - started,
            "result": result,
        }
    return row


def summarise(rows: list[dict[str, Any]], name: str) -> dict[str, float]:
    precision, recall, f1 = body_scores(row[name]["body"] for row in rows)
    dated = [row[name]["date"] for row in rows if row[name]["date"] is not None]
    authored = [row[name]["author"] for row in rows if row[name]["author"] is not None]
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "title": statistics.mean(row[name]["title"] for row in rows),
        "date": statistics.mean(dated) if dated else 0.0,
        "author": statistics.mean(authored) if authored else 0.0,
        "seconds/page": statistics.mean(row[name]["seconds"] for row in rows),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("all", "odd", "even"), default="all")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dump", type=Path, help="write per-page results as JSON lines")
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"WCXB dev data not found at {DATA}; nothing to benchmark", file=sys.stderr)
        return 1
    ids = sorted(path.name[:4] for path in (DATA / "ground-truth").glob("*.json"))
    if args.limit:
        ids = ids[: args.limit]
    with Pool(min(args.workers, 2)) as pool:
        rows = pool.map(evaluate_page, ids, chunksize=8)
    splits = {
        "all": rows,
        "odd (tuned)": [row for row in rows if int(row["id"]) % 2 == 1],
        "even (check)": [row for row in rows if int(row["id"]) % 2 == 0],
    }
    if args.split != "all":
        splits = {key: value for key, value in splits.items() if key.startswith(args.split)}
    header = f"{'split':<20}{'extractor':<13}" + "".join(
        f"{column:>10}"
        for column in ("precision", "recall", "F1", "title", "date", "author", "s/page")
    )
    print(header)
    for split, split_rows in splits.items():
        for name in ("newsfold", "trafilatura"):
            scores = summarise(split_rows, name)
            print(
                f"{split + f' ({len(split_rows)})':<20}{name:<13}"
                + "".join(f"{value:>10.4f}" for value in scores.values())
            )
    if args.dump:
        with args.dump.open("w", encoding="utf-8") as out:
            for row in rows:
                record = {"id": row["id"]}
                for name in ("newsfold", "trafilatura"):
                    result = row[name].pop("result")
                    record[name] = {**row[name], "result": result.__dict__}
                out.write(json.dumps(record, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
