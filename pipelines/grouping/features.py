"""Text features for grouping: words, shingles, weighted content terms and their hashes.

`FeatureExtractor` turns an article (title and body) into the compact arrays grouping
keeps per article: a sample of its word-shingle hashes (copies), a TF-IDF term vector
(stories) and the few key terms used to find story candidates. Term weights use a fixed
inverse frequency (wordfreq's general-language word frequencies), never one computed
from the articles seen so far, so a pair's similarity does not depend on what else was
read before it: that is what keeps grouping independent of arrival order.
"""

from __future__ import annotations

import math
import re
import struct
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from hashlib import blake2b

import numpy as np
import numpy.typing as npt
from wordfreq import get_frequency_dict, word_frequency

_WORD = re.compile(r"\w+")

# Function words of the languages newsfold meets most; they say nothing about the event.
STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "said",
        "same",
        "say",
        "says",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "mr",
        "mrs",
        "ms",
        "one",
        "two",
        "new",
        "also",
        "told",
        "according",
        "year",
        "years",
        "would",
        "could",
        "last",
        "first",
        "week",
        "day",
        "time",
        "people",
        "us",
        "de",
        "la",
        "le",
        "les",
        "des",
        "et",
        "el",
        "en",
        "los",
        "las",
        "del",
        "un",
        "une",
        "der",
        "die",
        "das",
        "und",
        "den",
        "von",
        "zu",
        "mit",
        "ist",
        "im",
        "dem",
        "nicht",
        "ein",
        "eine",
        "il",
        "di",
        "che",
        "per",
        "non",
    ]
)

# Odd multipliers of the polynomial shingle hash and of the entity-pair hash.
_SHINGLE_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
_PAIR_MULTIPLIER = np.uint64(0xC2B2AE3D27D4EB4F)
# Weight of a capitalised occurrence (names, places) against a lower-case one.
_CAPITALISED_WEIGHT = 2.0
# Frequency floor: words wordfreq does not know count as this rare.
_MIN_FREQUENCY = 1e-8
# A term weighs its -log(frequency) minus this: words as common as one in 400 (-log of
# 1/400 is 6: "the", "people") weigh nothing, and the rare names, places and numbers that
# pin one event ("Lindsay" 11.9 -> 5.9) outweigh the common vocabulary two look-alike
# events share ("police" 8.4 -> 2.4, "killed" 8.7 -> 2.7) far more than with plain
# -log(frequency). ECB+ story B-cubed F1 0.897 -> 0.905 (bench/grouping_quality.py).
_COMMON_WORD_IDF = 6.0
# Characters of the texts `FeatureExtractor.extract_many` puts through one pass.
_BATCH_CHARACTERS = 1 << 19
# ... and at most this many texts (document numbers sort as 16-bit integers).
_BATCH_DOCUMENTS = 0xFFFF
# Slots of the stop-word table, at least.
_STOP_WORD_SLOTS = 1 << 14
# Number cache bound; cleared when reached so memory stays flat on long crawls.
_CACHE_LIMIT = 100_000
# Characters of the Basic Multilingual Plane: the per-character tables' size.
_PLANE = 0x10000
# Odd multiplier of the polynomial token hash, its inverse modulo 2**64, and the length mix.
_CHARACTER_MULTIPLIER = np.uint64(0x100000001B3)
_CHARACTER_INVERSE = np.uint64(pow(0x100000001B3, -1, 2**64))
_LENGTH_MULTIPLIER = np.uint64(0x9FB21C651E98DF25)
# Longest word of the word-frequency table.
_TABLE_WORD_LENGTH = 24

UInt64Array = npt.NDArray[np.uint64]
UInt32Array = npt.NDArray[np.uint32]
Float32Array = npt.NDArray[np.float32]


def words(text: str) -> list[str]:
    """Lower-cased word tokens (`\\w+` runs) of `text`."""
    return _WORD.findall(text.lower())


