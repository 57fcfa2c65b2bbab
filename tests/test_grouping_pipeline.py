"""GroupingPipeline with storage: incremental runs, run boundaries, provenance, real crawls."""

from __future__ import annotations

import asyncio
import hashlib
import random
import shutil
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from scrapy.utils.test import get_crawler
from sqlalchemy import select

from crawler.items import ArticleItem, ExtractedArticle
from crawler.spiders.files import FilesSpider
from pipelines.grouping import GroupingPipeline
from pipelines.grouping.features import ArticleFeatures
from pipelines.grouping.grouper import GroupingInput, GroupingOptions, StoryGrouper
from pipelines.shared_grouping import SharedGroupingPipeline
from pipelines.storage import StoragePipeline
from storage.database import Database
from storage.grouping_store import ArticleLink, GroupingSignature
from storage.models import Article, Story
from tests.conftest import run_scrapy
from tests.test_grouping import (
    QUAKE_JAPAN,
    QUAKE_PERU,
    QUAKE_PERU_OTHER_OUTLET,
    copies_of,
    seed_texts,
)
from tests.test_outage import ThrowawayPostgres, throwaway_postgres  # noqa: F401 - fixture
from tests.test_run_history import VOCABULARY

SEEDS = Path(__file__).resolve().parents[1] / "seeds" / "articles"
T0 = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)


def item(url: str, text: str, hours: float | None = 0.0, title: str | None = None) -> ArticleItem:
    published = None if hours is None else T0 + timedelta(hours=hours)
    site = url.split("/")[2]
    article = ExtractedArticle(
        text=text,
        title=title or f"Title of {url}",
        authors=(),
        published_at=published,
        date_source="meta" if published else None,
        modified_at=None,
        site=site,
        language="en",
        language_confidence=1.0,
        canonical_url=url,
        text_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        word_count=len(text.split()),
    )
    return ArticleItem(url, text.encode("utf-8"), T0, "test", article=article)


def run(database_url: str, items: list[ArticleItem], **settings: object) -> GroupingPipeline:
    """One crawl's worth of grouping and storage, closed as Scrapy closes them."""
    crawler = get_crawler(FilesSpider, settings_dict={"DATABASE_URL": database_url, **settings})
    grouping = GroupingPipeline.from_crawler(crawler)
    storage = StoragePipeline.from_crawler(crawler)
    grouping.open_spider()
    storage.open_spider()
    for each in items:
        storage.process_item(grouping.process_item(each))
    grouping.close_spider()
    storage.close_spider()
    grouping.spider_closed()  # what the spider_closed signal does, after every pipeline closed
    return grouping


def run_batched(
    database_url: str,
    items: list[ArticleItem],
    batch_size: int,
    pipeline: type[GroupingPipeline] = GroupingPipeline,
) -> GroupingPipeline:
    """`run` with `DEDUP_BATCH_SIZE`: the items reach grouping together, as coroutines, and
    reach storage in the order their batches are decided."""
    crawler = get_crawler(
        FilesSpider, settings_dict={"DATABASE_URL": database_url, "DEDUP_BATCH_SIZE": batch_size}
    )
    grouping = pipeline.from_crawler(crawler)
    storage = StoragePipeline.from_crawler(crawler)
    grouping.open_spider()
    storage.open_spider()

    async def group_and_store(each: ArticleItem) -> None:
        pending = grouping.process_item(each)
        assert not isinstance(pending, ArticleItem), "batched items come back as coroutines"
        storage.process_item(await pending)

    async def crawl() -> None:
        await asyncio.gather(*(group_and_store(each) for each in items))

    asyncio.run(crawl())
    grouping.close_spider()
    storage.close_spider()
    grouping.spider_closed()
    return grouping


def stored(database_url: str) -> tuple[dict[str, tuple[int | None, str | None]], list[Story]]:
    """Per URL: (story id, canonical URL); and the stories."""
    database = Database(database_url)
    with database.sessions() as session:
        urls = {
            article_id: url for article_id, url in session.execute(select(Article.id, Article.url))
        }
        rows = session.execute(select(Article.url, Article.story_id, Article.duplicate_of_id)).all()
        stories = list(session.scalars(select(Story).order_by(Story.id)))
    database.dispose()
    return {url: (story_id, urls.get(dup) if dup else None) for url, story_id, dup in rows}, stories


def partition(result: dict[str, tuple[int | None, str | None]]) -> frozenset[frozenset[str]]:
    groups: dict[int | None, set[str]] = {}
    for url, (story_id, _) in result.items():
        groups.setdefault(story_id, set()).add(url)
    return frozenset(frozenset(group) for group in groups.values())


