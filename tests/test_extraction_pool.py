"""Extraction in worker processes: same results, arrival order kept, stuck documents killed."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from crawler.items import ExtractedArticle
from pipelines.extraction.article import (
    ExtractionOptions,
    ExtractionRejected,
    RawDocument,
    extract_article,
)
from pipelines.extraction.language import LanguageDetector
from pipelines.extraction.pool import ExtractionPool, InOrderRelease
from storage.database import Database
from storage.models import Article, Reject
from tests.conftest import run_scrapy
from tests.test_concurrency import write_articles

SEEDS = Path(__file__).resolve().parents[1] / "seeds" / "articles"


def extract_or_hang(
    document: RawDocument, options: ExtractionOptions, languages: LanguageDetector
) -> ExtractedArticle:
    """`extract_article`, except that a document asking for it never finishes."""
    if b"HANG-FOREVER" in document.body:
        time.sleep(3600)
    return extract_article(document, options, languages)


def seed_document(name: str) -> RawDocument:
    path = SEEDS / name
    return RawDocument(path.as_uri(), path.read_bytes(), "text/plain")


def test_stuck_document_is_rejected_and_its_worker_replaced() -> None:
    async def scenario() -> tuple[list[object], int]:
        pool = ExtractionPool(2, 2.0, ExtractionOptions(), extractor=extract_or_hang)
        try:
            stuck = RawDocument("file:///stuck.txt", b"HANG-FOREVER " * 50, "text/plain")
            good = seed_document("military-com-biden-airstrikes-syria.txt")
            results = await asyncio.gather(
                pool.extract(stuck), pool.extract(good), pool.extract(good), return_exceptions=True
            )
            after = await pool.extract(good)  # the replaced worker serves again
            return [*results, after], pool.replaced
        finally:
            pool.close()

    results, replaced = asyncio.run(scenario())
    assert isinstance(results[0], ExtractionRejected) and results[0].reason == "extraction_timeout"
    assert all(isinstance(result, ExtractedArticle) for result in results[1:])
    assert replaced == 1


def test_rejections_cross_the_process_boundary() -> None:
    async def scenario() -> BaseException | ExtractedArticle:
        pool = ExtractionPool(1, 30.0, ExtractionOptions())
        try:
            return (
                await asyncio.gather(
                    pool.extract(RawDocument("file:///e.txt", b"   ")), return_exceptions=True
                )
            )[0]
        finally:
            pool.close()

    result = asyncio.run(scenario())
    assert isinstance(result, ExtractionRejected) and result.reason == "empty"


def test_in_order_release_hands_on_in_ticket_order() -> None:
    async def scenario() -> list[int]:
        release, handed_on = InOrderRelease(), []

        async def item(ticket: int, delay: float) -> None:
            await asyncio.sleep(delay)
            await release.turn(ticket)
            handed_on.append(ticket)
            release.close(ticket)

        tickets = [release.ticket() for _ in range(5)]
        await asyncio.gather(
            *(item(t, d) for t, d in zip(tickets, [0.05, 0.0, 0.03, 0.01, 0.0], strict=True))
        )
        return handed_on

    assert asyncio.run(scenario()) == [0, 1, 2, 3, 4]


def stored_rows(database_url: str) -> tuple[list[tuple[object, ...]], list[tuple[str, str]]]:
    database = Database(database_url)
    with database.sessions() as session:
        articles = session.execute(
            select(
                Article.id,
                Article.url,
                Article.text_hash,
                Article.story_id,
                Article.duplicate_of_id,
            ).order_by(Article.id)
        ).all()
        rejects = session.execute(select(Reject.url, Reject.reason).order_by(Reject.url)).all()
    database.dispose()
    return [tuple(row) for row in articles], [tuple(row) for row in rejects]


@pytest.mark.parametrize("workers", ["2"])
def test_pool_crawl_stores_exactly_what_in_process_extraction_stores(
    tmp_path: Path, workers: str
) -> None:
    folder = tmp_path / "inbox"
    write_articles(folder, 30, seed=11)
    for name in (
        "military-com-biden-airstrikes-syria.txt",
        "washington-times-biden-airstrikes-syria.txt",
    ):
        shutil.copy(SEEDS / name, folder / name)
        shutil.copy(SEEDS / name, folder / f"copy-of-{name}")
    (folder / "empty.txt").write_bytes(b"")
    results = {}
    for mode in ("0", workers):
        database_url = f"sqlite:///{tmp_path / f'workers-{mode}.db'}"
        run = run_scrapy(
            "crawl",
            "files",
            "-a",
            f"path={folder}",
            "-s",
            f"EXTRACTION_WORKERS={mode}",
            database_url=database_url,
        )
        assert run.returncode == 0, run.stderr[-2000:]
        results[mode] = stored_rows(database_url)
        if mode != "0":
            assert f"Extracting in {workers} worker processes" in run.stderr
    assert results["0"] == results[workers]
    articles, rejects = results["0"]
    assert len(articles) == 34 and rejects == [((folder / "empty.txt").as_uri(), "empty")]
    assert sum(1 for row in articles if row[4] is not None) == 2  # the two copies
