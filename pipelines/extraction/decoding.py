"""Turning raw bytes into text: binary detection, charset resolution, mojibake repair.

Charset evidence is trusted in this order: byte-order mark, the HTTP header's charset,
the document's own `<meta charset>`, then strict UTF-8, then statistical sniffing.
Text a publisher already stored garbled (UTF-8 read once as Windows-1252: "isnâ€™t")
is repaired piece by piece with ftfy once extracted.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import charset_normalizer
import ftfy

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Signatures of formats that are never article text, whatever the declared type says.
_BINARY_MAGIC = (
    b"%PDF-",
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF87a",
    b"GIF89a",
    b"PK\x03\x04",
    b"\x1f\x8b",
    b"RIFF",
    b"\x00\x00\x01\x00",
    b"OggS",
    b"ID3",
    b"\x7fELF",
)
_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE
)
_SNIFF_BYTES = 64 * 1024
# Lead characters of UTF-8 sequences read as Windows-1252 or Latin-1 ("â€™", "Ã©", "Â ");
# text without any of them has no mojibake to repair, and skips ftfy.
_MOJIBAKE_LEAD = re.compile("[ÂÃâ]")
# Control characters that text never holds (tab, newlines, form feed excepted).
_CONTROL_BYTES = bytes([*range(9), *range(14, 32)])
_MAX_REPLACEMENT_SHARE = 0.001


class UndecodableContent(ValueError):
    """The bytes are not text in any charset we can establish."""


@dataclass(frozen=True)
class DecodedText:
    """Text and the charset it was decoded with, with the evidence that chose it."""

    text: str
    encoding: str
    evidence: str


def looks_binary(data: bytes) -> bool:
    """True for bytes that are a known binary format or mostly control characters."""
    head = data[:_SNIFF_BYTES]
    if any(head.startswith(magic) for magic in _BINARY_MAGIC):
        return True
    if _bom_encoding(head) is not None:
        return False
    if not head:
        return False
    control = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return control / len(head) > 0.05


def decode_text(
    data: bytes, declared_charset: str | None = None, is_html: bool = True
) -> DecodedText:
    """Decode `data` by the most trusted charset evidence available.

    Raises:
        UndecodableContent: no evidence yields text (the bytes are not text).
    """
    bom_encoding = _bom_encoding(data)
    if bom_encoding is not None:
        return DecodedText(data.decode(bom_encoding, errors="replace"), bom_encoding, "bom")
    for candidate, evidence in (
        (declared_charset, "header"),
        (_meta_charset(data) if is_html else None, "meta"),
    ):
        encoding = _known_encoding(candidate)
        if encoding is not None:
            text = data.decode(encoding, errors="replace")
            if not _mostly_replacements(text):
                return DecodedText(text, encoding, evidence)
    try:
        return DecodedText(data.decode("utf-8"), "utf-8", "utf-8")
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data[: 4 * _SNIFF_BYTES]).best()
    if best is not None and best.encoding:
        encoding = _known_encoding(best.encoding) or "cp1252"
        return DecodedText(data.decode(encoding, errors="replace"), encoding, "sniffed")
    raise UndecodableContent("no charset decodes these bytes")


def _bom_encoding(data: bytes) -> str | None:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding
    return None


def _meta_charset(data: bytes) -> str | None:
    match = _META_CHARSET.search(data[:_SNIFF_BYTES])
    return match.group(1).decode("ascii", errors="ignore") if match else None


def _known_encoding(name: str | None) -> str | None:
    """The codec name Python knows for `name`, with the web's aliases applied."""
    if not name:
        return None
    name = name.strip().lower()
    # WHATWG: these labels mean windows-1252 on the web.
    if name in {"iso-8859-1", "latin1", "latin-1", "us-ascii", "ascii", "iso8859-1"}:
        name = "cp1252"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _mostly_replacements(text: str) -> bool:
    """True when a declared charset leaves more undecodable bytes than stray typos explain.

    One broken byte in a thousand is a damaged page in the right charset; more means the
    declaration is wrong, and sniffing beats handing mojibake to the extractor.
    """
    return bool(text) and text.count("\ufffd") / len(text) > _MAX_REPLACEMENT_SHARE


def may_hold_mojibake(text: str) -> bool:
    """False for text that `repair_mojibake` returns as is (no mojibake lead character):
    one test for a whole page's paragraphs, instead of one a paragraph."""
    return _MOJIBAKE_LEAD.search(text) is not None


def repair_mojibake(text: str) -> str:
    """`text` with UTF-8 that was read as Windows-1252 or Latin-1 decoded right again
    ("isnâ€™t" -> "isn\u2019t", "WireGuardÂ®" -> "WireGuard®"); other text is returned as is
    (ftfy changes nothing it does not recognise as mojibake, quotes included)."""
    if not _MOJIBAKE_LEAD.search(text):
        return text
    return ftfy.fix_encoding(text)
