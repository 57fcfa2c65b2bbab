"""A pool of worker processes running `extract_article`, with a hard per-document limit.

Each worker is a long-lived process talking over a pipe. Workers fork from a server
that has already imported the extraction code and loaded the language model
(`pipelines.extraction.worker_preload`), so each starts ready and shares those pages;
`start_fork_server` lets that server warm up while the rest of the crawl is set up.
A document that runs past the time limit gets its worker killed and replaced, and is
rejected with reason `extraction_timeout`; the other workers go on. Callers
`await extract(...)` from the event loop, which waits on the pipes itself (no threads).

`InOrderRelease` lets results that finish out of order be handed on in arrival order.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import multiprocessing.forkserver
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from crawler.items import ExtractedArticle
from pipelines.extraction.document import ExtractionOptions, ExtractionRejected, RawDocument
from pipelines.extraction.language import LanguageDetector

logger = logging.getLogger(__name__)


Extractor = Callable[[RawDocument, ExtractionOptions, LanguageDetector], ExtractedArticle]


# What a worker says once its models are loaded; the time limit starts after it.
_READY = "ready"
# Modules the fork server imports once, before any worker forks from it.
_WORKER_MODULES = ("pipelines.extraction.article", "pipelines.extraction.worker_preload")
# Seconds a new worker may take to load its models.
_STARTUP_SECONDS = 120.0


@dataclass(frozen=True)
class _Failure:
    reason: str
    detail: str


def _serve(
    connection: Connection, options: ExtractionOptions, extract: Extractor | None
) -> None:
    """Worker process body: extract each document received until the pipe closes
    (with `extract_article` when `extract` is None)."""
    # Loaded in the fork server before this process forked from it: the imports are free.
    from pipelines.extraction.article import extract_article
    from pipelines.extraction.worker_preload import LANGUAGE_DETECTOR

    if extract is None:
        extract = extract_article

    languages = LANGUAGE_DETECTOR
    connection.send(_READY)
    while True:
        try:
            document = connection.recv()
        except (EOFError, OSError):
            return
        try:
            result: ExtractedArticle | _Failure = extract(document, options, languages)
        except ExtractionRejected as rejection:
            result = _Failure(rejection.reason, rejection.detail)
        except Exception as error:  # a crash on one page must not end the worker
            result = _Failure("extraction_error", f"{type(error).__name__}: {error}"[:500])
        connection.send(result)


def start_fork_server() -> None:
    """Start the workers' fork server now, without waiting for it.

    The server imports the extraction code and loads the language model (about a second
    of CPU) on a core of its own while the crawl is still being set up; the pool's
    workers then fork from a server that is ready. `ExtractionPool` starts it if no one has.
    """
    multiprocessing.get_context("forkserver").set_forkserver_preload(list(_WORKER_MODULES))
    multiprocessing.forkserver.ensure_running()


async def _readable(connection: Connection, timeout: float) -> bool:
    """Wait on the event loop until `connection` has data (or is closed): False after
    `timeout` seconds."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(connection.fileno(), wake)
    try:
        await asyncio.wait_for(ready, timeout)
    except TimeoutError:
        return False
    finally:
        loop.remove_reader(connection.fileno())
    return True


class _Worker:
    """One worker process and our end of its pipe."""

    def __init__(
        self,
        context: multiprocessing.context.BaseContext,
        options: ExtractionOptions,
        extract: Extractor | None,
    ) -> None:
        self.connection, child_end = context.Pipe()
        self.process: BaseProcess = context.Process(  # type: ignore[attr-defined]
            target=_serve,
            args=(child_end, options, extract),
            daemon=True,
            name="newsfold-extraction",
        )
        self.process.start()
        child_end.close()
        self.ready = False

    async def run(
        self, document: RawDocument, timeout: float
    ) -> ExtractedArticle | _Failure | None:
        """The worker's answer, or None when it ran past `timeout` seconds (or died)."""
        try:
            if not self.ready:
                if (
                    not await _readable(self.connection, _STARTUP_SECONDS)
                    or self.connection.recv() != _READY
                ):
                    return None
                self.ready = True
            # The worker is idle, reading: the document goes straight through the pipe.
            self.connection.send(document)
            if await _readable(self.connection, timeout):
                # Readable means the worker has started writing its answer: it comes whole.
                answer: ExtractedArticle | _Failure = self.connection.recv()
                return answer
        except (EOFError, OSError):
            pass
        return None

    def stop(self) -> None:
        self.connection.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)


