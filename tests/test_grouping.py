"""Grouping's pure core: copies and their canonical, stories, chaining, short texts, order."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipelines.grouping.features import FeatureExtractor, FeatureOptions
from pipelines.grouping.grouper import GroupingInput, GroupingOptions, StoryGrouper
from pipelines.grouping.index import BandIndex

SEEDS = Path(__file__).resolve().parents[1] / "seeds" / "articles"
T0 = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)

QUAKE_PERU = (
    "A magnitude 7.0 earthquake struck southern Peru near the city of Arequipa early on "
    "Monday, collapsing adobe houses in the Caylloma province and cutting the Pan-American "
    "highway, Peru's geophysical institute said. Governor Elmer Caceres Llica said two "
    "villagers in Chivay died when a church wall fell and that rescue teams from Lima were "
    "flying to the Colca valley. Landslides blocked the road to Cabanaconde and the tremor "
    "was felt in Tacna and across the border in northern Chile. President Dina Boluarte "
    "declared an emergency in Arequipa and promised tents, water and doctors for families "
    "who slept outdoors in the cold Andean night."
)
QUAKE_PERU_OTHER_OUTLET = (
    "Two people were killed in Chivay when a powerful 7.0 quake shook Arequipa in southern "
    "Peru on Monday, regional governor Elmer Caceres Llica told local radio. Homes built of "
    "adobe crumbled across Caylloma and landslides closed the route to Cabanaconde in the "
    "Colca valley, a canyon popular with tourists. Boluarte declared a state of emergency in "
    "Arequipa, and the defence ministry sent planes from Lima with tents and medical staff. "
    "Shaking was reported as far away as Tacna and the Chilean city of Arica."
)
QUAKE_JAPAN = (
    "A magnitude 6.9 earthquake struck off the coast of Ishikawa prefecture in central Japan "
    "on Monday, the Japan Meteorological Agency said, issuing a tsunami advisory for the Noto "
    "peninsula. Houses collapsed in Wajima and Suzu, and a fire broke out in the Wajima "
    "morning market district. Prime Minister Fumio Kishida told reporters that Self-Defense "
    "Forces were heading to the region and that the Kansai Electric Power Company had found "
    "no anomalies at its nuclear plants. Shinkansen services between Tokyo and Kanazawa were "
    "suspended while engineers checked the tracks for damage."
)
CHAIN_LEFT = (
    "The city council of Porto Alegre approved a budget for flood barriers along the Guaiba "
    "river after mayor Sebastiao Melo presented engineering studies on pumping stations, "
    "levees and drainage canals. Councillors debated the cost of dredging and the relocation "
    "of riverside families from the Sarandi district, and the plan passed by twenty votes to "
    "eleven after a long session about contracts and federal loans."
)
CHAIN_RIGHT = (
    "Violinist Hilary Hahn opened the Salzburg festival with a Sibelius concerto conducted by "
    "Riccardo Muti, and critics praised the Vienna Philharmonic strings in the Grosses "
    "Festspielhaus. The programme also featured Bruckner's seventh symphony, and the festival "
    "director Markus Hinterhauser announced a new opera commission by composer Olga Neuwirth "
    "for next summer, with tickets selling out within hours of the announcement."
)


def article(
    url: str, text: str, title: str | None = None, hours: float | None = 0.0
) -> GroupingInput:
    published = None if hours is None else T0 + timedelta(hours=hours)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return GroupingInput(url, text, digest, title, published)


def seed_texts() -> list[str]:
    return [path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt"))]


def copies_of(text: str) -> dict[str, str]:
    """The edits wire copies go through, each as its own copy."""
    tokens = text.split(" ")
    edited = tokens[:]
    for position in range(7, len(edited), 53):
        edited[position] = edited[position].upper()
    return {
        "https://trimmed.example/a": " ".join(tokens[: len(tokens) // 2]),
        "https://extended.example/a": text
        + "\n\nThis story has been updated with comment from officials.",
        "https://edited.example/a": " ".join(edited).replace(" said ", " told reporters ", 1),
        "https://recrawl.example/a": "Home | News | Subscribe now\n"
        + text
        + "\nAll rights reserved. Cookies.",
        "https://wire.example/a?utm_source=rss": text,
    }


def story_of(grouper: StoryGrouper, url: str) -> str:
    decision = grouper.decision_of(url)
    assert decision is not None
    return decision.story_key


def canonical_of(grouper: StoryGrouper, url: str) -> str:
    decision = grouper.decision_of(url)
    assert decision is not None
    return decision.duplicate_of_url or url


# -- copies ---------------------------------------------------------------------------------


def test_every_kind_of_edited_copy_points_at_the_earliest_published_original() -> None:
    original = seed_texts()[1]
    grouper = StoryGrouper(GroupingOptions())
    grouper.assign(article("https://wire.example/a", original, hours=0))
    for url, text in copies_of(original).items():
        decision = grouper.assign(article(url, text, hours=2))
        assert decision.duplicate_of_url == "https://wire.example/a", url
        assert decision.method in {"exact", "containment"}
        assert decision.duplicate_similarity is not None and decision.duplicate_similarity >= 0.6
    assert (
        len({story_of(grouper, url) for url in [*copies_of(original), "https://wire.example/a"]})
        == 1
    )


def test_an_earlier_published_copy_arriving_later_becomes_the_canonical() -> None:
    original = seed_texts()[1]
    grouper = StoryGrouper(GroupingOptions())
    grouper.assign(article("https://late.example/a", original, hours=5))
    grouper.assign(article("https://later.example/a", original + "\n\nUpdated.", hours=6))
    decision = grouper.assign(article("https://early.example/a", original, hours=1))
    assert decision.duplicate_of_url is None
    changes = grouper.take_changes()
    assert {url: change.duplicate_of_url for url, change in changes.items()} == {
        "https://late.example/a": "https://early.example/a",
        "https://later.example/a": "https://early.example/a",
    }


def test_reports_sharing_only_quotes_are_not_copies_but_one_story() -> None:
    first, second = seed_texts()
    grouper = StoryGrouper(GroupingOptions())
    grouper.assign(article("https://military.example/a", first, hours=None))
    decision = grouper.assign(article("https://washingtontimes.example/b", second, hours=0))
    assert decision.duplicate_of_url is None
    assert decision.method == "tfidf_avglink"
    assert story_of(grouper, "https://military.example/a") == story_of(
        grouper, "https://washingtontimes.example/b"
    )


# -- stories --------------------------------------------------------------------------------


def test_two_outlets_on_one_earthquake_join_and_a_look_alike_earthquake_stays_apart() -> None:
    grouper = StoryGrouper(GroupingOptions())
    grouper.assign(article("https://a.example/peru", QUAKE_PERU, "Deadly quake hits southern Peru"))
    grouper.assign(
        article("https://b.example/peru", QUAKE_PERU_OTHER_OUTLET, "Quake kills two in Arequipa", 3)
    )
    grouper.assign(
        article("https://c.example/japan", QUAKE_JAPAN, "Strong quake strikes central Japan", 1)
    )
    assert story_of(grouper, "https://a.example/peru") == story_of(
        grouper, "https://b.example/peru"
    )
    assert story_of(grouper, "https://c.example/japan") != story_of(
        grouper, "https://a.example/peru"
    )


def test_reports_further_apart_than_the_window_are_separate_stories() -> None:
    grouper = StoryGrouper(GroupingOptions(story_window=timedelta(days=3)))
    grouper.assign(article("https://a.example/peru", QUAKE_PERU))
    grouper.assign(article("https://b.example/peru", QUAKE_PERU_OTHER_OUTLET, hours=24 * 10))
    assert story_of(grouper, "https://a.example/peru") != story_of(
        grouper, "https://b.example/peru"
    )


def test_a_bridging_article_does_not_chain_two_unrelated_stories() -> None:
    bridge = " ".join(CHAIN_LEFT.split(" ")[:22] + CHAIN_RIGHT.split(" ")[:45])
    extractor = FeatureExtractor(FeatureOptions())
    left, middle, right = (
        extractor.extract(None, text) for text in (CHAIN_LEFT, bridge, CHAIN_RIGHT)
    )
    threshold = GroupingOptions().story_similarity
    # The bridge resembles each side, the sides not each other: single-link would chain them.
    assert left.cosine(middle) >= threshold and right.cosine(middle) >= threshold
    assert left.cosine(right) < 0.05
    grouper = StoryGrouper(GroupingOptions())
    for url, text in [
        ("https://l.example/", CHAIN_LEFT),
        ("https://r.example/", CHAIN_RIGHT),
        ("https://m.example/", bridge),
    ]:
        grouper.assign(article(url, text))
    assert story_of(grouper, "https://l.example/") != story_of(grouper, "https://r.example/")


# -- short and empty texts -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\n  ",
        "and the of to in it is was that this for with as on at by",
        "Breaking news update.",
        "12 34 56 78 90 2024",
    ],
)
def test_empty_short_and_stop_word_only_texts_never_match_each_other(text: str) -> None:
    grouper = StoryGrouper(GroupingOptions())
    first = grouper.assign(article("https://a.example/x", text))
    second = grouper.assign(article("https://b.example/x", text))
    third = grouper.assign(article("https://c.example/x", text + " "))
    for decision, url in [
        (first, "https://a.example/x"),
        (second, "https://b.example/x"),
        (third, "https://c.example/x"),
    ]:
        assert decision.method == "too_short"
        assert decision.duplicate_of_url is None
        assert decision.story_key == url


def test_a_short_text_never_joins_a_story_of_other_short_texts() -> None:
    line = "Tara Reid checks into Promises rehab clinic in Malibu, her publicist Jack Ketsoyan confirms"
    grouper = StoryGrouper(GroupingOptions())
    grouper.assign(article("https://a.example/x", line))
    decision = grouper.assign(article("https://b.example/x", line + " again"))
    assert decision.duplicate_of_url is None and decision.story_key == "https://b.example/x"


# -- order and run boundaries -----------------------------------------------------------------


def corpus() -> list[GroupingInput]:
    seeds = seed_texts()
    items = [
        article("https://military.example/a", seeds[0], hours=None),
        article("https://washingtontimes.example/b", seeds[1], hours=0),
        article("https://a.example/peru", QUAKE_PERU, "Deadly quake hits southern Peru", 2),
        article(
            "https://b.example/peru", QUAKE_PERU_OTHER_OUTLET, "Quake kills two in Arequipa", 3
        ),
        article("https://c.example/japan", QUAKE_JAPAN, "Strong quake strikes central Japan", 1),
        article("https://l.example/", CHAIN_LEFT),
        article("https://r.example/", CHAIN_RIGHT),
        article("https://short.example/", "Just a headline."),
    ]
    for index, (url, text) in enumerate(copies_of(seeds[1]).items()):
        items.append(article(url, text, hours=1 + index))
    items.append(article("https://earliest.example/b", seeds[1], hours=-1))
    return items


def outcome(
    grouper: StoryGrouper, items: list[GroupingInput]
) -> tuple[frozenset[frozenset[str]], dict[str, str]]:
    stories: dict[str, set[str]] = {}
    for item in items:
        stories.setdefault(story_of(grouper, item.url), set()).add(item.url)
    return frozenset(frozenset(group) for group in stories.values()), {
        item.url: canonical_of(grouper, item.url) for item in items
    }


def test_groups_and_canonicals_do_not_depend_on_arrival_order() -> None:
    items = corpus()
    results = []
    for seed in range(4):
        shuffled = items[:]
        random.Random(seed).shuffle(shuffled)
        grouper = StoryGrouper(GroupingOptions())
        for item in shuffled:
            grouper.assign(item)
        results.append(outcome(grouper, items))
    assert all(result == results[0] for result in results)
    stories, canonicals = results[0]
    assert canonicals["https://trimmed.example/a"] == "https://earliest.example/b"
    assert canonicals["https://washingtontimes.example/b"] == "https://earliest.example/b"
    assert frozenset({"https://a.example/peru", "https://b.example/peru"}) in stories


def test_reading_an_article_again_changes_nothing() -> None:
    grouper = StoryGrouper(GroupingOptions())
    items = corpus()
    first = [grouper.assign(item) for item in items]
    grouper.take_changes()
    again = [grouper.assign(item) for item in items]
    assert [d.story_key for d in again] == [grouper.decision_of(i.url).story_key for i in items]  # type: ignore[union-attr]
    assert grouper.take_changes() == {}
    assert len(grouper) == len(items) and len(first) == len(again)


def test_regrouping_from_held_decisions_mends_a_split_story_and_then_changes_nothing() -> None:
    """What distributed workers do with what storage holds: a story stored split (one
    report under a key of its own, a copy pointing nowhere) is regrouped whole from the
    links, under the key most of it holds; regrouping the result again changes nothing."""
    from crawler.items import GroupingDecision

    grouper = StoryGrouper(GroupingOptions())
    peru, other, copy = (
        "https://a.example/peru",
        "https://b.example/peru",
        "https://mirror.example/peru",
    )
    grouper.assign(article(peru, QUAKE_PERU, "Deadly quake hits southern Peru"))
    grouper.assign(article(other, QUAKE_PERU_OTHER_OUTLET, "Quake kills two in Arequipa", 3))
    grouper.assign(article(copy, QUAKE_PERU, "Deadly quake hits southern Peru", 1))
    grouper.assign(article("https://c.example/japan", QUAKE_JAPAN, "Quake in Japan", 1))
    grouper.take_changes()
    assert grouper.component_urls([copy]) == sorted([peru, other, copy])
    split = [
        (peru, GroupingDecision("held-key", None, None, 0.5, "tfidf_avglink")),
        (other, GroupingDecision(other, None, None, None, "new_story")),
        (copy, GroupingDecision("held-key", None, None, None, "exact")),
    ]
    grouper.regroup([other], split)
    changed = grouper.take_changes()
    assert sorted(changed) == sorted([copy, other])
    assert {grouper.decision_of(url).story_key for url in (peru, other, copy)} == {"held-key"}  # type: ignore[union-attr]
    assert grouper.decision_of(copy).duplicate_of_url == peru  # type: ignore[union-attr]
    held = [(url, grouper.decision_of(url)) for url in (peru, other, copy)]
    grouper.regroup([peru], held)  # type: ignore[arg-type]
    assert grouper.take_changes() == {}
    assert "https://c.example/japan" in grouper and "https://d.example/none" not in grouper


def test_band_index_finds_keys_across_buffer_and_sorted_runs() -> None:
    import numpy as np

    index = BandIndex()
    index.add_many(np.array([1, 2], dtype=np.int32), np.array([10, 20], dtype=np.uint64))
    index.add(3, np.array([10, 30], dtype=np.uint64))
    assert index.lookup(np.array([10], dtype=np.uint64)) == {1, 3}
    index.merge()
    assert index.lookup(np.array([10, 20, 99], dtype=np.uint64)) == {1, 2, 3}
    assert len(index) == 4
    index.add(4, np.array([20, 40], dtype=np.uint64))
    split = index.lookup_split(np.array([30, 20, 40], dtype=np.uint64), 1)
    assert split == ({3}, {2, 4})


def test_band_index_searches_runs_for_many_queries_as_for_each() -> None:
    """`lookup_runs` of many queries, then the buffer, finds what `lookup_split` finds; while
    the runs are held, keys added stay in the buffer and the runs do not change."""
    import numpy as np

    rng = np.random.default_rng(5)
    index = BandIndex()
    for number in range(400):
        index.add(number, rng.integers(0, 3000, 8).astype(np.uint64))
    queries = [(rng.integers(0, 3000, 8).astype(np.uint64), split) for split in (0, 3, 8, 5)]
    with index.runs_held():
        runs_before = [run.keys.copy() for run in index._runs]
        in_runs = index.lookup_runs(queries)
        for number in range(400, 800):  # more than a merge's worth of keys
            index.add(number, rng.integers(0, 3000, 8).astype(np.uint64))
        assert [run.keys.tolist() for run in index._runs] == [k.tolist() for k in runs_before]
        for (keys, split), (first, rest) in zip(queries, in_runs, strict=True):
            buffered_first, buffered_rest = index.lookup_buffer(keys, split)
            assert (first | buffered_first, rest | buffered_rest) == index.lookup_split(keys, split)
    assert index._buffered < 2_048  # merged on leaving
    assert any(
        index.lookup_split(keys, split) != found
        for (keys, split), found in zip(queries, in_runs, strict=True)
    )


def test_band_index_merged_runs_are_the_stable_sort_of_everything_added() -> None:
    import numpy as np

    rng = np.random.default_rng(3)
    index = BandIndex()
    added_keys, added_numbers = [], []
    for number in range(3000):  # enough keys for several buffer merges and run merges
        keys = rng.integers(0, 5000, 6).astype(np.uint64)  # repeated keys across articles
        index.add(number, keys)
        added_keys.append(keys)
        added_numbers.append(np.full(len(keys), number, dtype=np.int32))
    index.merge()
    keys, numbers = np.concatenate(added_keys), np.concatenate(added_numbers)
    order = np.argsort(keys, kind="stable")
    assert len(index._runs) > 1  # the merge of runs was exercised, not only one sort
    run_keys = np.concatenate([run.keys for run in index._runs])
    run_numbers = np.concatenate([run.numbers for run in index._runs])
    by_run = np.lexsort((run_numbers, run_keys))
    assert np.array_equal(run_keys[by_run], keys[order])
    assert np.array_equal(run_numbers[by_run], numbers[order])
    for run in index._runs:
        run_keys_sorted, run_numbers_of = run.keys, run.numbers
        assert np.all(run_keys_sorted[:-1] <= run_keys_sorted[1:])
        same_key = run_keys_sorted[:-1] == run_keys_sorted[1:]
        # Stable: under one key, earlier articles first.
        assert np.all(run_numbers_of[:-1][same_key] <= run_numbers_of[1:][same_key])
        assert run_numbers_of.dtype == np.int32
    for key in (0, 17, 4999):
        expected = set(numbers[keys == key].tolist())
        assert index.lookup(np.array([key], dtype=np.uint64)) == expected


def test_ecbplus_look_alike_events_in_a_few_topics_are_told_apart(shared_data: Path) -> None:
    import json

    path = shared_data / "ecbplus" / "ecbplus_docs.jsonl"
    if not path.is_file():
        pytest.skip(f"ECB+ not found at {path}")
    docs = [json.loads(line) for line in path.open(encoding="utf-8")]
    docs = [doc for doc in docs if doc["topic"] in {1, 3, 8}]
    gold = {doc["doc_id"]: doc["event_cluster"] for doc in docs}
    items = [article(doc["doc_id"], doc["text"], doc["title"], hours=None) for doc in docs]
    grouper = StoryGrouper(GroupingOptions())
    for item in items:
        grouper.assign(item)
    predicted = {url: story_of(grouper, url) for url in gold}
    members: dict[str, set[str]] = {}
    for url, story in predicted.items():
        members.setdefault(story, set()).add(url)
    events: dict[str, set[str]] = {}
    for url, event in gold.items():
        events.setdefault(event, set()).add(url)
    precision = sum(
        len(members[predicted[u]] & events[gold[u]]) / len(members[predicted[u]]) for u in gold
    ) / len(gold)
    recall = sum(
        len(members[predicted[u]] & events[gold[u]]) / len(events[gold[u]]) for u in gold
    ) / len(gold)
    # Six events, two of each kind (rehab stays, ...): plain TF-IDF single-link mixes them.
    assert precision >= 0.85 and recall >= 0.75, (precision, recall)
    shuffled = items[::-1]
    again = StoryGrouper(GroupingOptions())
    for item in shuffled:
        again.assign(item)
    assert {frozenset(m) for m in members.values()} == {
        frozenset(u for u in gold if story_of(again, u) == story_of(again, v)) for v in gold
    }


def test_minhash_values_are_datasketchs_affine32_for_the_same_seed() -> None:
    """Computed as one array operation, yet the values datasketch itself gives."""
    import numpy as np
    from datasketch import MinHash

    grouper = StoryGrouper(GroupingOptions())
    generator = np.random.default_rng(7)
    samples = [
        np.unique(generator.integers(0, 2**32, count, dtype=np.uint64)).astype(np.uint32)
        for count in (0, 1, 3, 250, 0, 40_000, 2)
    ]
    signature = grouper.signature(GroupingInput("https://x.example/", "", "h"))
    assert signature.minhash.dtype == np.uint32
    for shingles, minhash in zip(samples, grouper._minhashes(samples), strict=True):
        reference = MinHash(num_perm=128, seed=1, hashfunc=int, scheme="affine32")
        reference.update_batch(shingles.tolist())
        assert minhash.tolist() == reference.hashvalues.tolist()


@pytest.mark.parametrize(("num_perm", "seed"), [(128, 1), (16, 0), (256, 42), (1024, 2**31 - 1)])
def test_permutations_are_datasketchs_affine32_for_any_seed(num_perm: int, seed: int) -> None:
    """Drawn without importing datasketch, yet its permutations."""
    from datasketch import MinHash

    grouper = StoryGrouper(GroupingOptions(num_perm=num_perm, seed=seed, copy_bands=8))
    reference = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    assert grouper._multipliers.tolist() == reference[0].tolist()
    assert grouper._offsets.tolist() == reference[1].tolist()


def test_average_link_clusters_are_scipys_dendrogram_cut() -> None:
    import numpy as np
    from scipy.cluster.hierarchy import fcluster, linkage

    from pipelines.grouping.grouper import _average_link_labels

    generator = np.random.default_rng(3)
    for _ in range(300):
        size = int(generator.integers(3, 12))
        noise = generator.random((size, size))
        similarity = (noise + noise.T) / 2 * 0.6
        np.fill_diagonal(similarity, 1.0)
        condensed = 1.0 - similarity[np.triu_indices(size, k=1)]
        expected = fcluster(linkage(condensed, method="average"), t=0.7, criterion="distance")
        labels = _average_link_labels(similarity, 0.3)
        assert clusters_of(labels) == clusters_of(expected.tolist())


def clusters_of(labels: list[int]) -> set[frozenset[int]]:
    """Positions grouped by label."""
    return {
        frozenset(i for i, label in enumerate(labels) if label == value) for value in set(labels)
    }


@pytest.mark.parametrize(
    "text",
    [
        "Tara Reid's 2021 rehab stay, per Los Angeles police (LAPD).",
        "Naïve café owners in İstanbul and Zürich: snake_case, ½ and ١٢٣ digits",
        "  leading spaces, trailing\ttabs\nand new-lines\n",
        "",
    ],
)
def test_tokens_are_the_word_runs_pythons_re_finds(text: str) -> None:
    """The vectorised tokenizer splits like `re.findall(r"\\w+")` and hashes case-blind."""
    import re

    extractor = FeatureExtractor(FeatureOptions())
    tokens = extractor._tokens(text)
    expected = re.findall(r"\w+", text)
    assert [text[s : s + n] for s, n in zip(tokens.starts, tokens.lengths, strict=True)] == expected
    alone = [int(extractor._tokens(word.upper()).hashes[0]) for word in expected]
    assert tokens.hashes.tolist() == alone
    assert tokens.digits.tolist() == [word.isdigit() for word in expected]
    assert tokens.capitalised.tolist() == [any(c.isupper() for c in word) for word in expected]


@pytest.mark.parametrize("stride", [1, 3, 64])
def test_run_hits_finds_every_entry_of_every_key_through_the_fence(stride: int) -> None:
    """Keys repeated across fence blocks, keys below, between and above the run's."""
    import numpy as np

    from pipelines.grouping import kernels

    rng = np.random.default_rng(stride)
    run = np.sort(np.concatenate([rng.integers(10, 400, 900), np.full(200, 250)]).astype(np.uint64))
    keys = np.sort(np.concatenate([rng.integers(0, 420, 150), [250, 250, 0, 999]]).astype(np.uint64))
    found_keys, found_entries = kernels.run_hits(run, run[::stride].copy(), stride, keys)
    expected = [
        (position, entry)
        for position, key in enumerate(keys.tolist())
        for entry in np.flatnonzero(run == key).tolist()
    ]
    assert list(zip(found_keys.tolist(), found_entries.tolist(), strict=True)) == expected
