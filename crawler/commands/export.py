"""`scrapy export`: write articles (or stories) to CSV, JSON Lines or Parquet, streaming.

Examples:
  scrapy export --format csv -o articles.csv --since 2024-01-01
  scrapy export --format parquet -o stories.parquet --stories
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.commands.stories import parse_since
from pipelines.database_settings import open_database
from storage.database import DatabaseUnavailable, mask_password
from storage.exports import EXPORT_FORMATS, ExportRequest, export_rows, write_export
from storage.migrate import SchemaOutOfDate


class Command(ScrapyCommand):
    requires_project = True
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "--format csv|jsonl|parquet -o FILE [--since DATE] [--until DATE] [--stories]"

    def short_desc(self) -> str:
        return "Export articles or stories to CSV, JSON Lines or Parquet"

    def long_desc(self) -> str:
        return (
            "Stream the articles table (or, with --stories, the stories table) of the database "
            "named by DATABASE_URL into FILE. --since/--until filter on the publish date "
            "(articles) or the story's publish dates (stories); DATE is YYYY-MM-DD or ISO 8601."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--format", dest="export_format", choices=EXPORT_FORMATS, required=True)
        parser.add_argument("-o", "--output", dest="output", required=True, help="file to write")
        parser.add_argument("--since", type=parse_since, help="published on or after DATE")
        parser.add_argument("--until", type=parse_since, help="published before DATE")
        parser.add_argument(
            "--stories", action="store_true", help="export stories instead of articles"
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError(f"unexpected arguments: {' '.join(args)}")
        assert self.settings is not None
        request = ExportRequest(stories=opts.stories, since=opts.since, until=opts.until)
        try:
            with open_database(self.settings) as database:
                columns, rows = export_rows(database, request)
                written = write_export(columns, rows, Path(opts.output), opts.export_format)
        except (DatabaseUnavailable, SchemaOutOfDate, RuntimeError) as error:
            print(f"scrapy export: error: {error}", file=sys.stderr)
            self.exitcode = 1
            return
        kind = "stories" if opts.stories else "articles"
        print(f"Exported {written} {kind} from {mask_password(database.url)} to {opts.output}")
