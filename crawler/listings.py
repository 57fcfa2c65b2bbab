"""Parsing the listings that point at articles: feeds and sitemaps.

Pure functions, no Scrapy import. Feeds: RSS 0.9x, 1.0 (RDF) and 2.0, Atom, JSON Feed.
Sitemaps: `urlset` (with `lastmod` and Google News `news:*` fields) and `sitemapindex`.
XML goes through a hardened lxml parser: no entity expansion (billion laughs), no DTD
or network access (XXE), no huge trees; a broken document yields what could be read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import urljoin

from lxml import etree

ListingSource = Literal["feed", "sitemap"]


class ListingError(ValueError):
    """The document is not a feed or sitemap newsfold can read."""


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
class SitemapDocument:
    """A parsed sitemap: child sitemaps (index) or articles (urlset)."""

    kind: Literal["urlset", "sitemapindex"]
    sitemaps: tuple[str, ...] = ()
    articles: tuple[ListedArticle, ...] = field(default=())


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
    """An aware UTC datetime from RFC 822 (RSS) or ISO 8601 (Atom, sitemaps) text."""
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
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_feed(body: bytes, base_url: str) -> list[ListedArticle]:
    """The articles an RSS, Atom or JSON feed lists, in document order.

    Raises:
        ListingError: the body is neither a JSON Feed nor XML with items or entries.
    """
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        return _parse_json_feed(head, base_url)
    root = _xml_root(body)
    if _local(root.tag) not in {"rss", "RDF", "feed", "channel"}:
        raise ListingError(f"not a feed: root element <{_local(root.tag)}>")
    articles = []
    for element in root.iter():
        if not isinstance(element.tag, str) or _local(element.tag) not in {"item", "entry"}:
            continue
        article = _xml_feed_entry(element, base_url)
        if article is not None:
            articles.append(article)
    return articles


def parse_sitemap(body: bytes, base_url: str) -> SitemapDocument:
    """The child sitemaps or articles of a sitemap document (already gunzipped).

    Raises:
        ListingError: the body is not a `urlset` or `sitemapindex`.
    """
    root = _xml_root(body)
    kind = _local(root.tag)
    if kind == "sitemapindex":
        locations = (_child_text(entry, "loc") for entry in _children(root, "sitemap"))
        return SitemapDocument(
            "sitemapindex", sitemaps=tuple(urljoin(base_url, loc) for loc in locations if loc)
        )
    if kind != "urlset":
        raise ListingError(f"not a sitemap: root element <{kind}>")
    articles = []
    for entry in _children(root, "url"):
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
    return SitemapDocument("urlset", articles=tuple(articles))


def _xml_root(body: bytes) -> etree._Element:
    if not body.strip():
        raise ListingError("empty document")
    try:
        root = etree.fromstring(body, parser=hardened_xml_parser())
    except etree.XMLSyntaxError as error:
        raise ListingError(f"unreadable XML: {error}") from error
    if root is None:
        raise ListingError("unreadable XML: no root element")
    return root


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
