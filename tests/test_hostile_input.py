"""Hostile input (issue 8, cases 1-10): real `scrapy crawl` runs against hostile servers on loopback.

Each test starts its own servers on 127.0.0.1 (and 127.0.0.2): bombs, tricklers, silent
and looping servers, a forward proxy standing in for a public origin. Every refused
document must land in `rejects` with its reason and a `rejects/<reason>` counter, and
the run must go on to store the good page served beside the hostile ones.

Cases already covered elsewhere, not repeated here:
- 4, redirect to `file://`: `tests/test_crawl_web.py::test_redirect_to_another_scheme_is_refused_and_recorded`
  (here: `data:` and `ftp:`); private addresses named directly:
  `test_crawl_web.py::test_private_addresses_are_refused_and_recorded` and
  `test_spider_middlewares.py::test_guard_refuses_private_addresses_and_records_them`.
- 6 and 7, the parser itself: `tests/test_spider_listings.py::test_documents_declaring_entities_are_refused`
  and `test_a_cut_off_feed_yields_its_complete_entries_and_says_it_was_cut`.
- 8, the pool on its own: `tests/test_extraction_pool.py::test_stuck_document_is_rejected_and_its_worker_replaced`.
- 9, local files (binary, empty, invalid UTF-8, bombs, huge):
  `tests/test_files_crawl.py::test_bad_inputs_are_recorded_and_the_run_goes_on`; a WARC
  whose last record is cut short: `tests/test_warc_spider.py::test_warc_crawl_stores_html_captures_and_records_the_cut_one`.
- 10, grouping of short texts: `tests/test_grouping.py::test_empty_short_and_stop_word_only_texts_never_match_each_other`.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import brotli
import pytest

from crawler.safety import crosses_origin, gzip_inflates_beyond, redact_secrets, url_secrets
from tests.conftest import PROJECT_ROOT, ScrapyRun, wcxb_page

# A public address the forward proxy stands in for: nothing is ever sent to it.
PUBLIC_ADDRESS = "93.184.216.34"
GIB = 1 << 30
_MIB_OF_ZEROS = b"\0" * (1 << 20)
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "no_proxy", "all_proxy")


# --- Hostile servers ------------------------------------------------------------------------


@dataclass(frozen=True)
class SeenRequest:
    target: str
    headers: dict[str, str]


Answer = Callable[[socket.socket, "RawServer"], None]


@dataclass
class RawServer:
    """A TCP server on a loopback address answering each path with hand-made HTTP bytes."""

    host: str = "127.0.0.1"
    routes: dict[str, Answer] = field(default_factory=dict)
    seen: list[SeenRequest] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.listener = socket.create_server((self.host, 0))
        self.listener.settimeout(0.2)
        self.port = int(self.listener.getsockname()[1])
        self.base_url = f"http://{self.host}:{self.port}"
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return self.base_url + path

    def targets(self) -> list[str]:
        with self._lock:
            return [seen.target for seen in self.seen]

    def stop(self) -> None:
        self.stopping.set()
        self._thread.join(timeout=5)
        self.listener.close()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(10)
            head = b""
            try:
                while b"\r\n\r\n" not in head and len(head) < 65536:
                    chunk = connection.recv(4096)
                    if not chunk:
                        return
                    head += chunk
            except OSError:
                return
            lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            target = lines[0].split(" ")[1] if len(lines[0].split(" ")) > 1 else "/"
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            with self._lock:
                self.seen.append(SeenRequest(target, headers))
            answer = self.routes.get(target) or self.routes.get(urlsplit(target).path)
            with contextlib.suppress(OSError):  # the crawler hung up, as it should
                (answer or respond(b"not found", status=404, content_type="text/plain"))(
                    connection, self
                )


def http_head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def respond(
    body: bytes | str,
    status: int = 200,
    content_type: str = "text/html; charset=utf-8",
    headers: dict[str, str] | None = None,
) -> Answer:
    data = body.encode() if isinstance(body, str) else body

    def answer(connection: socket.socket, server: RawServer) -> None:
        all_headers = {
            "Content-Type": content_type,
            "Content-Length": str(len(data)),
            "Connection": "close",
            **(headers or {}),
        }
        connection.sendall(http_head(status, all_headers) + data)

    return answer


def redirect(location: str, status: int = 302) -> Answer:
    return respond(b"", status=status, headers={"Location": location})


def stream_without_length(chunks: Callable[[], Iterator[bytes]], content_type: str) -> Answer:
    """A body of unannounced length, ended by closing the connection."""

    def answer(connection: socket.socket, server: RawServer) -> None:
        connection.sendall(http_head(200, {"Content-Type": content_type, "Connection": "close"}))
        for chunk in chunks():
            connection.sendall(chunk)

    return answer


def trickle(connection: socket.socket, server: RawServer) -> None:
    """Announces a page, then sends one byte a second."""
    connection.sendall(http_head(200, {"Content-Type": "text/html", "Content-Length": "100000"}))
    while not server.stopping.wait(1.0):
        connection.sendall(b"<")


def never_answer(connection: socket.socket, server: RawServer) -> None:
    """Reads the request and says nothing, until the crawler gives up or the test ends."""
    connection.settimeout(0.5)
    while not server.stopping.is_set():
        try:
            if connection.recv(1024) == b"":
                return
        except TimeoutError:
            continue


@pytest.fixture
def servers() -> Iterator[Callable[..., RawServer]]:
    """Starts `RawServer`s on demand; all stop when the test ends."""
    started: list[RawServer] = []

    def start(host: str = "127.0.0.1") -> RawServer:
        server = RawServer(host)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


# --- Bombs, built without ever holding what they inflate to --------------------------------


def _repeated_deflate_bomb(size: int, wbits: int) -> bytes:
    """`size` zero bytes deflated: the compressed block of 1 MiB repeated after full flushes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    first = compressor.compress(_MIB_OF_ZEROS) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(_MIB_OF_ZEROS) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.flush(zlib.Z_FINISH)
    checksum_size = 8 if wbits > 15 else 4
    final_block = end[:-checksum_size]
    mebibytes = size // len(_MIB_OF_ZEROS)
    crc, adler = 0, 1
    for _ in range(mebibytes):
        crc = zlib.crc32(_MIB_OF_ZEROS, crc)
        adler = zlib.adler32(_MIB_OF_ZEROS, adler)
    if wbits > 15:
        trailer = crc.to_bytes(4, "little") + (size % 2**32).to_bytes(4, "little")
    else:
        trailer = adler.to_bytes(4, "big")
    return first + block * (mebibytes - 1) + final_block + trailer


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """1 GiB of zeros, gzipped (about 1 MB)."""
    return _repeated_deflate_bomb(GIB, 31)


