"""Reading article captures out of WARC files (CC-NEWS layout), streaming.

Pure helpers for the `warc` spider; no Scrapy import. Records are read one at a time
from the (optionally gzipped) file, so memory stays flat whatever the archive's size;
a payload is read up to a size limit only.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from crawler.listings import parse_date

WARC_SUFFIXES = (".warc", ".warc.gz")
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)


class UnreadableArchive(Exception):
    """The archive (or the rest of it) cannot be read."""


@dataclass(frozen=True)
class WarcCapture:
    """One HTML response record: the page as captured, or why its payload is unusable."""

    target_uri: str
    captured_at: datetime | None
    body: bytes
    content_type: str
    declared_charset: str | None
    problem: str | None = None
    problem_detail: str = ""


@dataclass(frozen=True)
class SkippedRecord:
    """A record that is not an HTML response; `kind` says what it was."""

    kind: str


def iter_warc_files(root: Path) -> Iterator[Path]:
    """`.warc` and `.warc.gz` files under `root` (or `root` itself), in sorted order."""
    if root.is_file():
        yield root
        return
    yield from sorted(
        p for p in root.rglob("*") if p.is_file() and p.name.lower().endswith(WARC_SUFFIXES)
    )


@dataclass(frozen=True)
class TruncatedTail:
    """Bytes at the end of the archive that never became a record: a cut-off last record."""

    offset: int
    size: int


def iter_captures(
    stream: IO[bytes], max_bytes: int, archive_size: int | None = None
) -> Iterator[WarcCapture | SkippedRecord | TruncatedTail]:
    """Each record of a WARC stream, as a capture (HTML responses) or a skipped record.

    With `archive_size`, bytes left over after the last whole record (a record cut off
    inside its headers, or inside a gzip member) come out as a `TruncatedTail`. A record
    whose Content-Length did not arrive (cut off in that very header) ends the reading.

    Raises:
        UnreadableArchive: the stream stops being a WARC file (what came before is kept).
    """
    records = ArchiveIterator(stream, arc2warc=True)
    end = 0
    try:
        for record in records:
            if not _states_its_length(record):
                # Cut off inside its own WARC headers: the rest of the file is the tail.
                end = records.get_record_offset()
                break
            yield _capture(record, max_bytes)
            records.read_to_end(record)
            end = records.get_record_offset() + records.get_record_length()
    except (ArchiveLoadFailed, OSError, EOFError, zlib.error, ValueError) as error:
        raise UnreadableArchive(f"{type(error).__name__}: {error}") from error
    if archive_size is not None and archive_size > end:
        yield TruncatedTail(end, archive_size - end)


def _states_its_length(record: object) -> bool:
    """Whether the record's WARC headers give its length (WARC requires it; warcio reads a
    Content-Length cut off before its digits as 0)."""
    headers = getattr(record, "rec_headers", None)
    stated = headers.get_header("Content-Length") if headers is not None else None
    return (stated or "").strip().isdigit()


def _capture(record: object, max_bytes: int) -> WarcCapture | SkippedRecord:
    rec_type: str = getattr(record, "rec_type", "") or "unknown"
    if rec_type != "response":
        return SkippedRecord(rec_type)
    http_headers = getattr(record, "http_headers", None)
    if http_headers is None:
        return SkippedRecord("response_without_http")
    status = str(http_headers.get_statuscode() or "")
    if not status.startswith("2"):
        return SkippedRecord(f"status_{status or 'unknown'}")
    content_type_header = http_headers.get_header("Content-Type") or ""
    content_type = content_type_header.split(";", 1)[0].strip().lower()
    if content_type not in _HTML_TYPES:
        return SkippedRecord("not_html")
    headers = record.rec_headers  # type: ignore[attr-defined]
    target_uri = (headers.get_header("WARC-Target-URI") or "").strip().strip("<>")
    charset = _CHARSET.search(content_type_header)
    capture = WarcCapture(
        target_uri=target_uri,
        captured_at=parse_date(headers.get_header("WARC-Date")),
        body=b"",
        content_type=content_type,
        declared_charset=charset.group(1) if charset else None,
    )
    body = record.content_stream().read(max_bytes + 1)  # type: ignore[attr-defined]
    if len(body) > max_bytes:
        return _with_problem(capture, "too_large", f"payload larger than {max_bytes} bytes")
    # The raw reader stops at the end of the data: bytes still owed mean a cut-off record.
    missing = getattr(getattr(record, "raw_stream", None), "limit", 0) or 0
    if missing > 0:
        return _with_problem(capture, "truncated", f"record ends {missing} bytes early", body)
    return WarcCapture(
        capture.target_uri,
        capture.captured_at,
        body,
        capture.content_type,
        capture.declared_charset,
    )


def _with_problem(
    capture: WarcCapture, problem: str, detail: str, body: bytes = b""
) -> WarcCapture:
    return WarcCapture(
        capture.target_uri,
        capture.captured_at,
        body,
        capture.content_type,
        capture.declared_charset,
        problem,
        detail,
    )
