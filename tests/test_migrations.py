"""Alembic owns the schema: upgrade from empty, downgrade to empty, models and migrations agree."""

from __future__ import annotations

import shutil
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from storage.migrate import (
    MIGRATIONS,
    current_revision,
    downgrade_schema,
    head_revision,
    new_revision,
    upgrade_schema,
)
from storage.schema import metadata
from storage.views import VIEWS, create_views, drop_views
from tests.conftest import run_scrapy


def test_upgrade_from_empty_then_downgrade_to_empty(database_url: str) -> None:
    engine = create_engine(database_url)
    upgrade_schema(engine)
    assert current_revision(engine) == head_revision()
    tables = set(inspect(engine).get_table_names())
    assert {"articles", "stories", "rejects"} <= tables
    assert set(metadata.tables) <= tables
    assert set(VIEWS) <= set(inspect(engine).get_view_names())

    downgrade_schema(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    assert inspect(engine).get_view_names() == []
    engine.dispose()


def test_models_and_migrations_agree(database_url: str) -> None:
    """A model change without its migration fails here."""
    engine = create_engine(database_url)
    upgrade_schema(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    assert differences == []


def test_upgrade_twice_changes_nothing(database_url: str) -> None:
    engine = create_engine(database_url)
    upgrade_schema(engine)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO rejects (url, reason, detail, at) VALUES ('u', 'r', 'd', CURRENT_TIMESTAMP)"
            )
        )
    upgrade_schema(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM rejects")).scalar_one() == 1
    engine.dispose()


def test_unversioned_database_from_before_migrations_is_adopted(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    with engine.begin() as connection:
        metadata.tables["rejects"].create(connection)
        metadata.tables["stories"].create(connection)
        metadata.tables["articles"].create(connection)
        connection.execute(
            text(
                "INSERT INTO rejects (url, reason, detail, at) VALUES ('u', 'r', 'd', CURRENT_TIMESTAMP)"
            )
        )
    upgrade_schema(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM rejects")).scalar_one() == 1
    assert set(metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_migrate_command_shows_and_applies_revisions(sqlite_url: str) -> None:
    before = run_scrapy("migrate", "--current", database_url=sqlite_url)
    assert before.returncode == 0, before.stderr
    assert before.stdout.strip() == f"current: none  newest: {head_revision()}"
    applied = run_scrapy("migrate", database_url=sqlite_url)
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.strip().endswith(f"now at {head_revision()}")


def test_crawl_refuses_an_old_schema_when_not_allowed_to_migrate(sqlite_url: str) -> None:
    seeds = str(Path(__file__).resolve().parents[1] / "seeds" / "articles")
    refused = run_scrapy(
        "crawl",
        "files",
        "-a",
        f"path={seeds}",
        "-s",
        "STORAGE_AUTO_MIGRATE=false",
        database_url=sqlite_url,
    )
    assert refused.returncode == 1
    errors = [line for line in refused.stderr.splitlines() if "error" in line.lower()]
    assert errors == [
        f"scrapy crawl: error: database schema is at revision none, this newsfold needs {head_revision()}: "
        "run `scrapy migrate` (or allow STORAGE_AUTO_MIGRATE)"
    ]
    migrated = run_scrapy("crawl", "files", "-a", f"path={seeds}", database_url=sqlite_url)
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    engine = create_engine(sqlite_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_migrated_views_match_the_current_definitions(database_url: str) -> None:
    """A view changed in storage/views.py without a migration fails here."""
    engine = create_engine(database_url)
    upgrade_schema(engine)
    expected = {f"expected_{name}": query for name, query in VIEWS.items()}
    with engine.begin() as connection:
        create_views(connection, expected)
    inspector = inspect(engine)
    migrated = {name: [c["name"] for c in inspector.get_columns(name)] for name in VIEWS}
    current = {
        name: [c["name"] for c in inspector.get_columns(f"expected_{name}")] for name in VIEWS
    }
    with engine.begin() as connection:
        drop_views(connection, expected)
    engine.dispose()
    assert migrated == current


def test_upgrade_keeps_rows_stored_under_the_first_revision(database_url: str) -> None:
    engine = create_engine(database_url)
    upgrade_schema(engine, "0001")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO stories (key, title, article_count, outlet_count, updated_at) VALUES ('k', 'A story', 1, 1, CURRENT_TIMESTAMP)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO articles (url, canonical_url, authors, text, text_hash, word_count, story_id, fetched_at) "
                "SELECT 'https://news.example/a', 'https://news.example/a', '[]', 'Body', 'h', 1, id, CURRENT_TIMESTAMP FROM stories"
            )
        )
    upgrade_schema(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT url, published_day, story_title FROM articles_clean")
        ).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [("https://news.example/a", None, "A story")]


def test_new_revision_follows_the_newest_and_finds_no_model_change(tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    written = new_revision("nothing changed", migrations)
    assert written.parent == migrations / "versions"
    assert written.name == f"{int(head_revision()) + 1:04d}_nothing_changed.py"
    source = written.read_text()
    assert f"down_revision: str | None = {head_revision()!r}" in source
    assert "op." not in source  # the models match the migrations: nothing to do
