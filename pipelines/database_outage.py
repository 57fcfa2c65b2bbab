"""Riding out a database that is away for a while: shared by the pipelines that write.

A write that fails because the database cannot be reached (connection refused or lost)
is an outage: the caller keeps what it meant to write and tries again later. Any other
database error (a refused statement) is a bug and is raised. At the end of a run the
caller keeps trying for `STORAGE_RETRY_SECONDS` before giving up.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError, OperationalError

# Pause between write attempts while the database is away, at the end of a run.
RETRY_PAUSE_SECONDS = 1.0


def is_database_outage(error: DBAPIError) -> bool:
    """True when `error` means the database is out of reach for now (worth retrying)."""
    return isinstance(error, OperationalError) or bool(error.connection_invalidated)


def outage_during(write: Callable[[], object]) -> str | None:
    """Run `write`: None when it went through, else the first line of why the database
    could not be reached. Any other database error is raised."""
    try:
        write()
    except DBAPIError as error:
        if not is_database_outage(error):
            raise
        return str(error.orig or error).splitlines()[0]
    return None


def retry_while_database_away(
    write: Callable[[], bool], patience_seconds: float, pause_seconds: float = RETRY_PAUSE_SECONDS
) -> bool:
    """Call `write` (True once everything is written) until it succeeds or
    `patience_seconds` have passed; returns its last result."""
    deadline = time.monotonic() + patience_seconds
    while not write():
        if time.monotonic() >= deadline:
            return False
        time.sleep(pause_seconds)
    return True
