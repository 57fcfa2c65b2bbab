"""Text features for grouping: words, shingles, content terms and their hashes."""

from __future__ import annotations

import re
import struct
from collections import Counter
from hashlib import blake2b

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
        token for token in tokens if len(token) > 2 and token not in STOP_WORDS and not token.isdigit()
    )


def hash64(value: str) -> int:
    """A stable 64-bit hash of `value` (unlike `hash()`, equal across processes and runs)."""
    digest = blake2b(value.encode("utf-8"), digest_size=8).digest()
    return int(struct.unpack("<Q", digest)[0])
