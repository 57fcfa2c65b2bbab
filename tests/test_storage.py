"""The repository on both dialects: upserts by URL, story bookkeeping, rejects, UTC times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, select

from storage.crawl_state import ArticleRevision
from storage.database import Database, mask_password
from storage.models import Article, Reject, Story
from storage.repository import ArticleRecord, ArticleRepository
from tests.conftest import run_scrapy

SEEDS = Path(__file__).resolve().parents[1] / "seeds" / "articles"
FETCHED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def record(url: str, story_key: str, **overrides: object) -> ArticleRecord:
    values: dict[str, object] = {
        "url": url,
        "canonical_url": url,
        "text": f"Text of {url}",
        "text_hash": url.rsplit("/", 1)[-1].ljust(64, "0"),
        "word_count": 3,
        "fetched_at": FETCHED,
        "story_key": story_key,
        "site": url.split("/")[2],
        "title": f"Title {url}",
    }
    values.update(overrides)
    return ArticleRecord(**values)  # type: ignore[arg-type]


def test_upsert_by_url_updates_in_place(database_url: str) -> None:
    database = Database(database_url)
    database.create_schema()
    repository = ArticleRepository(database)
    first_id = repository.upsert_article(
        record("https://a.example/1", "https://a.example/1", title="Old")
    )
    second_id = repository.upsert_article(
        record("https://a.example/1", "https://a.example/1", title="New")
    )
    with database.sessions() as session:
        titles = session.scalars(select(Article.title)).all()
    database.dispose()
    assert first_id == second_id
    assert titles == ["New"]


def test_a_changed_text_keeps_the_earlier_one_as_a_revision(database_url: str) -> None:
    database = Database(database_url)
    database.create_schema()
    repository = ArticleRepository(database)
    url = "https://a.example/1"
    first = record(url, url, text="First version.", text_hash="1" * 64)
    assert repository.upsert_articles([first]).revisions == 0
    assert repository.upsert_articles([first]).revisions == 0  # same text: nothing to keep
    edited = record(url, url, text="Second version.", text_hash="2" * 64)
    assert repository.upsert_articles([edited]).revisions == 1
    relisted = record(
        url, url, text="Third version.", text_hash="3" * 64, refetch_reason="listing_changed"
    )
    assert repository.upsert_articles([relisted]).revisions == 1
    with database.sessions() as session:
        kept = session.execute(
            select(ArticleRevision.text, ArticleRevision.reason).order_by(ArticleRevision.id)
        ).all()
        current = session.scalars(select(Article.text)).all()
    database.dispose()
    assert [tuple(row) for row in kept] == [
        ("First version.", "text_changed"),
        ("Second version.", "listing_changed"),
    ]
    assert current == ["Third version."]


def test_story_counts_dates_and_title_follow_its_articles(database_url: str) -> None:
    database = Database(database_url)
    database.create_schema()
    repository = ArticleRepository(database)
    key = "https://a.example/1"
    early = datetime(2021, 2, 25, 18, 0, tzinfo=timezone(timedelta(hours=-5)))
    repository.upsert_article(record(key, key, published_at=early, title="First report"))
    repository.upsert_article(
        record("https://b.example/2", key, published_at=early + timedelta(hours=5), title="Second")
    )
    repository.upsert_article(
        record(
            "https://c.example/3",
            key,
            duplicate_of_url=key,
            published_at=early + timedelta(hours=9),
        )
    )
    with database.sessions() as session:
        story = session.scalars(select(Story)).one()
        copy = session.scalars(select(Article).where(Article.url == "https://c.example/3")).one()
        first_id = session.scalar(select(Article.id).where(Article.url == key))
    database.dispose()
    assert (story.article_count, story.outlet_count) == (3, 3)
    assert story.title == "First report"
    assert story.first_published_at == datetime(2021, 2, 25, 23, 0, tzinfo=UTC)
    assert story.last_published_at == datetime(2021, 2, 26, 8, 0, tzinfo=UTC)
    assert copy.duplicate_of_id == first_id


def test_moving_an_article_updates_both_stories(database_url: str) -> None:
    database = Database(database_url)
    database.create_schema()
    repository = ArticleRepository(database)
    repository.upsert_article(record("https://a.example/1", "story-a"))
    repository.upsert_article(record("https://a.example/2", "story-a"))
    repository.upsert_article(record("https://a.example/2", "story-b"))
    with database.sessions() as session:
        counts = dict(session.execute(select(Story.key, Story.article_count)).all())
    database.dispose()
    assert counts == {"story-a": 1, "story-b": 1}


def test_rejects_are_kept_with_reason_and_time(database_url: str) -> None:
    database = Database(database_url)
    database.create_schema()
    ArticleRepository(database).record_rejection(
        "file:///x.pdf", "binary", "content is not text", "files"
    )
    with database.sessions() as session:
        reject = session.scalars(select(Reject)).one()
    database.dispose()
    assert (reject.url, reject.reason, reject.source) == ("file:///x.pdf", "binary", "files")
    assert reject.at.tzinfo is not None


def test_seed_crawl_into_each_database(database_url: str) -> None:
    result = run_scrapy("crawl", "files", "-a", f"path={SEEDS}", database_url=database_url)
    assert result.returncode == 0, result.stderr[-2000:]
    database = Database(database_url)
    with database.sessions() as session:
        articles = session.scalar(select(func.count()).select_from(Article))
        stories = session.scalars(select(Story.article_count)).all()
    database.dispose()
    assert articles == 2
    assert stories == [2]


def test_mask_password_hides_the_secret() -> None:
    masked = mask_password("postgresql+psycopg://reader:s3cret@127.0.0.1:5432/news")
    assert "s3cret" not in masked
    assert masked == "postgresql+psycopg://reader:***@127.0.0.1:5432/news"


def test_unreachable_database_is_one_masked_line_and_exit_1(tmp_path: Path) -> None:
    url = "postgresql+psycopg://reader:s3cret@127.0.0.1:1/news"
    result = run_scrapy("crawl", "files", "-a", f"path={SEEDS}", database_url=url)
    assert result.returncode == 1
    assert "s3cret" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1
    assert errors[0].startswith(
        "scrapy crawl: error: cannot connect to postgresql+psycopg://reader:***@127.0.0.1:1/news"
    )