@pytest.fixture(scope="module")
def deflate_bomb() -> bytes:
    """1 GiB of zeros, zlib-deflated (about 1 MB)."""
    return _repeated_deflate_bomb(GIB, 15)


@pytest.fixture(scope="module")
def brotli_bomb() -> bytes:
    """1 GiB of zeros, brotli-compressed (a few KB)."""
    compressor = brotli.Compressor(quality=1)
    parts = [compressor.process(_MIB_OF_ZEROS) for _ in range(1024)]
    return b"".join([*parts, compressor.finish()])


def test_bombs_inflate_to_what_they_claim(gzip_bomb: bytes, deflate_bomb: bytes) -> None:
    """The test bombs are real: their first megabytes inflate, and 1 GiB is announced."""
    assert len(gzip_bomb) < 2 * 1024 * 1024
    head = zlib.decompressobj(31).decompress(gzip_bomb, 4 * 1024 * 1024)
    assert head == b"\0" * len(head) and len(head) == 4 * 1024 * 1024
    assert int.from_bytes(gzip_bomb[-4:], "little") == GIB % 2**32
    assert len(zlib.decompressobj(15).decompress(deflate_bomb, 4 * 1024 * 1024)) == 4 * 1024 * 1024


# --- The pure rules, on their own --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://reader:s3cret@db/news", "postgresql://reader:***@db/news"),
        ("via http://u:p%40ss@proxy:3128 then", "via http://u:***@proxy:3128 then"),
        ("https://news.example/a?b=c:d@e", "https://news.example/a?b=c:d@e"),
    ],
)
def test_redact_secrets_masks_url_passwords(text: str, expected: str) -> None:
    assert redact_secrets(text) == expected


def test_url_secrets_include_the_basic_auth_form() -> None:
    secrets = url_secrets("http://crawler:pr0xy@127.0.0.1:3128")
    assert "pr0xy" in secrets and "Y3Jhd2xlcjpwcjB4eQ==" in secrets
    assert redact_secrets("Proxy-Authorization: Basic Y3Jhd2xlcjpwcjB4eQ==", secrets).endswith(
        "***"
    )
    assert url_secrets("sqlite:///newsfold.db") == []


