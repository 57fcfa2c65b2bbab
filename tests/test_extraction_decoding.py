"""Charset resolution by trust: BOM, HTTP header, meta charset, then sniffing."""

from __future__ import annotations

import codecs
import re

import pytest

from pipelines.extraction.article import ExtractionOptions, RawDocument, extract_article
from pipelines.extraction.decoding import decode_text, repair_mojibake
from pipelines.extraction.language import LanguageDetector

FRENCH = (
    "Le conseil municipal a voté mercredi la rénovation complète du théâtre, fermé depuis "
    "l'été dernier. Les travaux coûteront près de deux millions d'euros et dureront dix-huit "
    "mois. « C'est un lieu cher à toute la ville », a déclaré l'adjointe à la culture, qui "
    "espère rouvrir la salle avant la saison d'été. Les associations de quartier ont salué "
    "la décision et proposé d'organiser des visites du chantier pour les écoles."
)
JAPANESE = (
    "市議会は水曜日、昨年夏から閉鎖されている劇場の全面改修を可決した。工事費は約二億円で、"
    "期間は一年半を予定している。文化担当の副市長は「町の誰にとっても大切な場所だ」と述べ、"
    "夏の公演シーズン前の再開を目指すと語った。地域の団体はこの決定を歓迎し、学校向けの見学会を提案した。"
)


def sentences(text: str) -> list[str]:
    return [part for part in re.split(r"(?<=[.。])\s*", text) if part]


def page(text: str, meta_charset: str | None = None) -> str:
    meta = f'<meta charset="{meta_charset}">' if meta_charset else ""
    paragraphs = "".join(f"<p>{sentence}</p>" for sentence in sentences(text))
    return (
        f"<!DOCTYPE html><html><head>{meta}<title>Theatre</title></head>"
        f"<body><article><h1>Theatre</h1>{paragraphs}</article></body></html>"
    )


@pytest.fixture(scope="module")
def languages() -> LanguageDetector:
    return LanguageDetector()


@pytest.mark.parametrize(
    ("text", "encoding", "declared", "meta", "evidence"),
    [
        (FRENCH, "cp1252", "windows-1252", None, "header"),
        (FRENCH, "cp1252", None, "windows-1252", "meta"),
        (FRENCH, "cp1252", "iso-8859-1", None, "header"),
        (JAPANESE, "shift_jis", "Shift_JIS", None, "header"),
        (JAPANESE, "shift_jis", None, "shift_jis", "meta"),
    ],
)
def test_declared_charset_decodes(
    text: str, encoding: str, declared: str | None, meta: str | None, evidence: str
) -> None:
    decoded = decode_text(page(text, meta).encode(encoding), declared, is_html=True)
    assert decoded.evidence == evidence
    assert sentences(text)[0] in decoded.text


def test_bom_outranks_a_wrong_header() -> None:
    data = codecs.BOM_UTF16_LE + page(FRENCH).encode("utf-16-le")
    decoded = decode_text(data, "iso-8859-1", is_html=True)
    assert decoded.evidence == "bom"
    assert "rénovation" in decoded.text


def test_header_outranks_meta() -> None:
    data = page(FRENCH, meta_charset="utf-8").encode("cp1252")
    decoded = decode_text(data, "windows-1252", is_html=True)
    assert decoded.evidence == "header"
    assert "théâtre" in decoded.text


def test_undeclared_shift_jis_is_sniffed() -> None:
    decoded = decode_text(page(JAPANESE).encode("shift_jis"), None, is_html=True)
    assert decoded.evidence == "sniffed"
    assert "劇場" in decoded.text


@pytest.mark.parametrize(
    ("text", "encoding", "declared"),
    [
        (FRENCH, "cp1252", "windows-1252"),
        (JAPANESE, "shift_jis", None),
        (FRENCH, "utf-16", None),
    ],
)
def test_article_text_is_decoded_before_extraction(
    text: str, encoding: str, declared: str | None, languages: LanguageDetector
) -> None:
    """trafilatura gets text we decoded, never bytes it would have to guess at."""
    document = RawDocument(
        "https://example.org/a", page(text).encode(encoding), "text/html", declared
    )
    article = extract_article(document, ExtractionOptions(min_words=5), languages)
    assert sentences(text)[1] in article.text
    assert "\ufffd" not in article.text


def test_wrong_utf8_declaration_falls_through_to_sniffing() -> None:
    """A page in cp1252 that claims UTF-8 is not decoded as UTF-8 with holes."""
    data = page(FRENCH * 3, meta_charset="utf-8").encode("cp1252")
    decoded = decode_text(data, None, is_html=True)
    assert decoded.evidence == "sniffed"
    assert "rénovation" in decoded.text
    assert "\ufffd" not in decoded.text


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("The tram isnâ€™t late", "The tram isn\u2019t late"),
        ("Fares riseÂ again", "Fares rise\u00a0again"),
        ("TramCardÂ® holders", "TramCard® holders"),
        # Real accents and quotes are not mojibake and stay as written.
        ("Le café « naïve » à Genève", "Le café « naïve » à Genève"),
        ("Ãland is an island", "Ãland is an island"),
    ],
)
def test_mojibake_is_repaired(stored: str, expected: str) -> None:
    assert repair_mojibake(stored) == expected


def test_a_page_stored_as_mojibake_comes_out_readable(languages: LanguageDetector) -> None:
    """A publisher that saved UTF-8 text as Windows-1252 once: the page itself is valid
    UTF-8, so only the extracted text can be repaired."""
    body = " ".join(["The harbour tram isnâ€™t running on Sunday, the operator said."] * 8)
    html = (
        "<html><head><meta charset='utf-8'><title>Tram isnâ€™t running</title></head>"
        f"<body><article><h1>Tram isnâ€™t running</h1><p>{body}</p></article></body></html>"
    )
    document = RawDocument("https://example.org/a", html.encode("utf-8"), "text/html")
    article = extract_article(document, ExtractionOptions(min_words=5), languages)
    assert "isn\u2019t running on Sunday" in article.text
    assert "â€" not in article.text
    assert article.title == "Tram isn\u2019t running"
