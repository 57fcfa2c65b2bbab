"""Grouping quality: ECB+ stories and synthetic wire copies, B-cubed P/R/F1.

Usage: .venv/bin/python bench/grouping_quality.py [--data ../shared/data] [--orders 3]
                                                  [--dump decisions.jsonl]

Stories: the 982 ECB+ documents (no dates) go through `StoryGrouper` with the default
options; the predicted story of a document is its story key, scored against the gold
`event_cluster`. Printed beside it, in the same run: plain TF-IDF cosine single-link at
0.3 and batch average-link at its best threshold (both corpus IDF, body text only).
The grouper is also run on shuffled orders and split across three "runs" (a save and
reload through SQLite) to show that the partition does not depend on arrival order.

Copies: from every distinct ECB+ document (one that is not itself a copy of an earlier
one), the original; from those of 120+ words also five edited copies
(first half only, a new paragraph, copy-edits, other boilerplate around it, a URL
variant), plus a copy combining trim and copy-edits. Gold: each original with its
copies. Predicted: the canonical (`duplicate_of_url`, else itself). Baseline: plain
MinHash LSH at Jaccard 0.8 on word 5-shingles, linked transitively.

`--dump` writes every decision of the file-order story run and of the copy run (one
JSON line each), to compare two versions' grouping.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import json
import math
import random
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from datasketch import MinHash, MinHashLSH  # noqa: E402
from scipy.cluster.hierarchy import fcluster, linkage  # noqa: E402

from pipelines.grouping.features import STOP_WORDS, shingles, words  # noqa: E402
from pipelines.grouping.grouper import GroupingInput, GroupingOptions, StoryGrouper  # noqa: E402

BOILERPLATE_TOP = (
    "Home | World | Politics | Business | Sport | Share on Facebook Share on Twitter Email "
    "Subscribe to our newsletter for the latest headlines delivered every morning"
)
BOILERPLATE_BOTTOM = (
    "Copyright 2024 All rights reserved. Read more: Most popular stories this week. "
    "Follow us on social media. Advertisement. Terms of use Privacy policy Contact us"
)
WIRE_TIME = datetime(2024, 3, 1, 12, tzinfo=UTC)
EXTRA_PARAGRAPH = (
    "Editor's note: this story has been updated with additional reporting. Officials "
    "said further details would be released later in the day, and the investigation "
    "remained open as witnesses continued to come forward with new information."
)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def bcubed(predicted: dict[str, str], gold: dict[str, str]) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1 of `predicted` clusters against `gold`."""
    predicted_members: dict[str, set[str]] = defaultdict(set)
    gold_members: dict[str, set[str]] = defaultdict(set)
    for item, label in predicted.items():
        predicted_members[label].add(item)
    for item, label in gold.items():
        gold_members[label].add(item)
    precision = recall = 0.0
    for item in gold:
        mine, theirs = predicted_members[predicted[item]], gold_members[gold[item]]
        shared = len(mine & theirs)
        precision += shared / len(mine)
        recall += shared / len(theirs)
    precision /= len(gold)
    recall /= len(gold)
    return precision, recall, 2 * precision * recall / (precision + recall)


def fmt(scores: tuple[float, float, float]) -> str:
    return "P=%.3f R=%.3f F1=%.3f" % scores


def partition(labels: dict[str, str]) -> frozenset[frozenset[str]]:
    groups: dict[str, set[str]] = defaultdict(set)
    for item, label in labels.items():
        groups[label].add(item)
    return frozenset(frozenset(group) for group in groups.values())


# -- baselines ---------------------------------------------------------------------------


def tfidf_matrix(texts: list[str]) -> np.ndarray:
    counts = [Counter(t for t in words(text) if len(t) > 2 and t not in STOP_WORDS) for text in texts]
    vocabulary = {term: i for i, term in enumerate(sorted({t for c in counts for t in c}))}
    frequency = Counter(t for c in counts for t in c)
    matrix = np.zeros((len(texts), len(vocabulary)), dtype=np.float32)
    for row, count in enumerate(counts):
        for term, n in count.items():
            idf = math.log((len(texts) + 1) / (frequency[term] + 1)) + 1
            matrix[row, vocabulary[term]] = (1 + math.log(n)) * idf
    norms = np.linalg.norm(matrix, axis=1)
    norms[norms == 0] = 1
    return matrix / norms[:, None]


