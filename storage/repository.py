"""The repository: every read and write the pipelines and commands make, as domain verbs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from storage.crawl_state import ArticleRevision
from storage.database import Database
from storage.dialect_insert import dialect_insert
from storage.grouping_store import StoredDecision
from storage.models import Article, Reject, Story


@dataclass(frozen=True)
class ArticleRecord:
    """Everything stored for one article, with its grouping in stable keys (URLs)."""

    url: str
    canonical_url: str
    text: str
    text_hash: str
    word_count: int
    fetched_at: datetime
    story_key: str
    observed_at: datetime | None = None
    title: str | None = None
    authors: tuple[str, ...] = ()
    published_at: datetime | None = None
    published_day: date | None = None
    date_source: str | None = None
    modified_at: datetime | None = None
    site: str | None = None
    language: str | None = None
    language_confidence: float | None = None
    source: str | None = None
    duplicate_of_url: str | None = None
    link_method: str | None = None
    link_similarity: float | None = None
    # Why the article was fetched again, kept with its earlier text if that changed.
    refetch_reason: str | None = None


@dataclass(frozen=True)
class UpsertResult:
    """What a batch upsert wrote: each URL's article id, and earlier texts kept as revisions."""

    article_ids: dict[str, int]
    revisions: int


@dataclass(frozen=True)
class Rejection:
    """An input refused before it became an article, and why."""

    url: str
    reason: str
    detail: str
    source: str | None = None


@dataclass(frozen=True)
class StoredArticle:
    """An article as grouping reloads it: its text, time and earlier decisions."""

    url: str
    text: str
    text_hash: str
    when: datetime | None
    story_key: str | None
    duplicate_of_url: str | None
    link_method: str | None
    link_similarity: float | None


@dataclass(frozen=True)
class StoryArticle:
    """One article line of a story listing."""

    title: str | None
    site: str | None
    url: str
    published_at: datetime | None
    is_duplicate: bool


@dataclass(frozen=True)
class StorySummary:
    """A story with its articles and outlets, for `scrapy stories`."""

    story_id: int
    title: str | None
    first_published_at: datetime | None
    last_published_at: datetime | None
    article_count: int
    outlets: tuple[str, ...]
    articles: tuple[StoryArticle, ...] = field(default=())


