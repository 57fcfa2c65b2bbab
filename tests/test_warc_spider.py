"""The `warc` spider on archives written with warcio: which records become articles."""

from __future__ import annotations

import gzip
import io
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.warcfiles import SkippedRecord, TruncatedTail, WarcCapture, iter_captures
from tests.conftest import CrawlRunner

WORDS = (
    "The harbour authority said on Tuesday that the new container terminal would open next spring "
    "after two years of delays caused by flooding, a shortage of cranes and a dispute with the "
    "dockworkers union over night shifts, which was settled in March after weeks of talks. "
)


def article_html(topic: str) -> bytes:
    paragraphs = "".join(f"<p>{topic} report, part {n}. {WORDS}</p>" for n in range(4))
    return (
        f"<!doctype html><html lang='en'><head><title>{topic}</title></head><body><article>"
        f"<h1>{topic}</h1>{paragraphs}</article></body></html>"
    ).encode()


def response_record(
    writer: WARCWriter, uri: str, body: bytes, content_type: str, date: str, status: str = "200 OK"
) -> object:
    http_headers = StatusAndHeaders(
        status,
        [("Content-Type", content_type), ("Content-Length", str(len(body)))],
        protocol="HTTP/1.1",
    )
    return writer.create_warc_record(
        uri,
        "response",
        payload=io.BytesIO(body),
        http_headers=http_headers,
        warc_headers_dict={"WARC-Date": date},
    )


