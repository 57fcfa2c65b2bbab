"""`scrapy crawl`, with spider arguments checked before the crawl starts.

A spider may define a `check_arguments(**spider_arguments)` class method that raises
`UsageError`; a bad argument then gives one error line and exit status 2 instead of a
traceback from inside the engine. When the crawl extracts in worker processes, their
fork server is started first, so that it loads the extraction code while the rest of the
crawl is set up. The database is reached once before the crawl starts:
if it cannot be, one line names it (password masked) and the exit status is 1. Its schema
is then upgraded to the newest migration, or, with `STORAGE_AUTO_MIGRATE` false, the crawl
refuses to start on a schema that is behind (one line, exit status 1).

Once the crawl is over, the process leaves without tearing down its interpreter: every
component has closed what it wrote to (databases, worker processes) when the spider
closed, and unloading numpy, scipy, trafilatura and grouping's tables object by object
would only cost another half second of one core.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import NoReturn

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError

from pipelines.database_settings import open_database
from storage.database import DatabaseUnavailable
from storage.migrate import SchemaOutOfDate


class Command(ScrapyCrawlCommand):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) == 1 and self.crawler_process is not None:
            try:
                spider_class = self.crawler_process.spider_loader.load(args[0])
            except KeyError:
                spider_class = None
            check_arguments = getattr(spider_class, "check_arguments", None)
            if check_arguments is not None:
                try:
                    check_arguments(**opts.spargs)
                except UsageError as error:
                    print(f"scrapy crawl {args[0]}: error: {error}", file=sys.stderr)
                    self.exitcode = 2
                    return
        assert self.settings is not None
        # Imported here: Scrapy imports every command's module to list them, and the other
        # commands have no use for the extraction package (numpy, the language model's code).
        from pipelines.extraction.pipeline import uses_worker_pool
        from pipelines.extraction.pool import start_fork_server

        if uses_worker_pool(self.settings):
            # The workers' fork server loads the extraction code on another core while
            # this process checks the database and builds the crawl's components.
            start_fork_server()
        if not self._database_ready():
            self.exitcode = 1
            return
        super().run(args, opts)
        if not getattr(opts, "profile", None):  # `--profile` writes its file after this
            exit_without_teardown(self.exitcode)

    def _database_ready(self) -> bool:
        assert self.settings is not None
        try:
            with open_database(self.settings):
                return True
        except (DatabaseUnavailable, SchemaOutOfDate) as error:
            print(f"scrapy crawl: error: {error}", file=sys.stderr)
            return False


def exit_without_teardown(status: int) -> NoReturn:
    """Flush the logs and standard streams, then end the process with `status` at once."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
