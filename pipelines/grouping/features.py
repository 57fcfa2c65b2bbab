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
from dataclasses import dataclass
from hashlib import blake2b

import numpy as np
import numpy.typing as npt
from wordfreq import word_frequency

_WORD = re.compile(r"\w+")

# Function words of the languages newsfold meets most; they say nothing about the event.
STOP_WORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not now of off on once only or
    other our ours ourselves out over own said same say says she should so some such than that
    the their theirs them themselves then there these they this those through to too under
    until up very was we were what when where which while who whom why will with would you
    your yours yourself yourselves mr mrs ms one two new also told according year years
    would could last first week day time people us de la le les des et el en los las del un
    une der die das und den von zu mit ist im dem nicht ein eine il di che per non""".split()
)

# Odd multipliers of the polynomial shingle hash and of the entity-pair hash.
_SHINGLE_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
_PAIR_MULTIPLIER = np.uint64(0xC2B2AE3D27D4EB4F)
# Weight of a capitalised occurrence (names, places) against a lower-case one.
_CAPITALISED_WEIGHT = 2.0
# Frequency floor: words wordfreq does not know count as this rare.
_MIN_FREQUENCY = 1e-8
# Token-hash cache bound; cleared when reached so memory stays flat on long crawls.
_CACHE_LIMIT = 500_000

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
    return mixed ^ (mixed >> np.uint64(33))


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
        shared = np.intersect1d(self.shingles, other.shingles, assume_unique=True)
        return len(shared) / smaller

    def cosine(self, other: ArticleFeatures) -> float:
        """TF-IDF cosine of the two term vectors."""
        _, mine, theirs = np.intersect1d(
            self.terms, other.terms, assume_unique=True, return_indices=True
        )
        return float(np.dot(self.weights[mine], other.weights[theirs]))


class FeatureExtractor:
    """Computes `ArticleFeatures`; caches token hashes and word weights per instance."""

    def __init__(self, options: FeatureOptions) -> None:
        self.options = options
        self._token_hashes: dict[str, int] = {}
        self._idf: dict[int, float] = {}
        self._stop_hashes = np.array(sorted(hash64(word) for word in STOP_WORDS), dtype=np.uint64)

    def extract(self, title: str | None, text: str) -> ArticleFeatures:
        """Features of one article: body shingles, and terms of title and body."""
        body_tokens = _WORD.findall(text)
        title_tokens = _WORD.findall(title) if title else []
        tokens = title_tokens + body_tokens
        lowered = list(map(str.lower, tokens))
        hashes = self._hash_tokens(lowered)
        sample = self._shingle_sample(hashes[len(title_tokens) :])
        terms, weights, meaningful = self._term_vector(tokens, lowered, hashes)
        body = len(title_tokens)
        content_words = len(np.unique(hashes[body:][meaningful[body:]]))
        order = np.lexsort((terms, -weights))[: self.options.story_keyterms]
        return ArticleFeatures(sample, terms, weights, np.sort(terms[order]), content_words)

    def _hash_tokens(self, lowered: list[str]) -> UInt64Array:
        cache = self._token_hashes
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        values = list(map(cache.get, lowered))
        if None in values:
            for position, value in enumerate(values):
                if value is None:
                    token = lowered[position]
                    values[position] = cache[token] = hash64(token)
        return np.array(values, dtype=np.uint64)

    def _shingle_sample(self, hashes: UInt64Array) -> UInt32Array:
        size = self.options.shingle_size
        count = len(hashes) - size + 1
        if count <= 0:
            return np.empty(0, dtype=np.uint32)
        combined = hashes[:count].copy()
        for offset in range(1, size):
            combined = combined * _SHINGLE_MULTIPLIER + hashes[offset : offset + count]
        mixed = fmix64(combined)
        if self.options.shingle_sample > 1:
            mixed = mixed[mixed % np.uint64(self.options.shingle_sample) == 0]
        return np.unique((mixed >> np.uint64(32)).astype(np.uint32))

    def _term_vector(
        self, tokens: list[str], lowered: list[str], hashes: UInt64Array
    ) -> tuple[UInt64Array, Float32Array, npt.NDArray[np.bool_]]:
        """Term hashes, their TF-IDF weights, and which tokens are content words."""
        lengths = np.fromiter(map(len, lowered), dtype=np.int64, count=len(lowered))
        digits = np.fromiter(map(str.isdigit, lowered), dtype=bool, count=len(lowered))
        lower_case = np.fromiter(map(str.islower, tokens), dtype=bool, count=len(tokens))
        stop = np.isin(hashes, self._stop_hashes)
        content = ~stop & ((lengths > 2) | digits)
        capitalised = ~lower_case & ~digits
        boost = np.where(capitalised, _CAPITALISED_WEIGHT, 1.0)[content]
        word_hashes = hashes[content]
        # Capitalised word pairs ("Tara Reid", "Los Angeles") name the people and places.
        pairs = np.flatnonzero(capitalised[:-1] & capitalised[1:] & ~stop[:-1])
        pair_hashes = fmix64(hashes[pairs] * _PAIR_MULTIPLIER + hashes[pairs + 1])
        all_hashes = np.concatenate([word_hashes, pair_hashes])
        all_boosts = np.concatenate([boost, np.ones(len(pairs))])
        terms, first, inverse = np.unique(all_hashes, return_index=True, return_inverse=True)
        counts = np.bincount(inverse, weights=all_boosts, minlength=len(terms))
        idf = self._inverse_frequencies(terms, first, lowered, np.flatnonzero(content), pairs)
        weights = (1.0 + np.log(counts)) * idf
        norm = float(np.sqrt(np.dot(weights, weights)))
        if norm > 0:
            weights = weights / norm
        return terms, weights.astype(np.float32), content & ~digits

    def _inverse_frequencies(
        self,
        terms: UInt64Array,
        first: npt.NDArray[np.intp],
        lowered: list[str],
        word_positions: npt.NDArray[np.intp],
        pair_positions: npt.NDArray[np.intp],
    ) -> npt.NDArray[np.float64]:
        """-log(frequency) of each term; words wordfreq does not know count as very rare."""
        cache = self._idf
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        values = list(map(cache.get, terms.tolist()))
        if None in values:
            words_count = len(word_positions)
            for index, value in enumerate(values):
                if value is not None:
                    continue
                occurrence = int(first[index])
                if occurrence < words_count:
                    spelled = lowered[word_positions[occurrence]]
                else:
                    position = pair_positions[occurrence - words_count]
                    spelled = f"{lowered[position]} {lowered[position + 1]}"
                frequency = word_frequency(spelled, self.options.language)
                values[index] = cache[int(terms[index])] = -math.log(max(frequency, _MIN_FREQUENCY))
        return np.array(values, dtype=np.float64)
