"""Shared fixtures: project paths, databases (SQLite file and the local PostgreSQL), scrapy runs."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture
def shared_data() -> Path:
    """`../shared/data`, or a skip saying it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"evaluation data not found at {SHARED_DATA} (../shared/data beside the project)"
        )
    return SHARED_DATA


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'newsfold-test.db'}"


def _postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    sqlalchemy = pytest.importorskip("sqlalchemy")
    pytest.importorskip("psycopg")
    admin = sqlalchemy.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"newsfold_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sqlalchemy.exc.OperationalError as error:
        admin.dispose()
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL on 127.0.0.1:5432 not reachable: {error.orig}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    yield from _postgres_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using it runs once on a SQLite file and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'newsfold-test.db'}"
    else:
        yield from _postgres_database()


@dataclass(frozen=True)
class ScrapyRun:
    returncode: int
    stdout: str
    stderr: str


def run_scrapy(*arguments: str, database_url: str | None = None, timeout: float = 300) -> ScrapyRun:
    """Run `scrapy ARGUMENTS` in a subprocess from the project root."""
    environment = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    if database_url is not None:
        environment["DATABASE_URL"] = database_url
    completed = subprocess.run(
        [sys.executable, "-m", "scrapy", *arguments],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return ScrapyRun(completed.returncode, completed.stdout, completed.stderr)


# --- Web crawling: a local HTTP site on 127.0.0.1 and real crawls against it -------------
# (Imports kept with the fixtures that use them so this section can be read on its own.)
import gzip  # noqa: E402
import json  # noqa: E402
import threading  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import field  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

WCXB_DIR = SHARED_DATA / "wcxb-dev-articles"


@dataclass
class Route:
    """What the local site answers for one path."""

    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    etag: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # Answer the first N requests with 503 and `Retry-After: 1`.
    unavailable_first: int = 0


@dataclass(frozen=True)
class SeenRequest:
    """One request the local site received, and the status it answered."""

    method: str
    path: str
    headers: dict[str, str]
    status: int


class LocalSite:
    """Routes served by a `ThreadingHTTPServer` on 127.0.0.1, and the requests it saw."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.routes: dict[str, Route] = {}
        self.requests: list[SeenRequest] = []
        self._lock = threading.Lock()

    def url(self, path: str) -> str:
        return self.base_url + path

    def add(self, path: str, body: bytes | str, **options: object) -> str:
        """Serve `body` at `path` (query ignored unless routed explicitly); returns its URL."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = Route(data, **options)  # type: ignore[arg-type]
        return self.url(path)

    def paths(self) -> list[str]:
        """Every requested path (with query), in arrival order."""
        with self._lock:
            return [seen.path for seen in self.requests]

    def count(self, path: str) -> int:
        return self.paths().count(path)

    def statuses(self, path: str) -> list[int]:
        with self._lock:
            return [seen.status for seen in self.requests if seen.path == path]

    def forget_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def answer(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        route = self.routes.get(path) or self.routes.get(urlsplit(path).path)
        if route is not None and self.count(path) < route.unavailable_first:
            with self._lock:
                self.requests.append(SeenRequest("GET", path, headers, 503))
            return 503, {"Content-Type": "text/plain", "Retry-After": "1"}, b"busy"
        if route is None:
            status, response_headers, body = 404, {"Content-Type": "text/plain"}, b"not found"
        else:
            response_headers = {"Content-Type": route.content_type, **route.headers}
            if route.etag:
                response_headers["ETag"] = route.etag
            if route.etag and headers.get("if-none-match") == route.etag:
                status, body = 304, b""
            else:
                status, body = route.status, route.body
        with self._lock:
            self.requests.append(SeenRequest("GET", path, headers, status))
        return status, response_headers, body


def _handler_for(site: LocalSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, response_headers, body = site.answer(self.path, headers)
            self.send_response(status)
            for name, value in response_headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status != 304:
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: tests read `site.requests` instead."""

    return Handler


@pytest.fixture
def local_site() -> Iterator[LocalSite]:
    """A live HTTP server on 127.0.0.1 (random port) serving `LocalSite` routes."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    host, port = server.server_address[:2]
    site = LocalSite(f"http://{host}:{port}")
    server.RequestHandlerClass = _handler_for(site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


CrawlRunner = Callable[..., ScrapyRun]


@pytest.fixture
def run_crawl(tmp_path: Path) -> CrawlRunner:
    """Runs `scrapy crawl SPIDER -a ARGUMENT...` into `tmp_path/crawl.db` with test settings.

    Private addresses are allowed (the site is on 127.0.0.1), throttling and backoff off.
    Fails the test with the crawl's log tail when scrapy exits non-zero.
    """

    def run(spider: str, *arguments: str, settings: dict[str, str] | None = None) -> ScrapyRun:
        command = ["crawl", spider]
        for argument in arguments:
            command += ["-a", argument]
        all_settings = {
            "ALLOW_PRIVATE_ADDRESSES": "true",
            "AUTOTHROTTLE_ENABLED": "false",
            "DOWNLOAD_DELAY": "0",
            "RETRY_BACKOFF_BASE": "0",
            **(settings or {}),
        }
        for name, value in all_settings.items():
            command += ["-s", f"{name}={value}"]
        result = run_scrapy(*command, database_url=f"sqlite:///{tmp_path / 'crawl.db'}")
        assert result.returncode == 0, result.stderr[-4000:]
        return result

    return run


def wcxb_page(file_id: str) -> tuple[bytes, str]:
    """The HTML of one WCXB page and its original URL; skips when the data is absent."""
    html_file = WCXB_DIR / "html" / f"{file_id}.html.gz"
    truth_file = WCXB_DIR / "ground-truth" / f"{file_id}.json"
    if not html_file.exists() or not truth_file.exists():
        pytest.skip(f"evaluation data not found at {WCXB_DIR} (../shared/data beside the project)")
    return gzip.decompress(html_file.read_bytes()), str(json.loads(truth_file.read_text())["url"])
