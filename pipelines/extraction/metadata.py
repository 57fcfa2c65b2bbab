"""Article metadata read from a page's markup: JSON-LD, `<meta>` tags, microdata,
headings, and the dates and by-lines written beside the headline.

Pure functions over a parsed lxml tree; `page_metadata` gathers every candidate value,
and `reconcile` chooses among them.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from html import unescape
from itertools import accumulate
from typing import Any

from lxml.etree import XPath, _Element, iterwalk

from pipelines.extraction.dates import find_dates

_ARTICLE_TYPES = re.compile(
    r"^(?:\w*Article|BlogPosting|LiveBlogPosting|Report|Posting|Review|Recipe|HowTo)$"
)
_PAGE_TYPES = re.compile(r"^(?:WebPage|ItemPage|AboutPage|FAQPage|QAPage|CollectionPage)$")
_PUBLISHED_META = (
    "article:published_time",
    "og:article:published_time",
    "article:published",
    "datepublished",
    "date.published",
    "publishdate",
    "publish-date",
    "publish_date",
    "pubdate",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dcterms.created",
    "dc.date",
    "dcterms.date",
    "date",
    "og:published_time",
    "article.published",
    "cxenseparse:recs:publishtime",
)
_TITLE_META = ("title", "headline", "dc.title")
_MODIFIED_META = (
    "article:modified_time",
    "og:updated_time",
    "datemodified",
    "dcterms.modified",
    "last-modified",
    "article.updated",
)
_AUTHOR_META = (
    "author",
    "article:author",
    "parsely-author",
    "sailthru.author",
    "dc.creator",
    "byl",
    "twitter:creator",
)


# Text a reader does not see, and markup that holds no article text.
_UNSEEN_TAGS = frozenset(
    {"script", "style", "noscript", "template", "svg", "button", "select", "iframe", "head"}
)
# A label over an author's name, and one in front of it ("Written by Ann Berg").
_AUTHOR_LABEL = re.compile(
    r"^(?:written by|article by|authored by|author|about the author)\W*$",
    re.IGNORECASE,
)
_PERSON_NAME = re.compile(r"^[A-Z][\w.'’-]+(?: [A-Z][\w.'’-]+){1,3}$")
_LABELLED_NAME = re.compile(
    r"^(?i:written by|article by|authored by|author:)\s+"
    r"(?P<name>[A-Z][\w.'’-]+(?: [A-Z][\w.'’-]+){1,3})$"
)
# The label of a card field that names the author ("Written by", "Author").
_AUTHOR_CARD_LABEL = re.compile(r"^(?:written by|authors?|by)\W*$", re.IGNORECASE)
# Elements inside a heading that separate its words, and ones whose text is not the headline.
_WORD_BREAK_TAGS = frozenset(
    {"br", "p", "div", "li", "ul", "ol", "section", "header", "h2", "h3", "h4", "h5", "h6"}
)
_NOT_HEADLINE_TAGS = _UNSEEN_TAGS | frozenset({"time", "h2", "h3", "h4", "h5", "h6"})
# Where those elements break a heading's lines (a control character, and whitespace to
# `str.split`: the heading's words come out the same).
_LINE_BREAK = "\x1e"
# A paragraph of this many words is the article's prose (a teaser or caption is shorter).
_PROSE_WORDS = 25
# A page's first few `<h1>`s, and `<h2>`s before its prose, are all the headline can be.
_HEADINGS_KEPT = 5
_LEAD_HEADINGS = 5
# How far from the headline a date still belongs to it: a by-line block above or below.
_HEADLINE_TEXT_BEFORE = 300
_HEADLINE_TEXT_AFTER = 600
# A text piece longer than this many words is prose, not a by-line or date line.
_DATE_LINE_WORDS = 12
# The words in front of a shown date that say which date it is.
_LABEL_SPAN = 40
_UPDATED_LABEL = re.compile(
    r"\b(?:updated?|modified|revised|reviewed|refreshed|edited)\b[^\w]*(?:on|at)?[^\w]*$",
    re.IGNORECASE,
)
_PUBLISHED_LABEL = re.compile(
    r"\b(?:published|posted|released|written|created|first (?:published|posted))\b"
    r"[^\w]*(?:on|at)?[^\w]*$",
    re.IGNORECASE,
)

# A by-line piece: "By Ann Berg", "Written by:", "BY ANN BERG", "Author: Ann Berg",
# "Contributors: Ann Berg, Piet Jansen" (with its colon: "Contributor, The Lantern" is a
# job title).
_BYLINE = re.compile(
    r"^(?:(?:written|posted|reported|words|story|text|article)\s+)?"
    r"(?:(?:by|author)\b\s*:?|(?:authors|contributors?)\s*:)\s*(?P<names>.*)$",
    re.IGNORECASE,
)
# The words before "by" that make a by-line a reviewer's, not the author's.
_REVIEWER_LABEL = re.compile(
    r"\b(?:reviewed|checked|fact-checked|edited|verified|approved)\s*$", re.IGNORECASE
)
# Where the names of a by-line end: a separator, a date, "on", reading time.
_BYLINE_END = re.compile(
    r"\s*(?:[|•⋅·—–]|\s-\s|\bon\b|\bupdated\b|\bpublished\b|\d)", re.IGNORECASE
)

# "This article was originally published on 26 Sep 2019", "First posted March 2, 2022".
_ORIGINAL_NOTE = re.compile(r"\b(?:originally|first) (?:published|posted)\b", re.IGNORECASE)
# How far after those words the date may start ("on Wednesday, "), and how long it runs.
_ORIGINAL_NOTE_GAP = 16
_ORIGINAL_NOTE_SPAN = 60
_ESCAPED_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z]+\d*);")

# A link text of more words than this is a bio or a teaser, not a name ("Ann Berg and Piet
# Jansen" has five).
_LINK_NAME_WORDS = 6

_NAME_PARTICLES = frozenset({"van", "der", "den", "de", "da", "di", "du", "von", "la", "le", "bin"})

# The page's searches, compiled once.
# Whether the page's text holds the words an original-publication note starts with
# (one test in C, without copying the text out).
_MAY_NOTE_ORIGINAL = XPath(
    "boolean((//body)[1][contains(., 'riginally p') or contains(., 'irst p')])"
)
_ORIGINAL_NOTE_TEXTS = XPath("//body//text()[contains(., 'riginally p') or contains(., 'irst p')]")
_AUTHOR_PAGE_LINKS = XPath("//body//a[contains(@href,'/author/') or contains(@href,'/authors/')]")
# The markup authors' search tests attributes, not every element (twice as fast): the
# elements whose `itemprop` or `rel` is "author" or whose class names an author's name,
# in document order.
_MARKUP_AUTHORS = XPath(
    "//@itemprop[.='author']/.. | //@rel[.='author']/.."
    " | //@class[contains(.,'author-name') or contains(.,'byline__name')]/.."
)


@dataclass(frozen=True)
class ShownDate:
    """A calendar date written in the text near the headline, as a reader sees it.

    `label` is "updated" or "published" when the words just before it say so
    ("Last updated:", "Published on"), else "" (a bare by-line date). `in_prose` is
    True when the date stands in a sentence ("the council met on March 2, 2022"), not in
    a by-line or date line of its own.
    """

    day: datetime
    label: str
    in_prose: bool = False


@dataclass
class PageMetadata:
    """Every candidate metadata value the markup offers, by where it was found."""

    json_ld_title: str | None = None
    og_title: str | None = None
    meta_title: str | None = None
    html_title: str | None = None
    h1: list[str] = field(default_factory=list)
    # The lines of the `<h1>`s of more than one line, by their `h1` text.
    h1_lines: dict[str, list[str]] = field(default_factory=dict)
    site_name: str | None = None
    json_ld_published: str | None = None
    json_ld_modified: str | None = None
    meta_published: str | None = None
    microdata_published: str | None = None
    meta_modified: str | None = None
    time_published: str | None = None
    json_ld_authors: list[str] = field(default_factory=list)
    meta_authors: list[str] = field(default_factory=list)
    markup_authors: list[str] = field(default_factory=list)
    shown_dates: list[ShownDate] = field(default_factory=list)
    byline_authors: list[str] = field(default_factory=list)
    # The "Written by" field of the page's share card (`twitter:label1`/`twitter:data1`).
    card_authors: list[str] = field(default_factory=list)
    # The page itself, for the searches only a page without other author evidence needs.
    tree: _Element | None = field(default=None, repr=False, compare=False)
    article_body: str | None = None
    language: str | None = None
    has_article_object: bool = False
    # The date a note such as "This article was originally published on 26 Sep 2019"
    # gives, as written.
    original_published: str | None = None
    # Whether the words right before that `<time>` say it is the publish date ("Published").
    time_published_labelled: bool = False

    def linked_or_labelled_authors(self) -> list[str]:
        """The one person the page links an author page of, else the one it names under
        an author label: a search through the whole page, run only when no better
        source names anyone."""
        if self.tree is None:
            return []
        return _author_page_link(self.tree) or _labelled_author(self.tree)

    def lead_h2(self) -> list[str]:
        """The `<h2>`s before the article's first paragraph (a headline set below a banner
        `<h1>`): a search run only when the `<h1>` does not say what the title tags say."""
        return lead_subheadings(self.tree) if self.tree is not None else []


@dataclass
class _PageNodes:
    """The elements of a page that its metadata is read from, in document order."""

    metas: list[_Element] = field(default_factory=list)  # `<meta>` with a content
    json_ld: list[_Element] = field(default_factory=list)  # JSON-LD scripts
    titles: list[_Element] = field(default_factory=list)  # `<title>` in the `<head>`
    headings: list[_Element] = field(default_factory=list)  # `<h1>` in the `<body>`
    times: list[_Element] = field(default_factory=list)  # `<time datetime>` in the `<body>`
    bodies: list[_Element] = field(default_factory=list)


def _page_nodes(tree: _Element) -> _PageNodes:
    """One walk over the whole document for the five kinds of element metadata reads (a
    walk in C that stops only at those tags: cheaper than a search for each)."""
    nodes = _PageNodes()
    for node in tree.getroottree().getroot().iter("meta", "script", "title", "h1", "time", "body"):
        tag = node.tag
        if tag == "meta":
            if node.get("content") is not None:
                nodes.metas.append(node)
        elif tag == "script":
            if node.get("type") == "application/ld+json":
                nodes.json_ld.append(node)
        elif tag == "title":
            parent = node.getparent()
            if parent is not None and parent.tag == "head":
                nodes.titles.append(node)
        elif tag == "body":
            nodes.bodies.append(node)
        elif _in_body(node):
            if tag == "h1":
                nodes.headings.append(node)
            elif node.get("datetime") is not None:
                nodes.times.append(node)
    return nodes


def _in_body(node: _Element) -> bool:
    return any(ancestor.tag == "body" for ancestor in node.iterancestors())


def page_metadata(tree: _Element) -> PageMetadata:
    """Candidate title, dates, authors and site of the page `tree`."""
    found = PageMetadata()
    nodes = _page_nodes(tree)
    for item in _json_ld_items(nodes.json_ld):
        _take_json_ld(item, found)
    metas, microdata = _meta_values(nodes.metas)
    found.og_title = _first(metas, ("og:title", "twitter:title"))
    found.meta_title = _first(metas, _TITLE_META) or _first(microdata, _TITLE_META)
    found.site_name = found.site_name or _first(metas, ("og:site_name", "application-name"))
    found.meta_published = _first(metas, _PUBLISHED_META)
    found.microdata_published = _first(microdata, ("datepublished",))
    found.meta_modified = _first(metas, _MODIFIED_META) or _first(microdata, _MODIFIED_META)
    for key in _AUTHOR_META:
        for value in metas.get(key, []) + microdata.get(key, []):
            if value not in found.meta_authors:
                found.meta_authors.append(value)
    found.card_authors = _labelled_card_values(metas, _AUTHOR_CARD_LABEL)
    title_nodes = nodes.titles
    if title_nodes:
        found.html_title = _text(title_nodes[0]) or None
    headings = [node for node in nodes.headings if not _links_home(node)]
    for heading in headings:
        lines = headline_lines(heading)
        if lines:
            found.h1.append(" ".join(lines))
            if len(lines) > 1:
                found.h1_lines[found.h1[-1]] = lines
        if len(found.h1) == _HEADINGS_KEPT:
            break
    titles = [t for t in (found.json_ld_title, found.og_title, found.html_title) if t]
    body = tree.find("body")
    # When the page has one `<body>`, its `<h1>`s are the ones found already.
    headings_in_body = nodes.headings if body is not None and nodes.bodies == [body] else None
    shown_time = _visible_time(tree, nodes.times, titles, headings_in_body)
    if shown_time is not None:
        found.time_published = str(shown_time.get("datetime")).strip() or None
        found.time_published_labelled = _labelled_published(shown_time)
    surroundings = headline_surroundings(tree, titles, headings_in_body)
    found.shown_dates = shown_dates(surroundings)
    found.byline_authors = shown_bylines(surroundings)
    for node in _MARKUP_AUTHORS(tree):
        name = node.get("content") or _text(node)
        if name and len(name) < 80 and name not in found.markup_authors:
            found.markup_authors.append(name)
    found.original_published = _original_publish_note(tree)
    found.tree = tree
    language = tree.get("lang")
    found.language = language.strip() if language else None
    return found


def lead_subheadings(tree: _Element) -> list[str]:
    """The texts of the `<h2>`s that come before the page's first paragraph of prose: the
    headline where a page sets its `<h1>` as a banner or a teaser, not the sections of
    the article (those follow its first paragraph)."""
    body = tree.find("body")
    headings: list[str] = []
    for node in (body if body is not None else tree).iter("h2", "p"):
        if node.tag == "p":
            if len(node.text_content().split()) >= _PROSE_WORDS:
                break
        elif len(headings) < _LEAD_HEADINGS and (text := headline_text(node)):
            headings.append(text)
    return headings


def headline_surroundings(
    tree: _Element, titles: list[str], headings: list[_Element] | None = None
) -> list[str]:
    """The visible text pieces around the article's headline, in reading order.

    The headline is the first `<h1>` sharing a word with the page's title tags (else the
    first `<h1>`); by-lines sit just above or below it, so only text within a few
    hundred characters of it counts: comments, teasers and footers do not. One piece
    per element text or tail, so "By Ann Berg" and the paragraph after it stay apart.
    `headings` are the `<h1>`s of the page's `<body>` when the caller has found them.
    """
    body = tree.find("body")
    root = body if body is not None else tree
    heading = _headline_node(root, titles, headings)
    if heading is None:
        return []
    pieces: list[tuple[int, str]] = []
    length = 0
    heading_start = heading_end = -1

    def read(text: str | None) -> None:
        nonlocal length
        words = " ".join(text.split()) if text else ""
        if words:
            pieces.append((length, words))
            length += len(words) + 1

    walker = iterwalk(root, events=("start", "end"))
    for event, node in walker:
        if event == "start" and isinstance(node.tag, str):
            if node is heading:
                heading_start = length
            if node.tag in _UNSEEN_TAGS:
                walker.skip_subtree()
            else:
                read(node.text)
            continue
        if event == "start":
            continue  # a comment: only its tail is text
        if node is heading:
            heading_end = length
        if heading_end >= 0 and length > heading_end + _HEADLINE_TEXT_AFTER:
            break
        read(node.tail)
    if heading_start < 0:
        return []
    first = heading_start - _HEADLINE_TEXT_BEFORE
    last = max(heading_end, heading_start) + _HEADLINE_TEXT_AFTER
    return [
        text[max(0, first - offset) : last - offset]
        for offset, text in pieces
        if first < offset + len(text) and offset < last
    ]


def shown_dates(surroundings: list[str]) -> list[ShownDate]:
    """The dates written in the text around the headline, with what the words before
    them say they are."""
    window = " ".join(surroundings)
    piece_ends = list(accumulate(len(piece) + 1 for piece in surroundings))
    dates: list[ShownDate] = []
    previous_end = 0
    for day, match in find_dates(window):
        piece = surroundings[min(bisect_right(piece_ends, match.start()), len(surroundings) - 1)]
        before = window[max(previous_end, match.start() - _LABEL_SPAN) : match.start()]
        label = (
            "updated"
            if _UPDATED_LABEL.search(before)
            else "published"
            if _PUBLISHED_LABEL.search(before)
            else ""
        )
        dates.append(ShownDate(day, label, len(piece.split()) > _DATE_LINE_WORDS))
        previous_end = match.end()
    return dates


def shown_bylines(surroundings: list[str]) -> list[str]:
    """The article's by-line around the headline: "By Ann Berg", "Written by: Ann Berg |
    Mar 5". The first one: what follows is another work's ("A Far Better Thing. Author: Ann
    Berg" in a review). A reviewer's by-line ("Medically reviewed by") is none."""
    for position, piece in enumerate(surroundings):
        match = _BYLINE.match(piece)
        if match is None or (position and _REVIEWER_LABEL.search(surroundings[position - 1])):
            continue
        named = match.group("names").strip()
        if not named and position + 1 < len(surroundings):
            named = surroundings[position + 1]
        named = _BYLINE_END.split(named, maxsplit=1)[0].strip(" ,;:")
        if _reads_as_names(named):
            return [named]
    return []