def shingles(tokens: list[str], size: int) -> set[str]:
    """Distinct word n-grams of `size` tokens (the whole text when it is shorter)."""
    if len(tokens) < size:
        return {" ".join(tokens)} if tokens else set()
    return {" ".join(tokens[start : start + size]) for start in range(len(tokens) - size + 1)}


def content_terms(tokens: list[str]) -> Counter[str]:
    """Counts of the tokens that carry meaning: no stop words, numbers or one-letter words."""
    return Counter(
        token
        for token in tokens
        if len(token) > 2 and token not in STOP_WORDS and not token.isdigit()
    )


def hash64(value: str) -> int:
    """A stable 64-bit hash of `value` (unlike `hash()`, equal across processes and runs)."""
    digest = blake2b(value.encode("utf-8"), digest_size=8).digest()
    return int(struct.unpack("<Q", digest)[0])


def fmix64(values: UInt64Array) -> UInt64Array:
    """MurmurHash3's 64-bit finaliser: spreads structured integers over all bits."""
    mixed = values ^ (values >> np.uint64(33))
    mixed = mixed * np.uint64(0xFF51AFD7ED558CCD)
    mixed = mixed ^ (mixed >> np.uint64(33))
    mixed = mixed * np.uint64(0xC4CEB9FE1A85EC53)
    return np.asarray(mixed ^ (mixed >> np.uint64(33)), dtype=np.uint64)


@dataclass(frozen=True)
class FeatureOptions:
    """How texts become features; part of what is stored with every signature."""

    shingle_size: int = 5
    # Keep the shingles whose hash is 0 modulo this (Broder's mod-m sample); 1 keeps all.
    shingle_sample: int = 4
    story_keyterms: int = 10
    language: str = "en"


@dataclass(frozen=True)
class ArticleFeatures:
    """What grouping keeps of one article's text."""

    shingles: UInt32Array
    """Sorted distinct hashes of the sampled word shingles of the body."""
    terms: UInt64Array
    """Sorted hashes of the content terms (words and capitalised word pairs) of title and body."""
    weights: Float32Array
    """L2-normalised TF-IDF weights, aligned with `terms`."""
    keyterms: UInt64Array
    """Hashes of the highest-weighted terms, the story candidates' meeting points."""
    content_words: int
    """Distinct content words of the body; texts with too few never match anything."""

    def containment(self, other: ArticleFeatures) -> float:
        """Shared sampled shingles over the smaller sample (1.0: one text holds the other)."""
        smaller = min(len(self.shingles), len(other.shingles))
        if smaller == 0:
            return 0.0
        return len(_shared(self.shingles, other.shingles)[0]) / smaller

    def cosine(self, other: ArticleFeatures) -> float:
        """TF-IDF cosine of the two term vectors."""
        mine, theirs = _shared(self.terms, other.terms)
        return float(np.dot(self.weights[mine], other.weights[theirs]))


