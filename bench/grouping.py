"""Grouping speed and memory on synthetic news: articles/s, peak RSS, 1M extrapolation.

Usage: .venv/bin/python bench/grouping.py [--articles 100000] [--words 1000] [--batch 64]
                                          [--in-memory] [--dump decisions.jsonl]

Builds synthetic articles of about `--words` words (real English words drawn with
wordfreq's frequencies, plus each event's own names and places), in stories of one to six
reports spread over a year, with one report in eight a wire copy of another (trimmed or
with a paragraph added), generated as they are grouped (the inputs are not held).

Grouping runs as the pipeline runs it: `--batch` articles at a time have their signatures
computed in one pass, then are linked one after the other (`DEDUP_BATCH_SIZE`; 1 is one
article at a time); features of the 20,000 most recently used articles stay in memory,
the others are read back from `grouping_signatures` (a SQLite file here) when a new
article needs them; new signatures and links are saved every 500 articles. `--in-memory`
keeps every article's features in memory instead (no database). Prints CPU time per
article (generation excluded; saving signatures included, and shown apart), band-index
lookup latency, the resident memory at half and at all articles, and extrapolates
linearly to 1M articles from the growth between the two (the fixed part, tables and the
feature cache, counted once). `--dump` writes every article's final decision (one JSON
line each, in arrival order) and every verified link, to compare two versions' grouping.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import itertools
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wordfreq import top_n_list, word_frequency  # noqa: E402

from pipelines.grouping.features import ArticleFeatures  # noqa: E402
from pipelines.grouping.grouper import GroupingInput, GroupingOptions, StoryGrouper  # noqa: E402
from pipelines.grouping.pipeline import (  # noqa: E402
    features_from_row,
    index_entry_from_row,
    signature_from_row,
    signature_row,
)
from storage.database import Database  # noqa: E402
from storage.grouping_store import GroupingStore, LinkRow, SignatureRow  # noqa: E402

START = datetime(2024, 1, 1, tzinfo=UTC)


SAVE_EVERY = 500


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """Resident set size of this process now, in MB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def synthetic_articles(count: int, length: int, seed: int = 5) -> Iterator[GroupingInput]:
    rng = np.random.default_rng(seed)
    vocabulary = np.array(top_n_list("en", 30000))
    frequency = np.array([word_frequency(word, "en") for word in vocabulary])
    frequency /= frequency.sum()
    rare = np.array([w.capitalize() for w in top_n_list("en", 200000)[60000:]])
    made = 0
    story = 0
    while made < count:
        story += 1
        when = START + timedelta(minutes=int(rng.integers(0, 365 * 24 * 60)))
        event_words = rare[rng.integers(0, len(rare), 25)]
        reports = int(rng.integers(1, 7))
        previous = ""
        for report in range(reports):
            if previous and rng.random() < 0.125:
                tokens = previous.split(" ")
                text = (
                    " ".join(tokens[: len(tokens) // 2])
                    if rng.random() < 0.5
                    else previous + " Updated later."
                )
            else:
                words = vocabulary[rng.choice(len(vocabulary), size=length, p=frequency)]
                names = rng.integers(0, length, length // 20)
                words[names] = event_words[rng.integers(0, len(event_words), len(names))]
                text = " ".join(words.tolist())
            previous = text
            published = when + timedelta(hours=float(rng.uniform(0, 36)))
            url = f"https://outlet{report}.example/{story}/{made}"
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
            yield GroupingInput(url, text, digest, f"{event_words[0]} {event_words[1]}", published)
            made += 1
            if made >= count:
                break


class SignatureDatabase:
    """`grouping_signatures` in a SQLite file, as the pipeline keeps it."""

    def __init__(self, folder: str, scheme: str) -> None:
        self.database = Database(f"sqlite:///{folder}/grouping-bench.db")
        self.database.create_schema()
        self.store = GroupingStore(self.database)
        self.scheme = scheme
        self.unsaved: dict[str, SignatureRow] = {}
        self.cpu_seconds = 0.0

    def save(self, grouper: StoryGrouper) -> None:
        started = time.process_time()
        rows = [
            signature_row(signature, self.scheme) for signature in grouper.take_new_signatures()
        ]
        links = [
            LinkRow(link.url, link.other_url, link.level, link.method, link.similarity)
            for link in grouper.take_new_links()
        ]
        self.store.save(rows, links)
        self.cpu_seconds += time.process_time() - started

    def features(self, urls: list[str]) -> dict[str, ArticleFeatures]:
        rows = self.store.signatures_of(self.scheme, urls)
        return {url: features_from_row(row) for url, row in rows.items()}

    def open_index(self, options: GroupingOptions) -> None:
        """Print what opening the stored index costs: whole signatures (as before) against
        the index rows the pipeline now reads (band keys and times, features on demand)."""
        started = time.process_time()
        whole = StoryGrouper(options, self.features, feature_cache=0)
        rows = list(self.store.iter_signatures(self.scheme))
        read = sum(
            len(row.minhash)
            + len(row.bands)
            + len(row.shingles)
            + len(row.terms)
            + len(row.weights)
            + len(row.keyterms)
            for row in rows
        )
        whole.load((signature_from_row(row) for row in rows), [])
        whole_cpu = time.process_time() - started
        del rows, whole
        started = time.process_time()
        lean = StoryGrouper(options, self.features)
        index_rows = list(self.store.iter_index_rows(self.scheme))
        lean_read = sum(len(row.bands) for row in index_rows)
        lean.load((index_entry_from_row(row) for row in index_rows), [])
        lean_cpu = time.process_time() - started
        count = len(index_rows)
        print(
            f"opening the stored index of {count:,} articles: whole signatures "
            f"{whole_cpu:.1f} CPU-s, {read / count:,.0f} array bytes an article; index rows "
            f"{lean_cpu:.1f} CPU-s, {lean_read / count:,.0f} bytes an article"
        )


def dump_decisions(
    path: Path,
    grouper: StoryGrouper,
    urls: list[str],
    links: list[tuple[str, str, str, str, float]],
) -> None:
    """Write each article's final decision (arrival order), then every link (sorted)."""
    with path.open("w", encoding="utf-8") as dump:
        for url in urls:
            decision = grouper.decision_of(url)
            assert decision is not None
            dump.write(json.dumps([url, *dataclasses.astuple(decision)]) + "\n")
        for link in sorted(links):
            dump.write(json.dumps(["link", *link]) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--words", type=int, default=1000)
    parser.add_argument(
        "--batch", type=int, default=64, help="articles whose signatures are computed together"
    )
    parser.add_argument(
        "--in-memory", action="store_true", help="keep every article's features in memory"
    )
    parser.add_argument(
        "--feature-cache", type=int, default=20_000, help="articles whose features stay in memory"
    )
    parser.add_argument(
        "--dump", type=Path, help="write every decision and link to this JSON-lines file"
    )
    args = parser.parse_args()
    options = GroupingOptions()
    folder = tempfile.mkdtemp(prefix="grouping-bench-")
    database = None if args.in_memory else SignatureDatabase(folder, options.signature_scheme)
    grouper = (
        StoryGrouper(options)
        if database is None
        else StoryGrouper(options, database.features, feature_cache=args.feature_cache)
    )
    base_rss = rss_mb()
    urls: list[str] = []
    # Band keys of one article in 2,000 for the lookup figure (not the articles: their
    # texts would count as index growth).
    probes: list[np.ndarray] = []
    half_rss = 0.0
    generation = grouping_cpu = 0.0
    started = time.perf_counter()
    articles = synthetic_articles(args.articles, args.words)
    unsaved = 0
    links: list[tuple[str, str, str, str, float]] = []
    while True:
        generated = time.process_time()
        batch = list(itertools.islice(articles, args.batch))
        cpu_started = time.process_time()
        generation += cpu_started - generated
        if not batch:
            break
        grouper.assign_many(batch)
        grouper.take_changes()  # the pipeline hands them to storage
        grouping_cpu += time.process_time() - cpu_started
        if args.dump is not None and database is None:  # the database takes them otherwise
            links.extend(
                (link.url, link.other_url, link.level, link.method, link.similarity)
                for link in grouper.take_new_links()
            )
        for article in batch:
            urls.append(article.url)
            if len(urls) % max(1, args.articles // 2000) == 0:
                probes.append(grouper.signature(article).bands)
            if len(urls) == args.articles // 2:
                half_rss = rss_mb()
        unsaved += len(batch)
        if database is not None and unsaved >= SAVE_EVERY:
            database.save(grouper)
            unsaved = 0
    if database is not None:
        database.save(grouper)
    saving = database.cpu_seconds if database is not None else 0.0
    grouping_cpu += saving  # saving is part of grouping's work (timed apart by `save`)
    elapsed = time.perf_counter() - started
    end_rss = rss_mb()
    count = len(urls)
    print(
        f"{count:,} articles of ~{args.words} words in batches of {args.batch} ({'features in memory' if database is None else f'features in SQLite, {args.feature_cache:,} cached'}); generation {generation:.0f} CPU-s apart"
    )
    # CPU time is the per-core figure: on a shared machine wall time also counts waiting.
    print(
        f"grouping: {count / grouping_cpu:,.0f} articles per CPU-second"
        + (
            f" ({grouping_cpu / count * 1e3:.3f} ms an article, saving signatures"
            f" {saving / count * 1e3:.3f} ms of it; {count / (grouping_cpu - saving):,.0f}"
            " articles per CPU-second without saving)"
            if saving
            else f" ({grouping_cpu / count * 1e3:.3f} ms an article)"
        )
        + f"; wall {elapsed:.0f} s with generation, load average {os.getloadavg()[0]:.1f}"
    )
    duplicates = sum(1 for url in urls if (d := grouper.decision_of(url)) and d.duplicate_of_url)
    stories = len({d.story_key for url in urls if (d := grouper.decision_of(url))})
    print(f"  {duplicates} copies, {stories} stories")
    if args.dump is not None:
        if database is not None:
            links = [
                (row.url, row.other_url, row.level, row.method, row.similarity)
                for row in database.store.iter_links()
            ]
        dump_decisions(args.dump, grouper, urls, links)

    bands = probes
    index = grouper._index  # the band index on its own: one lookup per article
    index.merge()
    started = time.perf_counter()
    found = sum(len(index.lookup(keys)) for keys in bands)
    lookup_us = (time.perf_counter() - started) / len(bands) * 1e6
    print(
        f"band-index lookup: {lookup_us:.0f} us per article ({found / len(bands):.1f} candidates)"
    )

    second_half = count - count // 2
    per_article = (end_rss - half_rss) * 2**20 / second_half
    print(
        f"RSS {base_rss:,.0f} MB before grouping, {half_rss:,.0f} MB at {count // 2:,}, "
        f"{end_rss:,.0f} MB at {count:,} (peak {peak_rss_mb():,.0f} MB)"
    )
    print(
        f"  growth {per_article / 1024:.2f} KB per article (band index {index.nbytes / count:.0f} B of it)"
    )
    print(
        f"  extrapolated to 1M articles: ~{(end_rss * 2**20 + per_article * (1e6 - count)) / 2**30:.2f} GB (target < 2 GB)"
    )
    if database is not None:  # after the memory figures: it reads the whole table twice
        database.open_index(options)


if __name__ == "__main__":
    main()