class ExtractionPool:
    """`workers` extraction processes; `extract` rejects documents past `timeout` seconds.

    `extractor` is the module-level function the workers run; None runs `extract_article`,
    which this process then never imports (the workers' fork server has loaded it).
    """

    def __init__(
        self,
        workers: int,
        timeout: float,
        options: ExtractionOptions,
        extractor: Extractor | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError(f"EXTRACTION_WORKERS must be at least 1 for a pool, not {workers}")
        if timeout <= 0:
            raise ValueError(f"EXTRACTION_TIMEOUT must be positive, not {timeout}")
        self.timeout = timeout
        self.options = options
        self.extractor = extractor
        self._context = multiprocessing.get_context("forkserver")
        start_fork_server()
        self._workers = [_Worker(self._context, options, extractor) for _ in range(workers)]
        self._idle: asyncio.Queue[_Worker] | None = None
        self.replaced = 0

    async def extract(self, document: RawDocument) -> ExtractedArticle:
        """The clean article of `document`, extracted in a worker process.

        Raises:
            ExtractionRejected: as `extract_article` does, or `extraction_timeout`.
        """
        idle = self._idle_queue()
        worker = await idle.get()
        answer = await worker.run(document, self.timeout)
        if answer is None:
            worker = self._replace(worker)
        idle.put_nowait(worker)
        if answer is None:
            raise ExtractionRejected("extraction_timeout", f"no result within {self.timeout:g} s")
        if isinstance(answer, _Failure):
            raise ExtractionRejected(answer.reason, answer.detail)
        return answer

    def close(self) -> None:
        for worker in self._workers:
            worker.stop()
        self._workers = []

    def _idle_queue(self) -> asyncio.Queue[_Worker]:
        if self._idle is None:
            self._idle = asyncio.Queue()
            for worker in self._workers:
                self._idle.put_nowait(worker)
        return self._idle

    def _replace(self, stuck: _Worker) -> _Worker:
        stuck.stop()
        fresh = _Worker(self._context, self.options, self.extractor)
        self._workers[self._workers.index(stuck)] = fresh
        self.replaced += 1
        logger.warning("Extraction worker killed after %.0f s and replaced", self.timeout)
        return fresh


class InOrderRelease:
    """Hands results on in the order their tickets were drawn, whatever order they finish in."""

    def __init__(self) -> None:
        self._next_ticket = 0
        self._lowest_open = 0
        self._closed: set[int] = set()
        self._waiting: dict[int, asyncio.Future[None]] = {}

    def ticket(self) -> int:
        """A number for the next item, in arrival order."""
        self._next_ticket += 1
        return self._next_ticket - 1

    async def turn(self, ticket: int) -> None:
        """Wait until every earlier ticket is closed."""
        if ticket == self._lowest_open:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiting[ticket] = waiter
        await waiter

    def close(self, ticket: int) -> None:
        """This ticket is done (handed on or dropped); wake the next one in line."""
        self._closed.add(ticket)
        while self._lowest_open in self._closed:
            self._closed.discard(self._lowest_open)
            self._lowest_open += 1
        waiter = self._waiting.pop(self._lowest_open, None)
        if waiter is not None and not waiter.done():
            asyncio.get_running_loop().call_soon(waiter.set_result, None)
