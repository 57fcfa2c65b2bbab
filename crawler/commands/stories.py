"""`scrapy stories`: the stories in the database, most recent first.

One line per story: its title, the outlets that reported it and how many articles it
holds; `--articles` lists the articles under each.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from pipelines.database_settings import open_database
from storage.database import DatabaseUnavailable
from storage.migrate import SchemaOutOfDate
from storage.repository import ArticleRepository, StorySummary


def parse_since(value: str) -> datetime:
    """An ISO date or datetime as an aware UTC datetime (naive means UTC)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not an ISO date: {value!r} (use YYYY-MM-DD)") from error
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def format_story(story: StorySummary, with_articles: bool = False) -> str:
    """One story line (and its article lines when asked)."""
    outlets = ", ".join(story.outlets) if story.outlets else "unknown outlet"
    when = story.first_published_at.date().isoformat() if story.first_published_at else "undated"
    plural = "article" if story.article_count == 1 else "articles"
    line = f"[{story.story_id}] {story.title or '(untitled)'} | {outlets} | {story.article_count} {plural} | {when}"
    if not with_articles:
        return line
    article_lines = [
        f"    - {'(copy) ' if article.is_duplicate else ''}{article.title or '(untitled)'}"
        f" | {article.site or 'unknown outlet'} | {article.url}"
        for article in story.articles
    ]
    return "\n".join([line, *article_lines])


class Command(ScrapyCommand):
    requires_project = True
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "[--since DATE] [--limit N] [--articles]"

    def short_desc(self) -> str:
        return "List stored stories: title, outlets, article count"

    def long_desc(self) -> str:
        return (
            "List the stories in the database named by DATABASE_URL (default: newsfold.db "
            "in the project root), most recently published first."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "--since", type=parse_since, help="only stories published on or after DATE (YYYY-MM-DD)"
        )
        parser.add_argument("--limit", type=int, default=None, help="at most N stories")
        parser.add_argument(
            "--articles", action="store_true", help="list each story's articles too"
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError(f"unexpected arguments: {' '.join(args)}")
        if opts.limit is not None and opts.limit < 1:
            raise UsageError("--limit must be at least 1")
        assert self.settings is not None
        try:
            with open_database(self.settings) as database:
                stories = ArticleRepository(database).story_summaries(
                    since=opts.since, limit=opts.limit
                )
        except (DatabaseUnavailable, SchemaOutOfDate) as error:
            print(f"scrapy stories: error: {error}", file=sys.stderr)
            self.exitcode = 1
            return
        if not stories:
            print("No stories stored yet.")
            return
        for story in stories:
            print(format_story(story, with_articles=opts.articles))