def corpus() -> list[ArticleItem]:
    seeds = seed_texts()
    items = [
        item("https://military.example/a", seeds[0], hours=None),
        item("https://washingtontimes.example/b", seeds[1], hours=0),
        item("https://a.example/peru", QUAKE_PERU, 2, "Deadly quake hits southern Peru"),
        item("https://c.example/japan", QUAKE_JAPAN, 1, "Strong quake strikes central Japan"),
        item("https://b.example/peru", QUAKE_PERU_OTHER_OUTLET, 3, "Quake kills two in Arequipa"),
    ]
    items += [
        item(url, text, hours=1 + n) for n, (url, text) in enumerate(copies_of(seeds[1]).items())
    ]
    items.append(item("https://earliest.example/b", seeds[1], hours=-1))
    return items


def test_a_second_run_links_new_articles_to_the_first_runs(sqlite_url: str) -> None:
    seeds = seed_texts()
    run(
        sqlite_url,
        [item("https://wire.example/a", seeds[1]), item("https://a.example/peru", QUAKE_PERU, 2)],
    )
    trimmed = copies_of(seeds[1])["https://trimmed.example/a"]
    second = run(
        sqlite_url,
        [
            item("https://trimmed.example/a", trimmed, 4),
            item("https://b.example/peru", QUAKE_PERU_OTHER_OUTLET, 5),
        ],
    )
    assert second.stats.get_value("grouping/loaded") == 2
    assert second.stats.get_value("grouping/backfilled") is None  # signatures were reused
    result, stories = stored(sqlite_url)
    assert result["https://trimmed.example/a"][1] == "https://wire.example/a"
    assert result["https://b.example/peru"][0] == result["https://a.example/peru"][0]
    peru = next(story for story in stories if story.id == result["https://a.example/peru"][0])
    assert (peru.article_count, peru.outlet_count) == (2, 2)
    assert peru.first_published_at == T0 + timedelta(hours=2)

    database = Database(sqlite_url)
    with database.sessions() as session:
        links = {
            (link.url, link.other_url): (link.level, link.method)
            for link in session.scalars(select(ArticleLink))
        }
        schemes = set(session.scalars(select(GroupingSignature.scheme)))
    database.dispose()
    assert links[("https://trimmed.example/a", "https://wire.example/a")] == ("copy", "containment")
    assert links[("https://b.example/peru", "https://a.example/peru")] == ("story", "tfidf_avglink")
    assert len(schemes) == 1 and "num_perm=128" in schemes.pop()


def test_one_run_or_three_give_the_same_stories_and_canonicals(tmp_path: Path) -> None:
    items = corpus()
    one = f"sqlite:///{tmp_path / 'one.db'}"
    three = f"sqlite:///{tmp_path / 'three.db'}"
    run(one, items)
    for part in (items[:4], items[4:8], items[8:]):
        run(three, part)
    once, _ = stored(one)
    thrice, stories = stored(three)
    assert partition(once) == partition(thrice)
    assert {url: canonical for url, (_, canonical) in once.items()} == {
        url: canonical for url, (_, canonical) in thrice.items()
    }
    # The earliest copy came last, in the third run: every other copy was re-pointed to it.
    assert thrice["https://washingtontimes.example/b"][1] == "https://earliest.example/b"
    assert thrice["https://trimmed.example/a"][1] == "https://earliest.example/b"
    assert thrice["https://earliest.example/b"][1] is None
    counts = sorted(story.article_count for story in stories)
    assert sum(counts) == len(items) and all(count > 0 for count in counts)


@pytest.mark.parametrize(
    ("batch_size", "pipeline"),
    [(4, GroupingPipeline), (64, GroupingPipeline), (4, SharedGroupingPipeline)],
)
def test_items_decided_in_batches_are_grouped_as_one_at_a_time(
    tmp_path: Path, batch_size: int, pipeline: type[GroupingPipeline]
) -> None:
    """Batches of 4 (the last one ended by the wait) or one batch of everything; and the
    distributed workers' pipeline, which links each batch under its lock."""
    items, one_at_a_time = corpus(), corpus()
    one = f"sqlite:///{tmp_path / 'one.db'}"
    batched = f"sqlite:///{tmp_path / 'batched.db'}"
    single = run(one, one_at_a_time)
    grouping = run_batched(batched, items, batch_size, pipeline)
    assert [each.grouping for each in items] == [each.grouping for each in one_at_a_time]
    assert stored(batched)[0] == stored(one)[0]
    for name in ("grouping/duplicate", "grouping/regrouped", "grouping/tfidf_avglink"):
        assert grouping.stats.get_value(name) == single.stats.get_value(name)
    assert stored_signatures(batched) == stored_signatures(one)


