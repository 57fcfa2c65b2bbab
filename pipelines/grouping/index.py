"""A compact in-memory band index: 64-bit band keys to article numbers.

Each article contributes a few dozen keys (its MinHash LSH band hashes and its key-term
hashes). Keys live in sorted numpy arrays (12 bytes a key) rather than in dicts of lists
(about 100 bytes a key, which is what makes datasketch's in-memory LSH need about 1 GB
per 100k signatures); new keys collect in a small buffer (a dict, so an article's lookup
right after the previous one's add sorts nothing) that is merged into the sorted arrays
when it grows; sorted runs of similar size are merged pairwise, like an LSM tree,
so loading n keys costs O(n log n) and a lookup searches O(log n) runs.
A key is 12 bytes: at about 52 keys an article, 1M articles take about 620 MB.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import numpy.typing as npt

# Buffered keys merged into the sorted arrays when this many have collected.
_MERGE_AT = 2_048
# A new sorted run is merged into the previous one while that one is at most this many
# times larger: few runs to search (about log_8 n), each key re-sorted about 8 log_8 n times.
_RUN_RATIO = 8
# A run merged into new arrays gets room for this many times its entries.
_GROWTH = 2
# Every this many keys of a run are copied into its fence (the search's first level).
_FENCE_STRIDE = 64


class BandIndex:
    """Multimap from band keys (uint64) to article numbers (int32), append-only."""

    def __init__(self) -> None:
        self._runs: list[_Run] = []
        self._buffer_keys: list[npt.NDArray[np.uint64]] = []
        self._buffer_numbers: list[npt.NDArray[np.int32]] = []
        self._buffered = 0
        # The buffered keys' article numbers, for lookups: the first article filed under a
        # key, and the others (most keys have one; dict operations on whole key lists then
        # run in C).
        self._buffer: dict[int, int] = {}
        self._buffer_more: dict[int, list[int]] = {}
        self._runs_held = False

    def __len__(self) -> int:
        return sum(len(run.keys) for run in self._runs) + self._buffered

    @property
    def nbytes(self) -> int:
        """Bytes held by the sorted arrays (the buffer is bounded by `_MERGE_AT`)."""
        return sum(int(run.keys.nbytes + run.numbers.nbytes) for run in self._runs)

    def add(self, number: int, keys: npt.NDArray[np.uint64]) -> None:
        """File article `number` under each of `keys`."""
        self._buffer_keys.append(np.asarray(keys, dtype=np.uint64))
        self._buffer_numbers.append(np.full(len(keys), number, dtype=np.int32))
        self._buffered += len(keys)
        new = dict.fromkeys(self._buffer_keys[-1].tolist(), number)
        for key in new.keys() & self._buffer.keys():
            del new[key]
            self._buffer_more.setdefault(key, []).append(number)
        self._buffer.update(new)
        if self._buffered >= _MERGE_AT and not self._runs_held:
            self.merge()

    def add_many(self, numbers: npt.NDArray[np.int32], keys: npt.NDArray[np.uint64]) -> None:
        """File `numbers[i]` under `keys[i]` for every i, in one sort (bulk loading)."""
        self.merge()
        self._merge_arrays(keys.astype(np.uint64), numbers.astype(np.int32))

    def lookup(self, keys: npt.NDArray[np.uint64]) -> set[int]:
        """Article numbers filed under any of `keys`."""
        return self.lookup_split(keys, len(keys))[0]

    def lookup_split(self, keys: npt.NDArray[np.uint64], split: int) -> tuple[set[int], set[int]]:
        """Article numbers filed under any of `keys[:split]`, and under any of `keys[split:]`,
        in one search."""
        first, rest = self.lookup_runs([(keys, split)])[0]
        buffered_first, buffered_rest = self.lookup_buffer(keys, split)
        return first | buffered_first, rest | buffered_rest

    def lookup_runs(
        self, queries: Sequence[tuple[npt.NDArray[np.uint64], int]]
    ) -> list[tuple[set[int], set[int]]]:
        """`lookup_split` of each (keys, split) query in the sorted runs only (not the
        buffer): one search of each run for all the queries."""
        from pipelines.grouping import kernels  # compiled loops (numba), imported on use

        slots: list[npt.NDArray[np.intp]] = []
        numbers: list[npt.NDArray[np.int32]] = []
        runs = [run for run in self._runs if len(run.keys)]
        if runs and queries:
            sizes = [len(keys) for keys, _ in queries]
            keys = np.concatenate([keys for keys, _ in queries]).astype(np.uint64, copy=False)
            owner = np.repeat(np.arange(len(queries)), sizes)
            first_key = np.repeat(np.cumsum(sizes) - sizes, sizes)
            splits = np.repeat([split for _, split in queries], sizes)
            # Where each key's numbers go: two sets a query, before and after its split.
            slot = 2 * owner + (np.arange(len(keys)) - first_key >= splits)
            # Searched in key order: each search then starts where the last one ended, on
            # paths the last ones brought into the cache (about 9 times faster in a large run).
            order = np.argsort(keys)
            keys, slot = keys[order], slot[order]
            for run in runs:
                hit_keys, hit_entries = kernels.run_hits(run.keys, run.fence, _FENCE_STRIDE, keys)
                numbers.append(run.numbers[hit_entries])
                slots.append(slot[hit_keys])
        sets: list[set[int]] = [set() for _ in range(2 * len(queries))]
        if numbers:
            found_slots = np.concatenate(slots)
            found_numbers = np.concatenate(numbers)
            by_slot = np.argsort(found_slots, kind="stable")
            found_slots, found_numbers = found_slots[by_slot], found_numbers[by_slot]
            bounds = np.searchsorted(found_slots, np.arange(2 * len(queries) + 1))
            listed, ends = found_numbers.tolist(), bounds.tolist()
            for where in np.flatnonzero(np.diff(bounds)).tolist():
                sets[where] = set(listed[ends[where] : ends[where + 1]])
        return list(zip(sets[0::2], sets[1::2], strict=True))

    def lookup_buffer(self, keys: npt.NDArray[np.uint64], split: int) -> tuple[set[int], set[int]]:
        """`lookup_split` in the buffer only (the keys added since the last merge)."""
        if not self._buffered:
            return set(), set()
        listed = keys.tolist()
        return self._buffered_numbers(listed[:split]), self._buffered_numbers(listed[split:])

    def _buffered_numbers(self, keys: list[int]) -> set[int]:
        """Article numbers the buffer files under any of `keys`."""
        buffer, more = self._buffer, self._buffer_more
        found = buffer.keys() & keys
        numbers = {buffer[key] for key in found}
        for key in found & more.keys():
            numbers.update(more[key])
        return numbers

    @contextmanager
    def runs_held(self) -> Iterator[None]:
        """Keep the sorted runs as they are (added keys stay in the buffer) while inside:
        what `lookup_runs` found when entering stays what the runs hold."""
        self._runs_held = True
        try:
            yield
        finally:
            self._runs_held = False
            if self._buffered >= _MERGE_AT:
                self.merge()

    def merge(self) -> None:
        """Move the buffered keys into the sorted arrays."""
        assert not self._runs_held, "the runs are held"
        if not self._buffered:
            return
        keys = np.concatenate(self._buffer_keys)
        numbers = np.concatenate(self._buffer_numbers)
        self._buffer_keys, self._buffer_numbers = [], []
        self._buffered = 0
        self._buffer, self._buffer_more = {}, {}
        self._merge_arrays(keys, numbers)

    def _merge_arrays(self, keys: npt.NDArray[np.uint64], numbers: npt.NDArray[np.int32]) -> None:
        order = np.argsort(keys, kind="stable")
        run = _Run(len(keys), len(keys))
        np.take(keys, order, out=run.keys)
        np.take(numbers, order, out=run.numbers)
        run.filled()
        del order
        while self._runs and len(self._runs[-1].keys) <= _RUN_RATIO * len(run.keys):
            run = self._runs.pop().merged_with(run)
        self._runs.append(run)


class _Run:
    """One sorted run of (key, number) entries, in arrays with room to take smaller runs
    in place (`merged_with`).

    The room costs address space only: pages never written are not resident. Merging
    into new arrays each time made most of the index's upkeep the kernel's first touch of
    fresh pages (about 12 ms a million entries here, against 1.3 ms for a pass over pages
    already held).
    """

    __slots__ = ("_key_store", "_number_store", "fence", "keys", "numbers")

    def __init__(self, size: int, capacity: int) -> None:
        self._key_store = _mapped(capacity, np.uint64)
        self._number_store = _mapped(capacity, np.int32)
        self.keys: npt.NDArray[np.uint64] = self._key_store[:size]
        """The run's keys, sorted (`filled` once written)."""
        self.numbers: npt.NDArray[np.int32] = self._number_store[:size]
        """The article number of each key."""
        self.fence: npt.NDArray[np.uint64] = np.empty(0, np.uint64)
        """Every `_FENCE_STRIDE`-th key (a small copy that searches stay in)."""

    def filled(self) -> _Run:
        """The run, its keys written: its fence rebuilt."""
        self.fence = self.keys[::_FENCE_STRIDE].copy()
        return self

    def merged_with(self, later: _Run) -> _Run:
        """This run and a `later` one as one run, this one's entries before the later's
        under an equal key (what a stable sort of the two concatenated gives): in this
        run's arrays when they have room, else in new ones with as much room again."""
        from pipelines.grouping import kernels  # compiled loops (numba), imported on use

        size = len(self.keys) + len(later.keys)
        target = self
        if size > len(self._key_store):
            target = _Run(len(self.keys), _GROWTH * size)
            target.keys[:] = self.keys
            target.numbers[:] = self.numbers
        kernels.merge_into(
            target._key_store, target._number_store, len(self.keys), later.keys, later.numbers
        )
        target.keys, target.numbers = target._key_store[:size], target._number_store[:size]
        return target.filled()


def _mapped(size: int, dtype: type[np.generic]) -> npt.NDArray[Any]:
    """An uninitialised array in its own anonymous memory map.

    Runs are replaced by ever larger ones as the index grows. Allocated by malloc, a
    replaced run's memory stayed in the process heap (glibc raises its mmap threshold
    after freeing a large block, so later runs of up to 32 MB came from the heap and
    left holes too small for the next): about 2 KB of resident memory an article at
    100k articles, three times the index itself. A map goes back to the system as soon
    as its array is dropped.
    """
    nbytes = size * np.dtype(dtype).itemsize
    if nbytes == 0:
        return np.empty(size, dtype=dtype)
    return np.frombuffer(mmap.mmap(-1, nbytes), dtype=dtype)
