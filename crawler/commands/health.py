"""`scrapy health`: sites whose latest run yielded far less, or failed far more, than usual.

Each site's latest run (from `source_health`) is compared with its own earlier runs: it
is flagged when it stored less than `HEALTH_YIELD_DROP` times their median, or when its
error rate (HTTP errors and extraction failures per outcome) rose by at least
`HEALTH_ERROR_RATE_JUMP` over their median. Exit status 1 when any site is flagged, so a
scheduler or cron can alert; 0 otherwise.

Settings: `HEALTH_WINDOW`, `HEALTH_MIN_HISTORY`, `HEALTH_YIELD_DROP`,
`HEALTH_ERROR_RATE_JUMP`, `DATABASE_URL`.
"""

from __future__ import annotations

import argparse
import sys

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from scrapy.settings import BaseSettings

from crawler.sourcehealth import HealthOptions, SiteAssessment, assess_sites, flagged
from pipelines.database_settings import open_database
from storage.database import DatabaseUnavailable
from storage.migrate import SchemaOutOfDate
from storage.run_history import RunHistory


def health_options_from_settings(settings: BaseSettings) -> HealthOptions:
    """Validated `HealthOptions`; raises ValueError naming the bad setting."""
    defaults = HealthOptions()
    return HealthOptions(
        window=settings.getint("HEALTH_WINDOW", defaults.window),
        min_history=settings.getint("HEALTH_MIN_HISTORY", defaults.min_history),
        yield_drop=settings.getfloat("HEALTH_YIELD_DROP", defaults.yield_drop),
        error_rate_jump=settings.getfloat("HEALTH_ERROR_RATE_JUMP", defaults.error_rate_jump),
    )


def format_assessment(assessment: SiteAssessment) -> str:
    """One line per site: verdict, latest counts, and the reasons when flagged."""
    latest = assessment.latest
    verdict = "FLAGGED" if assessment.flagged else "ok"
    if assessment.median_stored is None:
        verdict = "new"
    line = (
        f"{verdict:8} {assessment.site} | stored {latest.stored}, fetched {latest.fetched}, "
        f"http errors {latest.http_errors}, extraction failures {latest.extraction_failures}, "
        f"robots blocked {latest.robots_blocked}, download failures {latest.download_failures} "
        f"| {assessment.earlier_runs} earlier runs"
    )
    if assessment.problems:
        line += " | " + "; ".join(assessment.problems)
    return line


class Command(ScrapyCommand):
    requires_project = True
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "[--site HOST] [--flagged-only]"

    def short_desc(self) -> str:
        return "Flag sites whose latest run fell well below their recent runs; exit 1 if any"

    def long_desc(self) -> str:
        return (
            "Compare each site's latest run with its own earlier runs (source_health): flag it "
            "when it stored less than HEALTH_YIELD_DROP times their median or its error rate "
            "jumped by HEALTH_ERROR_RATE_JUMP. Exits 1 when any site is flagged."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "--site", action="append", default=[], help="only this site (repeatable)"
        )
        parser.add_argument("--flagged-only", action="store_true", help="print flagged sites only")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError(f"unexpected arguments: {' '.join(args)}")
        assert self.settings is not None
        try:
            options = health_options_from_settings(self.settings)
        except ValueError as error:
            raise UsageError(str(error)) from error
        try:
            with open_database(self.settings) as database:
                history = RunHistory(database).site_runs(per_site=options.window + 1)
        except (DatabaseUnavailable, SchemaOutOfDate) as error:
            print(f"scrapy health: error: {error}", file=sys.stderr)
            self.exitcode = 2
            return
        if opts.site:
            wanted = {site.lower() for site in opts.site}
            history = {site: runs for site, runs in history.items() if site in wanted}
        assessments = assess_sites(history, options)
        if not assessments:
            print("No runs recorded yet.")
            return
        unwell = flagged(assessments)
        for assessment in unwell if opts.flagged_only else assessments:
            print(format_assessment(assessment))
        if unwell:
            print(f"{len(unwell)} of {len(assessments)} sites flagged", file=sys.stderr)
            self.exitcode = 1