def story_items() -> list[ArticleItem]:
    """Four stories (an original, its exact copy, a copy with a note, an earlier-published
    copy, a second report) and four single articles, each on words of its own."""
    vocabularies = [
        [word + suffix for word in VOCABULARY] for suffix in ("ia", "on", "er", "us", "ix", "al")
    ]

    def text(vocabulary: list[str], seed: int) -> str:
        generator = random.Random(seed)
        return "\n\n".join(
            " ".join(generator.choice(vocabulary) for _ in range(40)).capitalize() + "."
            for _ in range(6)
        )

    items = []
    for story in range(4):
        original = text(vocabularies[story], story)
        items += [
            item(f"https://news.example/{story}", original, 10 * story, f"Story {story}"),
            item(f"https://mirror.example/{story}", original, 10 * story + 1, f"Story {story}"),
            item(
                f"https://wire.example/{story}",
                original + "\n\nUpdated with a note from the editors.",
                10 * story + 2,
                f"Story {story}",
            ),
            item(f"https://early.example/{story}", original, 10 * story - 1, f"Story {story}"),
            item(
                f"https://report.example/{story}",
                text(vocabularies[story], 100 + story),
                10 * story + 3,
                f"Report {story}",
            ),
        ]
    for single in range(2):
        items.append(
            item(
                f"https://single.example/{single}",
                text(vocabularies[4 + single], 200 + single),
                50 + single,
                f"Single {single}",
            )
        )
    return items


class SimulatedWorker:
    """One distributed worker's grouping and storage, fed one item at a time; storage
    writes in batches of three, so most re-pointings wait for it."""

    def __init__(self, database_url: str) -> None:
        crawler = get_crawler(
            FilesSpider,
            settings_dict={
                "DATABASE_URL": database_url,
                "STORAGE_BATCH_SIZE": 3,
                "STORAGE_FLUSH_SECONDS": 3600,
            },
        )
        self.grouping = SharedGroupingPipeline.from_crawler(crawler)
        self.storage = StoragePipeline.from_crawler(crawler)
        self.grouping.open_spider()
        self.storage.open_spider()

    def process(self, each: ArticleItem) -> None:
        result = self.grouping.process_item(each)
        assert isinstance(result, ArticleItem)
        self.storage.process_item(result)

    def close(self) -> None:
        """As Scrapy closes a worker: the pipelines, then the spider_closed signal."""
        self.grouping.close_spider()
        self.storage.close_spider()
        self.grouping.spider_closed()


@pytest.mark.parametrize("seed", range(8))
def test_two_interleaved_workers_group_and_pick_canonicals_like_one(
    postgres_url: str, sqlite_url: str, seed: int
) -> None:
    """Two workers on one database take the articles in a random order and share, the
    first to run out closing while the other goes on (as `scrapy crawl` workers do): the
    stories and canonicals stored are those of one worker taking them all."""
    run(sqlite_url, story_items())
    items = story_items()
    generator = random.Random(seed)
    generator.shuffle(items)
    owners = [generator.randrange(2) for _ in items]
    assert set(owners) == {0, 1}
    last_item = {owner: position for position, owner in enumerate(owners)}
    workers = [SimulatedWorker(postgres_url) for _ in range(2)]
    for position, (each, owner) in enumerate(zip(items, owners, strict=True)):
        workers[owner].process(each)
        if position == last_item[owner] and position < len(items) - 1:
            workers[owner].close()
    workers[owners[-1]].close()

    shared, single = stored(postgres_url)[0], stored(sqlite_url)[0]
    assert partition(shared) == partition(single)
    assert {url: canonical for url, (_, canonical) in shared.items()} == {
        url: canonical for url, (_, canonical) in single.items()
    }
    # Sanity: the corpus has four stories of five (one copy group of four in each).
    assert sorted(len(group) for group in partition(single)) == [1, 1, 5, 5, 5, 5]


def stored_signatures(database_url: str) -> dict[str, tuple[object, ...]]:
    """What is stored of each signature, but when."""
    database = Database(database_url)
    with database.sessions() as session:
        rows = {
            row.url: (
                row.scheme,
                row.indexed,
                row.content_words,
                row.minhash,
                row.bands,
                row.shingles,
                row.terms,
                row.weights,
                row.keyterms,
            )
            for row in session.scalars(select(GroupingSignature))
        }
    database.dispose()
    assert rows
    return rows


