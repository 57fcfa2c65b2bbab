"""Near-duplicate and story grouping: candidates from LSH, verified links, local clustering.

Two levels, both decided online for each new article against everything indexed:
- copy: another text holds (almost) the same words. Candidates come from MinHash LSH
  bands over the sampled word shingles; a candidate is a copy when the texts are equal
  or their shingle containment reaches `copy_containment`. Copies form groups (connected
  by verified copy links); the group's canonical article is the earliest published, then
  earliest seen live, then smallest URL.
- story: other reports of one event. Candidates share one of the article's key terms;
  a candidate is linked when its TF-IDF cosine reaches `story_similarity` and its time
  (publish date, else when seen live; an undated report has no window) lies within
  `story_window`. Stories are the average-link clusters, at `story_similarity`, of the
  copy groups connected by those links: a new article that resembles one member of a
  story but not the story as a whole does not pull the two together (no chaining).

Every link is verified on the exact features, never taken from LSH alone. Links are
pairwise and symmetric, and weights use a fixed word-frequency IDF, so the links, and
the groups, canonicals and stories computed from them, depend on the set of articles
read and not on their order or on how they were split across runs. (A story's key, the
name of its row, is the one most of its members already carry, so stories keep their
row as they grow; only which articles share a story is order-independent.) When a new article
changes an older one's canonical or story (an earlier-published copy arrives; a report
bridges two stories), the older one is re-pointed and reported by `take_changes`.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from crawler.items import GroupingDecision
from pipelines.grouping.features import (
    ArticleFeatures,
    FeatureExtractor,
    FeatureOptions,
    UInt32Array,
    UInt64Array,
    fmix64,
    hash64,
)
from pipelines.grouping.index import BandIndex

MINHASH_SCHEME = "affine32"
# Version of the feature recipe; stored signatures of another version are re-computed.
FEATURES_VERSION = "4"
# Salts that keep copy bands and story key terms apart in one band index.
_BAND_SALT = np.uint64(0x5BD1E9955BD1E995)
_KEYTERM_SALT = np.uint64(0x27D4EB2F165667C5)
_ROW_MULTIPLIER = np.uint64(0x100000001B3)

METHOD_EXACT = "exact"
METHOD_CONTAINMENT = "containment"
METHOD_STORY = "tfidf_avglink"
METHOD_NEW_STORY = "new_story"
METHOD_TOO_SHORT = "too_short"
LEVEL_COPY = "copy"
LEVEL_STORY = "story"

_NEVER = math.inf
_NO_LINKS: Mapping[str, float] = MappingProxyType({})
# Up to this many articles, a component's cosines are computed pair by pair.
_PAIRWISE_DIRECT = 8
# Pairs' cosines remembered (about 100 bytes each); forgotten all at once when full.
_COSINE_CACHE = 100_000
# Below this many distinct terms (title and body) a text is empty for grouping.
_MIN_LINKABLE_TERMS = 4


@dataclass(frozen=True)
class GroupingOptions:
    """Grouping parameters, built once from the DEDUP_* settings."""

    num_perm: int = 128
    seed: int = 1
    shingle_size: int = 5
    shingle_sample: int = 4
    copy_bands: int = 42
    copy_containment: float = 0.6
    story_similarity: float = 0.25
    story_window: timedelta = timedelta(days=3)
    min_content_words: int = 15
    story_keyterms: int = 10
    language: str = "en"

    @property
    def copy_rows(self) -> int:
        """MinHash values per LSH band (`r`); `copy_bands * copy_rows <= num_perm`."""
        return self.num_perm // self.copy_bands

    @property
    def feature_options(self) -> FeatureOptions:
        return FeatureOptions(
            self.shingle_size, self.shingle_sample, self.story_keyterms, self.language
        )

    @property
    def signature_scheme(self) -> str:
        """Everything a stored signature depends on; signatures of another scheme are redone."""
        return (
            f"features={FEATURES_VERSION};minhash={MINHASH_SCHEME};num_perm={self.num_perm};"
            f"seed={self.seed};bands={self.copy_bands}x{self.copy_rows};"
            f"shingle={self.shingle_size}/{self.shingle_sample};keyterms={self.story_keyterms};"
            f"language={self.language}"
        )


@dataclass(frozen=True)
class GroupingInput:
    """One article as grouping sees it."""

    url: str
    text: str
    text_hash: str
    title: str | None = None
    published_at: datetime | None = None
    observed_at: datetime | None = None

    @property
    def when(self) -> datetime | None:
        """The time a story window is measured from: publish date, else when seen live."""
        return self.published_at or self.observed_at


@dataclass(frozen=True)
class Signature:
    """An article's indexed features, as stored and reloaded."""

    url: str
    text_hash: str
    published_at: datetime | None
    observed_at: datetime | None
    minhash: UInt32Array
    bands: UInt64Array
    features: ArticleFeatures
    indexed: bool
    """True when the body has `min_content_words`: such an article can be a copy, or be
    linked to any other report. Shorter ones (a title and a line) may only join a story
    of substantial reports, never link to each other; empty and stop-word-only texts
    (fewer than `_MIN_LINKABLE_TERMS` terms) link to nothing."""

    @property
    def linkable(self) -> bool:
        return len(self.features.terms) >= _MIN_LINKABLE_TERMS


