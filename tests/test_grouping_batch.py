"""Signatures computed in batches are those of one article at a time, bit for bit.

`StoryGrouper.signatures` (and `FeatureExtractor.extract_many`) put many texts through one
pass of array operations; a signature must still depend on its own article only, whatever
else shares its batch, and stay byte-identical to what earlier versions stored under the
same scheme (`SIGNATURE_DIGESTS` were computed one text at a time before batching).
"""

from __future__ import annotations

import hashlib
import random

import pytest

from pipelines.grouping.features import FeatureExtractor, FeatureOptions
from pipelines.grouping.grouper import GroupingInput, GroupingOptions, Signature, StoryGrouper

_WORDS = [
    "police",
    "said",
    "the",
    "fire",
    "started",
    "early",
    "on",
    "Tuesday",
    "in",
    "a",
    "warehouse",
    "near",
    "the",
    "river",
    "and",
    "spread",
    "to",
    "three",
    "neighbouring",
    "buildings",
    "before",
    "crews",
    "from",
    "four",
    "stations",
    "brought",
    "it",
    "under",
    "control",
    "witnesses",
    "described",
    "thick",
    "smoke",
    "over",
    "the",
    "harbour",
    "district",
]
_NAMES = ["Tara", "Reid", "Malibu", "Los", "Angeles", "Promises", "Ketsoyan", "Zoë", "İzmir"]


def _report(seed: int, words: int) -> str:
    """A deterministic pseudo-report: common words with capitalised names and numbers."""
    generator = random.Random(seed)
    tokens = []
    for _ in range(words):
        roll = generator.random()
        if roll < 0.08:
            tokens.append(generator.choice(_NAMES))
        elif roll < 0.11:
            tokens.append(str(generator.randint(1, 3000)))
        else:
            tokens.append(generator.choice(_WORDS))
    return " ".join(tokens) + "."


# (title, text): empty, blank, very short, stop-word-only, numbers only, non-Latin and
# non-BMP characters, a title without body, and reports of a few lengths.
TEXTS: list[tuple[str | None, str]] = [
    (None, ""),
    ("", ""),
    (None, "   \n\t "),
    ("Title only", ""),
    (None, "a"),
    (None, "the of and to"),
    ("The", "the of and to a in is it that was he for on are as with"),
    (None, "Short text here."),
    (None, "1 2 3 2024 10,000 4.5"),
    ("Émile Zola İstanbul", "Straße ÉCOLE naïve café ΑΘΗΝΑ 😀 emoji😀word x²y ١٢٣ Tara Reid"),
    (None, "word word word word"),
    ("A title\nwith a line break", "Body " + "lorem ipsum dolor sit amet " * 30),
    (None, "_under_score__ ___ a_b 12ab ab12 ABC abc Abc aBC"),
    ("Fire in the harbour", _report(1, 40)),
    (None, _report(2, 300)),
    ("Tara Reid enters rehab", _report(3, 1000)),
    (None, _report(3, 1000)),
]

# sha256 of each text's stored signature (see `_digest`), computed one text at a time by
# the code before batching (commit 673b519).
SIGNATURE_DIGESTS = [
    "a8d555ebe2b1ba1b1220a644b5b5696c1ada8c834d5d4804d3311a4a5ea20f5d",
    "a8d555ebe2b1ba1b1220a644b5b5696c1ada8c834d5d4804d3311a4a5ea20f5d",
    "a8d555ebe2b1ba1b1220a644b5b5696c1ada8c834d5d4804d3311a4a5ea20f5d",
    "6df7f28916d8f83e979280f946a596337be8b8bb5a7f4d8d2f42808b67f5f28c",
    "a8d555ebe2b1ba1b1220a644b5b5696c1ada8c834d5d4804d3311a4a5ea20f5d",
    "a8d555ebe2b1ba1b1220a644b5b5696c1ada8c834d5d4804d3311a4a5ea20f5d",
    "75b97c545e29731d41bdd72016af421d2433ebc44a72be1fb2974232b3e85bca",
    "6634ba92b19d1644a066d16337d2c0bfa6e56bd45d2c6cf1f072bdbd92ff8c6d",
    "d0747206f351b3d9cdbd936d114018413c8a4bcded7fa2e670bccc874edbb9ef",
    "b54205542215236d4048c5cb2fb1fb7122f4ae31a68acd5d6a1d678e45a2c3f5",
    "1748bd8ab17d22c683f4fb9cbb46a839e91d465ac87c01b640ff5cb959cf4dca",
    "c7b42914970bc7ebbc54fabbfb05597b4619f9e44e7db051fc25b43eaadcb6f6",
    "5a6aa3f8e658feeba773d776a950f293c3a80d1d517aea2c5fc7a9db40f702bb",
    "8b6f7a62e52c9bc56b24f54a6360d5c98e6a3fbc703beab91731d9507076a7f6",
    "f2f8580ba7daa1c3a73f0b242f9f7bdc253cf7e749e62642a8ac22a1a8bcc637",
    "a68d6f6b7dc9ecf6af97dffc11d154ccab3f2a17b70894951316ff779435e821",
    "d8d756c2f000375d61164318557c771d076f85f56ecbcdcdf07c1fe504647837",
]