def test_a_failing_batch_fails_each_of_its_items(sqlite_url: str) -> None:
    crawler = get_crawler(
        FilesSpider, settings_dict={"DATABASE_URL": sqlite_url, "DEDUP_BATCH_SIZE": 3}
    )
    grouping = GroupingPipeline.from_crawler(crawler)
    grouping.open_spider()

    def broken(articles: object) -> list[object]:
        raise RuntimeError("features failed")

    grouping.grouper.signatures = broken  # type: ignore[method-assign,assignment]

    async def crawl() -> list[object]:
        pending = [grouping.process_item(each) for each in corpus()[:3]]
        return await asyncio.gather(*pending, return_exceptions=True)  # type: ignore[arg-type]

    outcomes = asyncio.run(crawl())
    assert [str(outcome) for outcome in outcomes] == ["features failed"] * 3
    grouping.close_spider()
    grouping.spider_closed()


def test_articles_stored_before_grouping_kept_signatures_are_backfilled(sqlite_url: str) -> None:
    seeds = seed_texts()
    run(sqlite_url, [item("https://wire.example/a", seeds[1])])
    database = Database(sqlite_url)
    with database.sessions.begin() as session:
        session.execute(GroupingSignature.__table__.delete())
    database.dispose()
    second = run(sqlite_url, [item("https://copy.example/a", seeds[1] + "\n\nUpdated.", 2)])
    assert second.stats.get_value("grouping/backfilled") == 1
    result, _ = stored(sqlite_url)
    assert result["https://copy.example/a"][1] == "https://wire.example/a"


@pytest.mark.parametrize("batch_size", [1, 16])
def test_a_real_second_crawl_finds_the_copy_of_a_first_crawl_article(
    tmp_path: Path, sqlite_url: str, batch_size: int
) -> None:
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    first_dir.mkdir()
    second_dir.mkdir()
    for path in SEEDS.glob("*.txt"):
        shutil.copy(path, first_dir / path.name)
    text = (SEEDS / "washington-times-biden-airstrikes-syria.txt").read_text(encoding="utf-8")
    (second_dir / "republished.txt").write_text(
        text + "\n\nThis report was republished with permission.\n", encoding="utf-8"
    )
    for directory in (first_dir, second_dir):
        completed = run_scrapy(
            "crawl",
            "files",
            "-a",
            f"path={directory}",
            "-s",
            f"DEDUP_BATCH_SIZE={batch_size}",
            database_url=sqlite_url,
        )
        assert completed.returncode == 0, completed.stderr[-2000:]
    result, stories = stored(sqlite_url)
    by_name = {Path(url).name: value for url, value in result.items()}
    assert by_name["republished.txt"][1] is not None
    assert Path(by_name["republished.txt"][1]).name == "washington-times-biden-airstrikes-syria.txt"
    assert len({story_id for story_id, _ in by_name.values()}) == 1
    assert [story.article_count for story in stories] == [3]


@pytest.mark.parametrize(
    ("name", "value"), [("DEDUP_COPY_BANDS", 500), ("DEDUP_STORY_KEYTERMS", 0)]
)
def test_bad_grouping_settings_name_the_setting(name: str, value: int) -> None:
    with pytest.raises(ValueError, match=name):
        GroupingPipeline.from_crawler(get_crawler(FilesSpider, settings_dict={name: value}))


def test_a_database_outage_mid_run_loses_no_signature_link_or_regrouping(
    throwaway_postgres: ThrowawayPostgres,  # noqa: F811 - the fixture imported above
) -> None:
    """Grouping's writes wait for the database like storage's do (STORAGE_RETRY_SECONDS)."""
    items = corpus()
    crawler = get_crawler(
        FilesSpider,
        settings_dict={
            "DATABASE_URL": throwaway_postgres.url,
            "DEDUP_FLUSH_EVERY": 1,
            "STORAGE_RETRY_SECONDS": 120,
        },
    )
    grouping = GroupingPipeline.from_crawler(crawler)
    storage = StoragePipeline.from_crawler(crawler)
    grouping.open_spider()
    storage.open_spider()
    for each in items[:3]:
        storage.process_item(grouping.process_item(each))
    storage.flush()
    throwaway_postgres.stop()
    for each in items[3:]:
        storage.process_item(grouping.process_item(each))
    restart = threading.Timer(3.0, throwaway_postgres.start)
    restart.start()
    try:
        grouping.close_spider()  # waits for the database to come back
    finally:
        restart.join()
    storage.close_spider()
    grouping.spider_closed()

    assert crawler.stats.get_value("grouping/flush_failed", 0) >= 1
    assert crawler.stats.get_value("grouping/unsaved") is None
    assert crawler.stats.get_value("grouping/unapplied") is None
    database = Database(throwaway_postgres.url)
    with database.sessions() as session:
        signatures = set(session.scalars(select(GroupingSignature.url)))
        copy_links = session.scalars(
            select(ArticleLink.url).where(ArticleLink.level == "copy")
        ).all()
    database.dispose()
    assert signatures == {each.url for each in items}
    assert len(copy_links) >= len(copies_of(seed_texts()[1]))
    result, _ = stored(throwaway_postgres.url)
    assert result["https://washingtontimes.example/b"][1] == "https://earliest.example/b"
    assert partition(result) == partition_of_one_run(items)