def _reads_as_names(text: str) -> bool:
    """True for "Ann Berg", "Ann van der Berg, Piet Jansen": capitalised words, no sentence
    ("By clicking Continue you agree", "By the end")."""
    words = [word for word in re.split(r"[\s,&]+|\band\b", text) if word]
    return (
        1 <= len(words) <= 12
        and all(word[:1].isupper() or word.lower() in _NAME_PARTICLES for word in words)
        and not _BYLINE.match(text)
    )


def _headline_node(
    root: _Element, titles: list[str], headings: list[_Element] | None = None
) -> _Element | None:
    """The headline's `<h1>` under `root` (`headings`, when the caller has found them)."""
    if headings is None:
        headings = root.xpath(".//h1")
    title_words = {word for title in titles for word in _words(title)}
    for heading in headings:
        if _words(_text(heading)) & title_words:
            return heading
    return headings[0] if headings else None


def _words(text: str) -> set[str]:
    return {word for word in re.findall(r"\w+", text.lower()) if len(word) >= 4}


def _visible_time(
    tree: _Element,
    times: list[_Element],
    titles: list[str],
    headings: list[_Element] | None = None,
) -> _Element | None:
    """The `<time>` (with a machine-readable date) a reader sees as the article's: the first
    marked "published", else the one nearest the headline that is not marked as an
    update (a listing of other articles' times may come first in the page)."""
    for node in times:
        marks = " ".join(
            filter(
                None,
                (
                    node.get("class"),
                    node.get("itemprop"),
                    node.getparent().get("class") if node.getparent() is not None else None,
                ),
            )
        ).lower()
        if "publish" in marks or node.get("pubdate") is not None:
            return node
    unmarked = []
    for node in times:
        marks = " ".join(filter(None, (node.get("class"), node.get("itemprop")))).lower()
        if "modif" not in marks and "updat" not in marks:
            unmarked.append(node)
    if not unmarked:
        return None
    nearest = _nearest_to_headline(tree, titles, unmarked, headings) if len(unmarked) > 1 else None
    return nearest if nearest is not None else unmarked[0]


