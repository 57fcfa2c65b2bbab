"""Compiled loops of grouping (numba), each one pass over a batch's arrays: feature
extraction's, the verification's intersections, average-link clustering and the band
index's run merges.

They compute exactly what the whole-array numpy formulation in `features` computed
(integer hashes, gathers, sorts and sums of small integers: nothing whose rounding depends
on the order of operations); the floating-point steps (logarithms, dot products) stay in
numpy. Compiled on first use and cached beside this file (`cache=True`), so a process
after the first loads machine code instead of compiling. Imported when first needed (by
`FeatureExtractor` when it is built), not with the modules that use it: importing numba
costs about 0.15 s.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

_FMIX_FIRST = np.uint64(0xFF51AFD7ED558CCD)
_FMIX_SECOND = np.uint64(0xC4CEB9FE1A85EC53)
_SHIFT_MIX = np.uint64(33)
_LOW_32 = np.uint64(0xFFFFFFFF)


@numba.njit(nogil=True, cache=True)
def _fmix64(value: np.uint64) -> np.uint64:
    """MurmurHash3's 64-bit finaliser (`features.fmix64` of one value)."""
    value ^= value >> _SHIFT_MIX
    value *= _FMIX_FIRST
    value ^= value >> _SHIFT_MIX
    value *= _FMIX_SECOND
    value ^= value >> _SHIFT_MIX
    return value


@numba.njit(nogil=True, cache=True)
def tokens(
    codes: npt.NDArray[np.uint32],
    word_character: npt.NDArray[np.bool_],
    lower: npt.NDArray[np.uint64],
    character_kind: npt.NDArray[np.uint8],
    multiplier: np.uint64,
    length_multiplier: np.uint64,
) -> tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.uint64],
    npt.NDArray[np.bool_],
    npt.NDArray[np.bool_],
]:
    """The `\\w+` runs of `codes` (code points, those above the Basic Multilingual Plane
    taken as U+FFFF): start, length, hash (polynomial over the lower-cased characters plus
    one, mixed with the length), digits only, has a capital.

    Digits and capitals are counted as a 32-bit sum of the digits and 65536 times the
    capitals, wrapping as such a sum does (what the array formulation packed).
    """
    size = len(codes)
    most = size // 2 + 1
    starts = np.empty(most, np.int64)
    lengths = np.empty(most, np.int64)
    hashes = np.empty(most, np.uint64)
    digits = np.empty(most, np.bool_)
    capitalised = np.empty(most, np.bool_)
    count = 0
    position = 0
    while position < size:
        code = min(codes[position], np.uint32(0xFFFF))
        if not word_character[code]:
            position += 1
            continue
        start = position
        raw = np.uint64(0)
        power = np.uint64(1)
        digit_count = 0
        capital_count = 0
        while position < size:
            code = min(codes[position], np.uint32(0xFFFF))
            if not word_character[code]:
                break
            raw += lower[code] * power
            power *= multiplier
            kind = character_kind[code]
            digit_count += kind & 1
            capital_count += (kind >> 1) & 1
            position += 1
        length = position - start
        starts[count] = start
        lengths[count] = length
        hashes[count] = _fmix64(raw ^ (np.uint64(length) * length_multiplier))
        kinds = (digit_count + (capital_count << 16)) & 0xFFFFFFFF
        digits[count] = (kinds & 0xFFFF) == length
        capitalised[count] = (kinds >> 16) > 0
        count += 1
    return (
        starts[:count].copy(),
        lengths[:count].copy(),
        hashes[:count].copy(),
        digits[:count].copy(),
        capitalised[:count].copy(),
    )