def _digest(signature: Signature) -> str:
    """The bytes a signature is stored as (`pipelines.grouping.pipeline.signature_row`)."""
    digest = hashlib.sha256()
    for array, dtype in (
        (signature.minhash, "<u4"),
        (signature.bands, "<u8"),
        (signature.features.shingles, "<u4"),
        (signature.features.terms, "<u8"),
        (signature.features.weights, "<f4"),
        (signature.features.keyterms, "<u8"),
    ):
        digest.update(array.astype(dtype).tobytes())
        digest.update(b"|")
    digest.update(f"{signature.features.content_words}|{signature.indexed}".encode())
    return digest.hexdigest()


def _inputs() -> list[GroupingInput]:
    return [
        GroupingInput(f"https://example.org/{number}", text, f"hash-{number}", title)
        for number, (title, text) in enumerate(TEXTS)
    ]


@pytest.fixture(scope="module")
def grouper() -> StoryGrouper:
    return StoryGrouper(GroupingOptions())


@pytest.fixture(scope="module")
def alone(grouper: StoryGrouper) -> list[str]:
    return [_digest(grouper.signature(article)) for article in _inputs()]


def test_signatures_one_at_a_time_are_those_stored_before_batching(alone: list[str]) -> None:
    assert alone == SIGNATURE_DIGESTS


@pytest.mark.parametrize("batch", [1, 2, 5, len(TEXTS)])
def test_signatures_in_batches_are_those_of_one_article_at_a_time(
    grouper: StoryGrouper, alone: list[str], batch: int
) -> None:
    articles = _inputs()
    batched = [
        _digest(signature)
        for start in range(0, len(articles), batch)
        for signature in grouper.signatures(articles[start : start + batch])
    ]
    assert batched == alone


def test_a_batch_in_reverse_order_gives_each_article_the_same_signature(
    grouper: StoryGrouper, alone: list[str]
) -> None:
    reverse = [_digest(signature) for signature in grouper.signatures(_inputs()[::-1])]
    assert reverse[::-1] == alone


def test_extract_many_splits_long_batches_without_changing_features(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Chunks of a few characters: every article is a chunk of its own, or shares one."""
    import pipelines.grouping.features as features_module

    extractor = FeatureExtractor(FeatureOptions())
    whole = extractor.extract_many(TEXTS)
    monkeypatch.setattr(features_module, "_BATCH_CHARACTERS", 200)
    chunked = extractor.extract_many(TEXTS)
    for one, other in zip(whole, chunked, strict=True):
        assert one.shingles.tobytes() == other.shingles.tobytes()
        assert one.terms.tobytes() == other.terms.tobytes()
        assert one.weights.tobytes() == other.weights.tobytes()
        assert one.keyterms.tobytes() == other.keyterms.tobytes()
        assert one.content_words == other.content_words


@pytest.mark.parametrize("symbol", ["\u24b6", "\u24c9"])  # circled A, circled T
def test_a_capital_that_is_no_word_character_marks_no_word_of_another_text(symbol: str) -> None:
    """Circled letters are upper case but not word characters: a text starting with one is
    read (it used to fail), and the text before it in a batch keeps its own features."""
    extractor = FeatureExtractor(FeatureOptions())
    batch = extractor.extract_many(
        [(None, "harbour lights glimmer tonight"), (None, f"{symbol} ferries resume sailing")]
    )
    alone = [
        extractor.extract(None, "harbour lights glimmer tonight"),
        extractor.extract(None, f"{symbol} ferries resume sailing"),
    ]
    assert extractor.extract(None, "ferries resume sailing").weights.tobytes() == (
        alone[1].weights.tobytes()
    )
    for one, other in zip(batch, alone, strict=True):
        assert one.terms.tobytes() == other.terms.tobytes()
        assert one.weights.tobytes() == other.weights.tobytes()


def test_empty_short_and_stop_word_texts_stay_unlinkable_in_a_batch(
    grouper: StoryGrouper,
) -> None:
    signatures = grouper.signatures(_inputs())
    for number in (0, 1, 2, 5, 6):  # empty, blank, stop words only
        assert not signatures[number].linkable
        assert len(signatures[number].bands) == 0
    assert signatures[-1].indexed and len(signatures[-1].bands) > 42


def test_assign_many_decides_as_assign_does() -> None:
    articles = [
        GroupingInput(f"https://outlet{n}.example/a", _report(seed, 400), f"h{n}", "Harbour fire")
        for n, seed in enumerate([10, 10, 11, 12, 12, 13])
    ]
    one_by_one = StoryGrouper(GroupingOptions())
    expected = [one_by_one.assign(article) for article in articles]
    batched = StoryGrouper(GroupingOptions())
    decisions = batched.assign_many(articles[:4]) + batched.assign_many(articles[4:])
    assert decisions == expected
    assert batched.take_new_links() == one_by_one.take_new_links()
    assert any(decision.duplicate_of_url for decision in decisions)
