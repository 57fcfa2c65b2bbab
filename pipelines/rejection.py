"""The one way an item leaves the pipelines early: `RejectedItem`, with a reason.

Raising it drops the item (Scrapy's `DropItem`); the storage pipeline hears the
`item_dropped` signal and records the reason in the `rejects` table.
"""

from __future__ import annotations

from scrapy.exceptions import DropItem


class RejectedItem(DropItem):
    """An item refused for `reason` (a short snake_case word), with a human `detail`."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