@pytest.mark.parametrize(
    ("target", "header", "dropped"),
    [
        ("https://news.example/b", "Authorization", False),
        ("https://cdn.example/b", "Authorization", True),
        ("http://news.example/b", "Authorization", True),
        ("https://news.example:8443/b", "Authorization", True),
        ("https://news.example:8443/b", "Cookie", False),
        ("http://news.example/b", "Cookie", True),
        ("https://cdn.example/b", "Cookie", True),
    ],
)
def test_crosses_origin(target: str, header: str, dropped: bool) -> None:
    assert crosses_origin("https://news.example/a", target, header) is dropped


def test_gzip_inflates_beyond_stops_at_the_limit(gzip_bomb: bytes) -> None:
    assert (gzip_inflates_beyond(gzip_bomb, 1 << 20) or 0) > 1 << 20
    small = zlib.compressobj(9, zlib.DEFLATED, 31)
    document = small.compress(b"<urlset/>" * 100) + small.flush()
    assert gzip_inflates_beyond(document, 1 << 20) is None
    assert gzip_inflates_beyond(b"\x1f\x8bnot gzip", 10) is None


# --- Running crawls ---------------------------------------------------------------------------


def crawl_command(
    tmp_path: Path,
    spider: str,
    *arguments: str,
    settings: dict[str, str] | None = None,
    environment: dict[str, str] | None = None,
    database_url: str | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The `scrapy crawl` command line and environment `crawl` runs, for tests that start it."""
    command = [sys.executable, "-m", "scrapy", "crawl", spider]
    for argument in arguments:
        command += ["-a", argument]
    all_settings = {
        "ALLOW_PRIVATE_ADDRESSES": "true",
        "AUTOTHROTTLE_ENABLED": "false",
        "DOWNLOAD_DELAY": "0",
        "DOWNLOAD_TIMEOUT": "3",
        "RETRY_TIMES": "0",
        "RETRY_BACKOFF_BASE": "0",
        "ROBOTSTXT_OBEY": "false",
        "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
        "EXTRACTION_WORKERS": "0",
        "TWISTED_DNS_RESOLVER": "tests.local_dns.LocalNamesResolver",
        **(settings or {}),
    }
    for name, value in all_settings.items():
        command += ["-s", f"{name}={value}"]
    env = {
        key: value
        for key, value in os.environ.items()
        if key != "DATABASE_URL" and key.lower() not in _PROXY_VARIABLES
    }
    env["DATABASE_URL"] = database_url or f"sqlite:///{tmp_path / 'crawl.db'}"
    env.update(environment or {})
    return command, env


def crawl(tmp_path: Path, spider: str, *arguments: str, **options: Any) -> ScrapyRun:
    """`scrapy crawl` into `tmp_path/crawl.db` with quick, test-friendly settings (see `crawl_command`)."""
    command, env = crawl_command(tmp_path, spider, *arguments, **options)
    completed = subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,  # a safety net only
        check=False,
    )
    result = ScrapyRun(completed.returncode, completed.stdout, completed.stderr)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Traceback" not in result.stderr, result.stderr[-4000:]
    return result


def rows(tmp_path: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(tmp_path / "crawl.db") as connection:
        return connection.execute(query).fetchall()


def rejects(tmp_path: Path) -> dict[str, str]:
    return {
        str(url): str(reason) for url, reason in rows(tmp_path, "SELECT url, reason FROM rejects")
    }


def stored_urls(tmp_path: Path) -> list[str]:
    return sorted(str(url) for (url,) in rows(tmp_path, "SELECT url FROM articles"))


def seed_file(tmp_path: Path, urls: list[str]) -> str:
    path = tmp_path / "seeds.txt"
    path.write_text("\n".join(urls) + "\n")
    return f"path={path}"


@pytest.fixture
def good_page() -> bytes:
    return wcxb_page("0014")[0]


# --- 1. Decompression bombs -------------------------------------------------------------------


def test_compressed_page_bombs_are_refused_and_the_run_goes_on(
    servers: Callable[..., RawServer],
    tmp_path: Path,
    good_page: bytes,
    gzip_bomb: bytes,
    deflate_bomb: bytes,
    brotli_bomb: bytes,
) -> None:
    site = servers()
    for path, bomb, encoding in (
        ("/gzip.html", gzip_bomb, "gzip"),
        ("/deflate.html", deflate_bomb, "deflate"),
        ("/brotli.html", brotli_bomb, "br"),
    ):
        site.routes[path] = respond(bomb, headers={"Content-Encoding": encoding})
    site.routes["/good.html"] = respond(good_page)
    paths = ["/gzip.html", "/deflate.html", "/brotli.html", "/good.html"]

    result = crawl(tmp_path, "urls", seed_file(tmp_path, [site.url(p) for p in paths]))

    assert (
        "br" in next(s for s in site.seen if s.target == "/brotli.html").headers["accept-encoding"]
    )
    assert rejects(tmp_path) == {site.url(p): "too_large" for p in paths[:3]}
    assert stored_urls(tmp_path) == [site.url("/good.html")]
    assert "'rejects/too_large': 3" in result.stderr


def test_feed_and_gzipped_sitemap_bombs_are_refused(
    servers: Callable[..., RawServer], tmp_path: Path, gzip_bomb: bytes
) -> None:
    site = servers()
    site.routes["/feed.xml"] = respond(
        gzip_bomb, content_type="application/rss+xml", headers={"Content-Encoding": "gzip"}
    )
    # No Content-Encoding: the spider inflates `.xml.gz` sitemaps itself.
    site.routes["/sitemap.xml.gz"] = respond(gzip_bomb, content_type="application/gzip")

    feeds = crawl(tmp_path, "feeds", f"url={site.url('/feed.xml')}")
    sitemaps = crawl(tmp_path, "sitemap", f"url={site.url('/sitemap.xml.gz')}")

    assert rejects(tmp_path) == {
        site.url("/feed.xml"): "too_large",
        site.url("/sitemap.xml.gz"): "too_large",
    }
    for run in (feeds, sitemaps):
        assert "'rejects/too_large': 1" in run.stderr


# --- 2. Tricklers, silent servers, redirect loops, and hosts that are not there ---------------


def test_slow_silent_looping_and_missing_servers_are_recorded(
    servers: Callable[..., RawServer], tmp_path: Path, good_page: bytes
) -> None:
    site = servers()
    site.routes["/trickle.html"] = trickle
    site.routes["/silent.html"] = never_answer
    site.routes["/loop-a"] = redirect(site.url("/loop-b"))
    site.routes["/loop-b"] = redirect(site.url("/loop-a"))
    for hop in range(30):  # ever new URLs: Scrapy stops at REDIRECT_MAX_TIMES
        site.routes[f"/hop/{hop}"] = redirect(site.url(f"/hop/{hop + 1}"))
    site.routes["/good.html"] = respond(good_page)
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        closed_url = f"http://127.0.0.1:{closed.getsockname()[1]}/gone.html"
    missing_url = "http://newsroom.test/article.html"  # fails in the test resolver
    urls = [
        site.url(p) for p in ("/trickle.html", "/silent.html", "/loop-a", "/hop/0", "/good.html")
    ]

    result = crawl(tmp_path, "urls", seed_file(tmp_path, [*urls, closed_url, missing_url]))

    assert rejects(tmp_path) == {
        site.url("/trickle.html"): "download_timeout",
        site.url("/silent.html"): "download_timeout",
        site.url("/loop-a"): "redirect_loop",
        site.url("/hop/0"): "redirect_loop",
        closed_url: "connection_failed",
        missing_url: "dns_failure",
    }
    assert stored_urls(tmp_path) == [site.url("/good.html")]
    assert "'rejects/download_timeout': 2" in result.stderr


# --- 3. Oversized and deeply nested pages ------------------------------------------------------


def test_oversized_single_line_and_deeply_nested_pages(
    servers: Callable[..., RawServer], tmp_path: Path, good_page: bytes
) -> None:
    site = servers()
    site.routes["/announced.html"] = respond(b"<p>" + b"x" * (11 * 1024 * 1024) + b"</p>")

    def single_line() -> Iterator[bytes]:
        yield b"<html><body><p>"
        for _ in range(50):  # 50 MB on one line, length never announced
            yield b"word " * (1024 * 1024 // 5)
        yield b"</p></body></html>"

    site.routes["/single-line.html"] = stream_without_length(single_line, "text/html")
    depth = 100_000
    words = " ".join(f"buried{number}" for number in range(200))
    site.routes["/deep.html"] = respond(
        "<html><head><title>Deep</title></head><body>"
        + "<div>" * depth
        + f"<p>{words}</p>"
        + "</div>" * depth
        + "</body></html>"
    )
    site.routes["/good.html"] = respond(good_page)
    paths = ["/announced.html", "/single-line.html", "/deep.html", "/good.html"]

    result = crawl(tmp_path, "urls", seed_file(tmp_path, [site.url(p) for p in paths]))

    assert rejects(tmp_path) == {
        site.url("/announced.html"): "too_large",
        site.url("/single-line.html"): "too_large",
        # libxml2 stops at its depth limit: the page is refused, never a crash.
        site.url("/deep.html"): "no_article_body",
    }
    assert stored_urls(tmp_path) == [site.url("/good.html")]
    assert "'rejects/too_large': 2" in result.stderr


# --- 4. Redirects to other schemes and into the private network -------------------------------


def test_redirects_to_other_schemes_and_into_the_private_network_are_refused(
    servers: Callable[..., RawServer], tmp_path: Path
) -> None:
    internal = servers()
    internal.routes["/admin"] = respond("internal admin page")
    proxy = servers()  # a forward proxy: requests for PUBLIC_ADDRESS never leave the machine
    targets = {
        "/to-data": "data:text/html,<p>injected</p>",
        "/to-ftp": "ftp://files.example/secret.txt",
        "/to-loopback": internal.url("/admin"),
        "/to-private": "http://10.1.2.3/admin",
        "/to-metadata": "http://169.254.169.254/latest/meta-data/",
        "/to-local-name": f"http://intranet.example.com:{internal.port}/admin",
    }
    for path, location in targets.items():
        proxy.routes[f"http://{PUBLIC_ADDRESS}{path}"] = redirect(location)
    public_name_url = f"http://news.example.com:{internal.port}/admin"
    seeds = [f"http://{PUBLIC_ADDRESS}{path}" for path in targets] + [public_name_url]

    crawl(
        tmp_path,
        "urls",
        seed_file(tmp_path, seeds),
        settings={
            "ALLOW_PRIVATE_ADDRESSES": "false",
            "LOCAL_DNS_HOSTS": json.dumps(
                {"intranet.example.com": "127.0.0.1", "news.example.com": "127.0.0.1"}
            ),
        },
        environment={"http_proxy": proxy.base_url},
    )

    # Only the public origins were asked for; no refused URL reached the proxy or the host.
    assert sorted(proxy.targets()) == sorted(seeds[:-1])
    assert internal.targets() == []
    assert rejects(tmp_path) == {
        targets["/to-data"]: "forbidden_scheme",
        targets["/to-ftp"]: "forbidden_scheme",
        **{targets[path]: "private_address" for path in list(targets)[2:]},
        public_name_url: "private_address",
    }
    assert stored_urls(tmp_path) == []


# --- 5. Credentials never follow a redirect to another host -------------------------------------


def test_authorization_and_cookie_stay_with_their_host_on_redirect(
    servers: Callable[..., RawServer], tmp_path: Path, good_page: bytes
) -> None:
    origin = servers("127.0.0.1")
    elsewhere = servers("127.0.0.2")
    elsewhere.routes["/landing.html"] = respond(good_page)
    origin.routes["/go"] = respond(
        b"",
        status=302,
        headers={"Location": elsewhere.url("/landing.html")},
    )
    headers = {"Authorization": "Bearer feed-token-s3cret", "Cookie": "paywall=s3cret"}

    crawl(
        tmp_path,
        "urls",
        f"url={origin.url('/go')}",
        # With the cookie jar on, Scrapy drops a hand-set Cookie header everywhere.
        settings={"DEFAULT_REQUEST_HEADERS": json.dumps(headers), "COOKIES_ENABLED": "false"},
    )

    (sent,) = origin.seen
    assert sent.headers["authorization"] == "Bearer feed-token-s3cret"
    assert "paywall=s3cret" in sent.headers["cookie"]
    (redirected,) = elsewhere.seen
    assert "authorization" not in redirected.headers
    assert "cookie" not in redirected.headers
    assert stored_urls(tmp_path) == [elsewhere.url("/landing.html")]


def cookie_crawl(
    tmp_path: Path, site: RawServer, internet: RawServer, settings: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Crawl a page setting a cookie, then its neighbour; every other fetch goes to `internet`.

    The proxy variables send anything but the site's own name to `internet`, and an empty
    tldextract cache makes a default tldextract fetch the public suffix list.
    """
    tmp_path.mkdir()
    host = f"news.example.com:{site.port}"
    command, env = crawl_command(
        tmp_path,
        "urls",
        seed_file(tmp_path, [f"http://{host}/cookie.html", f"http://{host}/second.html"]),
        settings={
            "CONCURRENT_REQUESTS": "1",
            "LOCAL_DNS_HOSTS": json.dumps({"news.example.com": "127.0.0.1"}),
            **settings,
        },
        environment={
            "http_proxy": internet.base_url,
            "https_proxy": internet.base_url,
            "no_proxy": "news.example.com,127.0.0.1,localhost",
            "TLDEXTRACT_CACHE": str(tmp_path / "tldextract-cache"),
        },
    )
    return subprocess.run(
        command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=180
    )


def test_a_cookie_never_makes_the_crawl_fetch_the_public_suffix_list(
    servers: Callable[..., RawServer], tmp_path: Path, good_page: bytes
) -> None:
    site = servers()
    site.routes["/cookie.html"] = respond(
        good_page, headers={"Set-Cookie": "session=abc; Domain=example.com; Path=/"}
    )
    site.routes["/second.html"] = respond(good_page)
    internet = servers()  # stands for the internet: an outbound fetch would arrive here

    result = cookie_crawl(tmp_path / "newsfold", site, internet, settings={})

    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-4000:]
    assert [seen.target for seen in site.seen] == ["/cookie.html", "/second.html"]
    assert "session=abc" in site.seen[1].headers["cookie"]  # the cookie went through the jar
    assert internet.seen == []

    # The observable works: Scrapy's own cookie middleware reaches for publicsuffix.org.
    stock = {
        "crawler.guards.OfflineCookiesMiddleware": None,
        "scrapy.downloadermiddlewares.cookies.CookiesMiddleware": 700,
    }
    cookie_crawl(
        tmp_path / "stock", site, internet, settings={"DOWNLOADER_MIDDLEWARES": json.dumps(stock)}
    )
    assert any("publicsuffix.org" in seen.target for seen in internet.seen)