class ArticleRepository:
    """Reads and writes articles, stories and rejects in one database."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def upsert_article(self, record: ArticleRecord) -> int:
        """Insert or update (by URL) one article and bring its stories up to date."""
        return self.upsert_articles([record]).article_ids[record.url]

    def upsert_articles(self, records: Sequence[ArticleRecord]) -> UpsertResult:
        """Insert or update (by URL) a batch of articles in one transaction.

        A URL repeated in the batch is written once, with its last record (PostgreSQL
        refuses an upsert that hits one key twice). Copies may point at canonicals of the
        same batch. Every story the batch touches is brought up to date. A stored article
        whose text changes keeps its earlier text in `article_revisions`.

        Returns:
            The article id of each URL written, and how many earlier texts were kept.
        """
        merged = {record.url: record for record in records}
        if not merged:
            return UpsertResult({}, 0)
        with self.database.sessions.begin() as session:
            urls = list(merged)
            stored = session.execute(
                select(Article.id, Article.url, Article.text_hash, Article.story_id).where(
                    Article.url.in_(urls)
                )
            ).all()
            revisions = self._keep_changed_texts(
                session,
                merged,
                [
                    article_id
                    for article_id, url, text_hash, _ in stored
                    if text_hash != merged[url].text_hash
                ],
            )
            previous_story_ids = {story_id for *_, story_id in stored if story_id is not None}
            story_ids = self._ensure_stories(
                session, sorted({record.story_key for record in merged.values()})
            )
            linked_at = datetime.now(UTC)
            rows = [
                _article_values(record, story_ids[record.story_key], None, linked_at)
                for record in merged.values()
            ]
            statement = self._insert(Article)
            statement = statement.on_conflict_do_update(
                index_elements=[Article.url],
                set_={name: statement.excluded[name] for name in rows[0] if name != "url"},
            )
            # executemany of one cached statement: no per-value statement building.
            session.connection().execute(statement, rows)
            article_ids = self._article_ids(session, urls)
            canonical_urls = {r.duplicate_of_url for r in merged.values() if r.duplicate_of_url}
            canonical_ids = self._article_ids(session, list(canonical_urls))
            copies = [
                {
                    "article_id": article_ids[record.url],
                    "canonical_id": canonical_ids[record.duplicate_of_url],
                }
                for record in merged.values()
                if record.duplicate_of_url in canonical_ids
            ]
            if copies:
                session.connection().execute(
                    update(Article)
                    .where(Article.id == bindparam("article_id"))
                    .values(duplicate_of_id=bindparam("canonical_id")),
                    copies,
                )
            self._refresh_stories(session, previous_story_ids | set(story_ids.values()))
            return UpsertResult(article_ids, revisions)

    @staticmethod
    def _keep_changed_texts(
        session: Session, records: dict[str, ArticleRecord], changed: list[int]
    ) -> int:
        """Copy into `article_revisions` the stored texts (of the `changed` article ids)
        that `records` replace with others."""
        if not changed:
            return 0
        now = datetime.now(UTC)
        for article in session.scalars(select(Article).where(Article.id.in_(changed))):
            session.add(
                ArticleRevision(
                    article_id=article.id,
                    url=article.url,
                    title=article.title,
                    text=article.text,
                    text_hash=article.text_hash,
                    fetched_at=article.fetched_at,
                    superseded_at=now,
                    reason=records[article.url].refetch_reason or "text_changed",
                )
            )
        session.flush()
        return len(changed)

    def _ensure_stories(self, session: Session, keys: Sequence[str]) -> dict[str, int]:
        """The id of each story key, creating the stories that do not exist yet (new ids
        in the order of `keys`)."""
        if not keys:
            return {}
        now = datetime.now(UTC)
        session.execute(
            self._insert(Story)
            .values(
                [
                    {"key": key, "article_count": 0, "outlet_count": 0, "updated_at": now}
                    for key in dict.fromkeys(keys)
                ]
            )
            .on_conflict_do_nothing(index_elements=[Story.key])
        )
        return {
            key: story_id
            for key, story_id in session.execute(
                select(Story.key, Story.id).where(Story.key.in_(set(keys)))
            )
        }

    def _article_ids(self, session: Session, urls: list[str]) -> dict[str, int]:
        if not urls:
            return {}
        return {
            url: article_id
            for url, article_id in session.execute(
                select(Article.url, Article.id).where(Article.url.in_(urls))
            )
        }

    def record_rejection(self, url: str, reason: str, detail: str, source: str | None) -> None:
        """Keep a refused input and why, so nothing is silently lost."""
        self.record_rejections([Rejection(url, reason, detail, source)])

    def record_rejections(self, rejections: Sequence[Rejection]) -> None:
        """Keep a batch of refused inputs in one transaction."""
        now = datetime.now(UTC)
        with self.database.sessions.begin() as session:
            session.add_all(
                Reject(url=r.url, reason=r.reason, detail=r.detail[:4000], at=now, source=r.source)
                for r in rejections
            )

    def iter_stored_articles(self) -> Iterator[StoredArticle]:
        """Every stored article in id order, as grouping reloads them."""
        canonical = Article.__table__.alias("canonical")
        query = (
            select(
                Article.url,
                Article.text,
                Article.text_hash,
                func.coalesce(Article.published_at, Article.observed_at),
                Story.key,
                canonical.c.url,
                Article.link_method,
                Article.link_similarity,
            )
            .outerjoin(Story, Story.id == Article.story_id)
            .outerjoin(canonical, canonical.c.id == Article.duplicate_of_id)
            .order_by(Article.id)
        )
        with self.database.read_sessions() as session:
            for row in session.execute(query.execution_options(yield_per=1000)):
                url, text, text_hash, when, story_key, duplicate_of_url, method, similarity = row
                yield StoredArticle(
                    url,
                    text,
                    text_hash,
                    _aware(when) if when else None,
                    story_key,
                    duplicate_of_url,
                    method,
                    similarity,
                )

    def story_summaries(
        self, since: datetime | None = None, limit: int | None = None
    ) -> list[StorySummary]:
        """Stories, most recently active first, with their articles and outlets."""
        query = select(Story).where(Story.article_count > 0)
        if since is not None:
            query = query.where(func.coalesce(Story.last_published_at, Story.updated_at) >= since)
        query = query.order_by(
            func.coalesce(Story.last_published_at, Story.updated_at).desc(), Story.id.desc()
        )
        if limit is not None:
            query = query.limit(limit)
        with self.database.read_sessions() as session:
            summaries = []
            for story in session.scalars(query):
                rows = session.execute(
                    select(
                        Article.title,
                        Article.site,
                        Article.url,
                        Article.published_at,
                        Article.duplicate_of_id,
                    )
                    .where(Article.story_id == story.id)
                    .order_by(Article.published_at.is_(None), Article.published_at, Article.id)
                ).all()
                articles = tuple(
                    StoryArticle(title, site, url, published_at, duplicate_of is not None)
                    for title, site, url, published_at, duplicate_of in rows
                )
                outlets = tuple(sorted({a.site for a in articles if a.site}))
                summaries.append(
                    StorySummary(
                        story.id,
                        story.title,
                        story.first_published_at,
                        story.last_published_at,
                        story.article_count,
                        outlets,
                        articles,
                    )
                )
            return summaries

    def count_articles(self) -> int:
        with self.database.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(Article)) or 0)

    def _insert(self, table: type[Any]) -> Any:
        return dialect_insert(self.database, table)

    def _refresh_stories(self, session: Session, story_ids: set[int]) -> None:
        """Recompute stories' counts, dates and representative titles from their articles;
        a story left without articles is deleted."""
        if not story_ids:
            return
        ids = sorted(story_ids)
        members = Article.story_id.in_(ids)
        tallies = session.execute(
            select(
                Article.story_id,
                func.count(Article.id),
                func.count(func.distinct(Article.site)),
                func.min(Article.published_at),
                func.max(Article.published_at),
            )
            .where(members)
            .group_by(Article.story_id)
        ).all()
        # A story's title: its earliest canonical article's (undated last, then by fetch, URL).
        ranked = (
            select(
                Article.story_id,
                Article.title,
                func.row_number()
                .over(
                    partition_by=Article.story_id,
                    order_by=(
                        Article.published_at.is_(None),
                        Article.published_at,
                        Article.fetched_at,
                        Article.url,
                    ),
                )
                .label("rank"),
            )
            .where(members, Article.title.is_not(None), Article.duplicate_of_id.is_(None))
            .subquery()
        )
        titles: dict[int | None, str | None] = {
            story_id: title
            for story_id, title in session.execute(
                select(ranked.c.story_id, ranked.c.title).where(ranked.c.rank == 1)
            )
        }
        now = datetime.now(UTC)
        rows = [
            {
                "story": story_id,
                "count": int(count),
                "outlets": int(outlets),
                "first": _aware(first) if first else None,
                "last": _aware(last) if last else None,
                "title": titles.get(story_id),
                "now": now,
            }
            for story_id, count, outlets, first, last in tallies
        ]
        empty = [story_id for story_id in ids if story_id not in {row["story"] for row in rows}]
        if empty:
            session.execute(delete(Story).where(Story.id.in_(empty)))
        if rows:
            session.connection().execute(
                update(Story)
                .where(Story.id == bindparam("story"))
                .values(
                    article_count=bindparam("count"),
                    outlet_count=bindparam("outlets"),
                    first_published_at=bindparam("first", type_=Story.first_published_at.type),
                    last_published_at=bindparam("last", type_=Story.last_published_at.type),
                    title=bindparam("title", type_=Story.title.type),
                    updated_at=bindparam("now", type_=Story.updated_at.type),
                ),
                rows,
            )

    def regroup_articles(self, changes: Sequence[StoredDecision]) -> list[str]:
        """Re-point stored articles to a new story or canonical; returns the URLs not yet stored.

        Grouping calls this when a new article changes older ones' grouping (an earlier
        copy becomes canonical, a report joins two stories). A change whose article or
        canonical is not stored yet is left for the caller to retry; when no change can
        be applied yet, nothing is written (the lookup is one read).
        """
        if not changes:
            return []
        with self.database.read_sessions() as session:
            if not self._applicable(changes, self._stored_rows(session, changes))[0]:
                return [change.url for change in changes]
        with self.database.sessions.begin() as session:
            stored = self._stored_rows(session, changes)
            applicable, pending = self._applicable(changes, stored)
            if not applicable:
                return pending
            story_ids = self._ensure_stories(
                session, [change.story_key or change.url for change in applicable]
            )
            linked_at = datetime.now(UTC)
            rows = [
                {
                    "article": stored[change.url][0],
                    "story": story_ids[change.story_key or change.url],
                    "canonical": stored[change.duplicate_of_url][0]
                    if change.duplicate_of_url
                    else None,
                    "method": change.method,
                    "similarity": change.similarity,
                    "linked_at": linked_at,
                }
                for change in applicable
            ]
            session.connection().execute(
                update(Article)
                .where(Article.id == bindparam("article"))
                .values(
                    story_id=bindparam("story"),
                    duplicate_of_id=bindparam("canonical"),
                    link_method=bindparam("method"),
                    link_similarity=bindparam("similarity", type_=Article.link_similarity.type),
                    linked_at=bindparam("linked_at", type_=Article.linked_at.type),
                ),
                rows,
            )
            touched = {stored[change.url][1] for change in applicable} | set(story_ids.values())
            self._refresh_stories(
                session, {story_id for story_id in touched if story_id is not None}
            )
        return pending

    @staticmethod
    def _stored_rows(
        session: Session, changes: Sequence[StoredDecision]
    ) -> dict[str, tuple[int, int | None]]:
        """(article id, story id) of each stored article the changes name, by URL."""
        urls = {change.url for change in changes}
        urls.update(change.duplicate_of_url for change in changes if change.duplicate_of_url)
        return {
            url: (article_id, story_id)
            for url, article_id, story_id in session.execute(
                select(Article.url, Article.id, Article.story_id).where(Article.url.in_(urls))
            )
        }

    @staticmethod
    def _applicable(
        changes: Sequence[StoredDecision], stored: dict[str, tuple[int, int | None]]
    ) -> tuple[list[StoredDecision], list[str]]:
        """The changes whose article (and canonical) are stored, and the URLs of the others."""
        applicable: list[StoredDecision] = []
        pending: list[str] = []
        for change in changes:
            if change.url in stored and (
                not change.duplicate_of_url or change.duplicate_of_url in stored
            ):
                applicable.append(change)
            else:
                pending.append(change.url)
        return applicable, pending


def _article_values(
    record: ArticleRecord, story_id: int, duplicate_of_id: int | None, linked_at: datetime
) -> dict[str, Any]:
    return {
        "url": record.url,
        "canonical_url": record.canonical_url,
        "site": record.site,
        "title": record.title,
        "authors": list(record.authors),
        "published_at": record.published_at,
        "published_day": record.published_day,
        "date_source": record.date_source,
        "modified_at": record.modified_at,
        "language": record.language,
        "language_confidence": record.language_confidence,
        "text": record.text,
        "text_hash": record.text_hash,
        "word_count": record.word_count,
        "story_id": story_id,
        "duplicate_of_id": duplicate_of_id,
        "link_method": record.link_method,
        "link_similarity": record.link_similarity,
        "linked_at": linked_at,
        "fetched_at": record.fetched_at,
        "observed_at": record.observed_at,
        "source": record.source,
    }


def _aware(value: datetime) -> datetime:
    """Aggregates bypass the column type on SQLite and come back naive (or as text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
