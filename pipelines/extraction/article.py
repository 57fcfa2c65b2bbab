"""From raw document bytes to one clean article with metadata.

HTML goes through trafilatura, plain text through paragraph splitting; both then pass
the same news boilerplate cleaning (`boilerplate.clean_paragraphs`).
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

import trafilatura
from htmldate import find_date
from lxml.etree import _Element
from lxml.html import HtmlElement
from trafilatura.metadata import (
    META_URL,
    Document,
    examine_meta,
    extract_author,
    extract_meta_json,
    extract_sitename,
    extract_title,
    extract_url,
)
from trafilatura.settings import Extractor, set_date_params

from crawler.items import ExtractedArticle
from pipelines.extraction.body import (
    blocks_of,
    covers_little,
    cut_trailing_sections,
    drop_headline,
    more_complete,
    prefer_json_ld_body,
)
from pipelines.extraction.boilerplate import CleanedText, clean_paragraphs, split_paragraphs
from pipelines.extraction.decoding import (
    UndecodableContent,
    decode_text,
    looks_binary,
    repair_mojibake,
)
from pipelines.extraction.document import (
    ExtractionMode,
    ExtractionOptions,
    ExtractionRejected,
    RawDocument,
)
from pipelines.extraction.language import LanguageDetector
from pipelines.extraction.metadata import PageMetadata, page_metadata
from pipelines.extraction.parsing import parse_html
from pipelines.extraction.reconcile import (
    choose_authors,
    choose_modified,
    choose_published,
    choose_title,
)

logger = logging.getLogger(__name__)

_WORD = re.compile(r"\w+")
# Titles of pages that are not articles: errors, login and subscription walls.
_NOT_AN_ARTICLE = re.compile(
    r"\b(?:404|403|page not found|not found|access denied|forbidden|sign in|log ?in|"
    r"subscribe to (?:read|continue)|error|could ?n[o']t find|does ?n[o']t exist|"
    r"no longer available)\b",
    re.IGNORECASE,
)
_ERROR_PAGE_MAX_WORDS = 150
# The month and day htmldate gives a year it found alone ("2025" is "2025-01-01").
_NEW_YEARS_DAY = "-01-01"


def extract_article(
    document: RawDocument, options: ExtractionOptions, languages: LanguageDetector
) -> ExtractedArticle:
    """The clean article in `document`.

    Raises:
        ExtractionRejected: empty, binary, undecodable, or no article body.
    """
    if not document.body.strip():
        raise ExtractionRejected("empty", "no bytes")
    utf16 = (document.declared_charset or "").lower().startswith(("utf-16", "utf-32"))
    if not utf16 and looks_binary(document.body):
        raise ExtractionRejected("binary", f"content is not text ({document.content_type})")
    is_html = _is_html(document)
    try:
        decoded = decode_text(document.body, document.declared_charset, is_html=is_html)
    except UndecodableContent as error:
        raise ExtractionRejected("undecodable", str(error)) from error
    text = decoded.text.replace("\x00", "")
    if is_html:
        return _from_html(text, document.url, options, languages)
    return _from_plain_text(text, document.url, options, languages)


def _is_html(document: RawDocument) -> bool:
    if document.content_type and "html" in document.content_type:
        return True
    if document.content_type and document.content_type.startswith("text/plain"):
        return False
    head = document.body[:2048].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<body" in head


def _from_plain_text(
    text: str, url: str, options: ExtractionOptions, languages: LanguageDetector
) -> ExtractedArticle:
    cleaned = clean_paragraphs(split_paragraphs(text), find_title=True)
    return _finish(cleaned, url, url, options, languages, date_source="text")


def _from_html(
    html: str, url: str, options: ExtractionOptions, languages: LanguageDetector
) -> ExtractedArticle:
    # One parse serves every reader: our metadata, trafilatura's, and its extraction
    # passes (trafilatura works on its own copy of the tree).
    tree = parse_html(html)
    meta = page_metadata(tree) if tree is not None else PageMetadata()
    web_url = url if url.startswith("http") else None
    found = extractor_metadata(tree, web_url)
    title = choose_title(meta, found.title, web_url or "")
    headlines = [title, *meta.h1[:1]]
    blocks = drop_headline(
        blocks_of(_trafilatura_body(tree, web_url, options.mode, options)), headlines
    )
    if (
        options.second_mode is not None
        and tree is not None
        and covers_little(blocks, tree, options.second_pass_below)
    ):
        second = _trafilatura_body(tree, web_url, options.second_mode, options)
        blocks = more_complete(blocks, drop_headline(blocks_of(second), headlines))
    if options.use_json_ld_body:
        blocks = prefer_json_ld_body(blocks, meta.article_body)
    blocks = cut_trailing_sections(blocks)
    if not blocks:
        raise ExtractionRejected("no_article_body", "trafilatura found no main text")
    cleaned = clean_paragraphs([block.text for block in blocks])
    site = meta.site_name or found.site_name or cleaned.site
    cleaned.authors = choose_authors(meta, lambda: found.authors + cleaned.authors, site)
    cleaned.title = repair_mojibake(title) if title else None
    cleaned.site = site
    published = choose_published(meta, web_url or "", cleaned.published_at, lambda: found.date)
    cleaned.published_at = published.when if published else None
    cleaned.modified_at = choose_modified(meta) or cleaned.modified_at
    canonical = found.url if (found.url or "").startswith("http") else url
    return _finish(
        cleaned,
        url,
        canonical or url,
        options,
        languages,
        date_source=published.source if published else "text",
        published_day=published.day if published else None,
        page_titles=[title or "", meta.html_title or "", *meta.h1[:1]],
    )


@dataclass(frozen=True)
class ExtractorMetadata:
    """What trafilatura (and htmldate, for the date) read from a page: fallbacks for ours.

    `authors` and `date` come from searches through the whole page (a few ms each), so
    they run on first reading: most pages state both in their markup, and the fallback
    is never read.
    """

    title: str | None = None
    site_name: str | None = None
    url: str | None = None
    # The author the page's meta tags and JSON-LD give trafilatura, before any search.
    stated_author: str | None = None
    tree: HtmlElement | None = field(default=None, repr=False, compare=False)

    @cached_property
    def authors(self) -> list[str]:
        """trafilatura's author names: the stated one, else its search of the markup."""
        author = self.stated_author
        if author is None and self.tree is not None:
            found = Document()
            found.author = extract_author(self.tree)
            found.clean_and_trim()
            author = found.author
        return [name for name in (author or "").split(";") if name.strip()]

    @cached_property
    def date(self) -> str | None:
        """htmldate's publish date: the extensive search trafilatura's own extraction runs
        (dates written in the text, the fallback when the markup states none).

        A 1 January is dropped: it is how htmldate gives a year found alone, and the year
        alone on a page is its copyright line ("© 2025") far more often than an article
        dated on New Year's Day that states its date nowhere in its markup.
        """
        if self.tree is None:
            return None
        found = find_date(self.tree, **{**set_date_params(True), "url": self.url})
        if found is not None and found[4:] == _NEW_YEARS_DAY:
            return None
        return found


