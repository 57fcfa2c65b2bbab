"""Parsing the listings that point at articles: feeds and sitemaps.

Pure functions, no Scrapy import. Feeds: RSS 0.9x, 1.0 (RDF) and 2.0, Atom, JSON Feed.
Sitemaps: `urlset` (with `lastmod` and Google News `news:*` fields) and `sitemapindex`.
XML goes through a hardened lxml parser: no entity expansion, no DTD or network access,
no huge trees. A document that declares entities (billion laughs, XXE, quadratic blowup)
is refused whole, unless each stands for one character (`<!ENTITY nbsp "&#160;">`);
a malformed one yields what could be read, and one cut off short yields the entries that
were complete before the cut (the one open at the cut, or the last, is left out) and says
so in `truncated`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import urljoin

from lxml import etree

ListingSource = Literal["feed", "sitemap"]
# Rejects-table reasons of a refused listing.
ListingRefusal = Literal["xml_entities", "unreadable_listing"]

# libxml2's error for an entity expanding past its amplification limit (billion laughs).
_XML_ERR_RESOURCE_LIMIT = 114
# How much of a document's end is searched for the root's end tag.
_TAIL_BYTES = 4096


class ListingError(ValueError):
    """The document is not a feed or sitemap newsfold can read, or one it refuses.

    `reason` is the rejects-table reason: `xml_entities` for a document declaring
    entities (an expansion bomb or an external entity), else `unreadable_listing`.
    """

    def __init__(self, message: str, reason: ListingRefusal = "unreadable_listing") -> None:
        super().__init__(message)
        self.reason: ListingRefusal = reason


@dataclass(frozen=True)
class ListedArticle:
    """One article a feed or sitemap points at, with what the listing says about it."""

    url: str
    source: ListingSource
    title: str | None = None
    published_at: datetime | None = None
    updated_at: datetime | None = None
    authors: tuple[str, ...] = ()
    language: str | None = None

    @property
    def changed_at(self) -> datetime | None:
        """When the listing says the article last changed (updated, else published)."""
        return self.updated_at or self.published_at

    def hints(self) -> dict[str, Any]:
        """Fallback metadata for extraction, each value with its provenance."""
        hints: dict[str, Any] = {}
        if self.title:
            hints["title"] = self.title
            hints["title_source"] = self.source
        if self.published_at:
            hints["published_at"] = self.published_at
            hints["date_source"] = self.source
        if self.updated_at:
            hints["modified_at"] = self.updated_at
        if self.authors:
            hints["authors"] = list(self.authors)
            hints["authors_source"] = self.source
        if self.language:
            hints["language"] = self.language
        return hints


@dataclass(frozen=True)
class FeedDocument:
    """A parsed feed: its articles, and how it was cut off when it was (else None)."""

    articles: tuple[ListedArticle, ...] = ()
    truncated: str | None = None


@dataclass(frozen=True)
class SitemapDocument:
    """A parsed sitemap: child sitemaps (index) or articles (urlset); `truncated` as in feeds."""

    kind: Literal["urlset", "sitemapindex"]
    sitemaps: tuple[str, ...] = ()
    articles: tuple[ListedArticle, ...] = field(default=())
    truncated: str | None = None


def hardened_xml_parser() -> etree.XMLParser:
    """An lxml parser that expands no entities, loads no DTD and never touches the network."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        recover=True,
        remove_comments=True,
        remove_pis=True,
    )