def partition_of_one_run(items: list[ArticleItem]) -> frozenset[frozenset[str]]:
    """The stories the grouper alone finds in `items`, in URLs."""
    grouper = StoryGrouper(GroupingOptions())
    keys = {}
    for each in items:
        assert each.article is not None
        keys[each.url] = grouper.assign(
            GroupingInput(
                each.url,
                each.article.text,
                each.article.text_hash,
                each.article.title,
                each.article.published_at,
                each.observed_at,
            )
        ).story_key
    return frozenset(
        frozenset(url for url in keys if grouper.decision_of(url).story_key == key)  # type: ignore[union-attr]
        for key in set(keys.values())
    )


def record_feature_reads(grouping: GroupingPipeline) -> list[str]:
    """The list that, from now on, collects the URLs whose features `grouping` reads back
    from the database."""
    read_back: list[str] = []
    load = grouping._stored_features

    def counting_load(urls: list[str]) -> dict[str, ArticleFeatures]:
        read_back.extend(urls)
        return load(urls)

    grouping.grouper._feature_loader = counting_load
    return read_back


def test_features_read_back_from_the_database_group_like_features_kept_in_memory(
    tmp_path: Path,
) -> None:
    """With room for one article's features, the rest come from grouping_signatures."""
    items = corpus()
    in_memory = f"sqlite:///{tmp_path / 'memory.db'}"
    from_database = f"sqlite:///{tmp_path / 'database.db'}"
    run(in_memory, items)
    crawler = get_crawler(FilesSpider, settings_dict={"DATABASE_URL": from_database})
    assert crawler.stats is not None
    grouping = GroupingPipeline(
        GroupingOptions(), from_database, crawler.stats, flush_every=2, feature_cache=1
    )
    storage = StoragePipeline.from_crawler(crawler)
    grouping.open_spider()
    storage.open_spider()
    read_back = record_feature_reads(grouping)
    for each in items:
        storage.process_item(grouping.process_item(each))
    grouping.close_spider()
    storage.close_spider()
    grouping.spider_closed()

    assert len(read_back) > len(items)
    memory_result, _ = stored(in_memory)
    database_result, _ = stored(from_database)
    assert partition(memory_result) == partition(database_result)
    assert {url: canonical for url, (_, canonical) in memory_result.items()} == {
        url: canonical for url, (_, canonical) in database_result.items()
    }


def test_a_second_run_opens_without_features_and_reads_them_when_linking(
    sqlite_url: str,
) -> None:
    """Opening reads band keys and times only; the first run's features come on demand."""
    seeds = seed_texts()
    run(
        sqlite_url,
        [item("https://wire.example/a", seeds[1]), item("https://a.example/peru", QUAKE_PERU, 2)],
    )
    crawler = get_crawler(FilesSpider, settings_dict={"DATABASE_URL": sqlite_url})
    grouping = GroupingPipeline.from_crawler(crawler)
    storage = StoragePipeline.from_crawler(crawler)
    grouping.open_spider()
    storage.open_spider()
    assert len(grouping.grouper) == 2
    assert not grouping.grouper._feature_cache  # nothing of the features was read
    read_back = record_feature_reads(grouping)
    trimmed = copies_of(seeds[1])["https://trimmed.example/a"]
    for each in [
        item("https://trimmed.example/a", trimmed, 4),
        item("https://b.example/peru", QUAKE_PERU_OTHER_OUTLET, 5),
    ]:
        storage.process_item(grouping.process_item(each))
    grouping.close_spider()
    storage.close_spider()
    grouping.spider_closed()

    assert set(read_back) == {"https://wire.example/a", "https://a.example/peru"}
    result, _ = stored(sqlite_url)
    assert result["https://trimmed.example/a"][1] == "https://wire.example/a"
    assert result["https://b.example/peru"][0] == result["https://a.example/peru"][0]
