"""From raw document bytes to one clean article with metadata.

HTML goes through trafilatura, plain text through paragraph splitting; both then pass
the same news boilerplate cleaning (`boilerplate.clean_paragraphs`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import trafilatura

from crawler.items import ExtractedArticle
from pipelines.extraction.boilerplate import CleanedText, clean_paragraphs, split_paragraphs
from pipelines.extraction.decoding import UndecodableContent, decode_text, looks_binary
from pipelines.extraction.language import LanguageDetector

ExtractionMode = Literal["balanced", "precision", "recall"]
_WORD = re.compile(r"\w+")
_TITLE_SEPARATORS = re.compile(r"\s+[|–—·•-]\s+")


class ExtractionRejected(Exception):
    """The document holds no storable article; `reason` is the rejects-table reason."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class ExtractionOptions:
    """How to extract; built once from settings."""

    mode: ExtractionMode = "balanced"
    include_tables: bool = True
    min_words: int = 40


@dataclass(frozen=True)
class RawDocument:
    """What a spider delivers: bytes plus what the transport said about them."""

    url: str
    body: bytes
    content_type: str | None = None
    declared_charset: str | None = None


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
    document = trafilatura.bare_extraction(
        html,
        url=url if url.startswith("http") else None,
        with_metadata=True,
        include_comments=False,
        include_tables=options.include_tables,
        favor_precision=options.mode == "precision",
        favor_recall=options.mode == "recall",
        deduplicate=False,
    )
    if document is None or not getattr(document, "text", None):
        raise ExtractionRejected("no_article_body", "trafilatura found no main text")
    cleaned = clean_paragraphs([line.strip() for line in document.text.split("\n") if line.strip()])
    site = document.sitename or cleaned.site
    cleaned.title = _strip_site_from_title(document.title, site)
    if document.author:
        cleaned.authors = _split_authors(document.author) or cleaned.authors
    if document.date:
        cleaned.published_at = _parse_iso_day(document.date) or cleaned.published_at
    cleaned.site = site
    canonical = document.url if document.url and document.url.startswith("http") else url
    return _finish(cleaned, url, canonical, options, languages, date_source="meta")


def _finish(
    cleaned: CleanedText,
    url: str,
    canonical_url: str,
    options: ExtractionOptions,
    languages: LanguageDetector,
    date_source: str,
) -> ExtractedArticle:
    body = cleaned.text
    word_count = len(_WORD.findall(body))
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


def _strip_site_from_title(title: str | None, site: str | None) -> str | None:
    """The headline without a leading or trailing " | Site Name" segment."""
    if not title:
        return None
    title = " ".join(title.split())
    if not site:
        return title
    site_key = _compact(site)
    segments = _TITLE_SEPARATORS.split(title)
    if len(segments) > 1 and _compact(segments[-1]) == site_key:
        return title[: title.rfind(segments[-1])].rstrip(" |–—·•-")
    if len(segments) > 1 and _compact(segments[0]) == site_key:
        return title[len(segments[0]) :].lstrip(" |–—·•-")
    return title


def _compact(value: str) -> str:
    return re.sub(r"\W+", "", value.lower())


def _split_authors(author_field: str) -> list[str]:
    names = [re.sub(r"^\s*by\s+", "", name, flags=re.IGNORECASE).strip() for name in author_field.split(";")]
    return [name for name in names if name]


def _parse_iso_day(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