def single_link(ids: list[str], similarity: np.ndarray, threshold: float) -> dict[str, str]:
    parent = list(range(len(ids)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in zip(*np.nonzero(np.triu(similarity >= threshold, 1)), strict=True):
        parent[find(int(i))] = find(int(j))
    return {ids[i]: ids[find(i)] for i in range(len(ids))}


def average_link(ids: list[str], similarity: np.ndarray, threshold: float) -> dict[str, str]:
    distance = np.clip(1 - similarity[np.triu_indices(len(ids), 1)], 0, 2)
    labels = fcluster(linkage(distance, "average"), 1 - threshold, criterion="distance")
    return {item: str(label) for item, label in zip(ids, labels.tolist(), strict=True)}


# -- runs of the grouper -------------------------------------------------------------------


def run_grouper(
    inputs: list[GroupingInput], options: GroupingOptions, dump: TextIO | None = None
) -> tuple[dict[str, str], dict[str, str], float]:
    """Stories and canonicals of `inputs` grouped in order (each decision written to
    `dump` when given), and the seconds grouping took."""
    grouper = StoryGrouper(options)
    start = time.perf_counter()
    for article in inputs:
        grouper.assign(article)
    elapsed = time.perf_counter() - start
    stories, canonicals = {}, {}
    for article in inputs:
        decision = grouper.decision_of(article.url)
        assert decision is not None
        stories[article.url] = decision.story_key
        canonicals[article.url] = decision.duplicate_of_url or article.url
        if dump is not None:
            dump.write(json.dumps([article.url, *dataclasses.astuple(decision)]) + "\n")
    return stories, canonicals, elapsed


def run_split_through_sqlite(inputs: list[GroupingInput], options: GroupingOptions, parts: int) -> dict[str, str]:
    """The grouper across `parts` runs, saving and reloading its index through SQLite."""
    from pipelines.grouping.pipeline import signature_from_row, signature_row
    from storage.database import Database
    from storage.grouping_store import GroupingStore, LinkRow

    from pipelines.grouping.grouper import Link

    with tempfile.TemporaryDirectory() as directory:
        database = Database(f"sqlite:///{directory}/split.db")
        database.create_schema()
        store = GroupingStore(database)
        size = math.ceil(len(inputs) / parts)
        grouper = StoryGrouper(options)
        for part in range(parts):
            grouper = StoryGrouper(options)
            grouper.load(
                (signature_from_row(row) for row in store.iter_signatures(options.signature_scheme)),
                (Link(r.url, r.other_url, r.level, r.method, r.similarity) for r in store.iter_links()),
            )
            grouper.take_new_signatures()
            for article in inputs[part * size : (part + 1) * size]:
                grouper.assign(article)
            store.save(
                [signature_row(s, options.signature_scheme) for s in grouper.take_new_signatures()],
                [LinkRow(k.url, k.other_url, k.level, k.method, k.similarity) for k in grouper.take_new_links()],
            )
        database.dispose()
    result = {}
    for article in inputs:
        decision = grouper.decision_of(article.url)
        assert decision is not None
        result[article.url] = decision.story_key
    return result


# -- the copy set --------------------------------------------------------------------------


def copy_edit(text: str, rng: random.Random) -> str:
    """A few copy-desk edits: swapped words, changed spellings, cut sentences' tails."""
    tokens = text.split(" ")
    for _ in range(max(1, len(tokens) // 60)):
        position = rng.randrange(len(tokens))
        choice = rng.random()
        if choice < 0.4:
            tokens[position] = tokens[position].upper() if rng.random() < 0.2 else tokens[position] + "s"
        elif choice < 0.7:
            del tokens[position]
        else:
            tokens.insert(position, rng.choice(["also", "reportedly", "on Tuesday", "however,"]))
    return " ".join(tokens).replace(" said ", " told reporters ", 1)


def build_copies(docs: list[dict[str, str]], rng: random.Random) -> tuple[list[GroupingInput], dict[str, str]]:
    inputs: list[GroupingInput] = []
    gold: dict[str, str] = {}

    def add(url: str, text: str, title: str, origin: str) -> None:
        # Each wire story a week after the last; the original first, its copies an hour later.
        wire_time = WIRE_TIME + timedelta(days=7 * number)
        published = wire_time if url == origin else wire_time + timedelta(hours=1)
        inputs.append(GroupingInput(url, text, text_hash(text), title, published))
        gold[url] = origin

    for number, doc in enumerate(distinct_originals(docs)):
        text, title, origin = doc["text"], doc["title"], "https://wire.example/" + doc["doc_id"]
        add(origin, text, title, origin)
        if len(text.split()) < 120:
            continue
        half = " ".join(text.split(" ")[: len(text.split(" ")) // 2])
        add(origin.replace("wire.", "trimmed."), half, title, origin)
        add(origin.replace("wire.", "extended."), text + "\n\n" + EXTRA_PARAGRAPH, title, origin)
        add(origin.replace("wire.", "edited."), copy_edit(text, rng), title, origin)
        add(origin.replace("wire.", "recrawl."), f"{BOILERPLATE_TOP}\n{text}\n{BOILERPLATE_BOTTOM}", title, origin)
        add(origin + "?utm_source=rss&amp=1", text, title, origin)
        add(origin.replace("wire.", "trimmed-edited."), copy_edit(half, rng), title, origin)
    return inputs, gold


def distinct_originals(docs: list[dict[str, str]]) -> list[dict[str, str]]:
    """The documents that are not themselves copies of an earlier one (ECB+ holds some
    articles twice): exact 5-shingle containment below one half, counted on full sets."""
    kept: list[dict[str, str]] = []
    owners: dict[str, list[int]] = defaultdict(list)
    sizes: list[int] = []
    for doc in docs:
        own = shingles(words(doc["text"]), 5)
        if not own:
            continue
        shared: Counter[int] = Counter()
        for shingle in own:
            shared.update(owners.get(shingle, ()))
        if any(count / min(len(own), sizes[other]) >= 0.5 for other, count in shared.items()):
            continue
        for shingle in own:
            owners[shingle].append(len(kept))
        sizes.append(len(own))
        kept.append(doc)
    return kept


def minhash_baseline(inputs: list[GroupingInput], threshold: float = 0.8) -> dict[str, str]:
    lsh = MinHashLSH(threshold=threshold, num_perm=128)
    signatures = {}
    for article in inputs:
        signature = MinHash(num_perm=128, seed=1)
        signature.update_batch(s.encode() for s in shingles(words(article.text), 5))
        signatures[article.url] = signature
        lsh.insert(article.url, signature)
    parent = {article.url: article.url for article in inputs}

    def find(x: str) -> str:
        while parent[x] != x:
            x = parent[x]
        return x

    for url, signature in signatures.items():
        for other in lsh.query(signature):
            if signatures[other].jaccard(signature) >= threshold:
                parent[find(url)] = find(other)
    return {url: find(url) for url in parent}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--orders", type=int, default=2, help="shuffled orders to check for order independence")
    parser.add_argument("--copies-only", action="store_true", help="skip the ECB+ story figures")
    parser.add_argument("--dump", type=Path, help="write every decision to this JSON-lines file")
    args = parser.parse_args()
    path = args.data / "ecbplus" / "ecbplus_docs.jsonl"
    if not path.is_file():
        sys.exit(f"ECB+ not found at {path}: nothing to measure")
    docs = [json.loads(line) for line in path.open(encoding="utf-8")]
    options = GroupingOptions()
    gold = {doc["doc_id"]: doc["event_cluster"] for doc in docs}
    inputs = [GroupingInput(doc["doc_id"], doc["text"], text_hash(doc["text"]), doc["title"]) for doc in docs]

    with contextlib.ExitStack() as stack:
        dump = None if args.dump is None else stack.enter_context(args.dump.open("w", encoding="utf-8"))
        if not args.copies_only:
            stories_bench(docs, inputs, gold, options, args.orders, dump)
        copies_bench(docs, options, dump)


def stories_bench(
    docs: list[dict[str, str]],
    inputs: list[GroupingInput],
    gold: dict[str, str],
    options: GroupingOptions,
    orders: int,
    dump: TextIO | None = None,
) -> None:
    print(f"ECB+ stories: {len(docs)} documents, {len(set(gold.values()))} events")
    ids = [doc["doc_id"] for doc in docs]
    similarity = tfidf_matrix([doc["text"] for doc in docs]) @ tfidf_matrix([doc["text"] for doc in docs]).T
    print("  baseline TF-IDF single-link @0.30     ", fmt(bcubed(single_link(ids, similarity, 0.3), gold)))
    best = max(
        ((bcubed(average_link(ids, similarity, t), gold), t) for t in np.arange(0.05, 0.6, 0.025)),
        key=lambda scored: scored[0][2],
    )
    print(f"  baseline TF-IDF average-link @{best[1]:.3f} (best)", fmt(best[0]))
    stories, _, elapsed = run_grouper(inputs, options, dump)
    print("  newsfold StoryGrouper (defaults)       ", fmt(bcubed(stories, gold)), f"[{len(docs) / elapsed:.0f} docs/s]")
    reference = partition(stories)
    rng = random.Random(7)
    for attempt in range(orders):
        shuffled = inputs[:]
        rng.shuffle(shuffled)
        same = partition(run_grouper(shuffled, options)[0]) == reference
        print(f"  shuffled order {attempt + 1}: same stories as file order: {same}")
    split = run_split_through_sqlite(inputs, options, parts=3)
    print(f"  three runs through SQLite: same stories as one run: {partition(split) == reference}")



def copies_bench(
    docs: list[dict[str, str]], options: GroupingOptions, dump: TextIO | None = None
) -> None:
    copy_inputs, copy_gold = build_copies(docs, random.Random(11))
    copies = sum(1 for url, origin in copy_gold.items() if url != origin)
    originals = len(set(copy_gold.values()))
    print(f"Copies: {len(copy_inputs)} articles, {copies} edited copies of {originals} distinct ECB+ originals")
    print("  baseline MinHash LSH Jaccard>=0.8      ", fmt(bcubed(minhash_baseline(copy_inputs), copy_gold)))
    _, canonicals, elapsed = run_grouper(copy_inputs, options, dump)
    print("  newsfold canonical (defaults)          ", fmt(bcubed(canonicals, copy_gold)), f"[{len(copy_inputs) / elapsed:.0f} docs/s]")
    wrong = Counter(
        url.split("/")[2].split(".")[0]
        for url in copy_inputs_urls(copy_inputs)
        if canonicals[url] != copy_gold[url]
    )
    print("  copies not pointing at their original, by edit:", dict(sorted(wrong.items())) or "none")


def copy_inputs_urls(inputs: list[GroupingInput]) -> list[str]:
    return [article.url for article in inputs]


if __name__ == "__main__":
    main()