def _labelled_published(node: _Element) -> bool:
    """True when the words a reader sees right before `node` call it the publish date."""
    previous = node.getprevious()
    holder = previous if previous is not None else node.getparent()
    if holder is None:
        return False
    before = holder.tail if previous is not None else holder.text
    return bool(before and _PUBLISHED_LABEL.search(before[-_LABEL_SPAN:]))


def _nearest_to_headline(
    tree: _Element,
    titles: list[str],
    candidates: list[_Element],
    headings: list[_Element] | None = None,
) -> _Element | None:
    """The one of `candidates` fewest elements away from the headline, in reading order."""
    body = tree.find("body")
    root = body if body is not None else tree
    heading = _headline_node(root, titles, headings)
    if heading is None:
        return None
    wanted = set(candidates)
    heading_at = 0
    found: list[tuple[int, _Element]] = []
    for position, node in enumerate(root.iter()):
        if node is heading:
            heading_at = position
        elif node in wanted:
            found.append((position, node))
    return min(found, key=lambda pair: abs(pair[0] - heading_at))[1] if found else None


def _original_publish_note(tree: _Element) -> str | None:
    """The date right after "originally published" or "first posted" in the page's text
    (the note a regularly updated or republished article keeps), as written."""
    # One pass over the page's text first: the note is rare, and finding its text nodes
    # costs more.
    if not _MAY_NOTE_ORIGINAL(tree):
        return None
    for text in _ORIGINAL_NOTE_TEXTS(tree):
        parent = text.getparent()
        if parent is None or parent.tag in _UNSEEN_TAGS:
            continue
        # Pieces joined with spaces: "November 9, 2022</span><span>11:01" are two words.
        words = " ".join(" ".join(parent.itertext()).split())
        for note in _ORIGINAL_NOTE.finditer(words):
            after = words[note.end() : note.end() + _ORIGINAL_NOTE_SPAN]
            dated = find_dates(after)
            if dated and dated[0][1].start() <= _ORIGINAL_NOTE_GAP:
                return dated[0][1].group()
    return None


