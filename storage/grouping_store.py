"""Grouping's persistent index: signatures and verified links (`grouping_signatures`,
`article_links`), so a new run links new articles to earlier runs' without recomputing
their features.

A signature row keeps the article's MinHash values, its LSH band keys, the sampled
shingle hashes and the TF-IDF term vector, as little-endian arrays, together with the
`scheme` string naming everything they depend on (feature recipe, MinHash scheme,
`num_perm`, seed, bands); rows of another scheme are ignored and recomputed. A link row
is the provenance of one verified link: both articles, level (copy or story), method,
similarity and when it was decided. Keys are article URLs, as in `GroupingDecision`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Executable,
    Float,
    Index,
    Integer,
    LargeBinary,
    Select,
    String,
    bindparam,
    delete,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.database import Database
from storage.dialect_insert import dialect_insert
from storage.models import Article, Base, Story, UTCDateTime

# Rows written per statement when saving a batch.
_CHUNK = 500
# `SignatureRow`'s fields, in order: the columns read back.
_SIGNATURE_COLUMNS = (
    "url",
    "scheme",
    "text_hash",
    "published_at",
    "observed_at",
    "indexed",
    "content_words",
    "minhash",
    "bands",
    "shingles",
    "terms",
    "weights",
    "keyterms",
)


class GroupingSignature(Base):
    """One article's stored grouping features."""

    __tablename__ = "grouping_signatures"

    url: Mapped[str] = mapped_column(String(2048), primary_key=True)
    scheme: Mapped[str] = mapped_column(String(255))
    text_hash: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    observed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    indexed: Mapped[bool] = mapped_column(Boolean)
    content_words: Mapped[int] = mapped_column(Integer)
    minhash: Mapped[bytes] = mapped_column(LargeBinary)
    bands: Mapped[bytes] = mapped_column(LargeBinary)
    shingles: Mapped[bytes] = mapped_column(LargeBinary)
    terms: Mapped[bytes] = mapped_column(LargeBinary)
    weights: Mapped[bytes] = mapped_column(LargeBinary)
    keyterms: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ArticleLink(Base):
    """A verified copy or story link between two articles, and how it was decided."""

    __tablename__ = "article_links"
    __table_args__ = (
        Index("ix_article_links_pair", "url", "other_url", "level", unique=True),
        Index("ix_article_links_other_url", "other_url"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    other_url: Mapped[str] = mapped_column(String(2048))
    # "copy" (same text) or "story" (same event).
    level: Mapped[str] = mapped_column(String(16))
    # exact, containment or tfidf_avglink.
    method: Mapped[str] = mapped_column(String(32))
    similarity: Mapped[float] = mapped_column(Float)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class SignatureRow:
    """A signature as stored: arrays as little-endian bytes."""

    url: str
    scheme: str
    text_hash: str
    published_at: datetime | None
    observed_at: datetime | None
    indexed: bool
    content_words: int
    minhash: bytes
    bands: bytes
    shingles: bytes
    terms: bytes
    weights: bytes
    keyterms: bytes


@dataclass(frozen=True)
class IndexRow:
    """The part of a stored signature an in-memory index needs (no features)."""

    url: str
    text_hash: str
    published_at: datetime | None
    observed_at: datetime | None
    indexed: bool
    bands: bytes


@dataclass(frozen=True)
class LinkRow:
    """A verified link as stored."""

    url: str
    other_url: str
    level: str
    method: str
    similarity: float


@dataclass(frozen=True)
class StoredDecision:
    """An article's grouping as the articles table holds it, in URLs."""

    url: str
    story_key: str | None
    duplicate_of_url: str | None
    method: str | None
    similarity: float | None


@dataclass(frozen=True)
class UnindexedArticle:
    """A stored article that has no signature of the current scheme yet."""

    url: str
    title: str | None
    text: str
    text_hash: str
    published_at: datetime | None
    observed_at: datetime | None


class GroupingStore:
    """Reads and writes grouping's signatures and links in one database."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def iter_signatures(self, scheme: str, since: datetime | None = None) -> Iterator[SignatureRow]:
        """Stored signatures of `scheme`, in URL order; only those stored at or after
        `since` when one is given (what other workers added)."""
        query = select(GroupingSignature).where(GroupingSignature.scheme == scheme)
        if since is not None:
            query = query.where(GroupingSignature.created_at >= since)
        with self.database.read_sessions() as session:
            for row in session.scalars(
                query.order_by(GroupingSignature.url).execution_options(yield_per=1000)
            ):
                yield _signature_row(row)

    def iter_index_rows(self, scheme: str) -> Iterator[IndexRow]:
        """Stored signatures of `scheme` without their features, in URL order: what opening
        an index reads (a few hundred bytes an article; the features are ten times that)."""
        query = (
            select(
                GroupingSignature.url,
                GroupingSignature.text_hash,
                GroupingSignature.published_at,
                GroupingSignature.observed_at,
                GroupingSignature.indexed,
                GroupingSignature.bands,
            )
            .where(GroupingSignature.scheme == scheme)
            .order_by(GroupingSignature.url)
        )
        with self.database.sessions() as session:
            for url, text_hash, published_at, observed_at, indexed, bands in session.execute(
                query.execution_options(yield_per=5000)
            ):
                yield IndexRow(url, text_hash, published_at, observed_at, indexed, bands)

    def signatures_of(self, scheme: str, urls: Sequence[str]) -> dict[str, SignatureRow]:
        """The stored signatures of `scheme` of these URLs (those that have one).

        Read as plain rows of the columns a `SignatureRow` holds (grouping reads features
        back this way while it links: ORM objects cost several times the CPU).
        """
        found: dict[str, SignatureRow] = {}
        table = GroupingSignature.__table__
        columns = [table.c[name] for name in _SIGNATURE_COLUMNS]
        query = select(*columns).where(
            table.c.scheme == scheme, table.c.url.in_(bindparam("urls", expanding=True))
        )
        with self.database.sessions() as session:
            for start in range(0, len(urls), _CHUNK):
                for row in session.execute(query, {"urls": list(urls[start : start + _CHUNK])}):
                    found[row[0]] = SignatureRow(*row)
        return found

    def iter_links(self, after: int = 0) -> Iterator[LinkRow]:
        """Stored links, oldest first; only those with an id above `after` when one is
        given (what other workers added)."""
        query = (
            select(
                ArticleLink.url,
                ArticleLink.other_url,
                ArticleLink.level,
                ArticleLink.method,
                ArticleLink.similarity,
            )
            .where(ArticleLink.id > after)
            .order_by(ArticleLink.id)
        )
        with self.database.read_sessions() as session:
            for url, other_url, level, method, similarity in session.execute(
                query.execution_options(yield_per=5000)
            ):
                yield LinkRow(url, other_url, level, method, similarity)

    def iter_decisions(self) -> Iterator[StoredDecision]:
        """Every stored article's story key and canonical, as URLs."""
        with self.database.sessions() as session:
            for url, story_key, duplicate_of_url, method, similarity in session.execute(
                _decisions_query().execution_options(yield_per=5000)
            ):
                yield StoredDecision(url, story_key, duplicate_of_url, method, similarity)

    def decisions_of(self, urls: Sequence[str]) -> dict[str, StoredDecision]:
        """The stored decisions of these URLs (those stored), read in one transaction."""
        query = _decisions_query().where(Article.url.in_(bindparam("urls", expanding=True)))
        found: dict[str, StoredDecision] = {}
        with self.database.read_sessions() as session:
            for start in range(0, len(urls), _CHUNK):
                chunk = list(urls[start : start + _CHUNK])
                for url, story_key, duplicate_of_url, method, similarity in session.execute(
                    query, {"urls": chunk}
                ):
                    found[url] = StoredDecision(
                        url, story_key, duplicate_of_url, method, similarity
                    )
        return found

    def iter_unindexed_articles(self, scheme: str) -> Iterator[UnindexedArticle]:
        """Stored articles without a signature of `scheme` (older runs, other settings)."""
        current = (
            select(GroupingSignature.url)
            .where(
                GroupingSignature.scheme == scheme, GroupingSignature.text_hash == Article.text_hash
            )
            .where(GroupingSignature.url == Article.url)
        )
        query = (
            select(
                Article.url,
                Article.title,
                Article.text,
                Article.text_hash,
                Article.published_at,
                Article.observed_at,
            )
            .where(~current.exists())
            .order_by(Article.url)
        )
        with self.database.sessions() as session:
            for url, title, text, text_hash, published_at, observed_at in session.execute(
                query.execution_options(yield_per=1000)
            ):
                yield UnindexedArticle(url, title, text, text_hash, published_at, observed_at)

    def save(self, signatures: Sequence[SignatureRow], links: Iterable[LinkRow]) -> None:
        """Store new signatures (replacing an article's older one and its links) and links.

        Both are native upserts, in key order, so two crawls saving the same article at
        once (each in its own transaction) never meet a duplicate key: the later wins.
        """
        now = datetime.now(UTC)
        # One row per key: PostgreSQL refuses an upsert that hits one key twice.
        signature_rows = sorted(
            {signature.url: _signature_values(signature, now) for signature in signatures}.items()
        )
        link_rows = sorted(
            {
                (link.url, link.other_url, link.level): _link_values(link, now) for link in links
            }.items()
        )
        with self.database.sessions.begin() as session:
            urls = [url for url, _ in signature_rows]
            # One statement for every chunk (an expanding parameter, compiled once), not
            # one built from the chunk's URLs each time.
            by_url = delete(ArticleLink).where(
                ArticleLink.url.in_(bindparam("urls", expanding=True))
            )
            by_other_url = delete(ArticleLink).where(
                ArticleLink.other_url.in_(bindparam("urls", expanding=True))
            )
            for start in range(0, len(urls), _CHUNK):
                chunk = urls[start : start + _CHUNK]
                session.execute(by_url, {"urls": chunk})
                session.execute(by_other_url, {"urls": chunk})
            # The tables' own (Core) inserts, run through `_execute_many`: an ORM entity's
            # bulk insert, and Core's own executemany, spent as much CPU again on per-row
            # bookkeeping these plain rows do not need.
            if signature_rows:
                statement = dialect_insert(self.database, GroupingSignature.__table__)
                columns = [name for name in signature_rows[0][1] if name != "url"]
                _execute_many(
                    session,
                    statement.on_conflict_do_update(
                        index_elements=[GroupingSignature.url],
                        set_={name: statement.excluded[name] for name in columns},
                    ),
                    [values for _, values in signature_rows],
                )
            if link_rows:
                statement = dialect_insert(self.database, ArticleLink.__table__)
                _execute_many(
                    session,
                    statement.on_conflict_do_update(
                        index_elements=[ArticleLink.url, ArticleLink.other_url, ArticleLink.level],
                        set_={
                            name: statement.excluded[name]
                            for name in ("method", "similarity", "decided_at")
                        },
                    ),
                    [values for _, values in link_rows],
                )


def _execute_many(
    session: Session, statement: Executable, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Run `statement` once for each row of values (by bind name; every row has the same
    keys), through the driver's executemany.

    Compiled once for the session's dialect, each value through its type's bind processor
    for that dialect, as `session.execute(statement, rows)` binds them; but column by
    column, without that path's per-row bookkeeping (a parameter dictionary built and
    processed for every row), which cost saving a signature in SQLite about 40 us, as much
    as SQLite's own work.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    # Compiled for the first row's columns, as `execute` compiles an INSERT.
    compiled = statement.compile(dialect=dialect, column_keys=list(rows[0]))
    names = list(compiled.positiontup or ()) if compiled.positional else list(compiled.binds)
    columns: list[list[Any]] = []
    for name in names:
        values = [row[name] for row in rows]
        processor = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            first = values[0]
            if all(value is first for value in values):  # a save's `created_at`: once
                values = [processor(first)] * len(values)
            else:
                values = list(map(processor, values))
        columns.append(values)
    if compiled.positional:
        parameters: list[Any] = list(zip(*columns, strict=True))
    else:
        parameters = [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]
    connection.exec_driver_sql(compiled.string, parameters)


def _decisions_query() -> Select[str, str | None, str | None, str | None, float | None]:
    """Stored articles' URL, story key, canonical URL, link method and similarity."""
    canonical = Article.__table__.alias("canonical")
    return (
        select(
            Article.url,
            Story.key,
            canonical.c.url,
            Article.link_method,
            Article.link_similarity,
        )
        .outerjoin(Story, Story.id == Article.story_id)
        .outerjoin(canonical, canonical.c.id == Article.duplicate_of_id)
    )


def _signature_row(row: GroupingSignature) -> SignatureRow:
    """A stored signature as a plain record."""
    return SignatureRow(
        row.url,
        row.scheme,
        row.text_hash,
        row.published_at,
        row.observed_at,
        row.indexed,
        row.content_words,
        row.minhash,
        row.bands,
        row.shingles,
        row.terms,
        row.weights,
        row.keyterms,
    )


def _signature_values(signature: SignatureRow, now: datetime) -> dict[str, Any]:
    """The column values of a signature row."""
    return {
        "url": signature.url,
        "scheme": signature.scheme,
        "text_hash": signature.text_hash,
        "published_at": signature.published_at,
        "observed_at": signature.observed_at,
        "indexed": signature.indexed,
        "content_words": signature.content_words,
        "minhash": signature.minhash,
        "bands": signature.bands,
        "shingles": signature.shingles,
        "terms": signature.terms,
        "weights": signature.weights,
        "keyterms": signature.keyterms,
        "created_at": now,
    }


def _link_values(link: LinkRow, now: datetime) -> dict[str, Any]:
    """The column values of a link row."""
    return {
        "url": link.url,
        "other_url": link.other_url,
        "level": link.level,
        "method": link.method,
        "similarity": link.similarity,
        "decided_at": now,
    }
