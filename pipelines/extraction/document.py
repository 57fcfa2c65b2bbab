"""What extraction takes and gives besides the article: the document, the options, the
rejection.

Kept apart from `article` (which imports trafilatura and the cleaning rules) so that the
Scrapy process, which hands documents to worker processes, never loads the extractor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ExtractionMode = Literal["balanced", "precision", "recall"]


class ExtractionRejected(Exception):
    """The document holds no storable article; `reason` is the rejects-table reason."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class ExtractionOptions:
    """How to extract; built once from settings."""

    mode: ExtractionMode = "recall"
    # A second trafilatura pass whose output wins when it is a longer near-superset...
    second_mode: ExtractionMode | None = "balanced"
    # ...run only when the first pass holds less than this share of the page's words.
    second_pass_below: float = 0.6
    include_tables: bool = True
    min_words: int = 40
    use_json_ld_body: bool = True


@dataclass(frozen=True)
class RawDocument:
    """What a spider delivers: bytes plus what the transport said about them."""

    url: str
    body: bytes
    content_type: str | None = None
    declared_charset: str | None = None