def extractor_metadata(tree: HtmlElement | None, url: str | None) -> ExtractorMetadata:
    """trafilatura's metadata of the page `tree` (it reads copies; the tree is unchanged).

    The steps of `trafilatura.metadata.extract_metadata` that give the fields we read,
    in its order: its categories, tags and licence searches cost a tenth of an
    extraction and are never used.
    """
    if tree is None:
        return ExtractorMetadata()
    document = examine_meta(tree)
    if document.author and " " not in document.author:
        document.author = None
    try:
        document = extract_meta_json(tree, document)
    except Exception:  # trafilatura guards its JSON-LD reader the same way
        logger.debug("trafilatura's JSON-LD reader failed on %s", url, exc_info=True)
    document.title = document.title or extract_title(tree)
    document.url = document.url or extract_url(tree, url)
    document.sitename = document.sitename or extract_sitename(tree)
    if document.sitename:
        document.sitename = document.sitename.lstrip("@")
        if "." not in document.sitename and not document.sitename[:1].isupper():
            document.sitename = document.sitename.title()
    elif document.url and (host := META_URL.match(document.url)):
        document.sitename = host[1]
    document.clean_and_trim()
    return ExtractorMetadata(
        title=document.title,
        site_name=document.sitename,
        url=document.url,
        stated_author=document.author or None,
        tree=tree,
    )


def _trafilatura_body(
    tree: HtmlElement | None,
    url: str | None,
    mode: ExtractionMode,
    options: ExtractionOptions,
) -> _Element | None:
    """trafilatura's main content for `mode`: the tree of paragraphs, headings, lists and
    tables its XML output is written from (read directly: printing it as XML to parse it
    again cost more than a millisecond a page)."""
    if tree is None:
        return None
    extractor = Extractor(
        output_format="xml",
        comments=False,
        tables=options.include_tables,
        precision=mode == "precision",
        recall=mode == "recall",
        url=url,
    )
    document = trafilatura.bare_extraction(tree, options=extractor)
    return document.body if isinstance(document, Document) else None


def _reject_non_article(word_count: int, titles: list[str]) -> None:
    """Error pages and login walls hold a title and a few lines, never an article."""
    if word_count >= _ERROR_PAGE_MAX_WORDS:
        return
    for title in titles:
        if _NOT_AN_ARTICLE.search(title):
            raise ExtractionRejected("no_article_body", f"page titled {title!r} is not an article")


def _finish(
    cleaned: CleanedText,
    url: str,
    canonical_url: str,
    options: ExtractionOptions,
    languages: LanguageDetector,
    date_source: str,
    published_day: date | None = None,
    page_titles: list[str] | None = None,
) -> ExtractedArticle:
    """The article of `cleaned`; `page_titles` (of an HTML page) reject error pages."""
    body = cleaned.text
    word_count = len(_WORD.findall(body))
    if page_titles is not None:
        _reject_non_article(word_count, page_titles)
    if word_count < options.min_words:
        raise ExtractionRejected(
            "no_article_body", f"{word_count} words after cleaning (minimum {options.min_words})"
        )
    language, confidence = languages.detect(body)
    return ExtractedArticle(
        text=body,
        title=cleaned.title,
        authors=tuple(cleaned.authors),
        published_at=cleaned.published_at,
        date_source=date_source if cleaned.published_at else None,
        published_day=published_day
        or (cleaned.published_at.date() if cleaned.published_at else None),
        modified_at=cleaned.modified_at,
        site=cleaned.site,
        language=language,
        language_confidence=confidence,
        canonical_url=canonical_url,
        text_hash=text_fingerprint(body),
        word_count=word_count,
    )


def text_fingerprint(text: str) -> str:
    """SHA-256 of the text's words, lower-cased: equal for texts differing only in spacing."""
    normalised = " ".join(_WORD.findall(text.lower()))
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()
