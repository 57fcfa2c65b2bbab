"""Keeping the grouping index of several workers in step through the shared database.

`GroupingLock` serialises grouping decisions across processes and machines: a
PostgreSQL advisory lock (session level, on a connection of its own), or on SQLite an
exclusive `flock` on a file beside the database (one machine only). The lock's session
survives the database restarting: found dead when the lock is taken, it is replaced at
once; lost while the lock was held (the server let go of the lock with it), letting go
raises the database error and the next hold opens a fresh one.
`GroupingSync` reads what other workers stored since a point: new signatures and new links.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import IO

from sqlalchemy import Connection, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

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
        self._advisory = url.get_backend_name() == "postgresql"
        # The advisory lock's session: opened when first needed, replaced once lost.
        self._connection: Connection | None = None
        self._lock_file: IO[bytes] | None = None
        if not self._advisory and url.database and url.database != ":memory:":
            self._lock_file = open(f"{url.database}.grouping-lock", "ab")  # noqa: SIM115

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the lock for the `with` block.

        Raises:
            DBAPIError: the database cannot be reached, or the lock's session was lost
                while the block ran (found when letting go: the server let go of the
                lock with the session, perhaps before the block ended). The next call
                starts on a fresh connection.
        """
        if self._advisory:
            connection = self._take_advisory_lock()
            try:
                yield
            finally:
                if connection is self._connection:
                    self._advisory_query("SELECT pg_advisory_unlock(:key)")
        elif self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)
        else:
            yield

    def _take_advisory_lock(self) -> Connection:
        """Take the advisory lock; a session found dead (the server restarted while it was
        idle) is replaced once, as nothing was done under it."""
        try:
            return self._advisory_query("SELECT pg_advisory_lock(:key)")
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
        return self._advisory_query("SELECT pg_advisory_lock(:key)")

    def _advisory_query(self, query: str) -> Connection:
        """Run an advisory lock function on the lock's session (opened if there is none);
        on a database error the session is dropped, for a fresh one next time."""
        try:
            if self._connection is None or self._connection.invalidated:
                self._drop_connection()
                self._connection = self.database.engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT"
                )
            self._connection.execute(text(query), {"key": _GROUPING_LOCK_KEY})
        except DBAPIError:
            self._drop_connection()
            raise
        return self._connection

    def _drop_connection(self) -> None:
        """Forget the lock's session without talking to the server (it may be gone)."""
        if self._connection is not None:
            connection, self._connection = self._connection, None
            if not connection.invalidated:
                connection.invalidate()
            connection.close()

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