# --- 6 and 7. Entity tricks, truncated and malformed listings ----------------------------------


def entity_tricks(site: RawServer, secret_file: Path) -> str:
    """A DOCTYPE with external entities (a local file, a DTD on `site`) and billion laughs."""
    laughs = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{level} "' + f"&lol{level - 1 if level > 1 else ''};" * 10 + '">'
        for level in range(1, 10)
    )
    return (
        f'<!DOCTYPE doc SYSTEM "{site.url("/evil.dtd")}" ['
        f'<!ENTITY file SYSTEM "{secret_file.as_uri()}">'
        f'<!ENTITY % remote SYSTEM "{site.url("/evil.dtd")}"> %remote;{laughs}]>'
    )


def test_hostile_listings_are_refused_and_broken_ones_yield_what_can_be_read(
    servers: Callable[..., RawServer], tmp_path: Path, good_page: bytes
) -> None:
    site = servers()
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("XXE-MARKER-7f3a")
    site.routes["/evil.dtd"] = respond(
        '<!ENTITY leak "XXE-DTD-MARKER">', content_type="application/xml-dtd"
    )
    for number in range(1, 8):
        site.routes[f"/news/{number}.html"] = respond(good_page)
    doctype = entity_tricks(site, secret_file)
    # 6: external entities and an expansion bomb, after entries that look fine: refused whole.
    site.routes["/rss.xml"] = respond(
        f'<?xml version="1.0"?>{doctype}<rss version="2.0"><channel><title>&file;</title>'
        f"<item><title>&file; &leak;</title><link>{site.url('/news/1.html')}</link></item>"
        "<description>&lol9;</description></channel></rss>",
        content_type="application/rss+xml",
    )
    site.routes["/atom.xml"] = respond(
        f'<?xml version="1.0"?>{doctype}<feed xmlns="http://www.w3.org/2005/Atom">'
        f'<entry><title>&file;</title><link href="{site.url("/news/2.html")}"/></entry>'
        "<subtitle>&lol9;</subtitle></feed>",
        content_type="application/atom+xml",
    )
    site.routes["/entities-sitemap.xml"] = respond(
        f'<?xml version="1.0"?>{doctype}<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{site.url('/news/3.html')}</loc><lastmod>&file;</lastmod></url>"
        "<url><lastmod>&lol9;</lastmod></url></urlset>",
        content_type="application/xml",
    )
    # 7: cut off mid-entry, with a bare ampersand, an undefined entity and a date that is not one.
    site.routes["/cut.xml"] = respond(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>One & two</title><link>{site.url('/news/4.html')}</link></item>"
        "<item><title>Two&nbsp;undefined</title><pubDate>yesterday</pubDate>"
        f"<link>{site.url('/news/5.html')}</link></item>"
        "<item><title>Three</title><link>" + site.url("/news/99.html")[:-3],
        content_type="application/rss+xml",
    )
    site.routes["/cut-sitemap.xml"] = respond(
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{site.url('/news/6.html')}</loc><lastmod>not a date</lastmod></url>"
        f"<url><loc>{site.url('/news/7.html')}</loc></url>"
        "<url><loc>" + site.url("/news/99.html")[:-4],
        content_type="application/xml",
    )
    # 7: a page where a feed was; gzipped sitemaps cut short and not gzip at all.
    site.routes["/moved.xml"] = respond("<html><body><p>This feed has moved.</p></body></html>")
    cut_gzip = zlib.compressobj(9, zlib.DEFLATED, 31)
    gzipped = cut_gzip.compress(b"<urlset>" + b"<url><loc>/news/99.html</loc></url>" * 50)
    site.routes["/cut.xml.gz"] = respond(
        (gzipped + cut_gzip.flush())[:40], content_type="application/gzip"
    )
    site.routes["/broken.xml.gz"] = respond(
        b"\x1f\x8b\x08\x00" + b"not deflate data" * 8, content_type="application/gzip"
    )
    site.routes["/index.xml"] = respond(
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{site.url('/entities-sitemap.xml')}</loc></sitemap>"
        f"<sitemap><loc>{site.url('/cut-sitemap.xml')}</loc></sitemap>"
        f"<sitemap><loc>{site.url('/cut.xml.gz')}</loc></sitemap>"
        f"<sitemap><loc>{site.url('/broken.xml.gz')}</loc></sitemap></sitemapindex>",
        content_type="application/xml",
    )
    feeds = [site.url(path) for path in ("/rss.xml", "/atom.xml", "/cut.xml", "/moved.xml")]

    feed_run = crawl(tmp_path, "feeds", seed_file(tmp_path, feeds))
    sitemap_run = crawl(tmp_path, "sitemap", f"url={site.url('/index.xml')}")

    assert "/evil.dtd" not in site.targets()
    assert not {"/news/1.html", "/news/2.html", "/news/3.html"} & set(site.targets())
    assert not [target for target in site.targets() if "/news/99" in target]  # the cut entries
    assert stored_urls(tmp_path) == sorted(site.url(f"/news/{n}.html") for n in range(4, 8))
    assert rejects(tmp_path) == {
        site.url("/rss.xml"): "xml_entities",
        site.url("/atom.xml"): "xml_entities",
        site.url("/entities-sitemap.xml"): "xml_entities",
        site.url("/cut.xml"): "listing_truncated",
        site.url("/cut-sitemap.xml"): "listing_truncated",
        site.url("/moved.xml"): "unreadable_listing",
        site.url("/cut.xml.gz"): "listing_truncated",  # what inflates is read, and cut off
        site.url("/broken.xml.gz"): "unreadable_listing",
    }
    details = dict(rows(tmp_path, "SELECT url, detail FROM rejects"))
    assert str(details[site.url("/cut.xml")]).startswith("2 complete entries used")
    for counter in ("'rejects/xml_entities': 2", "'rejects/listing_truncated': 1"):
        assert counter in feed_run.stderr
    assert "'feeds/truncated': 1" in feed_run.stderr
    assert "'rejects/unreadable_listing': 1" in sitemap_run.stderr
    assert "'rejects/listing_truncated': 2" in sitemap_run.stderr
    database_bytes = (tmp_path / "crawl.db").read_bytes()
    assert b"XXE-MARKER" not in database_bytes and b"lollollol" not in database_bytes