def _json_ld_items(scripts: list[_Element]) -> Iterator[dict[str, Any]]:
    for script in scripts:
        raw = (script.text or "").strip()
        if not raw:
            continue
        try:
            data = json.loads(raw, strict=False)
        except ValueError:
            continue
        yield from _walk(data)


def _walk(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for element in data:
            yield from _walk(element)
    elif isinstance(data, dict):
        yield data
        for key in ("@graph", "mainEntity", "mainEntityOfPage"):
            if isinstance(data.get(key), list | dict):
                yield from _walk(data[key])


def _types(item: dict[str, Any]) -> list[str]:
    kind = item.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return [str(value) for value in kinds if value]


def _take_json_ld(item: dict[str, Any], found: PageMetadata) -> None:
    types = _types(item)
    if any(kind in {"WebSite", "Organization", "NewsMediaOrganization"} for kind in types):
        if found.site_name is None and isinstance(item.get("name"), str):
            found.site_name = item["name"].strip() or None
        return
    is_article = any(_ARTICLE_TYPES.match(kind) for kind in types)
    if found.has_article_object or not (is_article or any(_PAGE_TYPES.match(k) for k in types)):
        return
    # The first article object overrides what page objects said; pages only fill gaps.
    overwrite = is_article
    headline = item.get("headline") or (item.get("name") if is_article else None)
    if isinstance(headline, str) and headline.strip() and (overwrite or not found.json_ld_title):
        found.json_ld_title = " ".join(unescape(headline).split())
    for key, attribute in (
        ("datePublished", "json_ld_published"),
        ("dateModified", "json_ld_modified"),
    ):
        value = item.get(key)
        if (
            isinstance(value, str)
            and value.strip()
            and (overwrite or not getattr(found, attribute))
        ):
            setattr(found, attribute, value.strip())
    if not is_article:
        return
    found.has_article_object = True
    found.json_ld_authors = list(_person_names(item.get("author")))
    body = item.get("articleBody")
    if isinstance(body, str) and body.strip():
        found.article_body = body
    publisher = item.get("publisher")
    if isinstance(publisher, dict) and isinstance(publisher.get("name"), str):
        found.site_name = found.site_name or publisher["name"].strip() or None


def _person_names(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        # CMSs write JSON-LD strings HTML-escaped ("Ann &amp; Piet").
        name = " ".join(unescape(value).split())
        if name and not name.startswith("http"):
            yield name
    elif isinstance(value, list):
        for element in value:
            yield from _person_names(element)
    elif isinstance(value, dict):
        name = value.get("name")
        if isinstance(name, str | list):
            yield from _person_names(name)


def _meta_values(metas: list[_Element]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """`<meta>` contents by name (the tag's `property`, else its `name`), and by microdata
    `itemprop`: one pass over the page's meta tags for both."""
    named: dict[str, list[str]] = {}
    microdata: dict[str, list[str]] = {}
    for meta in metas:
        content = " ".join(unescape(meta.get("content") or "").split())
        if not content:
            continue
        key = (meta.get("property") or meta.get("name") or "").strip().lower()
        if key:
            named.setdefault(key, []).append(content)
        key = (meta.get("itemprop") or "").strip().lower()
        if key:
            microdata.setdefault(key, []).append(content)
    return named, microdata


def _labelled_author(tree: _Element) -> list[str]:
    """The person a page names under an author label anywhere in its body ("Written by
    Ann Berg", or a "Written by"/"Author" heading over the name), when it names one."""
    names: list[str] = []
    pending_label = False
    for node in tree.iterfind(".//body//*"):
        if not isinstance(node.tag, str) or node.tag in _UNSEEN_TAGS:
            continue
        text = " ".join((node.text or "").split())
        if not text:
            continue
        if pending_label and _PERSON_NAME.match(text):
            names.append(text)
        pending_label = bool(_AUTHOR_LABEL.match(text))
        labelled = _LABELLED_NAME.match(text)
        if labelled:
            names.append(labelled.group("name"))
    distinct = list(dict.fromkeys(names))
    return distinct if len(distinct) == 1 else []


def _author_page_link(tree: _Element) -> list[str]:
    """The one person the page links to an author page of (`/author/ann-berg`), when all
    its links to author pages name the same person: a list of related posts by several
    authors names nobody. A link whose text is no name (the author's bio, "More posts",
    an avatar) does not count."""
    names = {_text(link) for link in _AUTHOR_PAGE_LINKS(tree)}
    names = {name for name in names if 0 < len(name.split()) <= _LINK_NAME_WORDS}
    return list(names) if len(names) == 1 else []


def _labelled_card_values(metas: dict[str, list[str]], label: re.Pattern[str]) -> list[str]:
    """Values of the page's labelled card fields (`twitter:label1` "Written by" with
    `twitter:data1`, as SEO plugins write them) whose label matches `label`."""
    values = []
    for number in range(1, 10):
        labels = metas.get(f"twitter:label{number}")
        data = metas.get(f"twitter:data{number}")
        if not labels or not data:
            break
        if label.match(labels[0]):
            values.append(data[0])
    return values


def _first(values: dict[str, list[str]], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        if values.get(key):
            return values[key][0]
    return None


def _text(node: _Element) -> str:
    return " ".join(node.text_content().split())


def headline_text(node: _Element) -> str:
    """The words of a heading as a reader takes them in: a line break or a block inside
    it separates words ("WEEKEND<br>CODING" is two words), and what a heading holds but
    does not say (a `<time>` stamp, a nested heading with the by-line, scripts) is left
    out."""
    return " ".join(_heading_words(node).split())


def headline_lines(node: _Element) -> list[str]:
    """The lines of a heading, where a line break or a block inside it separates them (a
    kicker over the headline: "<div>Night Watch</div>Trams return")."""
    lines = (" ".join(line.split()) for line in _heading_words(node).split(_LINE_BREAK))
    return [line for line in lines if line]


def _heading_words(node: _Element) -> str:
    """The text of a heading as `headline_text` reads it, `_LINE_BREAK` where a line
    break or a block inside it separates words."""
    parts: list[str] = []

    def read(element: _Element) -> None:
        parts.append(element.text or "")
        for child in element:
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag not in _NOT_HEADLINE_TAGS:
                if tag in _WORD_BREAK_TAGS:
                    parts.append(_LINE_BREAK)
                read(child)
                if tag in _WORD_BREAK_TAGS:
                    parts.append(_LINE_BREAK)
            parts.append(child.tail or "")

    read(node)
    # An entity escaped twice by the CMS reads as its code ("SQL &#x26; AI").
    return _ESCAPED_ENTITY.sub(lambda found: unescape(found.group()), "".join(parts))


def _links_home(heading: _Element) -> bool:
    """True for a heading that is only a link to the site's front page: the site's logo
    set as `<h1>`, not an article's headline."""
    links = heading.xpath(".//a[@href]")
    if len(links) != 1 or _text(links[0]) != _text(heading):
        return False
    href = links[0].get("href", "")
    return re.sub(r"^(?:https?:)?//[^/]+", "", href.strip()) in ("", "/")
