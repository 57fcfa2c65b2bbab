"""Extraction: raw bytes to clean article text and metadata."""

from pipelines.extraction.pipeline import ExtractionPipeline

__all__ = ["ExtractionPipeline"]
