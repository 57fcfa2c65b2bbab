"""The article body from trafilatura's structured output, by structure then by text.

trafilatura finds the main content; this module keeps its paragraph, heading, list and
table structure so that structural rules can drop what plain text cannot tell apart:
the headline repeated as the first heading, and the sections that follow an article
("Related", "More from", "About the author", "Comments").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree
from lxml.etree import _Element

from pipelines.extraction.boilerplate import closing_heading

_BLOCK_TAGS = frozenset({"p", "head", "item", "cell", "quote", "code"})
# Tags that end a run of words inside a block: line breaks and nested blocks.
_WORD_SEPARATING_TAGS = _BLOCK_TAGS | frozenset({"lb", "list", "row", "table"})
_WORD = re.compile(r"\w+")
# Every text node under an element, as plain strings (a C-level walk, unlike itertext).
_TEXT_NODES = etree.XPath(".//text()", smart_strings=False)
_JSON_LD_MIN_WORDS = 80
_JSON_LD_MIN_COVERAGE = 0.6
_SUPERSET_MIN_COVERAGE = 0.7
_SECTION_HEADING_MAX_WORDS = 8
_END_SECTION = re.compile(
    r"^(?:related(?: posts| articles| stories| reading| content| coverage)?|"
    r"more (?:from|on|stories|articles|news|like this)\b.*|you (?:may|might) also (?:like|enjoy)|"
    r"recommended(?: for you| reading| articles| stories)?|read (?:next|more|also)|also read|"
    r"most (?:read|popular|viewed)|trending(?: now| stories)?|about the authors?|"
    r"leave a (?:reply|comment)|(?:\d+ )?comments?|share this(?: article| post| story)?|"
    r"popular posts|latest (?:news|posts|articles|stories)|further reading|keep reading|up next|"
    r"don.t miss|explore more|recent posts)\W*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Block:
    """One paragraph-level piece of the body: its kind (`p`, `head`, `item`, ...) and text."""

    kind: str
    text: str
    level: str = ""


def blocks_of(body: _Element | None) -> list[Block]:
    """The outermost paragraph-level blocks of trafilatura's body tree (`Document.body`,
    the tree its XML output is written from), in document order."""
    if body is None:
        return []
    blocks = []
    for element in body.iter(*_BLOCK_TAGS):
        if any(ancestor.tag in _BLOCK_TAGS for ancestor in element.iterancestors()):
            continue
        text = _block_text(element)
        if text:
            blocks.append(Block(str(element.tag), text, element.get("rend", "")))
    return blocks


def _block_text(element: _Element) -> str:
    """The words of one block as trafilatura would print them: spaced (a line break or
    a nested block separates words: "Click Here<lb/>Pages 1-76" is not "HerePages"),
    without invisible characters (zero-width spaces, soft hyphens), in NFC."""
    parts: list[str] = []
    _read_block(element, parts, laid_out=True)
    text = "".join(parts)
    spaced = " ".join(text.split())
    # Line breaks and tabs are not printable, so most blocks fail the test before their
    # spacing is normalised; after it, only invisible characters fail it, and only then
    # is the text read character by character.
    if not spaced.isprintable():
        text = "".join(
            character for character in text if character.isprintable() or character.isspace()
        )
        spaced = " ".join(text.split())
    return unicodedata.normalize("NFC", spaced)


def _read_block(element: _Element, parts: list[str], laid_out: bool) -> None:
    """Append `element`'s text to `parts`. Elements that hold only other elements (no
    words of their own around them) are laid out one per line when trafilatura prints
    its output, so their children are words apart ("<hi>Resolution</hi><hi>2K</hi>");
    inside running text nothing is laid out."""
    children = list(element)
    laid_out = (
        laid_out
        and not _has_words(element.text)
        and not any(_has_words(child.tail) for child in children)
    )
    parts.append(element.text or "")
    for child in children:
        if isinstance(child.tag, str):  # a comment's text is not the page's
            separated = laid_out or child.tag in _WORD_SEPARATING_TAGS
            parts.append(" " if separated else "")
            _read_block(child, parts, laid_out)
            parts.append(" " if separated else "")
        parts.append(child.tail or "")


def _has_words(text: str | None) -> bool:
    return bool(text and not text.isspace())


def drop_headline(blocks: list[Block], headlines: Sequence[str | None]) -> list[Block]:
    """`blocks` without a leading heading that repeats the headline (it is metadata, not
    body). `headlines` are its spellings: the chosen title, and the page's `<h1>` where the
    title was taken from the title tags instead ("Tram line approved" for "TRAM LINE
    APPROVED AFTER NIGHT DEBATE" in capitals)."""
    keys = {_words(headline) for headline in headlines if headline}
    keys.discard("")
    if not keys:
        return blocks
    kept = list(blocks)
    for position, block in enumerate(kept[:3]):
        if block.kind == "head" and _words(block.text) in keys:
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


def cut_trailing_sections(blocks: list[Block]) -> list[Block]:
    """`blocks` up to the first end-of-article section heading ("Related", "More from",
    "About the author", "Comments") standing after at least half of the body's words."""
    start = closing_heading(
        [block.text for block in blocks], _END_SECTION, _SECTION_HEADING_MAX_WORDS, 0.5
    )
    return blocks if start is None else blocks[:start]


def more_complete(primary: list[Block], alternative: list[Block]) -> list[Block]:
    """`alternative` when it is longer than `primary` and holds most of it, else `primary`.

    trafilatura's modes disagree about where long articles end; the longer output
    wins only when it is a near-superset, so a wrong region never replaces a right one.
    """
    primary_words = sum(len(block.text.split()) for block in primary)
    alternative_words = sum(len(block.text.split()) for block in alternative)
    if alternative_words <= primary_words:
        return primary
    held = _shingles(" ".join(block.text for block in primary))
    if not held:
        return alternative
    covered = held & _shingles(" ".join(block.text for block in alternative))
    return alternative if len(covered) / len(held) >= _SUPERSET_MIN_COVERAGE else primary


def page_words(tree: _Element) -> int:
    """Words of the text a reader sees on the page `tree` (scripts and styles left out)."""
    body = tree.find("body")
    if body is None:
        return 0
    words = len(" ".join(_TEXT_NODES(body)).split())
    return words - sum(len((code.text or "").split()) for code in body.iter("script", "style"))


def covers_little(blocks: list[Block], tree: _Element, share: float) -> bool:
    """True when `blocks` hold less than `share` of the page's words: the extraction
    probably kept one part of a longer article (a teaser, a first section)."""
    extracted = sum(len(block.text.split()) for block in blocks)
    return extracted < share * page_words(tree)


def _shingles(text: str) -> set[tuple[str, ...]]:
    tokens = _WORD.findall(text.lower())
    return {tuple(tokens[i : i + 4]) for i in range(len(tokens) - 3)}


def _words(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))
