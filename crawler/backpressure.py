"""A bound on items a spider has handed to the item pipelines and not yet seen come out.

A spider that yields items straight from `start()` (archives, local files) reads far
faster than the pipelines extract: unbounded, the whole input would wait in memory.
`ItemsInFlight` lets it pause until the pipelines have finished (stored, dropped or
failed) enough of the items already handed on. No Scrapy import: the spider connects
`item_left` to the signals that mark an item's end. `drained` lets it wait, once it
has handed on its last item, until the pipelines are done with all of them.
"""

from __future__ import annotations

import asyncio
from typing import Any


class ItemsInFlight:
    """Counts items handed on and not yet finished; `wait_for_room` holds the producer."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"CONCURRENT_ITEMS must be at least 1, not {limit}")
        self.limit = limit
        self.count = 0
        self._room: asyncio.Event | None = None
        self._left: asyncio.Event | None = None

    async def wait_for_room(self) -> None:
        """Return once fewer than `limit` items are in flight, counting the next one in."""
        while self.count >= self.limit:
            self._room = asyncio.Event()
            await self._room.wait()
        self.count += 1

    async def drained(self, stall_seconds: float) -> bool:
        """Return True once no item is in flight, or False when none has left for
        `stall_seconds`."""
        while self.count > 0:
            self._left = asyncio.Event()
            try:
                await asyncio.wait_for(self._left.wait(), stall_seconds)
            except TimeoutError:
                return False
        return True

    def item_left(self, *_args: Any, **_kwargs: Any) -> None:
        """One item finished the pipelines (signal handler: any signal arguments)."""
        self.count = max(0, self.count - 1)
        if self._room is not None and self.count < self.limit:
            self._room.set()
        if self._left is not None:
            self._left.set()
