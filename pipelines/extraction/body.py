"""The article body from trafilatura's structured (XML) output, by structure then by text.

trafilatura finds the main content; this module keeps its paragraph, heading, list and
table structure so that structural rules can drop what plain text cannot tell apart:
the headline repeated as the first heading, and navigation-like runs of list items.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

_BLOCK_TAGS = frozenset({"p", "head", "item", "cell", "quote", "code"})
_WORD = re.compile(r"\w+")
_JSON_LD_MIN_WORDS = 80
_JSON_LD_MIN_COVERAGE = 0.6


@dataclass(frozen=True)
class Block:
    """One paragraph-level piece of the body: its kind (`p`, `head`, `item`, ...) and text."""

    kind: str
    text: str
    level: str = ""


def blocks_from_xml(xml: str | None) -> list[Block]:
    """The outermost paragraph-level blocks of trafilatura XML output, in document order."""
    if not xml:
        return []
    try:
        root = etree.fromstring(xml.encode("utf-8"))
    except etree.XMLSyntaxError:
        return []
    blocks = []
    for element in root.iter(*_BLOCK_TAGS):
        if any(ancestor.tag in _BLOCK_TAGS for ancestor in element.iterancestors()):
            continue
        text = " ".join("".join(element.itertext()).split())
        if text:
            blocks.append(Block(str(element.tag), text, element.get("rend", "")))
    return blocks


def drop_headline(blocks: list[Block], title: str | None) -> list[Block]:
    """`blocks` without leading headings that repeat the headline (it is metadata, not body)."""
    if not title:
        return blocks
    title_key = _words(title)
    kept = list(blocks)
    for position, block in enumerate(kept[:3]):
        if block.kind == "head" and _words(block.text) == title_key:
            return kept[:position] + kept[position + 1 :]
    return kept


def prefer_json_ld_body(blocks: list[Block], article_body: str | None) -> list[Block]:
    """The page's JSON-LD `articleBody` as blocks when the extracted blocks miss most of it.

    A publisher's own `articleBody` is the article, but often truncated or flattened;
    it replaces the extraction only when that extraction shares under
    `_JSON_LD_MIN_COVERAGE` of its 4-word shingles (trafilatura picked the wrong region).
    """
    if not article_body or len(article_body.split()) < _JSON_LD_MIN_WORDS:
        return blocks
    declared = _shingles(article_body)
    extracted = _shingles(" ".join(block.text for block in blocks))
    if declared and len(declared & extracted) / len(declared) >= _JSON_LD_MIN_COVERAGE:
        return blocks
    paragraphs = (" ".join(part.split()) for part in re.split(r"\n\s*|\r", article_body))
    return [Block("p", paragraph) for paragraph in paragraphs if paragraph]


def _shingles(text: str) -> set[tuple[str, ...]]:
    tokens = _WORD.findall(text.lower())
    return {tuple(tokens[i : i + 4]) for i in range(len(tokens) - 3)}


def _words(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))