def write_archive(path: Path, compress: bool) -> None:
    """A CC-NEWS-like archive: warcinfo, request/response pairs, metadata, revisit, an
    image, a 404, and an HTML response cut off in the middle as the last record."""
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=compress)
    writer.write_record(writer.create_warcinfo_record(path.name, {"software": "test"}))
    for n, topic in enumerate(("Harbour", "Railway")):
        uri = f"https://news.example/{topic.lower()}?utm_source=feed"
        request_headers = StatusAndHeaders(
            "GET /x HTTP/1.1", [("Host", "news.example")], is_http_request=True
        )
        writer.write_record(writer.create_warc_record(uri, "request", http_headers=request_headers))
        writer.write_record(
            response_record(
                writer,
                uri,
                article_html(topic),
                "text/html; charset=utf-8",
                f"2025-01-0{n + 1}T10:00:00Z",
            )
        )
    writer.write_record(
        writer.create_warc_record(
            "https://news.example/harbour",
            "metadata",
            payload=io.BytesIO(b"fetchTimeMs: 12\n"),
            warc_content_type="application/warc-fields",
        )
    )
    revisit_headers = StatusAndHeaders(
        "200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1"
    )
    writer.write_record(
        writer.create_revisit_record(
            "https://news.example/harbour-again",
            "sha1:AAAA",
            "https://news.example/harbour",
            "2025-01-01T10:00:00Z",
            http_headers=revisit_headers,
        )
    )
    writer.write_record(
        response_record(
            writer,
            "https://news.example/logo.png",
            b"\x89PNG" + bytes(300),
            "image/png",
            "2025-01-03T10:00:00Z",
        )
    )
    writer.write_record(
        response_record(
            writer,
            "https://news.example/gone",
            b"<html>gone</html>",
            "text/html",
            "2025-01-03T10:00:00Z",
            status="404 Not Found",
        )
    )
    complete = buffer.tell()
    writer.write_record(
        response_record(
            writer,
            "https://news.example/cut",
            article_html("Cut"),
            "text/html",
            "2025-01-04T10:00:00Z",
        )
    )
    data = buffer.getvalue()
    path.write_bytes(data[: complete + (len(data) - complete) // 2])


@pytest.mark.parametrize("compress", [True, False])
def test_iter_captures_keeps_html_responses_and_flags_the_cut_record(
    tmp_path: Path, compress: bool
) -> None:
    archive = tmp_path / ("a.warc.gz" if compress else "a.warc")
    write_archive(archive, compress)
    with archive.open("rb") as stream:
        records = list(iter_captures(stream, 1_000_000, archive.stat().st_size))
    captures = [r for r in records if isinstance(r, WarcCapture)]
    skipped = sorted(r.kind for r in records if isinstance(r, SkippedRecord))
    whole = [c for c in captures if c.problem is None]
    cut = [c for c in captures if c.problem == "truncated"] + [
        r for r in records if isinstance(r, TruncatedTail)
    ]
    assert [c.target_uri for c in whole] == [
        "https://news.example/harbour?utm_source=feed",
        "https://news.example/railway?utm_source=feed",
    ]
    assert len(cut) == 1
    assert whole[0].captured_at == datetime(2025, 1, 1, 10, tzinfo=UTC)
    assert whole[0].body == article_html("Harbour")
    assert whole[0].declared_charset == "utf-8"
    assert skipped == [
        "metadata",
        "not_html",
        "request",
        "request",
        "revisit",
        "status_404",
        "warcinfo",
    ]


@pytest.mark.parametrize("compress", [True, False])
def test_a_record_cut_inside_its_content_length_is_the_truncated_tail(
    tmp_path: Path, compress: bool
) -> None:
    """warcio reads a Content-Length cut off before its digits as 0, a whole empty record:
    it must still come out as the archive's cut-off tail, not as a skipped record."""
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=False)
    date = "2025-01-01T10:00:00Z"
    for topic in ("Harbour", "Railway"):
        uri = f"https://news.example/{topic.lower()}"
        writer.write_record(response_record(writer, uri, article_html(topic), "text/html", date))
    data = buffer.getvalue()
    last = data.rindex(b"WARC/1.")
    kept = data[:last]
    # The last record's own (WARC) Content-Length, not its HTTP headers' one.
    cut_at = data.index(b"Content-Length: ", last) + len(b"Content-Length: ")
    if compress:
        # Each record its own gzip member, as WARCWriter writes them; the last one cut
        # where its Content-Length header begins (the member itself ends cleanly).
        first = gzip.compress(kept)
        archive_bytes = first + gzip.compress(data[len(kept) : cut_at])
    else:
        first = kept
        archive_bytes = data[:cut_at]
    archive = tmp_path / ("a.warc.gz" if compress else "a.warc")
    archive.write_bytes(archive_bytes)
    with archive.open("rb") as stream:
        records = list(iter_captures(stream, 1_000_000, len(archive_bytes)))
    assert [r.target_uri for r in records if isinstance(r, WarcCapture)] == [
        "https://news.example/harbour"
    ]
    assert [r for r in records if isinstance(r, SkippedRecord)] == []
    assert records[-1] == TruncatedTail(len(first), len(archive_bytes) - len(first))


def test_iter_captures_refuses_an_oversized_payload(tmp_path: Path) -> None:
    archive = tmp_path / "a.warc"
    write_archive(archive, compress=False)
    with archive.open("rb") as stream:
        captures = [r for r in iter_captures(stream, max_bytes=100) if isinstance(r, WarcCapture)]
    assert {c.problem for c in captures} == {"too_large"}


def test_warc_crawl_stores_html_captures_and_records_the_cut_one(
    run_crawl: CrawlRunner, tmp_path: Path
) -> None:
    folder = tmp_path / "archives"
    folder.mkdir()
    write_archive(folder / "CC-NEWS-20250101000000-00001.warc.gz", compress=True)
    (folder / "notes.txt").write_text("not an archive")

    result = run_crawl("warc", f"path={folder}")

    with sqlite3.connect(tmp_path / "crawl.db") as connection:
        articles = connection.execute(
            "SELECT url, observed_at, source FROM articles ORDER BY url"
        ).fetchall()
        rejects = connection.execute("SELECT url, reason FROM rejects").fetchall()
    assert [(url, source) for url, _, source in articles] == [
        ("https://news.example/harbour", "warc"),
        ("https://news.example/railway", "warc"),
    ]
    assert str(articles[0][1]).startswith("2025-01-01 10:00:00")
    assert [reason for _, reason in rejects] == ["truncated"]
    assert str(rejects[0][0]).startswith("file://")
    assert ".warc.gz#offset=" in str(rejects[0][0])
    assert "'warc/skipped/revisit': 1" in result.stderr
    assert "'warc/truncated': 1" in result.stderr


def test_warc_crawl_with_one_item_in_flight_stores_every_capture(
    run_crawl: CrawlRunner, tmp_path: Path
) -> None:
    """Reading waits for the pipelines (CONCURRENT_ITEMS=1) yet never stalls the crawl."""
    archive = tmp_path / "many.warc.gz"
    with archive.open("wb") as stream:
        writer = WARCWriter(stream, gzip=True)
        for n, topic in enumerate(("Harbour", "Railway", "Library", "Stadium", "Ferry")):
            writer.write_record(
                response_record(
                    writer,
                    f"https://news.example/{topic.lower()}",
                    article_html(topic),
                    "text/html",
                    f"2025-01-0{n + 1}T10:00:00Z",
                )
            )

    result = run_crawl(
        "warc", f"path={archive}", settings={"CONCURRENT_ITEMS": "1", "EXTRACTION_WORKERS": "2"}
    )

    with sqlite3.connect(tmp_path / "crawl.db") as connection:
        stored = connection.execute("SELECT count(*) FROM articles").fetchone()[0]
    assert stored == 5
    assert "'warc/captures': 5" in result.stderr