@numba.njit(nogil=True, cache=True)
def table_get(
    keys: npt.NDArray[np.uint64],
    shift: np.uint64,
    slot_keys: npt.NDArray[np.uint64],
    slot_values: npt.NDArray[np.float32],
    overflow_keys: npt.NDArray[np.uint64],
    overflow_values: npt.NDArray[np.float32],
    default: float,
) -> npt.NDArray[np.float32]:
    """`_HashTable.get`: the value of each key (its slot's, else the overflow's), else
    `default`, as float32 (what the values are stored as).

    One loop with the lookup written out: a function called per key with the table's
    arrays cost an atomic reference count per array and call (about 25 ns a key, three
    times the lookup itself), and `np.searchsorted` of one key allocates.
    """
    result = np.empty(len(keys), np.float32)
    missing = np.float32(default)
    overflow = len(overflow_keys)
    for position in range(len(keys)):
        key = keys[position]
        slot = key >> shift
        if slot_keys[slot] == key:
            result[position] = slot_values[slot]
            continue
        # The overflow's leftmost binary search.
        low = 0
        high = overflow
        while low < high:
            middle = (low + high) >> 1
            if overflow_keys[middle] < key:
                low = middle + 1
            else:
                high = middle
        if low < overflow and overflow_keys[low] == key:
            result[position] = overflow_values[low]
        else:
            result[position] = missing
    return result


@numba.njit(nogil=True, cache=True)
def term_occurrences(
    hashes: npt.NDArray[np.uint64],
    lengths: npt.NDArray[np.int64],
    digits: npt.NDArray[np.bool_],
    capitalised: npt.NDArray[np.bool_],
    document: npt.NDArray[np.int64],
    body_first: npt.NDArray[np.int64],
    count: int,
    stop_table: tuple[
        np.uint64,
        npt.NDArray[np.uint64],
        npt.NDArray[np.float32],
        npt.NDArray[np.uint64],
        npt.NDArray[np.float32],
    ],
    pair_multiplier: np.uint64,
    capitalised_weight: float,
) -> tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.uint64],
    npt.NDArray[np.float64],
    npt.NDArray[np.bool_],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
]:
    """The term occurrences of a batch's tokens (`document`: each token's): the content
    words (no stop word; longer than two characters, or a number), then the capitalised
    word pairs (a capitalised non-stop word and the capitalised word after it, in one
    document; numbers are not capitalised).

    Returns the content words' and the pairs' first token, the occurrences' hashes (a
    pair's mixes its two words'), boosts (`capitalised_weight` for a capitalised word, 1
    for a pair), whether each word occurrence is a meaningful body word (no number), and
    each document's range of words and of pairs.
    """
    size = len(hashes)
    shift, slot_keys, slot_values, overflow_keys, overflow_values = stop_table
    stop = table_get(hashes, shift, slot_keys, slot_values, overflow_keys, overflow_values, 0.0) > 0
    content = np.empty(size, np.int64)
    pairs = np.empty(max(size - 1, 0), np.int64)
    word_bounds = np.zeros(count + 1, np.int64)
    pair_bounds = np.zeros(count + 1, np.int64)
    words = 0
    pair_count = 0
    for token in range(size):
        if not stop[token] and (lengths[token] > 2 or digits[token]):
            content[words] = token
            words += 1
            word_bounds[document[token] + 1] += 1
        if (
            token + 1 < size
            and capitalised[token]
            and not digits[token]
            and capitalised[token + 1]
            and not digits[token + 1]
            and not stop[token]
            and document[token] == document[token + 1]
        ):
            pairs[pair_count] = token
            pair_count += 1
            pair_bounds[document[token] + 1] += 1
    for position in range(count):
        word_bounds[position + 1] += word_bounds[position]
        pair_bounds[position + 1] += pair_bounds[position]
    occurrence_hashes = np.empty(words + pair_count, np.uint64)
    boosts = np.empty(words + pair_count, np.float64)
    meaningful = np.empty(words, np.bool_)
    for position in range(words):
        token = content[position]
        occurrence_hashes[position] = hashes[token]
        capital = capitalised[token] and not digits[token]
        boosts[position] = capitalised_weight if capital else 1.0
        meaningful[position] = not digits[token] and token >= body_first[document[token]]
    for position in range(pair_count):
        token = pairs[position]
        occurrence_hashes[words + position] = _fmix64(
            hashes[token] * pair_multiplier + hashes[token + 1]
        )
        boosts[words + position] = 1.0
    return (
        content[:words].copy(),
        pairs[:pair_count].copy(),
        occurrence_hashes,
        boosts,
        meaningful,
        word_bounds,
        pair_bounds,
    )