@dataclass(frozen=True)
class IndexEntry:
    """What the in-memory index needs of a stored article: its band keys and times.

    Its features are not part of it: the grouper reads them through its `FeatureLoader`
    when a new article needs them, so opening an index reads a few hundred bytes an
    article instead of its whole signature.
    """

    url: str
    text_hash: str
    published_at: datetime | None
    observed_at: datetime | None
    bands: UInt64Array
    indexed: bool


@dataclass(frozen=True)
class Link:
    """A verified link between two articles, with its provenance."""

    url: str
    other_url: str
    level: str
    method: str
    similarity: float


FeatureLoader = Callable[[list[str]], dict[str, ArticleFeatures]]
"""Reads stored articles' features by URL (for those no longer held in memory)."""


@dataclass(slots=True)
class _Node:
    """What stays in memory of an indexed article: no features (see `StoryGrouper`)."""

    number: int
    url: str
    text_key: int
    """64 bits of the text hash: equal texts, equal keys."""
    published: float | None
    """Publish time, POSIX seconds (a float is a third of a datetime's memory)."""
    observed: float | None
    indexed: bool
    # The current decision's fields, held in the record rather than as a
    # `GroupingDecision` object of its own (about 100 bytes an article more).
    story_key: str | None = None
    duplicate_of_url: str | None = None
    duplicate_similarity: float | None = None
    story_similarity: float | None = None
    method: str | None = None
    # Verified neighbours; most articles have none, so they share one empty mapping.
    copies: Mapping[str, float] = field(default_factory=lambda: _NO_LINKS)
    related: Mapping[str, float] = field(default_factory=lambda: _NO_LINKS)

    @property
    def decision(self) -> GroupingDecision | None:
        """The current decision (None before the article is grouped)."""
        if self.story_key is None or self.method is None:
            return None
        return GroupingDecision(
            self.story_key,
            self.duplicate_of_url,
            self.duplicate_similarity,
            self.story_similarity,
            self.method,
        )

    @decision.setter
    def decision(self, decision: GroupingDecision | None) -> None:
        if decision is None:
            self.story_key = self.duplicate_of_url = self.method = None
            self.duplicate_similarity = self.story_similarity = None
            return
        self.story_key = decision.story_key
        self.duplicate_of_url = decision.duplicate_of_url
        self.duplicate_similarity = decision.duplicate_similarity
        self.story_similarity = decision.story_similarity
        self.method = decision.method

    @property
    def when(self) -> float | None:
        """The story window's time: publish time, else when seen live."""
        return self.published if self.published is not None else self.observed

    @property
    def order(self) -> tuple[float, float, str]:
        """Canonical order: earliest published, then earliest seen live, then smallest URL."""
        return (
            _NEVER if self.published is None else self.published,
            _NEVER if self.observed is None else self.observed,
            self.url,
        )


