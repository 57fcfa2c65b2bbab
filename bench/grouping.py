"""Grouping speed and memory on synthetic news: articles/s, peak RSS, 1M extrapolation.

Usage: .venv/bin/python bench/grouping.py [--articles 100000] [--words 1000]

Builds synthetic articles of about `--words` words (real English words drawn with
wordfreq's frequencies, plus each event's own names and places), in stories of one to six
reports spread over a year, with one report in eight a wire copy of another (trimmed or
with a paragraph added). Times `StoryGrouper.assign` only (generation excluded), then
band-index lookups on their own, and reports peak RSS with what the index holds per
article, extrapolated linearly to 1M articles.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wordfreq import top_n_list, word_frequency  # noqa: E402

from pipelines.grouping.grouper import GroupingInput, GroupingOptions, StoryGrouper  # noqa: E402

START = datetime(2024, 1, 1, tzinfo=UTC)


def rss_mb() -> float:
    """Peak resident set size of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic_articles(count: int, length: int, seed: int = 5) -> list[GroupingInput]:
    rng = np.random.default_rng(seed)
    vocabulary = np.array(top_n_list("en", 30000))
    frequency = np.array([word_frequency(word, "en") for word in vocabulary])
    frequency /= frequency.sum()
    rare = np.array([w.capitalize() for w in top_n_list("en", 200000)[60000:]])
    articles: list[GroupingInput] = []
    story = 0
    while len(articles) < count:
        story += 1
        when = START + timedelta(minutes=int(rng.integers(0, 365 * 24 * 60)))
        event_words = rare[rng.integers(0, len(rare), 25)]
        reports = int(rng.integers(1, 7))
        previous = ""
        for report in range(reports):
            if previous and rng.random() < 0.125:
                tokens = previous.split(" ")
                text = " ".join(tokens[: len(tokens) // 2]) if rng.random() < 0.5 else previous + " Updated later."
            else:
                words = vocabulary[rng.choice(len(vocabulary), size=length, p=frequency)]
                names = rng.integers(0, length, length // 20)
                words[names] = event_words[rng.integers(0, len(event_words), len(names))]
                text = " ".join(words.tolist())
            previous = text
            published = when + timedelta(hours=float(rng.uniform(0, 36)))
            url = f"https://outlet{report}.example/{story}/{len(articles)}"
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
            articles.append(GroupingInput(url, text, digest, f"{event_words[0]} {event_words[1]}", published))
            if len(articles) >= count:
                break
    return articles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--words", type=int, default=1000)
    args = parser.parse_args()
    started = time.perf_counter()
    articles = synthetic_articles(args.articles, args.words)
    print(f"generated {len(articles)} articles of ~{args.words} words in {time.perf_counter() - started:.0f} s")
    base_rss = rss_mb()
    grouper = StoryGrouper(GroupingOptions())
    started, cpu_started = time.perf_counter(), time.process_time()
    for article in articles:
        grouper.assign(article)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak = rss_mb()
    # CPU time is the per-core figure: on a shared machine wall time also counts waiting.
    print(
        f"grouping: {len(articles) / cpu:,.0f} articles per CPU-second "
        f"({len(articles) / elapsed:,.0f}/s wall, {elapsed:.1f} s; load average {os.getloadavg()[0]:.1f})"
    )
    duplicates = sum(1 for a in articles if (d := grouper.decision_of(a.url)) and d.duplicate_of_url)
    stories = len({d.story_key for a in articles if (d := grouper.decision_of(a.url))})
    print(f"  {duplicates} copies, {stories} stories")

    probes = [grouper.signature(article).bands for article in articles[:: max(1, len(articles) // 2000)]]
    index = grouper._index  # the band index on its own: one lookup per article
    index.merge()
    started = time.perf_counter()
    found = sum(len(index.lookup(bands)) for bands in probes)
    lookup_us = (time.perf_counter() - started) / len(probes) * 1e6
    print(f"band-index lookup: {lookup_us:.0f} us per article ({found / len(probes):.1f} candidates)")

    per_article = (peak - base_rss) * 1024 * 1024 / len(articles)
    print(f"peak RSS {peak:,.0f} MB (before grouping {base_rss:,.0f} MB, inputs included)")
    print(f"  grouping state ~{per_article / 1024:.1f} KB per article; band index {index.nbytes / len(articles):.0f} B per article")
    print(f"  extrapolated to 1M articles: ~{per_article * 1e6 / 2**30:.1f} GB (target < 2 GB)")


if __name__ == "__main__":
    main()