def _shared(
    first: npt.NDArray[np.generic], second: npt.NDArray[np.generic]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Where the values two sorted arrays of distinct values share sit in each, in
    ascending order of value (`np.intersect1d(..., return_indices=True)` without its sort:
    the shorter array is looked up in the longer)."""
    if len(first) > len(second):
        theirs, mine = _shared(second, first)
        return mine, theirs
    if not len(first):
        return np.empty(0, np.intp), np.empty(0, np.intp)
    position = np.minimum(np.searchsorted(second, first), len(second) - 1)
    mine = np.flatnonzero(second[position] == first)
    return mine, position[mine]


class _Tokens:
    """One text's word tokens as arrays (the `\\w+` runs of its characters)."""

    __slots__ = ("capitalised", "digits", "hashes", "lengths", "starts", "text")

    def __init__(
        self,
        text: str,
        starts: npt.NDArray[np.intp],
        hashes: UInt64Array,
        lengths: npt.NDArray[np.int64],
        digits: npt.NDArray[np.bool_],
        capitalised: npt.NDArray[np.bool_],
    ) -> None:
        self.text = text
        self.starts = starts
        """Where each token starts in `text` (a character index)."""
        self.hashes = hashes
        """64-bit hash of each lower-cased token."""
        self.lengths = lengths
        self.digits = digits
        """True for tokens made of digits only."""
        self.capitalised = capitalised
        """True for tokens with an upper-case letter (names, places)."""


class FeatureExtractor:
    """Computes `ArticleFeatures` with whole-text numpy operations (no loop over words).

    Tokens are the `\\w+` runs of the text (word characters of the Basic Multilingual
    Plane, as Python's `re` sees them); each is hashed by a polynomial over its
    lower-cased characters, computed for all tokens at once from prefix sums. Word
    weights come from a table of wordfreq's frequencies hashed the same way, built once
    per extractor.
    """

    def __init__(self, options: FeatureOptions) -> None:
        self.options = options
        planes = np.arange(_PLANE, dtype=np.uint32)
        characters = [chr(code) for code in range(_PLANE)]
        self._word_character = np.fromiter(
            (character.isalnum() or character == "_" for character in characters),
            dtype=bool,
            count=_PLANE,
        )
        digit = np.fromiter(map(str.isdigit, characters), dtype=bool, count=_PLANE)
        upper = np.fromiter(map(str.isupper, characters), dtype=bool, count=_PLANE)
        # 1: a digit, 2: an upper-case letter (both are word characters).
        self._character_kind = digit.astype(np.uint8) | (upper.astype(np.uint8) << 1)
        lowered = [character.lower() for character in characters]
        # Lower-cased code point plus one (a character never counts as zero in the hash).
        self._lower = np.where(
            np.fromiter((len(low) == 1 for low in lowered), dtype=bool, count=_PLANE),
            np.fromiter((ord(low[0]) for low in lowered), dtype=np.uint32, count=_PLANE),
            planes,
        ).astype(np.uint64) + np.uint64(1)
        self._powers = np.ones(1, dtype=np.uint64)
        self._inverse_powers = np.ones(1, dtype=np.uint64)
        stop_hashes = np.unique(self._tokens(" ".join(sorted(STOP_WORDS))).hashes)
        # The fewest slots (from `_STOP_WORD_SLOTS`) in which no two stop words meet: a
        # lookup is then one gather, never the overflow search.
        slots = _STOP_WORD_SLOTS
        while len(np.unique(stop_hashes >> np.uint64(64 - slots.bit_length() + 1))) < len(
            stop_hashes
        ) and slots < (1 << 24):
            slots *= 2
        self._stop_words = _HashTable(stop_hashes, np.ones(len(stop_hashes)), slots)
        self._vocabulary = _HashTable(*self._frequency_table())
        self._number_idf_cache: dict[int, float] = {}

    def extract(self, title: str | None, text: str) -> ArticleFeatures:
        """Features of one article: body shingles, and terms of title and body."""
        return self.extract_many([(title, text)])[0]

    def extract_many(self, articles: Sequence[tuple[str | None, str]]) -> list[ArticleFeatures]:
        """Features of many articles (title, body), each exactly what `extract` gives alone.

        The texts are joined, a line break apart (it ends any token), and go through one
        pass of array operations in chunks of about `_BATCH_CHARACTERS` characters: the
        per-call cost of numpy is paid once a chunk instead of once an article.
        """
        features: list[ArticleFeatures] = []
        chunk: list[tuple[str | None, str]] = []
        characters = 0
        for title, text in articles:
            size = len(text) + (len(title) + 1 if title else 0) + 1
            if chunk and (characters + size > _BATCH_CHARACTERS or len(chunk) == _BATCH_DOCUMENTS):
                features.extend(self._extract_chunk(chunk))
                chunk, characters = [], 0
            chunk.append((title, text))
            characters += size
        if chunk:
            features.extend(self._extract_chunk(chunk))
        return features

    def _extract_chunk(self, articles: list[tuple[str | None, str]]) -> list[ArticleFeatures]:
        documents = [f"{title}\n{text}" if title else text for title, text in articles]
        count = len(documents)
        lengths = np.array([len(document) for document in documents], dtype=np.int64)
        # Where each document starts in the joined text, and (last) where the text ends.
        document_starts = np.zeros(count + 1, dtype=np.int64)
        np.cumsum(lengths + 1, out=document_starts[1:])
        title_lengths = np.array([len(title) if title else 0 for title, _ in articles])
        tokens = self._tokens("\n".join(documents))
        starts = tokens.starts
        # Token ranges of each document, and where its body starts (after the title's
        # tokens: the line break ends the title's last token, so they start before it).
        first_token = np.searchsorted(starts, document_starts)
        body_first = np.searchsorted(starts, document_starts[:-1] + title_lengths)
        document = np.repeat(np.arange(count), np.diff(first_token))
        shingles = self._shingle_samples(tokens.hashes, document, body_first, first_token[1:])
        in_body = np.arange(len(starts)) >= body_first[document]
        terms, weights, term_document, content_words = self._term_vectors(
            tokens, document, in_body, count
        )
        # The highest-weighted terms of each document (ties: smaller hash), sorted. Terms
        # are in (document, hash) order, so a stable sort by document, then weight
        # descending (a weight's bits, for weights >= 0, order as the weights do) ranks them.
        descending = np.uint64(0xFFFFFFFF) - weights.view(np.uint32).astype(np.uint64)
        order = np.argsort(
            (term_document.astype(np.uint64) << np.uint64(32)) | descending, kind="stable"
        )
        term_bounds = _bounds(term_document, count)
        rank = np.arange(len(order)) - term_bounds[term_document[order]]
        chosen = np.sort(order[rank < self.options.story_keyterms])
        keyterm_document = term_document[chosen]
        keyterms = terms[chosen]
        keyterm_bounds = _bounds(keyterm_document, count)
        shingle_bounds = _bounds((shingles >> np.uint64(32)).astype(np.intp), count)
        shingle_values = (shingles & np.uint64(0xFFFFFFFF)).astype(np.uint32)
        return [
            ArticleFeatures(
                shingle_values[shingle_bounds[index] : shingle_bounds[index + 1]].copy(),
                terms[term_bounds[index] : term_bounds[index + 1]].copy(),
                weights[term_bounds[index] : term_bounds[index + 1]].copy(),
                keyterms[keyterm_bounds[index] : keyterm_bounds[index + 1]].copy(),
                int(content_words[index]),
            )
            for index in range(count)
        ]

    def _tokens(self, text: str) -> _Tokens:
        """The tokens of `text`, hashed: one pass of array operations over its characters."""
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        # Characters outside the Basic Multilingual Plane (emoji, mostly) separate words:
        # they become U+FFFF, a non-character.
        codes = np.minimum(codes, np.uint32(_PLANE - 1))
        bounded = np.zeros(len(codes) + 2, dtype=bool)
        bounded[1:-1] = self._word_character[codes]
        edges = np.flatnonzero(bounded[1:] != bounded[:-1])
        starts, ends = edges[0::2], edges[1::2]
        length = len(codes)
        self._grow_powers(length + 1)
        prefix = np.zeros(length + 1, dtype=np.uint64)
        np.cumsum(self._lower[codes] * self._powers[:length], out=prefix[1:])
        lengths = (ends - starts).astype(np.int64)
        raw = (prefix[ends] - prefix[starts]) * self._inverse_powers[starts]
        hashes = fmix64(raw ^ (lengths.astype(np.uint64) * _LENGTH_MULTIPLIER))
        # Digits and capitals per token, counted from the few characters that are either
        # (they are word characters, so each lies in a token), packed as a 32-bit sum of
        # the digits and 65536 times the capitals, wrapping as such a sum would.
        kind = self._character_kind[codes]
        marked = np.flatnonzero(kind)
        token = np.searchsorted(starts, marked, side="right") - 1
        marked_kind = kind[marked]
        digit_counts = np.bincount(token[(marked_kind & 1) > 0], minlength=len(starts))
        capital_counts = np.bincount(token[(marked_kind & 2) > 0], minlength=len(starts))
        kinds = digit_counts.astype(np.uint32) + (capital_counts.astype(np.uint32) << np.uint32(16))
        return _Tokens(
            text,
            starts,
            hashes,
            lengths,
            (kinds & np.uint32(0xFFFF)) == lengths,
            (kinds >> np.uint32(16)) > 0,
        )

    def _grow_powers(self, length: int) -> None:
        """Powers of the character multiplier and of its inverse modulo 2**64, up to `length`."""
        if len(self._powers) >= length:
            return
        size = max(length, 2 * len(self._powers))
        powers = np.cumprod(np.full(size - 1, _CHARACTER_MULTIPLIER, dtype=np.uint64))
        inverse = np.cumprod(np.full(size - 1, _CHARACTER_INVERSE, dtype=np.uint64))
        self._powers = np.concatenate([np.ones(1, dtype=np.uint64), powers]).astype(np.uint64)
        self._inverse_powers = np.concatenate([np.ones(1, dtype=np.uint64), inverse]).astype(
            np.uint64
        )

    def _frequency_table(self) -> tuple[UInt64Array, npt.NDArray[np.float64]]:
        """wordfreq's one-token words as sorted token hashes, with their -log(frequency).

        Entries that are not one token ("don't") or longer than `_TABLE_WORD_LENGTH` are
        left out: looked up, they count as rare words.
        """
        frequencies = get_frequency_dict(self.options.language)
        entries = [
            entry
            for entry in frequencies
            if len(entry) <= _TABLE_WORD_LENGTH and entry.isalnum() and entry.isprintable()
        ]
        # The same hash as `_tokens` computes, one row of characters per word.
        codes = np.array(entries, dtype=f"<U{_TABLE_WORD_LENGTH}").view(np.uint32)
        codes = codes.reshape(len(entries), _TABLE_WORD_LENGTH)
        keep: npt.NDArray[np.bool_] = np.all(codes < _PLANE, axis=1)
        codes = codes[keep]
        entries = [entry for entry, kept in zip(entries, keep.tolist(), strict=True) if kept]
        lengths = np.array([len(entry) for entry in entries], dtype=np.uint64)
        self._grow_powers(_TABLE_WORD_LENGTH)
        characters = self._lower[codes] * (codes > 0)
        raw = (characters * self._powers[:_TABLE_WORD_LENGTH]).sum(axis=1, dtype=np.uint64)
        hashes = fmix64(raw ^ (lengths * _LENGTH_MULTIPLIER))
        values = np.array([frequencies[entry] for entry in entries])
        idf = -np.log(np.maximum(values, _MIN_FREQUENCY))
        # The most frequent spelling wins when two entries lower-case to one token.
        order = np.lexsort((idf, hashes))
        hashes, idf = hashes[order], idf[order]
        first = np.concatenate([[True], hashes[1:] != hashes[:-1]])
        return hashes[first], idf[first]

    def _shingle_samples(
        self,
        hashes: UInt64Array,
        document: npt.NDArray[np.intp],
        body_first: npt.NDArray[np.intp],
        body_end: npt.NDArray[np.intp],
    ) -> UInt64Array:
        """Each document's sampled body shingle hashes (the high 32 bits of each shingle's
        mixed hash), distinct and sorted, as `document << 32 | hash`."""
        size = self.options.shingle_size
        count = len(hashes) - size + 1
        if count <= 0:
            return np.empty(0, dtype=np.uint64)
        combined = hashes[:count].copy()
        for offset in range(1, size):
            combined = combined * _SHINGLE_MULTIPLIER + hashes[offset : offset + count]
        # Shingles wholly inside one document's body.
        owner = document[:count]
        inside = (np.arange(count) >= body_first[owner]) & (
            np.arange(size, count + size) <= body_end[owner]
        )
        mixed = fmix64(combined[inside])
        owner = owner[inside]
        sample = self.options.shingle_sample
        if sample > 1:
            # Modulo a power of two is a mask (much cheaper than a 64-bit division).
            sampled = (
                (mixed & np.uint64(sample - 1)) == 0
                if sample & (sample - 1) == 0
                else mixed % np.uint64(sample) == 0
            )
            mixed, owner = mixed[sampled], owner[sampled]
        return _sorted_distinct(
            (owner.astype(np.uint64) << np.uint64(32)) | (mixed >> np.uint64(32))
        )

    def _term_vectors(
        self,
        tokens: _Tokens,
        document: npt.NDArray[np.intp],
        in_body: npt.NDArray[np.bool_],
        count: int,
    ) -> tuple[UInt64Array, Float32Array, npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """Each document's term hashes (sorted) and TF-IDF weights, laid one document
        after the other, with the document of each term; and each document's number of
        distinct content words in the body."""
        hashes = tokens.hashes
        stop = self._stop_words.get(hashes, 0.0) > 0
        digits = tokens.digits
        content = ~stop & ((tokens.lengths > 2) | digits)
        capitalised = tokens.capitalised & ~digits
        boost = np.where(capitalised, _CAPITALISED_WEIGHT, 1.0)[content]
        word_hashes = hashes[content]
        # Capitalised word pairs ("Tara Reid", "Los Angeles") name the people and places.
        pairs = np.flatnonzero(
            capitalised[:-1] & capitalised[1:] & ~stop[:-1] & (document[:-1] == document[1:])
        )
        pair_hashes = fmix64(hashes[pairs] * _PAIR_MULTIPLIER + hashes[pairs + 1])
        word_idf = self._word_idf(tokens)
        # wordfreq's frequency of a phrase: 1 / (1/f1 + 1/f2), floored like a word's.
        pair_idf = np.minimum(
            np.logaddexp(word_idf[pairs], word_idf[pairs + 1]), -math.log(_MIN_FREQUENCY)
        )
        all_hashes = np.concatenate([word_hashes, pair_hashes])
        all_documents = np.concatenate([document[content], document[pairs]])
        all_boosts = np.concatenate([boost, np.ones(len(pairs))])
        all_idf = np.concatenate([word_idf[content], pair_idf])
        # Sorted by document, then hash (the hash sort first, then the document's, stable,
        # as a 16-bit radix sort).
        order = np.argsort(all_hashes)
        order = order[np.argsort(all_documents[order].astype(np.uint16), kind="stable")]
        sorted_hashes, sorted_documents = all_hashes[order], all_documents[order]
        first_of_term = np.ones(len(order), dtype=bool)
        first_of_term[1:] = (sorted_hashes[1:] != sorted_hashes[:-1]) | (
            sorted_documents[1:] != sorted_documents[:-1]
        )
        inverse = np.empty(len(order), dtype=np.intp)
        inverse[order] = np.cumsum(first_of_term) - 1
        terms = sorted_hashes[first_of_term]
        term_document = sorted_documents[first_of_term]
        # Each term's first occurrence (its idf is the one a text alone would take).
        first_occurrence = (
            np.minimum.reduceat(order, np.flatnonzero(first_of_term)) if len(order) else order
        )
        counts = np.bincount(inverse, weights=all_boosts, minlength=len(terms))
        # Content words are terms: a term with a content word of the body among its
        # occurrences is one distinct content word of the body (numbers left out).
        meaningful = (~digits & in_body)[content]
        in_text = np.bincount(inverse[: len(meaningful)][meaningful], minlength=len(terms))
        content_words = np.bincount(term_document[in_text > 0], minlength=count)
        idf = np.maximum(all_idf[first_occurrence] - _COMMON_WORD_IDF, 0.0)
        weights = (1.0 + np.log(counts)) * idf
        bounds = _bounds(term_document, count)
        # One document's norm is one dot product, as for a text alone (a segmented sum
        # would add in another order and change the last bits).
        norms = np.array(
            [
                np.dot(weights[start:end], weights[start:end])
                for start, end in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)
            ],
            dtype=np.float64,
        )
        norms = np.sqrt(norms)[term_document]
        scaled = norms > 0
        weights[scaled] = weights[scaled] / norms[scaled]
        return terms, weights.astype(np.float32), term_document, content_words

    def _word_idf(self, tokens: _Tokens) -> npt.NDArray[np.float64]:
        """-log(frequency) of each token; words wordfreq does not know count as very rare.

        Numbers are not in the word table (wordfreq buckets them by their digits): the
        few an article has are looked up one by one, and remembered by their token hash.
        """
        idf = self._vocabulary.get(tokens.hashes, -math.log(_MIN_FREQUENCY))
        numbers = np.flatnonzero(tokens.digits)
        if not len(numbers):
            return idf
        cache = self._number_idf_cache
        values = []
        for index, key in zip(numbers.tolist(), tokens.hashes[numbers].tolist(), strict=True):
            value = cache.get(key)
            if value is None:
                if len(cache) > _CACHE_LIMIT:
                    cache.clear()
                start = int(tokens.starts[index])
                number = tokens.text[start : start + int(tokens.lengths[index])]
                value = cache[key] = -math.log(
                    max(word_frequency(number, self.options.language), _MIN_FREQUENCY)
                )
            values.append(value)
        idf[numbers] = values
        return idf


class _HashTable:
    """A read-only map from 64-bit hashes to floats, looked up for many keys at once.

    Direct-mapped on the hash's top bits (one gather per key, no binary search); the
    few keys whose slot is taken sit in a small sorted overflow array.
    """

    def __init__(
        self, keys: UInt64Array, values: npt.NDArray[np.float64], min_slots: int = 16
    ) -> None:
        slots_wanted = max(min_slots, max(len(keys), 1) * 2)
        self._shift = np.uint64(64 - max(4, int(np.ceil(np.log2(slots_wanted)))))
        slots = 1 << (64 - int(self._shift))
        slot = (keys >> self._shift).astype(np.intp)
        first = np.zeros(len(keys), dtype=bool)
        _, owner = np.unique(slot, return_index=True)
        first[owner] = True
        self._keys = np.zeros(slots, dtype=np.uint64)
        self._values = np.zeros(slots, dtype=np.float32)
        self._keys[slot[first]] = keys[first]
        self._values[slot[first]] = values[first]
        order = np.argsort(keys[~first])
        self._overflow_keys = keys[~first][order]
        self._overflow_values = values[~first][order]

    def get(self, keys: UInt64Array, default: float) -> npt.NDArray[np.float64]:
        """The value of each key, `default` for keys not in the table."""
        slot = (keys >> self._shift).astype(np.intp)
        found = self._keys[slot] == keys
        result = np.where(found, self._values[slot], default)
        if len(self._overflow_keys) and not found.all():
            missing = np.flatnonzero(~found)
            position = np.minimum(
                np.searchsorted(self._overflow_keys, keys[missing]), len(self._overflow_keys) - 1
            )
            hit = self._overflow_keys[position] == keys[missing]
            result[missing[hit]] = self._overflow_values[position[hit]]
        return result


def _sorted_distinct(values: UInt64Array) -> UInt64Array:
    """`np.unique(values)` (which hashes before it sorts: slower on these sizes)."""
    values = np.sort(values)
    distinct = np.ones(len(values), dtype=bool)
    distinct[1:] = values[1:] != values[:-1]
    return values[distinct]


def _bounds(owner: npt.NDArray[np.intp], count: int) -> npt.NDArray[np.intp]:
    """Where each of `count` owners' entries start in `owner` (sorted), and where they end."""
    return np.searchsorted(owner, np.arange(count + 1))
