"""ItemsInFlight: a producer waits while `limit` items are in the pipelines."""

from __future__ import annotations

import asyncio

import pytest

from crawler.backpressure import ItemsInFlight


def test_producer_waits_at_the_limit_until_an_item_leaves() -> None:
    async def scenario() -> tuple[int, bool, int]:
        in_flight = ItemsInFlight(2)
        await in_flight.wait_for_room()
        await in_flight.wait_for_room()
        third = asyncio.ensure_future(in_flight.wait_for_room())
        await asyncio.sleep(0.01)
        blocked = not third.done()
        in_flight.item_left(item=None, spider=None)
        await asyncio.wait_for(third, timeout=5)
        return in_flight.count, blocked, in_flight.limit

    count, blocked, limit = asyncio.run(scenario())
    assert blocked
    assert count == limit == 2


def test_more_endings_than_items_never_go_below_zero() -> None:
    in_flight = ItemsInFlight(3)
    in_flight.item_left()
    assert in_flight.count == 0


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="CONCURRENT_ITEMS"):
        ItemsInFlight(0)


def test_drained_returns_once_the_last_item_leaves() -> None:
    async def scenario() -> tuple[bool, bool]:
        in_flight = ItemsInFlight(5)
        await in_flight.wait_for_room()
        await in_flight.wait_for_room()
        waiting = asyncio.ensure_future(in_flight.drained(stall_seconds=5))
        in_flight.item_left()
        await asyncio.sleep(0.01)
        after_one = waiting.done()
        in_flight.item_left()
        return after_one, await asyncio.wait_for(waiting, timeout=5)

    after_one, drained = asyncio.run(scenario())
    assert not after_one
    assert drained


def test_drained_gives_up_when_no_item_leaves() -> None:
    async def scenario() -> bool:
        in_flight = ItemsInFlight(5)
        await in_flight.wait_for_room()
        return await in_flight.drained(stall_seconds=0.05)

    assert asyncio.run(scenario()) is False
