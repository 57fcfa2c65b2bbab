"""Near-duplicate and story grouping over MinHash LSH candidates.

Two levels, decided per incoming article against everything indexed so far:
- copy: exact text hash, or an LSH candidate on word shingles whose shingle containment
  (shared shingles over the shorter text's) reaches `copy_containment`;
- story: an LSH candidate on content terms whose TF-IDF cosine reaches
  `story_similarity` and whose time (publish date, else the time it was seen live)
  lies within `story_window`.
LSH hits are only candidates; every link is verified on the exact features.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from datasketch import MinHash, MinHashLSH

from crawler.items import GroupingDecision
from pipelines.grouping.features import content_terms, hash64, shingles, words

MINHASH_SCHEME = "affine32"
# LSH thresholds on estimated Jaccard; generous, because verification decides.
_COPY_CANDIDATE_JACCARD = 0.3
_STORY_CANDIDATE_JACCARD = 0.1


@dataclass(frozen=True)
class GroupingOptions:
    """Grouping parameters, built once from the DEDUP_* settings."""

    num_perm: int = 128
    seed: int = 1
    shingle_size: int = 5
    copy_containment: float = 0.7
    story_similarity: float = 0.25
    story_window: timedelta = timedelta(days=3)
    min_content_words: int = 15


@dataclass
class _Indexed:
    url: str
    when: datetime | None
    text_hash: str
    decision: GroupingDecision
    shingle_hashes: frozenset[int]
    terms: Counter[str] = field(default_factory=Counter)

    @property
    def story_key(self) -> str:
        return self.decision.story_key

    @property
    def canonical_url(self) -> str:
        """The article this one copies, or itself when it is the canonical one."""
        return self.decision.duplicate_of_url or self.url


@dataclass(frozen=True)
class StoredGrouping:
    """An article already stored, as the grouper needs it to link new ones."""

    url: str
    text: str
    when: datetime | None
    story_key: str
    duplicate_of_url: str | None
    link_method: str | None = None
    link_similarity: float | None = None


class StoryGrouper:
    """Keeps the index of grouped articles and decides where each new one belongs."""

    def __init__(self, options: GroupingOptions) -> None:
        self.options = options
        self._copy_lsh = MinHashLSH(threshold=_COPY_CANDIDATE_JACCARD, num_perm=options.num_perm)
        self._story_lsh = MinHashLSH(threshold=_STORY_CANDIDATE_JACCARD, num_perm=options.num_perm)
        self._articles: dict[str, _Indexed] = {}
        self._by_text_hash: dict[str, str] = {}
        self._document_frequency: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._articles)

    def load(self, stored: StoredGrouping, text_hash: str) -> None:
        """Index an article that earlier runs already grouped, keeping their decision."""
        similarity = stored.link_similarity
        is_copy = stored.duplicate_of_url is not None
        decision = GroupingDecision(
            stored.story_key,
            stored.duplicate_of_url,
            similarity if is_copy else None,
            None if is_copy else similarity,
            stored.link_method or "loaded",
        )
        features = _Features.of(stored.text, self.options.shingle_size)
        self._index(stored.url, features, stored.when, text_hash, decision)

    def assign(self, url: str, text: str, when: datetime | None, text_hash: str) -> GroupingDecision:
        """Decide the copy and story links of a new (or re-read) article and index it.

        An article read again with the same text keeps its earlier decision, so re-runs
        change nothing.
        """
        previous = self._articles.get(url)
        if previous is not None and previous.text_hash == text_hash:
            return previous.decision
        self._forget(url)
        features = _Features.of(text, self.options.shingle_size)
        decision = self._decide(url, features, when, text_hash)
        self._index(url, features, when, text_hash, decision)
        return decision

    def _decide(self, url: str, features: _Features, when: datetime | None, text_hash: str) -> GroupingDecision:
        if len(features.terms) < self.options.min_content_words:
            return GroupingDecision(url, None, None, None, "too_short")
        exact = self._by_text_hash.get(text_hash)
        if exact is not None:
            original = self._articles[exact]
            return GroupingDecision(original.story_key, original.canonical_url, 1.0, None, "exact")
        copy = self._best_copy(url, features.shingle_hashes)
        if copy is not None:
            original, containment = copy
            return GroupingDecision(
                original.story_key, original.canonical_url, containment, None, "containment"
            )
        story = self._best_story(features.terms, when)
        if story is not None:
            member, similarity = story
            return GroupingDecision(member.story_key, None, None, similarity, "tfidf_cosine")
        return GroupingDecision(url, None, None, None, "new_story")

    def _best_copy(self, url: str, shingle_hashes: frozenset[int]) -> tuple[_Indexed, float] | None:
        signature = self._signature(shingle_hashes)
        best: tuple[_Indexed, float] | None = None
        for candidate_url in sorted(self._copy_lsh.query(signature)):
            candidate = self._articles[candidate_url]
            if candidate.canonical_url == url:
                continue  # a copy of this very article, read before its update
            shorter = min(len(shingle_hashes), len(candidate.shingle_hashes)) or 1
            containment = len(shingle_hashes & candidate.shingle_hashes) / shorter
            if containment >= self.options.copy_containment and (best is None or containment > best[1]):
                best = (candidate, containment)
        return best

    def _best_story(self, terms: Counter[str], when: datetime | None) -> tuple[_Indexed, float] | None:
        signature = self._signature(frozenset(hash64(term) for term in terms))
        best: tuple[_Indexed, float] | None = None
        for candidate_url in sorted(self._story_lsh.query(signature)):
            candidate = self._articles[candidate_url]
            if self._outside_window(when, candidate.when):
                continue
            similarity = self._cosine(terms, candidate.terms)
            if similarity >= self.options.story_similarity and (best is None or similarity > best[1]):
                best = (candidate, similarity)
        return best

    def _outside_window(self, when: datetime | None, other: datetime | None) -> bool:
        """Reports too far apart in time; an undated report (a local file) has no window."""
        return when is not None and other is not None and abs(when - other) > self.options.story_window

    def _cosine(self, first: Counter[str], second: Counter[str]) -> float:
        """TF-IDF cosine (log tf, smoothed idf over the indexed articles)."""
        total = len(self._articles) + 1

        def weight(term: str, count: int) -> float:
            idf = math.log((total + 1) / (self._document_frequency[term] + 1)) + 1.0
            return (1.0 + math.log(count)) * idf

        first_weights = {term: weight(term, count) for term, count in first.items()}
        second_weights = {term: weight(term, count) for term, count in second.items()}
        dot = sum(w * second_weights[t] for t, w in first_weights.items() if t in second_weights)
        norm = math.sqrt(sum(w * w for w in first_weights.values())) * math.sqrt(
            sum(w * w for w in second_weights.values())
        )
        return dot / norm if norm else 0.0

    def _signature(self, hashes: frozenset[int]) -> MinHash:
        signature = MinHash(
            num_perm=self.options.num_perm,
            seed=self.options.seed,
            hashfunc=_identity32,
            scheme=MINHASH_SCHEME,
        )
        signature.update_batch(sorted(hashes))
        return signature

    def _index(
        self,
        url: str,
        features: _Features,
        when: datetime | None,
        text_hash: str,
        decision: GroupingDecision,
    ) -> None:
        if len(features.terms) < self.options.min_content_words:
            return
        self._articles[url] = _Indexed(
            url, when, text_hash, decision, features.shingle_hashes, features.terms
        )
        self._by_text_hash.setdefault(text_hash, url)
        self._document_frequency.update(features.terms.keys())
        self._copy_lsh.insert(url, self._signature(features.shingle_hashes))
        self._story_lsh.insert(url, self._signature(frozenset(hash64(t) for t in features.terms)))

    def _forget(self, url: str) -> None:
        article = self._articles.pop(url, None)
        if article is None:
            return
        self._copy_lsh.remove(url)
        self._story_lsh.remove(url)
        self._document_frequency.subtract(article.terms.keys())
        if self._by_text_hash.get(article.text_hash) == url:
            del self._by_text_hash[article.text_hash]


@dataclass(frozen=True)
class _Features:
    shingle_hashes: frozenset[int]
    terms: Counter[str]

    @classmethod
    def of(cls, text: str, shingle_size: int) -> _Features:
        tokens = words(text)
        return cls(
            frozenset(hash64(shingle) for shingle in shingles(tokens, shingle_size)),
            content_terms(tokens),
        )


def _identity32(value: int) -> int:
    """Our shingle hashes are already uniform; MinHash wants 32 bits of them."""
    return value & 0xFFFFFFFF