def test_a_cut_off_feed_is_read_again_next_run_not_taken_as_unchanged(
    servers: Callable[..., RawServer], tmp_path: Path, good_page: bytes
) -> None:
    site = servers()
    site.routes["/news/1.html"] = respond(good_page)
    whole = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><item><link>{site.url("/news/1.html")}'
        "</link></item></channel></rss>"
    )
    site.routes["/whole.xml"] = respond(whole, headers={"ETag": '"whole-1"'})
    site.routes["/cut.xml"] = respond(whole[:-20], headers={"ETag": '"cut-1"'})
    feeds = seed_file(tmp_path, [site.url("/whole.xml"), site.url("/cut.xml")])

    crawl(tmp_path, "feeds", feeds)
    crawl(tmp_path, "feeds", feeds)

    conditional = {
        path: [seen.headers.get("if-none-match") for seen in site.seen if seen.target == path]
        for path in ("/whole.xml", "/cut.xml")
    }
    assert conditional == {"/whole.xml": [None, '"whole-1"'], "/cut.xml": [None, None]}
    assert rows(tmp_path, "SELECT reason FROM rejects") == [("listing_truncated",)] * 2


# --- 8. Extraction that would run for minutes -------------------------------------------------


def test_extraction_running_for_minutes_is_killed_and_the_next_document_goes_on(
    servers: Callable[..., RawServer], tmp_path: Path, good_page: bytes
) -> None:
    site = servers()
    vocabulary = [f"term{number}" for number in range(5000)]
    paragraphs = "".join(
        "<p>" + " ".join(vocabulary[(n * 7 + k * 13) % 5000] for k in range(40)) + "</p>"
        for n in range(30_000)
    )  # about 10 MB that trafilatura needs over a minute for
    site.routes["/slow.html"] = respond(
        f"<html><head><title>Slow</title></head><body><article>{paragraphs}</article></body></html>"
    )
    site.routes["/good.html"] = respond(good_page)

    result = crawl(
        tmp_path,
        "urls",
        seed_file(tmp_path, [site.url("/slow.html"), site.url("/good.html")]),
        settings={
            "EXTRACTION_WORKERS": "1",
            "EXTRACTION_TIMEOUT": "5",
            "DOWNLOAD_MAXSIZE": str(32 << 20),
        },
    )

    assert rejects(tmp_path) == {site.url("/slow.html"): "extraction_timeout"}
    assert stored_urls(tmp_path) == [site.url("/good.html")]
    assert "'extraction/workers_replaced': 1" in result.stderr


