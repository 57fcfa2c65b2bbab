"""End to end: real `scrapy crawl` runs of the web spiders against a site on 127.0.0.1.

The site serves WCXB article pages behind an RSS feed, an Atom feed, a JSON feed, a
sitemap index with a gzipped Google News sitemap, and a robots.txt disallowing one
listed path. Assertions read the SQLite rows and the requests the server saw.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import CrawlRunner, LocalSite, wcxb_page

FEED_PAGES = ("0014", "0015", "0043", "0052", "0061")
SITEMAP_PAGES = ("0014", "0074")
DISALLOWED_PAGE = "0064"


def rss(site: LocalSite, ids: list[str]) -> str:
    items = "".join(
        f"<item><title>Feed title {i}</title>"
        f"<link>{site.url(f'/news/{i}.html')}?utm_source=rss&amp;utm_medium=feed</link>"
        "<pubDate>Mon, 06 Jan 2025 10:00:00 GMT</pubDate>"
        "<dc:creator>Feed Author</dc:creator></item>"
        for i in ids
    )
    return (
        '<?xml version="1.0"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<channel><title>t</title>{items}</channel></rss>"
    )


def atom(site: LocalSite, ids: list[str]) -> str:
    entries = "".join(
        f"<entry><title>Atom {i}</title>"
        f'<link rel="alternate" href="{site.url(f"/news/{i}.html")}#top"/>'
        f"<id>urn:{i}</id><updated>2025-01-06T10:00:00Z</updated>"
        "<author><name>A. Writer</name></author></entry>"
        for i in ids
    )
    return f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>{entries}</feed>'


def json_feed(site: LocalSite, paths: list[str]) -> str:
    items = [{"id": path, "url": site.url(path), "title": f"JSON {path}"} for path in paths]
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": items})


def news_sitemap(site: LocalSite, lastmod: dict[str, str]) -> bytes:
    urls = "".join(
        f"<url><loc>{site.url(f'/news/{i}.html')}</loc><lastmod>{lastmod[i]}</lastmod>"
        f"<news:news><news:publication><news:name>Local</news:name><news:language>en</news:language>"
        f"</news:publication><news:publication_date>2025-01-05</news:publication_date>"
        f"<news:title>Sitemap title {i}</news:title></news:news></url>"
        for i in SITEMAP_PAGES
    )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
        ' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        f"{urls}</urlset>"
    )
    return gzip.compress(xml.encode())


def serve_sitemaps(site: LocalSite, lastmod: dict[str, str]) -> None:
    site.add("/sitemaps/news.xml.gz", news_sitemap(site, lastmod), content_type="application/gzip")


@pytest.fixture
def news_site(local_site: LocalSite, tmp_path: Path) -> LocalSite:
    """The site with every page, feed and sitemap routed; `tmp_path/feeds.txt` lists the feeds."""
    for file_id in {*FEED_PAGES, *SITEMAP_PAGES}:
        local_site.add(f"/news/{file_id}.html", wcxb_page(file_id)[0])
    local_site.add(f"/private/{DISALLOWED_PAGE}.html", wcxb_page(DISALLOWED_PAGE)[0])
    local_site.add(
        "/robots.txt",
        f"User-agent: *\nDisallow: /private/\nSitemap: {local_site.url('/sitemap_index.xml')}\n",
        content_type="text/plain",
    )
    local_site.add(
        "/feeds/rss.xml",
        rss(local_site, ["0014", "0015"]),
        content_type="application/rss+xml",
        etag='"rss-v1"',
    )
    local_site.add(
        "/feeds/atom.xml",
        atom(local_site, ["0043", "0052"]),
        content_type="application/atom+xml",
        etag='"atom-v1"',
    )
    local_site.add(
        "/feeds/feed.json",
        json_feed(local_site, ["/news/0061.html", f"/private/{DISALLOWED_PAGE}.html"]),
        content_type="application/feed+json",
        etag='"json-v1"',
    )
    local_site.add(
        "/sitemap_index.xml",
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{local_site.url('/sitemaps/news.xml.gz')}</loc></sitemap></sitemapindex>",
        content_type="application/xml",
    )
    serve_sitemaps(local_site, {"0014": "2025-01-06T10:00:00Z", "0074": "2025-01-06T10:00:00Z"})
    feeds = [local_site.url(p) for p in ("/feeds/rss.xml", "/feeds/atom.xml", "/feeds/feed.json")]
    (tmp_path / "feeds.txt").write_text("# test feeds\n" + "\n".join(feeds) + "\n")
    return local_site


def rows(tmp_path: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(tmp_path / "crawl.db") as connection:
        return connection.execute(query).fetchall()


def article_paths(site: LocalSite, tmp_path: Path) -> list[str]:
    return sorted(
        str(url).removeprefix(site.base_url)
        for (url,) in rows(tmp_path, "SELECT url FROM articles")
    )


def test_feeds_store_every_listed_article_once_and_obey_robots(
    news_site: LocalSite, run_crawl: CrawlRunner, tmp_path: Path
) -> None:
    run_crawl("feeds", f"path={tmp_path / 'feeds.txt'}")

    assert article_paths(news_site, tmp_path) == sorted(f"/news/{i}.html" for i in FEED_PAGES)
    assert f"/private/{DISALLOWED_PAGE}.html" not in news_site.paths()
    for file_id in FEED_PAGES:
        assert news_site.count(f"/news/{file_id}.html") == 1
    assert all("utm_" not in path for path in news_site.paths())
    assert news_site.requests[0].headers["user-agent"].startswith("newsfold/")


def test_robots_txt_holds_for_every_request_waiting_on_it(
    local_site: LocalSite, run_crawl: CrawlRunner, tmp_path: Path
) -> None:
    local_site.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    paths = [f"/private/{n}.html" for n in range(6)]
    for path in paths:
        local_site.add(path, wcxb_page("0014")[0])
    seeds = tmp_path / "urls.txt"
    seeds.write_text("".join(f"{local_site.url(path)}\n" for path in paths))

    run_crawl("urls", f"path={seeds}")

    assert local_site.paths() == ["/robots.txt"]


def test_second_feeds_run_gets_304_and_fetches_no_stored_article(
    news_site: LocalSite, run_crawl: CrawlRunner, tmp_path: Path
) -> None:
    run_crawl("feeds", f"path={tmp_path / 'feeds.txt'}")
    news_site.forget_requests()

    run_crawl("feeds", f"path={tmp_path / 'feeds.txt'}")

    assert not [path for path in news_site.paths() if path.startswith("/news/")]
    assert news_site.statuses("/feeds/rss.xml") == [304]
    assert news_site.statuses("/feeds/feed.json") == [304]
    assert len(article_paths(news_site, tmp_path)) == len(FEED_PAGES)


def test_sitemap_from_robots_and_lastmod_refetch_keeps_a_revision(
    news_site: LocalSite, run_crawl: CrawlRunner, tmp_path: Path
) -> None:
    run_crawl("sitemap", f"url={news_site.url('/robots.txt')}")
    assert article_paths(news_site, tmp_path) == sorted(f"/news/{i}.html" for i in SITEMAP_PAGES)

    news_site.forget_requests()
    run_crawl("sitemap", f"url={news_site.url('/robots.txt')}")
    assert not [path for path in news_site.paths() if path.startswith("/news/")]

    # The listing says 0014 changed on the 7th (its text did not) and 0074 on 1 February
    # (every paragraph gained a sentence): both are fetched again, one revision is kept.
    serve_sitemaps(news_site, {"0014": "2025-01-07T10:00:00Z", "0074": "2025-02-01T08:30:00Z"})
    updated = wcxb_page("0074")[0].replace(b"</p>", b" Updated with new details.</p>")
    news_site.add("/news/0074.html", updated)
    news_site.forget_requests()
    run_crawl("sitemap", f"url={news_site.url('/robots.txt')}")

    refetched = sorted(path for path in news_site.paths() if path.startswith("/news/"))
    assert refetched == ["/news/0014.html", "/news/0074.html"]
    revisions = rows(tmp_path, "SELECT url, reason, length(text) FROM article_revisions")
    assert len(revisions) == 1
    assert revisions[0][0] == news_site.url("/news/0074.html")
    assert revisions[0][1] == "listing_changed"
    assert int(str(revisions[0][2])) > 0
    stored = rows(tmp_path, "SELECT text FROM articles WHERE url LIKE '%0074%'")
    assert "Updated with new details." in str(stored[0][0])
    assert len(article_paths(news_site, tmp_path)) == len(SITEMAP_PAGES)


def test_tracking_parameter_variants_are_fetched_and_stored_once(
    local_site: LocalSite, run_crawl: CrawlRunner, tmp_path: Path
) -> None:
    local_site.add("/news/0014.html", wcxb_page("0014")[0])
    base = local_site.base_url
    variants = [
        f"{base}/news/0014.html?utm_source=twitter&utm_campaign=x",
        f"{base}/news/0014.html?fbclid=abc#comments",
        f"{base.replace('http://', 'HTTP://')}:80".replace(":80", "") + "/news/0014.html?gclid=1",
        f"{base}/news/0014.html",
    ]
    seeds = tmp_path / "urls.txt"
    seeds.write_text("\n".join(variants) + "\n")

    run_crawl("urls", f"path={seeds}")

    assert local_site.paths() == ["/robots.txt", "/news/0014.html"]
    assert article_paths(local_site, tmp_path) == ["/news/0014.html"]


def test_amp_page_resolves_to_its_canonical_page(
    local_site: LocalSite, run_crawl: CrawlRunner, tmp_path: Path
) -> None:
    local_site.add("/news/0015.html", wcxb_page("0015")[0])
    local_site.add(
        "/amp/0015.html",
        '<!doctype html><html amp lang="en"><head>'
        '<link rel="canonical" href="/news/0015.html"></head>'
        "<body><p>Short AMP version.</p></body></html>",
    )
    seeds = tmp_path / "urls.txt"
    seeds.write_text(f"{local_site.url('/amp/0015.html')}\n")

    run_crawl("urls", f"path={seeds}")

    assert local_site.count("/amp/0015.html") == 1
    assert local_site.count("/news/0015.html") == 1
    assert article_paths(local_site, tmp_path) == ["/news/0015.html"]


def test_private_addresses_are_refused_and_recorded(
    local_site: LocalSite, run_crawl: CrawlRunner, tmp_path: Path
) -> None:
    local_site.add("/news/0014.html", wcxb_page("0014")[0])

    run_crawl(
        "urls",
        f"url={local_site.url('/news/0014.html')}",
        settings={"ALLOW_PRIVATE_ADDRESSES": "false"},
    )

    assert local_site.paths() == []
    rejects = rows(tmp_path, "SELECT url, reason, detail FROM rejects")
    assert [(url, reason) for url, reason, _ in rejects] == [
        (local_site.url("/news/0014.html"), "private_address")
    ]
    assert "loopback" in str(rejects[0][2])


def test_retry_after_is_honoured_then_the_page_is_stored(
    local_site: LocalSite, run_crawl: CrawlRunner, tmp_path: Path
) -> None:
    local_site.add("/news/0014.html", wcxb_page("0014")[0], unavailable_first=1)

    result = run_crawl("urls", f"url={local_site.url('/news/0014.html')}")

    assert local_site.statuses("/news/0014.html") == [503, 200]
    assert article_paths(local_site, tmp_path) == ["/news/0014.html"]
    assert "'retry/backoff_wait': 1" in result.stderr


def test_contact_url_setting_reaches_the_user_agent(
    local_site: LocalSite, run_crawl: CrawlRunner, tmp_path: Path
) -> None:
    local_site.add("/news/0014.html", wcxb_page("0014")[0])

    run_crawl(
        "urls",
        f"url={local_site.url('/news/0014.html')}",
        settings={"NEWSFOLD_CONTACT_URL": "https://ops.example/crawler"},
    )

    agents = {seen.headers["user-agent"] for seen in local_site.requests}
    assert agents == {"newsfold/0.1 (+https://ops.example/crawler)"}


def test_redirect_to_another_scheme_is_refused_and_recorded(
    local_site: LocalSite, run_crawl: CrawlRunner, tmp_path: Path
) -> None:
    local_site.add("/go", b"", status=302, headers={"Location": "file:///etc/passwd"})

    run_crawl("urls", f"url={local_site.url('/go')}")

    assert rows(tmp_path, "SELECT url, reason FROM rejects") == [
        ("file:///etc/passwd", "forbidden_scheme")
    ]
    assert rows(tmp_path, "SELECT count(*) FROM articles") == [(0,)]
