"""Grouping: near-duplicate copies and same-event stories."""

from pipelines.grouping.pipeline import GroupingPipeline

__all__ = ["GroupingPipeline"]