def parse_date(value: str | None) -> datetime | None:
    """An aware datetime from RFC 822 (RSS) or ISO 8601 (Atom, sitemaps) text.

    It keeps the offset the text states (UTC when it states none), so the calendar day
    the listing gives survives: 23:30 in New York stays that day, not the next day in UTC.
    """
    if not value or not value.strip():
        return None
    text = value.strip()
    parsed: datetime | None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed is None:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def parse_feed(body: bytes, base_url: str) -> FeedDocument:
    """The articles an RSS, Atom or JSON feed lists, in document order.

    Raises:
        ListingError: the body is neither a JSON Feed nor XML with items or entries, or
            it declares entities.
    """
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        return FeedDocument(tuple(_parse_json_feed(head, base_url)))
    root, truncated = _xml_root(body)
    if _local(root.tag) not in {"rss", "RDF", "feed", "channel"}:
        raise ListingError(f"not a feed: root element <{_local(root.tag)}>")
    entries = [
        element
        for element in root.iter()
        if isinstance(element.tag, str) and _local(element.tag) in {"item", "entry"}
    ]
    articles = (_xml_feed_entry(entry, base_url) for entry in _complete(entries, truncated))
    return FeedDocument(tuple(a for a in articles if a is not None), truncated)


def parse_sitemap(body: bytes, base_url: str) -> SitemapDocument:
    """The child sitemaps or articles of a sitemap document (already gunzipped).

    Raises:
        ListingError: the body is not a `urlset` or `sitemapindex`, or it declares entities.
    """
    root, truncated = _xml_root(body)
    kind = _local(root.tag)
    if kind == "sitemapindex":
        children = _complete(list(_children(root, "sitemap")), truncated)
        locations = (_child_text(entry, "loc") for entry in children)
        return SitemapDocument(
            "sitemapindex",
            sitemaps=tuple(urljoin(base_url, loc) for loc in locations if loc),
            truncated=truncated,
        )
    if kind != "urlset":
        raise ListingError(f"not a sitemap: root element <{kind}>")
    articles = []
    for entry in _complete(list(_children(root, "url")), truncated):
        loc = _child_text(entry, "loc")
        if not loc:
            continue
        news = next(_children(entry, "news"), None)
        publication = next(_children(news, "publication"), None) if news is not None else None
        articles.append(
            ListedArticle(
                url=urljoin(base_url, loc),
                source="sitemap",
                title=_child_text(news, "title") if news is not None else None,
                published_at=parse_date(_child_text(news, "publication_date"))
                if news is not None
                else None,
                updated_at=parse_date(_child_text(entry, "lastmod")),
                language=_child_text(publication, "language") if publication is not None else None,
            )
        )
    return SitemapDocument("urlset", articles=tuple(articles), truncated=truncated)


def _xml_root(body: bytes) -> tuple[etree._Element, str | None]:
    """The root element, and a description of the cut when the document is cut off.

    Raises:
        ListingError: the body is empty or no XML, or it declares entities.
    """
    if not body.strip():
        raise ListingError("empty document")
    parser = hardened_xml_parser()
    try:
        root = etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError as error:
        raise ListingError(f"unreadable XML: {error}") from error
    if any(error.type == _XML_ERR_RESOURCE_LIMIT for error in parser.error_log):
        raise ListingError("entity expansion past the parser's limit", "xml_entities")
    if root is None:
        raise ListingError("unreadable XML: no root element")
    dtd = root.getroottree().docinfo.internalDTD
    hostile = [
        str(entity.name)
        for entity in (dtd.iterentities() if dtd is not None else ())
        if not _is_character_entity(entity)
    ]
    if hostile:
        raise ListingError(f"the DTD declares entities ({', '.join(hostile[:5])})", "xml_entities")
    return root, _truncation(body, root, parser)


def _is_character_entity(entity: etree._DTDEntityDecl) -> bool:
    """An internal entity standing for one character (`<!ENTITY nbsp "&#160;">`): harmless.

    Anything else (external entities, entities made of other entities or of markup, long
    texts to repeat) is how XXE, billion-laughs and quadratic-blowup documents are built.
    """
    return entity.system_url is None and len(entity.content or "") == 1


