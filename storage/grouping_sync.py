"""Keeping the grouping index of several workers in step through the shared database.

`GroupingLock` serialises grouping decisions across processes and machines: a
PostgreSQL advisory lock (session level, on a connection of its own), or on SQLite an
exclusive `flock` on a file beside the database (one machine only). `GroupingSync`
reads what other workers stored since a point: new signatures and new links.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import IO

from sqlalchemy import Connection, func, select, text
from sqlalchemy.engine import make_url

from storage.database import Database
from storage.grouping_store import (
    ArticleLink,
    GroupingSignature,
    GroupingStore,
    LinkRow,
    SignatureRow,
)

# Advisory lock key of grouping decisions (any constant shared by all workers).
_GROUPING_LOCK_KEY = 7_281_034_552


class GroupingLock:
    """A lock held while one worker decides and saves an article's grouping."""

    def __init__(self, database: Database) -> None:
        self.database = database
        url = make_url(database.url)
        self._connection: Connection | None = None
        self._lock_file: IO[bytes] | None = None
        if url.get_backend_name() == "postgresql":
            self._connection = database.engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            )
        elif url.database and url.database != ":memory:":
            self._lock_file = open(f"{url.database}.grouping-lock", "ab")  # noqa: SIM115

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the lock for the `with` block."""
        if self._connection is not None:
            self._connection.execute(
                text("SELECT pg_advisory_lock(:key)"), {"key": _GROUPING_LOCK_KEY}
            )
            try:
                yield
            finally:
                self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": _GROUPING_LOCK_KEY}
                )
        elif self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)
        else:
            yield

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None


class GroupingSync:
    """What other workers added to the grouping index."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.store = GroupingStore(database)

    def position(self) -> tuple[int, datetime | None]:
        """The newest link id and signature time stored so far."""
        with self.database.read_sessions() as session:
            last_link = session.scalar(select(func.max(ArticleLink.id))) or 0
            last_signature = session.scalar(select(func.max(GroupingSignature.created_at)))
        return int(last_link), last_signature

    def signatures_since(self, scheme: str, since: datetime | None) -> Iterator[SignatureRow]:
        """Signatures of `scheme` stored at or after `since` (all when None)."""
        return self.store.iter_signatures(scheme, since)

    def links_after(self, link_id: int) -> list[LinkRow]:
        """Links stored with an id above `link_id`, oldest first."""
        return list(self.store.iter_links(link_id))
