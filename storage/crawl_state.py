"""What the web spiders remember between runs: listing validators, fetched pages, revisions.

Tables:
- `listing_states`: per feed or sitemap URL, the `ETag` and `Last-Modified` its server
  sent, for the next run's conditional GET.
- `crawled_pages`: per requested (canonical) article URL, the URL it was stored under
  and the listing's `lastmod`/`updated` when it was last fetched.
- `article_revisions`: the text an article had before a newer fetch replaced it with a
  different one (written by `storage.repository` when it upserts).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ForeignKey, Integer, String, Text, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.database import Database
from storage.models import Article, Base, UTCDateTime


class ListingState(Base):
    """The cache validators of one feed or sitemap."""

    __tablename__ = "listing_states"

    url: Mapped[str] = mapped_column(String(2048), primary_key=True)
    etag: Mapped[str | None] = mapped_column(String(1024))
    last_modified: Mapped[str | None] = mapped_column(String(255))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CrawledPage(Base):
    """An article URL newsfold fetched, and what its listing said then."""

    __tablename__ = "crawled_pages"

    url: Mapped[str] = mapped_column(String(2048), primary_key=True)
    # The URL the page was stored under after redirects and rel=canonical.
    stored_url: Mapped[str] = mapped_column(String(2048), index=True)
    listed_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ArticleRevision(Base):
    """An earlier text of an article, kept when a newer version replaced it."""

    __tablename__ = "article_revisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2048), index=True)
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(String(64))
    # When the replaced version had been fetched, and when it was replaced.
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    superseded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(32))


@dataclass(frozen=True)
class Validators:
    """HTTP cache validators of a listing."""

    etag: str | None
    last_modified: str | None


@dataclass(frozen=True)
class StoredPage:
    """What is known about an article URL: stored or not, and its last listed change."""

    stored: bool
    listed_changed_at: datetime | None
    fetched_at: datetime | None


class CrawlStateRepository:
    """Reads and writes the incremental crawl state in one database."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def listing_validators(self, url: str) -> Validators | None:
        """The ETag and Last-Modified last seen for a listing, if any."""
        with self.database.sessions() as session:
            state = session.get(ListingState, url)
            return Validators(state.etag, state.last_modified) if state else None

    def keep_listing_validators(self, url: str, validators: Validators) -> None:
        """Remember a listing's validators for the next conditional GET."""
        values = {
            "url": url,
            "etag": validators.etag,
            "last_modified": validators.last_modified,
            "checked_at": datetime.now(UTC),
        }
        self._upsert(ListingState, values, ListingState.url)

    def stored_page(self, url: str) -> StoredPage:
        """Whether `url` (canonical) is stored, as an article URL, its canonical URL, or a
        page that was stored under another URL; and the listing date it was fetched for."""
        with self.database.sessions() as session:
            page = session.get(CrawledPage, url)
            article = _find_article(session, url, page)
            return StoredPage(
                stored=article is not None,
                listed_changed_at=page.listed_changed_at if page else None,
                fetched_at=article.fetched_at if article else None,
            )

    def record_fetch(self, url: str, stored_url: str, listed_changed_at: datetime | None) -> None:
        """Remember that `url` was fetched (for the listing date given) and where it went."""
        values = {
            "url": url,
            "stored_url": stored_url,
            "listed_changed_at": listed_changed_at,
            "fetched_at": datetime.now(UTC),
        }
        self._upsert(CrawledPage, values, CrawledPage.url)

    def _upsert(self, table: type[Base], values: Mapping[str, object], key: Mapped[str]) -> None:
        dialect = self.database.engine.dialect.name
        if dialect == "postgresql":
            statement = postgresql.insert(table).values(**values)
        elif dialect == "sqlite":
            statement = sqlite.insert(table).values(**values)  # type: ignore[assignment]
        else:
            raise ValueError(
                f"DATABASE_URL: unsupported database {dialect!r} (use sqlite or postgresql)"
            )
        statement = statement.on_conflict_do_update(
            index_elements=[key],
            set_={name: statement.excluded[name] for name in values if name != "url"},
        )
        with self.database.sessions.begin() as session:
            session.execute(statement)


def _find_article(session: Session, url: str, page: CrawledPage | None) -> Article | None:
    """The article stored under `url`, as its canonical URL, or where `url` was stored before."""
    candidates = [url] if page is None else [url, page.stored_url]
    return session.scalars(
        select(Article)
        .where(or_(Article.url.in_(candidates), Article.canonical_url == url))
        .order_by(Article.id)
        .limit(1)
    ).first()