# --- 9. Bodies that are not what they claim ----------------------------------------------------


def french_article(title: str) -> str:
    sentence = (
        "Le café du théâtre a rouvert ses portes après les travaux, et les habitués "
        "du quartier étaient ravis de retrouver leur thé préféré près de la fenêtre. "
    )
    return (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        + "".join(f"<p>{sentence * 3} Paragraphe numéro {number}.</p>" for number in range(6))
        + "</article></body></html>"
    )


def test_binary_bodies_wrong_charsets_and_nul_bytes(
    servers: Callable[..., RawServer], tmp_path: Path
) -> None:
    site = servers()
    site.routes["/report.html"] = respond(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + os.urandom(4096))
    site.routes["/photo.html"] = respond(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + os.urandom(4096))
    site.routes["/blob.html"] = respond(os.urandom(8192))
    site.routes["/wrong-charset.html"] = respond(
        french_article("Théâtre rouvert").encode("cp1252"), content_type="text/html; charset=utf-8"
    )
    site.routes["/no-charset.html"] = respond(
        french_article("Café sans déclaration").encode("utf-8"), content_type="text/html"
    )
    site.routes["/nul.html"] = respond(
        french_article("Octets nuls").replace("ravis", "ra\0vis").encode("utf-8")
    )
    paths = [
        "/report.html",
        "/photo.html",
        "/blob.html",
        "/wrong-charset.html",
        "/no-charset.html",
        "/nul.html",
    ]

    crawl(tmp_path, "urls", seed_file(tmp_path, [site.url(p) for p in paths]))

    assert rejects(tmp_path) == {site.url(p): "binary" for p in paths[:3]}
    texts = dict(rows(tmp_path, "SELECT url, text FROM articles"))
    assert sorted(texts) == sorted(site.url(p) for p in paths[3:])
    for text in texts.values():
        assert "café du théâtre" in str(text)
        assert "\0" not in str(text) and "\ufffd" not in str(text)