class StoryGrouper:
    """Keeps the index of grouped articles and decides where each new one belongs.

    In memory, per article: its band keys (in `BandIndex`'s arrays), its links and a
    small record. Its features (shingles and term vector, about 10 KB) are held only for
    the `feature_cache` most recently used articles when a `feature_loader` can read the
    others back (the pipeline's reads `grouping_signatures`); without one, all are held.
    Features of signatures not yet handed out by `take_new_signatures` are always held.
    """

    def __init__(
        self,
        options: GroupingOptions,
        feature_loader: FeatureLoader | None = None,
        feature_cache: int = 20_000,
    ) -> None:
        if options.copy_rows < 1:
            raise ValueError("copy_bands must not exceed num_perm")
        self.options = options
        self._feature_loader = feature_loader
        self._feature_cache_size = feature_cache if feature_loader is not None else None
        self._feature_cache: OrderedDict[str, ArticleFeatures] = OrderedDict()
        self._unsaved_features: dict[str, ArticleFeatures] = {}
        self.extractor = FeatureExtractor(options.feature_options)
        self._multipliers, self._offsets = _affine32_permutations(options.num_perm, options.seed)
        self._index = BandIndex()
        self._nodes: dict[str, _Node] = {}
        self._urls: list[str | None] = []
        # The story window's time of each article (`_Node.when`) by number; NaN: none.
        self._times = np.empty(0, dtype=np.float64)
        self._changed: dict[str, GroupingDecision] = {}
        self._new_links: list[Link] = []
        self._new_signatures: list[Signature] = []
        # Cosines of pairs of articles (by their numbers), up to `_COSINE_CACHE`.
        self._cosines: dict[int, float] = {}

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, url: object) -> bool:
        """Whether an article of this URL is indexed."""
        return url in self._nodes

    def signature(self, article: GroupingInput) -> Signature:
        """Features, MinHash and band keys of one article (pure; nothing is indexed)."""
        return self.signatures([article])[0]

    def signatures(self, articles: Sequence[GroupingInput]) -> list[Signature]:
        """`signature` of each article, computed in one batch of array operations (the
        same values: a signature depends on its own article only)."""
        features = self.extractor.extract_many(
            [(article.title, article.text) for article in articles]
        )
        minhashes = self._minhashes([each.shingles for each in features])
        copy_bands = self._copy_bands(minhashes)
        keyterm_bands = np.split(
            fmix64(np.concatenate([each.keyterms for each in features]) ^ _KEYTERM_SALT),
            np.cumsum([len(each.keyterms) for each in features])[:-1],
        )
        signatures: list[Signature] = []
        for position, (article, each) in enumerate(zip(articles, features, strict=True)):
            indexed = each.content_words >= self.options.min_content_words
            if indexed:
                bands = np.concatenate([copy_bands[position], keyterm_bands[position]])
            elif len(each.terms) >= _MIN_LINKABLE_TERMS:  # `Signature.linkable`
                bands = keyterm_bands[position].copy()
            else:
                bands = np.empty(0, np.uint64)
            signatures.append(
                Signature(
                    article.url,
                    article.text_hash,
                    article.published_at,
                    article.observed_at,
                    minhashes[position].copy(),
                    bands,
                    each,
                    indexed,
                )
            )
        return signatures

    def load(self, entries: Iterable[Signature | IndexEntry], links: Iterable[Link]) -> None:
        """Index what earlier runs stored (signatures or index entries, and verified links),
        without re-linking.

        The features of full signatures are kept (up to `feature_cache`); those of index
        entries are read through the `feature_loader` when needed, so one is required.
        """
        numbers: list[int] = []
        keys: list[UInt64Array] = []
        for entry in entries:
            node = self._add_node(entry, index=False)
            if isinstance(entry, Signature):
                self._cache_features(node.url, entry.features)
            elif self._feature_loader is None:
                raise ValueError("index entries without features need a feature_loader")
            numbers.extend([node.number] * len(entry.bands))
            keys.append(entry.bands)
        if keys:
            self._index.add_many(np.array(numbers, dtype=np.int32), np.concatenate(keys))
        for link in links:
            self._attach(link)

    def set_decisions(self, decisions: Iterable[tuple[str, GroupingDecision]]) -> None:
        """What storage currently says of loaded articles, so only real changes are re-written."""
        for url, decision in decisions:
            node = self._nodes.get(url)
            if node is not None:
                node.decision = decision

    def component_urls(self, urls: Iterable[str]) -> list[str]:
        """Every indexed article linked, directly or through others, to one of `urls`
        (those indexed), the indexed ones of `urls` included, in URL order."""
        found: set[str] = set()
        for url in urls:
            node = self._nodes.get(url)
            if node is not None and url not in found:
                found.update(member.url for member in self._component(node))
        return sorted(found)

    def regroup(
        self, urls: Iterable[str], held: Iterable[tuple[str, GroupingDecision]] = ()
    ) -> None:
        """Recompute canonicals and stories of the components of `urls` from every link
        known, after setting the `held` decisions (`set_decisions`).

        Membership and canonicals follow from the links alone; the held decisions only
        name the stories (`_story_key`) and are what `take_changes` reports changes
        against. Several workers regrouping a component from the same held decisions
        (what storage holds) and the same links therefore reach the same result, and
        regrouping a result again changes nothing.
        """
        self.set_decisions(held)
        done: set[str] = set()
        for url in sorted(set(urls)):
            node = self._nodes.get(url)
            if node is None or url in done:
                continue
            component = self._component(node)
            done.update(member.url for member in component)
            self._regroup_component(component)

    def assign(self, article: GroupingInput) -> GroupingDecision:
        """Decide the copy and story links of a new (or re-read) article and index it.

        An article read again with the same text keeps its decision, so re-runs change nothing.
        """
        return self.assign_signature(self.signature(article))

    def assign_many(self, articles: Sequence[GroupingInput]) -> list[GroupingDecision]:
        """`assign` each article in turn, their signatures computed in one batch first.

        Only the signatures and the search of the index's sorted runs are batched (they
        depend on nothing but the articles and what was indexed before the batch):
        linking stays one article after the other, in the order given, so the decisions,
        links and stored signatures are those of `assign` called on each.
        """
        return self.assign_signatures(self.signatures(articles))

    def assign_signature(self, signature: Signature) -> GroupingDecision:
        """`assign` for an article whose signature is already computed."""
        return self.assign_signatures([signature])[0]

    def assign_signatures(self, signatures: Sequence[Signature]) -> list[GroupingDecision]:
        """`assign_signature` of each signature in turn; the index's sorted runs are
        searched once for all (they are held as they are until the last is linked, the
        keys indexed meanwhile staying in the buffer, which each article searches itself)."""
        index = self._index
        with index.runs_held():
            in_runs = index.lookup_runs(
                [(signature.bands, self._copy_keys(signature)) for signature in signatures]
            )
            # The candidates the runs hold (those of the buffer are added as each article
            # is linked: `_candidate_numbers` of a union is the union of its parts').
            found_in_runs = [
                self._candidate_numbers(_when(signature), copies, related)
                if signature.linkable
                else set()
                for signature, (copies, related) in zip(signatures, in_runs, strict=True)
            ]
            # Features of the candidates found so far, in one read for the batch.
            self._features_of(
                [
                    self._nodes[url]
                    for found in found_in_runs
                    for number in found
                    if (url := self._urls[number]) is not None
                ]
            )
            return [
                self._assign(signature, found)
                for signature, found in zip(signatures, found_in_runs, strict=True)
            ]

    def _assign(self, signature: Signature, found_in_runs: set[int]) -> GroupingDecision:
        previous = self._nodes.get(signature.url)
        if previous is not None:
            if previous.text_key == _text_key(signature.text_hash):
                return self._current_decision(previous)
            self._forget(previous)
        if signature.linkable:  # searched before the article itself is indexed
            copies, related = self._index.lookup_buffer(
                signature.bands, self._copy_keys(signature)
            )
        node = self._add_node(signature, index=True)
        self._new_signatures.append(signature)
        self._unsaved_features[node.url] = signature.features
        if signature.linkable:
            found = found_in_runs | self._candidate_numbers(node.when, copies, related)
            candidates = self._candidates(node, found)
            # One read for every candidate not in memory.
            candidate_features = self._features_of(candidates)
            for candidate, theirs in zip(candidates, candidate_features, strict=True):
                link = self._verify(node, signature.features, candidate, theirs)
                if link is not None:
                    self._attach(link)
                    self._new_links.append(link)
        self._regroup(node)
        decision = self._current_decision(node)
        self._changed.pop(node.url, None)
        return decision

    def _copy_keys(self, signature: Signature) -> int:
        """How many of the signature's band keys are copy bands (the rest are key terms)."""
        return self.options.copy_bands if signature.indexed else 0

    def take_changes(self) -> dict[str, GroupingDecision]:
        """Earlier articles whose canonical or story changed since the last call."""
        changed, self._changed = self._changed, {}
        return changed

    def take_new_signatures(self) -> list[Signature]:
        """Signatures indexed since the last call, for storage."""
        new, self._new_signatures = self._new_signatures, []
        for signature in new:
            self._cache_features(signature.url, signature.features)
        self._unsaved_features = {}
        return new

    def take_new_links(self) -> list[Link]:
        """Links verified since the last call, for storage."""
        new, self._new_links = self._new_links, []
        return new

    def decision_of(self, url: str) -> GroupingDecision | None:
        """The current decision for an indexed article."""
        node = self._nodes.get(url)
        return None if node is None else self._current_decision(node)

    def candidates(self, article: GroupingInput) -> list[str]:
        """URLs the index offers as candidates for `article` (unverified; for benchmarks)."""
        signature = self.signature(article)
        found = self._index.lookup(signature.bands)
        return sorted(url for number in found if (url := self._urls[number]) is not None)

    # -- linking ----------------------------------------------------------------------

    def _candidates(self, node: _Node, found: set[int]) -> list[_Node]:
        """The indexed articles of `found` (`_candidate_numbers` of the node's), other
        than the node, in URL order."""
        found.discard(node.number)
        urls = sorted(url for number in found if (url := self._urls[number]) is not None)
        return [self._nodes[url] for url in urls]

    def _candidate_numbers(
        self, when: float | None, copies: set[int], related: set[int]
    ) -> set[int]:
        """Articles sharing a copy band (any time), or a key term within the story window
        of `when`: `copies`, and those of `related` within the window (`copies` and
        `related`: the index's articles under an article's copy band keys and under its
        key terms).

        Key terms are story meeting points only: a report outside the window can never
        be linked through one, so it is dropped here, before its features are read.
        Both rules are symmetric, which keeps the links independent of arrival order.
        """
        found = set(copies)
        related = related - copies
        if related:
            numbers = np.fromiter(related, dtype=np.intp, count=len(related))
            if when is not None:  # `_outside_window` of every one at once
                apart = np.abs(self._times[numbers] - when)
                numbers = numbers[~(apart > self.options.story_window.total_seconds())]
            found.update(numbers.tolist())
        return found

    def _verify(
        self, node: _Node, features: ArticleFeatures, candidate: _Node, theirs: ArticleFeatures
    ) -> Link | None:
        """A link when the candidate (whose features are `theirs`) really is a copy, or
        another report of the story."""
        if not (node.indexed or candidate.indexed):
            return None  # two short texts never match each other
        if node.indexed and candidate.indexed:
            if node.text_key == candidate.text_key:
                return Link(node.url, candidate.url, LEVEL_COPY, METHOD_EXACT, 1.0)
            containment = features.containment(theirs)
            if containment >= self.options.copy_containment:
                return Link(node.url, candidate.url, LEVEL_COPY, METHOD_CONTAINMENT, containment)
        if self._outside_window(node.when, candidate.when):
            return None
        similarity = self._cosine(node, features, candidate, theirs)
        if similarity >= self.options.story_similarity:
            return Link(node.url, candidate.url, LEVEL_STORY, METHOD_STORY, similarity)
        return None

    def _pairwise_cosines(self, members: list[_Node]) -> npt.NDArray[np.float64]:
        """TF-IDF cosine of every pair of `members` (1 on the diagonal); features are read
        only for the pairs not remembered."""
        count = len(members)
        pairwise = np.eye(count)
        missing: list[tuple[int, int]] = []
        for row in range(count):
            for column in range(row + 1, count):
                known = self._cosines.get(_pair_key(members[row], members[column]))
                if known is None:
                    missing.append((row, column))
                else:
                    pairwise[row, column] = pairwise[column, row] = known
        if missing:
            involved = sorted({position for pair in missing for position in pair})
            loaded = self._features_of([members[position] for position in involved])
            features = dict(zip(involved, loaded, strict=True))
            for row, column in missing:
                pairwise[row, column] = pairwise[column, row] = self._cosine(
                    members[row], features[row], members[column], features[column]
                )
        return pairwise

    def _cosine(
        self, node: _Node, features: ArticleFeatures, other: _Node, theirs: ArticleFeatures
    ) -> float:
        """`features.cosine(theirs)`, remembered: a story's regrouping asks again for the
        pairs its members' linking and earlier regroupings computed (the cosine is
        symmetric to the last bit, so the pair's order does not matter)."""
        key = _pair_key(node, other)
        cosines = self._cosines
        similarity = cosines.get(key)
        if similarity is None:
            if len(cosines) >= _COSINE_CACHE:
                cosines.clear()
            similarity = cosines[key] = features.cosine(theirs)
        return similarity

    def _outside_window(self, when: float | None, other: float | None) -> bool:
        """Reports too far apart in time; an undated report (a local file) has no window."""
        return (
            when is not None
            and other is not None
            and abs(when - other) > self.options.story_window.total_seconds()
        )

    def _attach(self, link: Link) -> None:
        first, second = self._nodes.get(link.url), self._nodes.get(link.other_url)
        if first is None or second is None:
            return
        if link.level == LEVEL_COPY:
            first.copies = _with_link(first.copies, second.url, link.similarity)
            second.copies = _with_link(second.copies, first.url, link.similarity)
        else:
            first.related = _with_link(first.related, second.url, link.similarity)
            second.related = _with_link(second.related, first.url, link.similarity)

    # -- grouping ---------------------------------------------------------------------

    def _regroup(self, start: _Node) -> None:
        """Recompute canonicals and stories of the component `start` belongs to."""
        self._regroup_component(self._component(start))

    def _regroup_component(self, component: list[_Node]) -> None:
        """Recompute canonicals and stories of one component (in canonical order)."""
        groups = self._copy_groups(component)
        clusters = self._story_clusters(groups)
        # Largest first, so a merge keeps the bigger story's key and re-points the smaller.
        clusters.sort(key=lambda pair: -sum(len(group) for group in pair[0]))
        used: set[str] = set()
        for cluster, cohesion in clusters:
            members = [member for group in cluster for member in group]
            story_key = self._story_key(members, used)
            used.add(story_key)
            for group, similarity in zip(cluster, cohesion, strict=True):
                canonical = group[0]
                for member in group:
                    decision = self._decide(member, canonical, story_key, similarity, len(cluster))
                    held = (member.story_key, member.duplicate_of_url, member.method)
                    if held != _structure(decision):
                        self._changed[member.url] = decision
                    member.decision = decision

    def _story_key(self, members: list[_Node], used: set[str]) -> str:
        """The key most members already have (stories keep their key as they grow), else
        the earliest member's URL that names no other story of the component. Membership never depends on arrival order; the key of a
        story that grew from two may (it is the name of the row, not part of the grouping)."""
        votes: dict[str, int] = {}
        for member in members:
            if member.story_key is not None and member.story_key not in used:
                votes[member.story_key] = votes.get(member.story_key, 0) + 1
        if votes:
            return min(votes, key=lambda key: (-votes[key], key))
        for member in sorted(members, key=lambda member: member.order):
            if member.url not in used:
                return member.url
        return f"{members[0].url}#story-{len(used)}"  # every member's URL names another story

    def _decide(
        self,
        member: _Node,
        canonical: _Node,
        story_key: str,
        similarity: float | None,
        cluster_size: int,
    ) -> GroupingDecision:
        if member is not canonical:
            direct = member.copies.get(canonical.url)
            copy_similarity = direct if direct is not None else max(member.copies.values())
            exact = member.text_key == canonical.text_key
            method = METHOD_EXACT if exact else METHOD_CONTAINMENT
            return GroupingDecision(story_key, canonical.url, copy_similarity, None, method)
        if cluster_size == 1:
            method = METHOD_NEW_STORY if member.indexed else METHOD_TOO_SHORT
            return GroupingDecision(story_key, None, None, None, method)
        return GroupingDecision(story_key, None, None, similarity, METHOD_STORY)

    def _component(self, start: _Node) -> list[_Node]:
        seen = {start.url}
        stack = [start]
        while stack:
            node = stack.pop()
            for url in (*node.copies, *node.related):
                if url not in seen:
                    seen.add(url)
                    stack.append(self._nodes[url])
        return sorted((self._nodes[url] for url in seen), key=lambda node: node.order)

    def _copy_groups(self, component: list[_Node]) -> list[list[_Node]]:
        """Copy-connected groups, each listed canonical first, groups in canonical order."""
        group_of: dict[str, int] = {}
        groups: list[list[_Node]] = []
        for node in component:  # in canonical order, so each group starts at its canonical
            if node.url in group_of:
                continue
            group_of[node.url] = len(groups)
            group = [node]
            stack = [node]
            while stack:
                for url in stack.pop().copies:
                    if url not in group_of:
                        group_of[url] = group_of[node.url]
                        group.append(self._nodes[url])
                        stack.append(self._nodes[url])
            groups.append(sorted(group, key=lambda member: member.order))
        return groups

    def _story_clusters(
        self, groups: list[list[_Node]]
    ) -> list[tuple[list[list[_Node]], list[float | None]]]:
        """Average-link clusters of the copy groups at `story_similarity`, with each
        group's mean similarity to the rest of its cluster (the link's evidence)."""
        if len(groups) == 1:
            return [(groups, [None])]
        similarity = self._similarities(groups)
        if len(groups) == 2:  # average link of two is their similarity: no tree to build
            pair = float(similarity[0, 1])
            if pair >= self.options.story_similarity:
                return [(groups, [pair, pair])]
            return [([groups[0]], [None]), ([groups[1]], [None])]
        labels = _average_link_labels(similarity, self.options.story_similarity)
        members: dict[int, list[int]] = {}
        for position, label in enumerate(labels):
            members.setdefault(label, []).append(position)
        clusters: list[tuple[list[list[_Node]], list[float | None]]] = []
        for positions in members.values():
            if len(positions) == 1:
                clusters.append(([groups[positions[0]]], [None]))
                continue
            block = similarity[np.ix_(positions, positions)]
            cohesion = (block.sum(axis=1) - block.diagonal()) / (len(positions) - 1)
            clusters.append(([groups[p] for p in positions], [float(c) for c in cohesion]))
        return clusters

    def _similarities(self, groups: list[list[_Node]]) -> npt.NDArray[np.float64]:
        """Average cosine between the copy groups' members; 0 for pairs outside the window.

        Averaged over members rather than taken from the canonical alone: a text that is
        half a copy of one report must not lend that report its other half's resemblance
        to a third.
        """
        members = [node for group in groups for node in group]
        if len(members) <= _PAIRWISE_DIRECT:  # a few sparse intersections beat a matrix
            pairwise = self._pairwise_cosines(members)
        else:
            pairwise = _cosine_matrix(self._features_of(members))
        if len(members) > len(groups):
            owner = np.repeat(np.arange(len(groups)), [len(group) for group in groups])
            membership = np.zeros((len(groups), len(members)))
            membership[owner, np.arange(len(members))] = 1.0
            sizes = membership.sum(axis=1)
            pairwise = membership @ pairwise @ membership.T / np.outer(sizes, sizes)
        canonicals = [group[0] for group in groups]
        similarity = pairwise
        whens = [node.when for node in canonicals]
        dated = [when for when in whens if when is not None]
        window = self.options.story_window.total_seconds()
        # Most components lie within one window: no pair to check then.
        if dated and max(dated) - min(dated) > window:
            times = np.array([np.nan if when is None else when for when in whens])
            apart = np.abs(times[:, None] - times[None, :]) > window
            similarity[apart] = 0.0  # NaN (undated) compares False: no window
        return similarity

    def _current_decision(self, node: _Node) -> GroupingDecision:
        if node.decision is None:
            self._regroup(node)
        decision = node.decision
        assert decision is not None
        return decision

    # -- index upkeep -----------------------------------------------------------------

    def _add_node(self, signature: Signature | IndexEntry, index: bool) -> _Node:
        node = _Node(
            len(self._urls),
            signature.url,
            _text_key(signature.text_hash),
            _seconds(signature.published_at),
            _seconds(signature.observed_at),
            signature.indexed,
        )
        self._urls.append(signature.url)
        self._nodes[signature.url] = node
        if node.number >= len(self._times):
            grown = np.full(max(1024, 2 * len(self._times)), np.nan)
            grown[: len(self._times)] = self._times
            self._times = grown
        when = node.when
        self._times[node.number] = np.nan if when is None else when
        if index and len(signature.bands):
            self._index.add(node.number, signature.bands)
        return node

    def _features_of(self, nodes: list[_Node]) -> list[ArticleFeatures]:
        """The nodes' features: from memory, else (all missing ones at once) the loader."""
        cache, unsaved = self._feature_cache, self._unsaved_features
        found: dict[str, ArticleFeatures] = {}
        for node in nodes:
            features = unsaved.get(node.url)
            if features is None:
                features = cache.get(node.url)
                if features is not None:
                    cache.move_to_end(node.url)
            if features is not None:
                found[node.url] = features
        missing = [node.url for node in nodes if node.url not in found]
        if missing:
            if self._feature_loader is None:
                raise KeyError(f"features of {missing[0]} are neither in memory nor loadable")
            loaded = self._feature_loader(missing)
            for url in missing:
                found[url] = loaded[url]
                self._cache_features(url, loaded[url])
        return [found[node.url] for node in nodes]

    def _cache_features(self, url: str, features: ArticleFeatures) -> None:
        cache = self._feature_cache
        cache[url] = features
        cache.move_to_end(url)
        if self._feature_cache_size is not None:
            while len(cache) > self._feature_cache_size:
                cache.popitem(last=False)

    def _forget(self, node: _Node) -> None:
        """Drop an article whose text changed; its former neighbours are regrouped."""
        del self._nodes[node.url]
        self._feature_cache.pop(node.url, None)
        self._urls[node.number] = None
        neighbours = [*node.copies, *node.related]
        for url in neighbours:
            other = self._nodes[url]
            other.copies = _without_link(other.copies, node.url)
            other.related = _without_link(other.related, node.url)
        for url in neighbours:
            self._regroup(self._nodes[url])

    def _minhashes(self, shingles: Sequence[UInt32Array]) -> npt.NDArray[np.uint32]:
        """datasketch's affine32 MinHash of each array of shingle hashes (a row each),
        computed in one compiled loop: the same values as
        `MinHash(..., hashfunc=int).update_batch(shingles)` with this seed and `num_perm`
        (a test holds them equal)."""
        from pipelines.grouping import kernels  # compiled loops (numba), imported on use

        sizes = np.array([len(each) for each in shingles], dtype=np.int64)
        bounds = np.zeros(len(shingles) + 1, dtype=np.int64)
        np.cumsum(sizes, out=bounds[1:])
        joined = (
            np.concatenate(shingles).astype(np.uint32, copy=False)
            if len(shingles)
            else np.empty(0, np.uint32)
        )
        return kernels.minhashes(joined, bounds, self._multipliers, self._offsets)

    def _copy_bands(self, minhashes: npt.NDArray[np.uint32]) -> UInt64Array:
        """LSH band keys of each MinHash row: `copy_bands` bands of `copy_rows` values."""
        rows = self.options.copy_rows
        bands = self.options.copy_bands
        values = minhashes[:, : bands * rows].astype(np.uint64).reshape(len(minhashes), bands, rows)
        keys = np.broadcast_to(np.arange(bands, dtype=np.uint64) * _BAND_SALT, values.shape[:2])
        for column in range(rows):
            keys = fmix64(keys * _ROW_MULTIPLIER + values[:, :, column])
        return np.asarray(keys, dtype=np.uint64)


