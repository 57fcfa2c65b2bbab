"""Every table newsfold owns, in one metadata: what Alembic compares and migrates."""

from __future__ import annotations

from sqlalchemy import MetaData

# Importing a model module registers its tables on the shared declarative base.
from storage import crawl_state, grouping_store, models, run_history  # noqa: F401

metadata: MetaData = models.Base.metadata
