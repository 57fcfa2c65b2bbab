"""`scrapy migrate`: show or change the database's schema revision (Alembic).

scrapy migrate                  upgrade to the newest revision
scrapy migrate --current        print the current and the newest revision
scrapy migrate --downgrade REV  go down to REV ("base" empties the database)
scrapy migrate --new MESSAGE    write the migration for a model change (developers)
"""

from __future__ import annotations

import argparse
import sys

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from pipelines.database_settings import open_database
from storage.database import Database, DatabaseUnavailable, mask_password
from storage.migrate import (
    current_revision,
    downgrade_schema,
    head_revision,
    new_revision,
    upgrade_schema,
)


class Command(ScrapyCommand):
    requires_project = True
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "[--current | --downgrade REV | --new MESSAGE]"

    def short_desc(self) -> str:
        return "Upgrade the database schema (or show it, or downgrade it)"

    def long_desc(self) -> str:
        return (
            "Apply the Alembic migrations to the database named by DATABASE_URL. Crawls do this "
            "themselves on start unless STORAGE_AUTO_MIGRATE is false."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "--current", action="store_true", help="print the current and newest revision"
        )
        parser.add_argument(
            "--downgrade", metavar="REV", help="migrate down to REV ('base' drops everything)"
        )
        parser.add_argument(
            "--new",
            metavar="MESSAGE",
            help="write storage/migrations/versions/NNNN_MESSAGE.py from the model changes",
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError(f"unexpected arguments: {' '.join(args)}")
        assert self.settings is not None
        if opts.new:
            print(
                f"wrote {new_revision(opts.new)}: review it, then commit it with the model change"
            )
            return
        try:
            with open_database(self.settings, prepare=False) as database:
                print(self._apply(database, opts))
        except DatabaseUnavailable as error:
            print(f"scrapy migrate: error: {error}", file=sys.stderr)
            self.exitcode = 1

    @staticmethod
    def _apply(database: Database, opts: argparse.Namespace) -> str:
        """Do what the options ask; the line to print."""
        engine = database.engine
        if opts.current:
            return f"current: {current_revision(engine) or 'none'}  newest: {head_revision()}"
        if opts.downgrade:
            downgrade_schema(engine, opts.downgrade)
        else:
            upgrade_schema(engine)
        return f"{mask_password(database.url)} now at {current_revision(engine) or 'none'}"