def _affine32_permutations(num_perm: int, seed: int) -> tuple[UInt32Array, UInt32Array]:
    """datasketch's affine32 permutations (`MinHash(num_perm=..., seed=...,
    scheme="affine32").permutations`, drawn as it draws them; a test holds them equal):
    odd multipliers and offsets. Importing datasketch for them cost every crawl about
    0.4 s (its package imports scipy)."""
    generator = np.random.RandomState(seed)
    multipliers = generator.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2)
    offsets = generator.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return multipliers + np.uint32(1), offsets


def _seconds(moment: datetime | None) -> float | None:
    """POSIX seconds of `moment` (a naive one is taken as UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _when(signature: Signature) -> float | None:
    """`_Node.when` of the article a signature stands for."""
    published = _seconds(signature.published_at)
    return published if published is not None else _seconds(signature.observed_at)


def _with_link(links: Mapping[str, float], url: str, similarity: float) -> dict[str, float]:
    """`links` with `url` added: the shared empty mapping becomes a dict of its own."""
    owned = links if isinstance(links, dict) else {}
    owned[url] = similarity
    return owned


def _without_link(links: Mapping[str, float], url: str) -> Mapping[str, float]:
    """`links` without `url`."""
    if isinstance(links, dict):
        links.pop(url, None)
    return links


def _text_key(text_hash: str) -> int:
    """64 bits standing for a text hash in memory (equality is all grouping asks of it)."""
    return hash64(text_hash)


def _pair_key(node: _Node, other: _Node) -> int:
    """One integer for an unordered pair of articles."""
    return (min(node.number, other.number) << 32) | max(node.number, other.number)


def _cosine_matrix(features: list[ArticleFeatures]) -> npt.NDArray[np.float64]:
    """TF-IDF cosine of every pair of term vectors (1 on the diagonal), as one product."""
    count = len(features)
    vocabulary = np.unique(np.concatenate([each.terms for each in features]))
    matrix = np.zeros((count, len(vocabulary)), dtype=np.float32)
    for row, each in enumerate(features):
        matrix[row, np.searchsorted(vocabulary, each.terms)] = each.weights
    return (matrix @ matrix.T).astype(np.float64)


def _average_link_labels(similarity: npt.NDArray[np.float64], threshold: float) -> list[int]:
    """Flat average-link (UPGMA) clusters at `threshold`: a cluster label per row.

    Merges the two clusters of highest average similarity while it reaches `threshold`
    (Lance-Williams update); average link has no inversions, so this is the dendrogram
    cut at `threshold`, without building the tree. Ties go to the lowest positions. A
    compiled loop: most matrices are a few rows, where array operations cost their calls.
    """
    from pipelines.grouping import kernels  # compiled loops (numba), imported on use

    matrix = np.ascontiguousarray(similarity, dtype=np.float64)
    return kernels.average_link_labels(matrix, threshold).tolist()  # type: ignore[no-any-return]


def _structure(decision: GroupingDecision | None) -> tuple[str, str | None, str] | None:
    """What storage must re-write when it changes (a similarity drifting is not news)."""
    if decision is None:
        return None
    return (decision.story_key, decision.duplicate_of_url, decision.method)
