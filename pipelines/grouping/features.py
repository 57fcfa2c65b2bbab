"""Text features for grouping: words, shingles, weighted content terms and their hashes.

`FeatureExtractor` turns an article (title and body) into the compact arrays grouping
keeps per article: a sample of its word-shingle hashes (copies), a TF-IDF term vector
(stories) and the few key terms used to find story candidates. Term weights use a fixed
inverse frequency (wordfreq's general-language word frequencies), never one computed
from the articles seen so far, so a pair's similarity does not depend on what else was
read before it: that is what keeps grouping independent of arrival order.
"""

from __future__ import annotations

import itertools
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
# Odd multiplier of the polynomial token hash, and the length mix.
_CHARACTER_MULTIPLIER = np.uint64(0x100000001B3)
_LENGTH_MULTIPLIER = np.uint64(0x9FB21C651E98DF25)
# Longest word of the word-frequency table.
_TABLE_WORD_LENGTH = 24
# The first character beyond the Basic Multilingual Plane.
_BEYOND_PLANE = chr(_PLANE)

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
        from pipelines.grouping import kernels  # compiled loops (numba), imported on use

        smaller = min(len(self.shingles), len(other.shingles))
        if smaller == 0:
            return 0.0
        return int(kernels.shared_count(self.shingles, other.shingles)) / smaller

    def cosine(self, other: ArticleFeatures) -> float:
        """TF-IDF cosine of the two term vectors."""
        from pipelines.grouping import kernels  # compiled loops (numba), imported on use

        mine, theirs = kernels.shared_positions(self.terms, other.terms)
        return float(np.dot(self.weights[mine], other.weights[theirs]))


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
    """Computes `ArticleFeatures` for a batch of texts in a few passes of compiled loops
    (`kernels`) and array operations (no Python loop over words).

    Tokens are the `\\w+` runs of the text (word characters of the Basic Multilingual
    Plane, as Python's `re` sees them); each is hashed by a polynomial over its
    lower-cased characters. Word weights come from a table of wordfreq's frequencies
    hashed the same way, built once per extractor.
    """

    def __init__(self, options: FeatureOptions) -> None:
        # Compiled loops (numba): imported with the first extractor, not with this module.
        from pipelines.grouping import kernels

        self._kernels = kernels
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
        self._character_kind: npt.NDArray[np.uint8] = (
            digit.astype(np.uint8) | (upper.astype(np.uint8) << 1)
        ).astype(np.uint8)
        lowered = [character.lower() for character in characters]
        # Lower-cased code point plus one (a character never counts as zero in the hash).
        self._lower = np.where(
            np.fromiter((len(low) == 1 for low in lowered), dtype=bool, count=_PLANE),
            np.fromiter((ord(low[0]) for low in lowered), dtype=np.uint32, count=_PLANE),
            planes,
        ).astype(np.uint64) + np.uint64(1)
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
        shingle_values, shingle_bounds = self._kernels.shingle_samples(
            tokens.hashes,
            body_first.astype(np.int64),
            first_token[1:].astype(np.int64),
            self.options.shingle_size,
            self.options.shingle_sample,
            _SHINGLE_MULTIPLIER,
        )
        terms, weights, term_bounds, content_words = self._term_vectors(
            tokens, document, body_first, count
        )
        # The highest-weighted terms of each document (ties: smaller hash), in hash order.
        chosen, keyterm_bounds = self._kernels.top_terms(
            weights, term_bounds, self.options.story_keyterms
        )
        keyterms = terms[chosen]
        shingle_ends, term_ends = shingle_bounds.tolist(), term_bounds.tolist()
        keyterm_ends = keyterm_bounds.tolist()
        return [
            ArticleFeatures(
                shingle_values[shingle_ends[index] : shingle_ends[index + 1]].copy(),
                terms[term_ends[index] : term_ends[index + 1]].copy(),
                weights[term_ends[index] : term_ends[index + 1]].copy(),
                keyterms[keyterm_ends[index] : keyterm_ends[index + 1]].copy(),
                int(content_words[index]),
            )
            for index in range(count)
        ]

    def _tokens(self, text: str) -> _Tokens:
        """The tokens of `text`, hashed: one compiled pass over its characters."""
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        # Characters outside the Basic Multilingual Plane (emoji, mostly) separate words:
        # the kernel reads them as U+FFFF, a non-character.
        starts, lengths, hashes, digits, capitalised = self._kernels.tokens(
            codes,
            self._word_character,
            self._lower,
            self._character_kind,
            _CHARACTER_MULTIPLIER,
            _LENGTH_MULTIPLIER,
        )
        return _Tokens(text, starts, hashes, lengths, digits, capitalised)

    def _frequency_table(self) -> tuple[UInt64Array, npt.NDArray[np.float64]]:
        """wordfreq's one-token words as sorted token hashes, with their -log(frequency).

        Entries that are not one token ("don't") or longer than `_TABLE_WORD_LENGTH` are
        left out: looked up, they count as rare words.
        """
        frequencies = get_frequency_dict(self.options.language)
        # One token each (word characters of the Basic Multilingual Plane only), hashed as
        # `_tokens` hashes it: the entries joined a line break apart are one pass.
        entries = [
            entry
            for entry in frequencies
            if len(entry) <= _TABLE_WORD_LENGTH
            and entry.isalnum()
            and entry.isprintable()
            and (entry.isascii() or max(entry) < _BEYOND_PLANE)
        ]
        hashes = self._tokens("\n".join(entries)).hashes
        if len(hashes) != len(entries):
            raise RuntimeError("a word-frequency entry is not one token")
        values = np.array([frequencies[entry] for entry in entries])
        idf = -np.log(np.maximum(values, _MIN_FREQUENCY))
        # The most frequent spelling wins when two entries lower-case to one token.
        order = np.lexsort((idf, hashes))
        hashes, idf = hashes[order], idf[order]
        first = np.concatenate([[True], hashes[1:] != hashes[:-1]])
        return hashes[first], idf[first]

    def _term_vectors(
        self,
        tokens: _Tokens,
        document: npt.NDArray[np.intp],
        body_first: npt.NDArray[np.intp],
        count: int,
    ) -> tuple[UInt64Array, Float32Array, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Each document's term hashes (sorted) and TF-IDF weights, laid one document
        after the other, with where each document's terms start (and, last, end); and
        each document's number of distinct content words in the body.

        Terms are the content words (no stop words, numbers or one- and two-letter words)
        and the capitalised word pairs ("Tara Reid", "Los Angeles": the people and places).
        """
        kernels = self._kernels
        content, pairs, hashes, boosts, meaningful, word_bounds, pair_bounds = (
            kernels.term_occurrences(
                tokens.hashes,
                tokens.lengths,
                tokens.digits,
                tokens.capitalised,
                document.astype(np.int64, copy=False),
                body_first.astype(np.int64, copy=False),
                count,
                self._stop_words.arrays,
                _PAIR_MULTIPLIER,
                _CAPITALISED_WEIGHT,
            )
        )
        # The kernel sorts each document's terms by hash, counting boosted occurrences.
        terms, counts, first_occurrence, bounds, content_words = kernels.term_table(
            hashes, boosts, meaningful, word_bounds, pair_bounds
        )
        # Each term's idf is its first occurrence's (the one a text alone would take),
        # looked up for the distinct terms only (a word's idf is its hash's).
        is_pair = first_occurrence >= len(content)
        word_tokens = content[first_occurrence[~is_pair]]
        pair_tokens = pairs[first_occurrence[is_pair] - len(content)]
        idf_read = self._word_idf(
            tokens, np.concatenate([word_tokens, pair_tokens, pair_tokens + 1])
        )
        words, pair_count = len(word_tokens), len(pair_tokens)
        term_idf = np.empty(len(terms), dtype=idf_read.dtype)
        term_idf[~is_pair] = idf_read[:words]
        # wordfreq's frequency of a phrase: 1 / (1/f1 + 1/f2), floored like a word's.
        term_idf[is_pair] = np.minimum(
            np.logaddexp(idf_read[words : words + pair_count], idf_read[words + pair_count :]),
            -math.log(_MIN_FREQUENCY),
        )
        idf = np.maximum(term_idf - _COMMON_WORD_IDF, 0.0)
        weights = (1.0 + np.log(counts)) * idf
        # One document's norm is one dot product, as for a text alone (a segmented sum
        # would add in another order and change the last bits).
        norms = np.array(
            [
                np.dot(weights[start:end], weights[start:end])
                for start, end in itertools.pairwise(bounds.tolist())
            ],
            dtype=np.float64,
        )
        norms = np.sqrt(np.repeat(norms, np.diff(bounds)))
        scaled = norms > 0
        weights[scaled] = weights[scaled] / norms[scaled]
        return terms, weights.astype(np.float32), bounds, content_words

    def _word_idf(self, tokens: _Tokens, positions: npt.NDArray[np.int64]) -> Float32Array:
        """-log(frequency) of the tokens at `positions`; words wordfreq does not know count
        as very rare.

        Numbers are not in the word table (wordfreq buckets them by their digits): the
        few an article has are looked up one by one, and remembered by their token hash.
        """
        idf = self._vocabulary.get(tokens.hashes[positions], -math.log(_MIN_FREQUENCY))
        numbers = np.flatnonzero(tokens.digits[positions])
        if not len(numbers):
            return idf
        cache = self._number_idf_cache
        values = []
        for index, key in zip(
            positions[numbers].tolist(), tokens.hashes[positions[numbers]].tolist(), strict=True
        ):
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
        self._overflow_values = values[~first][order].astype(np.float32)

    @property
    def arrays(self) -> tuple[np.uint64, UInt64Array, Float32Array, UInt64Array, Float32Array]:
        """The table as the kernels read it: shift, slot keys and values, overflow keys and
        values."""
        return (
            self._shift,
            self._keys,
            self._values,
            self._overflow_keys,
            self._overflow_values,
        )

    def get(self, keys: UInt64Array, default: float) -> Float32Array:
        """The value of each key, `default` for keys not in the table (as float32)."""
        from pipelines.grouping import kernels  # built with the extractor, which imported it

        return kernels.table_get(
            keys,
            self._shift,
            self._keys,
            self._values,
            self._overflow_keys,
            self._overflow_values,
            default,
        )