@numba.njit(nogil=True, cache=True)
def shingle_samples(
    hashes: npt.NDArray[np.uint64],
    body_first: npt.NDArray[np.int64],
    body_end: npt.NDArray[np.int64],
    size: int,
    sample: int,
    multiplier: np.uint64,
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
    """Each document's sampled body shingle hashes (high 32 bits of the mixed polynomial
    of `size` token hashes), distinct and sorted, one document after the other, and where
    each document's start (and, last, where they end)."""
    count = len(body_first)
    bounds = np.zeros(count + 1, np.int64)
    total = 0
    for document in range(count):
        total += max(body_end[document] - body_first[document] - size + 1, 0)
    values = np.empty(total, np.uint32)
    mask = np.uint64(sample - 1)
    power_of_two = sample & (sample - 1) == 0
    written = 0
    for document in range(count):
        first = written
        for start in range(body_first[document], body_end[document] - size + 1):
            combined = hashes[start]
            for offset in range(1, size):
                combined = combined * multiplier + hashes[start + offset]
            mixed = _fmix64(combined)
            if sample > 1:
                if power_of_two:
                    if mixed & mask:
                        continue
                elif mixed % np.uint64(sample):
                    continue
            values[written] = np.uint32(mixed >> np.uint64(32))
            written += 1
        if written > first:
            values[first:written] = np.sort(values[first:written])
            kept = first + 1
            for position in range(first + 1, written):
                if values[position] != values[kept - 1]:
                    values[kept] = values[position]
                    kept += 1
            written = kept
        bounds[document + 1] = written
    return values[:written].copy(), bounds


@numba.njit(nogil=True, cache=True)
def term_table(
    hashes: npt.NDArray[np.uint64],
    boosts: npt.NDArray[np.float64],
    meaningful: npt.NDArray[np.bool_],
    word_bounds: npt.NDArray[np.int64],
    pair_bounds: npt.NDArray[np.int64],
) -> tuple[
    npt.NDArray[np.uint64],
    npt.NDArray[np.float64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
]:
    """Distinct terms of each document, sorted by hash, from term occurrences laid out as
    every document's words, then every document's pairs (`word_bounds`, `pair_bounds`:
    each document's range in either part).

    Returns the terms, their summed boosts, the position of each one's first occurrence,
    each document's range of terms, and each document's number of terms with a
    `meaningful` word occurrence (words only: `meaningful` covers the word part).
    """
    count = len(word_bounds) - 1
    words = word_bounds[count]
    total = words + pair_bounds[count]
    terms = np.empty(total, np.uint64)
    counts = np.empty(total, np.float64)
    first_occurrence = np.empty(total, np.int64)
    bounds = np.zeros(count + 1, np.int64)
    content_words = np.zeros(count, np.int64)
    written = 0
    for document in range(count):
        word_count = word_bounds[document + 1] - word_bounds[document]
        pair_count = pair_bounds[document + 1] - pair_bounds[document]
        occurrences = np.empty(word_count + pair_count, np.int64)
        for index in range(word_count):
            occurrences[index] = word_bounds[document] + index
        for index in range(pair_count):
            occurrences[word_count + index] = words + pair_bounds[document] + index
        # Stable: among equal hashes the first occurrence comes first.
        order = np.argsort(hashes[occurrences], kind="mergesort")
        previous = np.uint64(0)
        meaningful_term = False
        for rank in range(len(order)):
            occurrence = occurrences[order[rank]]
            value = hashes[occurrence]
            if rank == 0 or value != previous:
                if rank:
                    content_words[document] += meaningful_term
                terms[written] = value
                counts[written] = 0.0
                first_occurrence[written] = occurrence
                meaningful_term = False
                written += 1
                previous = value
            counts[written - 1] += boosts[occurrence]
            if occurrence < words and meaningful[occurrence]:
                meaningful_term = True
        if len(order):
            content_words[document] += meaningful_term
        bounds[document + 1] = written
    return (
        terms[:written].copy(),
        counts[:written].copy(),
        first_occurrence[:written].copy(),
        bounds,
        content_words,
    )


@numba.njit(nogil=True, cache=True)
def top_terms(
    weights: npt.NDArray[np.float32], bounds: npt.NDArray[np.int64], keep: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Positions of each document's `keep` highest weights (ties: the earlier position),
    in ascending position, and each document's range of them."""
    count = len(bounds) - 1
    chosen = np.empty(min(len(weights), keep * count), np.int64)
    chosen_bounds = np.zeros(count + 1, np.int64)
    written = 0
    for document in range(count):
        start, end = bounds[document], bounds[document + 1]
        if end - start <= keep:
            for position in range(start, end):
                chosen[written] = position
                written += 1
        else:
            # The best `keep` so far, best first, as (negated weight bits, position):
            # weights are >= 0, so their bits order as they do. A later position with an
            # equal weight goes after the earlier ones.
            best_keys = np.empty(keep, np.uint32)
            best_positions = np.empty(keep, np.int64)
            held = 0
            for position in range(start, end):
                key = np.uint32(0xFFFFFFFF) - weights[position : position + 1].view(np.uint32)[0]
                if held == keep and key >= best_keys[keep - 1]:
                    continue
                slot = held if held < keep else keep - 1
                while slot > 0 and best_keys[slot - 1] > key:
                    if slot < keep:
                        best_keys[slot] = best_keys[slot - 1]
                        best_positions[slot] = best_positions[slot - 1]
                    slot -= 1
                best_keys[slot] = key
                best_positions[slot] = position
                held = min(held + 1, keep)
            order = np.sort(best_positions)
            for rank in range(keep):
                chosen[written] = order[rank]
                written += 1
        chosen_bounds[document + 1] = written
    return chosen[:written].copy(), chosen_bounds


@numba.njit(nogil=True, cache=True)
def shared_count(first: npt.NDArray[np.generic], second: npt.NDArray[np.generic]) -> int:
    """How many values two sorted arrays of distinct values share."""
    shared = 0
    mine = theirs = 0
    while mine < len(first) and theirs < len(second):
        if first[mine] < second[theirs]:
            mine += 1
        elif first[mine] > second[theirs]:
            theirs += 1
        else:
            shared += 1
            mine += 1
            theirs += 1
    return shared


@numba.njit(nogil=True, cache=True)
def shared_positions(
    first: npt.NDArray[np.generic], second: npt.NDArray[np.generic]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Where the values two sorted arrays of distinct values share sit in each, in
    ascending order of value."""
    most = min(len(first), len(second))
    in_first = np.empty(most, np.int64)
    in_second = np.empty(most, np.int64)
    shared = 0
    mine = theirs = 0
    while mine < len(first) and theirs < len(second):
        if first[mine] < second[theirs]:
            mine += 1
        elif first[mine] > second[theirs]:
            theirs += 1
        else:
            in_first[shared] = mine
            in_second[shared] = theirs
            shared += 1
            mine += 1
            theirs += 1
    return in_first[:shared], in_second[:shared]


@numba.njit(nogil=True, cache=True)
def average_link_labels(
    similarity: npt.NDArray[np.float64], threshold: float
) -> npt.NDArray[np.int64]:
    """Flat average-link clusters at `threshold` (see `grouper._average_link_labels`):
    the two clusters of highest average similarity (the first such pair in row-major
    order) merge while it reaches `threshold`; a label per row."""
    count = len(similarity)
    current = similarity.copy()
    for row in range(count):
        current[row, row] = -np.inf
    sizes = np.ones(count)
    labels = np.arange(count)
    merged = np.empty(count)
    while count:
        best = current[0, 0]
        first = second = 0
        for row in range(count):
            for column in range(count):
                if current[row, column] > best:
                    best = current[row, column]
                    first, second = row, column
        if not best >= threshold:
            break
        first, second = min(first, second), max(first, second)
        total = sizes[first] + sizes[second]
        for column in range(count):
            merged[column] = (
                sizes[first] * current[first, column] + sizes[second] * current[second, column]
            ) / total
        for column in range(count):
            current[first, column] = merged[column]
            current[column, first] = merged[column]
        for column in range(count):
            current[second, column] = -np.inf
            current[column, second] = -np.inf
        current[first, first] = -np.inf
        sizes[first] += sizes[second]
        for row in range(count):
            if labels[row] == second:
                labels[row] = first
    return labels


@numba.njit(nogil=True, cache=True)
def minhashes(
    shingles: npt.NDArray[np.uint32],
    bounds: npt.NDArray[np.int64],
    multipliers: npt.NDArray[np.uint32],
    offsets: npt.NDArray[np.uint32],
) -> npt.NDArray[np.uint32]:
    """datasketch's affine32 MinHash of each document's shingle hashes (`bounds`: where
    each document's start, and last where they end): per permutation, the least
    `multiplier * fmix32(shingle) + offset` modulo 2**32; all ones for no shingle."""
    count = len(bounds) - 1
    permutations = len(multipliers)
    result = np.full((count, permutations), np.uint32(0xFFFFFFFF), np.uint32)
    for document in range(count):
        row = result[document]
        for position in range(bounds[document], bounds[document + 1]):
            # Scalar arithmetic widens to 64 bits: each step is truncated to 32 again.
            mixed = np.uint64(shingles[position])
            mixed ^= mixed >> np.uint64(16)
            mixed = (mixed * np.uint64(0x85EBCA6B)) & _LOW_32
            mixed ^= mixed >> np.uint64(13)
            mixed = (mixed * np.uint64(0xC2B2AE35)) & _LOW_32
            mixed ^= mixed >> np.uint64(16)
            for permutation in range(permutations):
                value = np.uint32(
                    (np.uint64(multipliers[permutation]) * mixed + np.uint64(offsets[permutation]))
                    & _LOW_32
                )
                if value < row[permutation]:
                    row[permutation] = value
    return result


@numba.njit(nogil=True, cache=True)
def merge_into(
    keys: npt.NDArray[np.uint64],
    numbers: npt.NDArray[np.int32],
    held: int,
    later_keys: npt.NDArray[np.uint64],
    later_numbers: npt.NDArray[np.int32],
) -> None:
    """Two sorted runs of (key, number) merged in place: the run in the first `held`
    entries of `keys` and `numbers` (which have room for the later run's entries too) and
    a later sorted run, merged from the back, so no entry is overwritten before it is
    moved. The first run's entries stay before the later's under an equal key: what a
    stable sort of the two concatenated gives, in one linear pass."""
    mine = held - 1
    theirs = len(later_keys) - 1
    written = held + len(later_keys) - 1
    while theirs >= 0:
        if mine >= 0 and keys[mine] > later_keys[theirs]:
            keys[written] = keys[mine]
            numbers[written] = numbers[mine]
            mine -= 1
        else:
            keys[written] = later_keys[theirs]
            numbers[written] = later_numbers[theirs]
            theirs -= 1
        written -= 1


@numba.njit(nogil=True, cache=True)
def run_hits(
    run_keys: npt.NDArray[np.uint64],
    fence: npt.NDArray[np.uint64],
    stride: int,
    keys: npt.NDArray[np.uint64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Every (position in `keys`, position in `run_keys`) of equal keys, both sorted
    ascending, in that order; `fence` is every `stride`-th key of the run.

    Each key's block is found in the fence (small enough to stay in cache, searched
    forward from the previous key's block), then its entries within the block: a few
    cache misses a key where a binary search of the whole run (millions of keys) took one
    at nearly every step.
    """
    size = len(run_keys)
    capacity = max(16, 2 * len(keys))
    found_keys = np.empty(capacity, np.int64)
    found_entries = np.empty(capacity, np.int64)
    found = 0
    block = 0
    for position in range(len(keys)):
        key = keys[position]
        # The first fence key not below `key`: galloping forward from `block`, whose key
        # is below it (or `block` is 0), then a binary search.
        step = 1
        while block + step < len(fence) and fence[block + step] < key:
            step *= 2
        low = block + step // 2 if step > 1 else block
        high = min(block + step, len(fence))
        while low < high:
            middle = (low + high) >> 1
            if fence[middle] < key:
                low = middle + 1
            else:
                high = middle
        # The last block starting below `key` holds its first entry, or the next
        # block's first entry is it.
        block = max(low - 1, 0)
        low = block * stride
        high = min(low + stride + 1, size)
        while low < high:
            middle = (low + high) >> 1
            if run_keys[middle] < key:
                low = middle + 1
            else:
                high = middle
        entry = low
        while entry < size and run_keys[entry] == key:
            if found == capacity:
                capacity *= 2
                grown_keys = np.empty(capacity, np.int64)
                grown_entries = np.empty(capacity, np.int64)
                grown_keys[:found] = found_keys[:found]
                grown_entries[:found] = found_entries[:found]
                found_keys, found_entries = grown_keys, grown_entries
            found_keys[found] = position
            found_entries[found] = entry
            found += 1
            entry += 1
    return found_keys[:found].copy(), found_entries[:found].copy()