def _truncation(body: bytes, root: etree._Element, parser: etree.XMLParser) -> str | None:
    """How the document is cut off (it does not end with its root's end tag), else None."""
    encoding = (root.getroottree().docinfo.encoding or "utf-8").lower()
    if encoding.startswith(("utf-16", "utf-32", "ucs")):
        return None  # not searched byte-wise; such listings are read as they parse
    # The root's end tag near the end (junk after it is harmless: the parser stops there).
    end_tag = re.compile(rb"</\s*(?:[\w.-]+:)?" + re.escape(_local(root.tag).encode()) + rb"\s*>")
    if end_tag.search(body, max(0, len(body) - _TAIL_BYTES)):
        return None
    errors = [error.message.strip() for error in parser.error_log]
    return f"no end tag of <{_local(root.tag)}>" + (f" ({errors[-1]})" if errors else "")


def _complete(entries: list[etree._Element], truncated: str | None) -> list[etree._Element]:
    """The entries known to be whole: all, or all but the last when the document is cut off."""
    return entries[:-1] if truncated else entries


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _children(parent: etree._Element, name: str) -> Iterator[etree._Element]:
    return (child for child in parent if _local(child.tag) == name)


def _child_text(parent: etree._Element, *names: str) -> str | None:
    for name in names:
        for child in _children(parent, name):
            text = "".join(child.itertext()).strip()
            if text:
                return text
    return None


def _xml_feed_entry(entry: etree._Element, base_url: str) -> ListedArticle | None:
    url = _entry_link(entry)
    if not url:
        return None
    authors: list[str] = []
    for child in entry:
        name = _local(child.tag)
        if name == "author":
            # Atom nests <name>; RSS 2.0 holds "email (Name)" or a plain name.
            author = _child_text(child, "name") or "".join(child.itertext()).strip()
            if author.endswith(")") and "(" in author:
                author = author[author.rfind("(") + 1 : -1].strip()
            if author:
                authors.append(author)
        elif name == "creator":
            text = "".join(child.itertext()).strip()
            if text:
                authors.append(text)
    return ListedArticle(
        url=urljoin(base_url, url),
        source="feed",
        title=_child_text(entry, "title"),
        published_at=parse_date(
            _child_text(entry, "published", "pubDate", "issued", "date", "created")
        ),
        updated_at=parse_date(_child_text(entry, "updated", "modified")),
        authors=tuple(dict.fromkeys(authors)),
    )


def _entry_link(entry: etree._Element) -> str | None:
    """The article URL: Atom's alternate link, RSS's <link>, else a permalink <guid>."""
    for link in _children(entry, "link"):
        href = link.get("href")
        if href is not None:
            if link.get("rel", "alternate") == "alternate":
                return str(href).strip()
        elif link.text and link.text.strip():
            return str(link.text).strip()
    for guid in _children(entry, "guid"):
        if guid.get("isPermaLink", "true").lower() != "false" and guid.text:
            text = str(guid.text).strip()
            if text.startswith(("http://", "https://")):
                return text
    for identifier in _children(entry, "id"):
        if identifier.text and identifier.text.strip().startswith(("http://", "https://")):
            return str(identifier.text).strip()
    return None


def _parse_json_feed(body: bytes, base_url: str) -> list[ListedArticle]:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise ListingError(f"unreadable JSON feed: {error}") from error
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        raise ListingError("not a JSON Feed: no items list")
    articles = []
    for item in document["items"]:
        if not isinstance(item, dict):
            continue
        url = item.get("url") or item.get("external_url")
        if not isinstance(url, str) or not url.strip():
            continue
        raw_authors = item.get("authors") or (
            [item["author"]] if isinstance(item.get("author"), dict) else []
        )
        authors = tuple(
            author["name"].strip()
            for author in raw_authors
            if isinstance(author, dict)
            and isinstance(author.get("name"), str)
            and author["name"].strip()
        )
        title = item.get("title")
        articles.append(
            ListedArticle(
                url=urljoin(base_url, url.strip()),
                source="feed",
                title=title.strip() if isinstance(title, str) and title.strip() else None,
                published_at=parse_date(_string(item.get("date_published"))),
                updated_at=parse_date(_string(item.get("date_modified"))),
                authors=authors,
                language=_string(item.get("language")) or _string(document.get("language")),
            )
        )
    return articles


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None
