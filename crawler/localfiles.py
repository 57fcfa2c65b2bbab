"""Reading local article files: which files to take, and their bytes within a size limit.

Pure helpers for the `files` spider; no Scrapy import.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ARTICLE_SUFFIXES = (".html", ".htm", ".txt")
_READ_CHUNK = 64 * 1024


class FileTooLarge(Exception):
    """The file, or what it inflates to, exceeds the size limit."""


@dataclass(frozen=True)
class LocalFile:
    """A file chosen for reading, with the content type its name announces."""

    path: Path
    content_type: str


def content_type_for(path: Path) -> str | None:
    """The content type a file name announces (`.gz` looked through), or None if not ours."""
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    if name.endswith((".html", ".htm")):
        return "text/html"
    if name.endswith(".txt"):
        return "text/plain"
    return None


def iter_article_files(root: Path) -> Iterator[LocalFile]:
    """Article files under `root` (or `root` itself), recursively, in sorted path order.

    A file named explicitly is always taken; inside a folder only `.html`, `.htm`,
    `.txt` and their `.gz` forms are.
    """
    if root.is_file():
        yield LocalFile(root, content_type_for(root) or "application/octet-stream")
        return
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        content_type = content_type_for(path)
        if content_type is not None:
            yield LocalFile(path, content_type)


def read_limited(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, gunzipped when it ends in `.gz`, refusing more than `max_bytes`.

    Raises:
        FileTooLarge: the file or its inflated content is larger than `max_bytes`.
        OSError: the file cannot be read.
    """
    with path.open("rb") as raw:
        data = raw.read(max_bytes + 1)
    if len(data) <= max_bytes and path.name.lower().endswith(".gz"):
        return _inflate_limited(data, max_bytes)
    if len(data) > max_bytes:
        raise FileTooLarge(f"larger than {max_bytes} bytes")
    return data


def _inflate_limited(compressed: bytes, max_bytes: int) -> bytes:
    """Inflate gzip data chunk by chunk so a bomb stops at `max_bytes`, not in memory."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    parts: list[bytes] = []
    total = 0
    for start in range(0, len(compressed), _READ_CHUNK):
        chunk = inflater.decompress(compressed[start : start + _READ_CHUNK], max_bytes + 1 - total)
        parts.append(chunk)
        total += len(chunk)
        while inflater.unconsumed_tail and total <= max_bytes:
            chunk = inflater.decompress(inflater.unconsumed_tail, max_bytes + 1 - total)
            parts.append(chunk)
            total += len(chunk)
        if total > max_bytes:
            raise FileTooLarge(f"inflates to more than {max_bytes} bytes")
    if not inflater.eof and not parts:
        raise gzip.BadGzipFile("truncated or not gzip data")
    return b"".join(parts)
