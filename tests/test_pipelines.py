"""The pipelines built as Scrapy builds them: `from_crawler(get_crawler(...))`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy.logformatter import LogFormatter
from scrapy.utils.test import get_crawler
from sqlalchemy import select

from crawler.items import ArticleItem
from crawler.spiders.files import FilesSpider
from pipelines.extraction import ExtractionPipeline
from pipelines.grouping import GroupingPipeline
from pipelines.rejection import RejectedItem
from pipelines.storage import StoragePipeline
from storage.database import Database
from storage.models import Article, Reject, Story

SEEDS = Path(__file__).resolve().parents[1] / "seeds" / "articles"


# Unit tests call process_item directly: extraction in this process, not in workers.
IN_PROCESS = {"EXTRACTION_WORKERS": 0}


def seed_item(name: str) -> ArticleItem:
    path = SEEDS / name
    return ArticleItem(
        url=path.as_uri(),
        body=path.read_bytes(),
        fetched_at=datetime.now(UTC),
        source="files",
        content_type="text/plain",
    )


def test_extraction_pipeline_attaches_the_article() -> None:
    crawler = get_crawler(FilesSpider, settings_dict={**IN_PROCESS, "EXTRACTION_MIN_WORDS": 40})
    pipeline = ExtractionPipeline.from_crawler(crawler)
    pipeline.open_spider()
    item = pipeline.process_item(seed_item("washington-times-biden-airstrikes-syria.txt"))
    assert item.article is not None
    assert item.article.published_at == datetime(2021, 2, 25, tzinfo=UTC)
    assert crawler.stats is not None and crawler.stats.get_value("extraction/extracted") == 1


def test_log_lines_name_items_without_their_pages() -> None:
    """Scrapy logs every dropped item and, at DEBUG, every stored one, with its repr."""
    crawler = get_crawler(FilesSpider, settings_dict=IN_PROCESS)
    pipeline = ExtractionPipeline.from_crawler(crawler)
    pipeline.open_spider()
    item = pipeline.process_item(seed_item("washington-times-biden-airstrikes-syria.txt"))
    assert item.body is not None and item.article is not None
    spider = FilesSpider.from_crawler(crawler, path=str(SEEDS))
    formatted = LogFormatter().dropped(item, RejectedItem("duplicate_url"), None, spider)
    line = formatted["msg"] % formatted["args"]
    assert item.url in line and f"{len(item.body)} bytes" in line
    assert repr(item.article.title) in line
    assert item.body.decode()[:80] not in line and item.article.text[:80] not in line
    assert len(line) < 400


def test_extraction_pipeline_rejects_binary_with_reason_and_stat() -> None:
    crawler = get_crawler(FilesSpider, settings_dict=IN_PROCESS)
    pipeline = ExtractionPipeline.from_crawler(crawler)
    pipeline.open_spider()
    item = ArticleItem(
        "file:///x.html", b"%PDF-1.7\n\x00\x01\x02binary", datetime.now(UTC), "files"
    )
    with pytest.raises(RejectedItem) as rejection:
        pipeline.process_item(item)
    assert rejection.value.reason == "binary"
    assert crawler.stats is not None and crawler.stats.get_value("extraction/rejected/binary") == 1


def test_extraction_pipeline_rejects_too_short_text_as_no_article_body() -> None:
    crawler = get_crawler(FilesSpider, settings_dict={**IN_PROCESS, "EXTRACTION_MIN_WORDS": 40})
    pipeline = ExtractionPipeline.from_crawler(crawler)
    pipeline.open_spider()
    item = ArticleItem(
        "file:///short.txt",
        b"Just a few words here.",
        datetime.now(UTC),
        "files",
        content_type="text/plain",
    )
    with pytest.raises(RejectedItem) as rejection:
        pipeline.process_item(item)
    assert rejection.value.reason == "no_article_body"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"EXTRACTION_MODE": "fastest"}, "EXTRACTION_MODE"),
        ({"EXTRACTION_MIN_WORDS": 0}, "EXTRACTION_MIN_WORDS"),
    ],
)
def test_extraction_settings_are_validated(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ExtractionPipeline.from_crawler(get_crawler(FilesSpider, settings_dict=settings))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"DEDUP_NUM_PERM": 4}, "DEDUP_NUM_PERM"),
        ({"DEDUP_STORY_SIMILARITY": 1.5}, "DEDUP_STORY_SIMILARITY"),
    ],
)
def test_grouping_settings_are_validated(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GroupingPipeline.from_crawler(get_crawler(FilesSpider, settings_dict=settings))


def test_all_three_pipelines_store_one_story_and_record_rejects(sqlite_url: str) -> None:
    crawler = get_crawler(FilesSpider, settings_dict={**IN_PROCESS, "DATABASE_URL": sqlite_url})
    extraction = ExtractionPipeline.from_crawler(crawler)
    grouping = GroupingPipeline.from_crawler(crawler)
    storage = StoragePipeline.from_crawler(crawler)
    for pipeline in (extraction, grouping, storage):
        pipeline.open_spider()
    for name in sorted(path.name for path in SEEDS.glob("*.txt")):
        storage.process_item(grouping.process_item(extraction.process_item(seed_item(name))))
    empty = ArticleItem("file:///empty.txt", b"", datetime.now(UTC), "files")
    with pytest.raises(RejectedItem) as rejection:
        extraction.process_item(empty)
    storage.item_dropped(empty, None, rejection.value, crawler.spider)  # what the signal does
    for pipeline in (storage, grouping, extraction):  # Scrapy closes pipelines in reverse
        if hasattr(pipeline, "close_spider"):
            pipeline.close_spider()

    database = Database(sqlite_url)
    with database.sessions() as session:
        story_ids = set(session.scalars(select(Article.story_id)))
        stories = session.scalars(select(Story)).all()
        rejects = session.scalars(select(Reject)).all()
    database.dispose()
    assert len(story_ids) == 1 and None not in story_ids
    assert [(story.article_count, story.outlet_count) for story in stories] == [(2, 2)]
    assert [(reject.url, reject.reason) for reject in rejects] == [("file:///empty.txt", "empty")]
    assert crawler.stats is not None and crawler.stats.get_value("rejects/empty") == 1