# --- 10. Empty and boilerplate-only pages ------------------------------------------------------


BOILERPLATE = (
    "<html><head><title>{site} – Home</title></head><body>"
    "<nav><a href='/'>Home</a> <a href='/news'>News</a> <a href='/sport'>Sport</a></nav>"
    "<div class='cookie-banner'>We use cookies to improve your experience. Accept all cookies?</div>"
    "<div class='newsletter'>Subscribe to our newsletter for the latest updates.</div>"
    "<footer>© 2025 {site}. All rights reserved. Privacy policy. Terms of use. Contact us.</footer>"
    "</body></html>"
)


def test_empty_and_boilerplate_only_pages_never_become_articles(
    servers: Callable[..., RawServer], tmp_path: Path
) -> None:
    site = servers()
    site.routes["/empty.html"] = respond(b"")
    site.routes["/blank.html"] = respond(b"<html><head></head><body>   </body></html>")
    site.routes["/a/index.html"] = respond(BOILERPLATE.format(site="Daily A"))
    site.routes["/b/index.html"] = respond(BOILERPLATE.format(site="Weekly B"))
    paths = ["/empty.html", "/blank.html", "/a/index.html", "/b/index.html"]

    crawl(tmp_path, "urls", seed_file(tmp_path, [site.url(p) for p in paths]))

    found = rejects(tmp_path)
    assert sorted(found) == sorted(site.url(p) for p in paths)
    assert found[site.url("/empty.html")] == "empty"
    assert {found[site.url(p)] for p in paths[1:]} <= {"empty", "no_article_body"}
    assert rows(tmp_path, "SELECT count(*) FROM articles") == [(0,)]
    assert rows(tmp_path, "SELECT count(*) FROM stories") == [(0,)]
