"""Feed and sitemap parsing (`crawler.listings`), fetch rules (`crawler.fetching`), and the
web spiders' callbacks fed with responses built from bytes."""

from __future__ import annotations

import gzip
from datetime import UTC, date, datetime

import pytest
from scrapy import Request
from scrapy.exceptions import UsageError
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.utils.test import get_crawler

from crawler.fetching import (
    backoff_delay,
    forbidden_address,
    is_newer,
    retry_after_seconds,
    user_agent_with_contact,
)
from crawler.items import ArticleItem
from crawler.listings import ListingError, parse_date, parse_feed, parse_sitemap
from crawler.middlewares import CHANGED_AT, HINTS, ROLE
from crawler.spiders.feeds import FeedsSpider
from crawler.spiders.sitemap import SitemapSpider
from crawler.spiders.urls import UrlsSpider

BASE = "https://news.example/feed"

RSS2 = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>T</title>
<item><title>First</title><link>https://news.example/a?utm_source=rss</link>
<pubDate>Tue, 07 Jan 2025 09:30:00 +0100</pubDate>
<author>desk@news.example (Ann Lee)</author></item>
<item><title>Guid only</title><guid isPermaLink="true">https://news.example/b</guid>
<dc:creator>Bo Chen</dc:creator></item>
<item><title>No link</title><guid isPermaLink="false">123</guid></item>
</channel></rss>"""

RSS1 = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="x"><title>T</title></channel>
<item rdf:about="https://news.example/c"><title>RDF item</title><link>https://news.example/c</link>
<dc:date>2025-01-07T08:00:00Z</dc:date><dc:creator>Cy Doe</dc:creator></item></rdf:RDF>"""

RSS091 = b"""<?xml version="1.0"?><rss version="0.91"><channel><title>T</title>
<item><title>Old school</title><link>/relative/d</link></item></channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>
<entry><title type="html">Atom entry</title><link rel="replies" href="https://news.example/e#comments"/>
<link rel="alternate" type="text/html" href="https://news.example/e"/><id>tag:x,2025:e</id>
<published>2025-01-06T10:00:00Z</published><updated>2025-01-08T12:00:00+02:00</updated>
<author><name>Eve Fox</name></author><author><name>Gil Ho</name></author></entry></feed>"""

JSON_FEED = b"""{"version": "https://jsonfeed.org/version/1.1", "title": "T", "language": "de",
"items": [{"id": "1", "url": "https://news.example/f", "title": "JSON item",
"date_published": "2025-01-05T07:00:00Z", "authors": [{"name": "Ida Jung"}]},
{"id": "2", "external_url": "https://other.example/g"}, {"id": "3"}]}"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<rss version="2.0"><channel><item><title>&lol4;</title><link>https://news.example/h</link></item></channel></rss>"""

XXE = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><item><title>&xxe;</title><link>https://news.example/i</link></item></channel></rss>"""


def test_rss2_entries_with_fallbacks_and_provenance() -> None:
    first, second = parse_feed(RSS2, BASE).articles
    assert first.url == "https://news.example/a?utm_source=rss"
    assert first.title == "First"
    assert first.published_at == datetime(2025, 1, 7, 8, 30, tzinfo=UTC)
    assert first.authors == ("Ann Lee",)
    assert second.url == "https://news.example/b"
    assert second.authors == ("Bo Chen",)
    assert first.hints() == {
        "title": "First",
        "title_source": "feed",
        "published_at": datetime(2025, 1, 7, 8, 30, tzinfo=UTC),
        "date_source": "feed",
        "authors": ["Ann Lee"],
        "authors_source": "feed",
    }


def test_rss1_and_rss091() -> None:
    (rdf,) = parse_feed(RSS1, BASE).articles
    assert (rdf.url, rdf.title, rdf.authors) == ("https://news.example/c", "RDF item", ("Cy Doe",))
    assert rdf.published_at == datetime(2025, 1, 7, 8, 0, tzinfo=UTC)
    (old,) = parse_feed(RSS091, BASE).articles
    assert old.url == "https://news.example/relative/d"


def test_atom_prefers_the_alternate_link_and_keeps_updated() -> None:
    (entry,) = parse_feed(ATOM, BASE).articles
    assert entry.url == "https://news.example/e"
    assert entry.authors == ("Eve Fox", "Gil Ho")
    assert entry.updated_at == datetime(2025, 1, 8, 10, 0, tzinfo=UTC)
    assert entry.changed_at == entry.updated_at


def test_json_feed() -> None:
    first, second = parse_feed(JSON_FEED, BASE).articles
    assert (first.url, first.title, first.authors, first.language) == (
        "https://news.example/f",
        "JSON item",
        ("Ida Jung",),
        "de",
    )
    assert second.url == "https://other.example/g"


@pytest.mark.parametrize("document", [BILLION_LAUGHS, XXE])
def test_documents_declaring_entities_are_refused(document: bytes) -> None:
    with pytest.raises(ListingError, match="declares entities") as refused:
        parse_feed(document, BASE)
    assert refused.value.reason == "xml_entities"
    sitemap = document.replace(b'<rss version="2.0"><channel><item><title>', b"<urlset><url><loc>")
    with pytest.raises(ListingError) as refused_sitemap:
        parse_sitemap(sitemap, BASE)
    assert refused_sitemap.value.reason == "xml_entities"


def test_an_expansion_past_the_parser_limit_is_refused() -> None:
    """libxml2 stops a billion laughs at its amplification limit: refused, not read cut short."""
    laughs = b'<!ENTITY a "aaaaaaaaaa">' + b"".join(
        b'<!ENTITY a%d "' % level + (b"&a%d;" % (level - 1) if level > 1 else b"&a;") * 10 + b'">'
        for level in range(1, 10)
    )
    document = b"<!DOCTYPE rss [" + laughs + b"]><rss><channel><item><link>/x</link></item>"
    document += b"<description>&a9;</description></channel></rss>"
    with pytest.raises(ListingError) as refused:
        parse_feed(document, BASE)
    assert refused.value.reason == "xml_entities"


@pytest.mark.parametrize(
    "declaration",
    [
        b'<!ENTITY company "Newsfold Media">',  # a text to repeat: quadratic blowup
        b'<!ENTITY a "&#38;b;">',  # made of another entity
        b"<!ENTITY % p \"<!ENTITY q 'z'>\"> %p;",  # a parameter entity writing markup
        b'<!ENTITY pub PUBLIC "-//x//y" "http://127.0.0.1:9/y">',  # external, by public id
    ],
)
def test_every_kind_of_entity_declaration_but_a_character_is_refused(declaration: bytes) -> None:
    document = b"<!DOCTYPE rss [" + declaration + b"]>" + RSS091[RSS091.index(b"<rss") :]
    with pytest.raises(ListingError) as refused:
        parse_feed(document, BASE)
    assert refused.value.reason == "xml_entities"


def test_character_entities_declared_in_the_dtd_are_read() -> None:
    """Feeds declaring HTML's named characters (`&nbsp;`) for their text are not hostile."""
    document = (
        b'<!DOCTYPE rss [<!ENTITY nbsp "&#160;"><!ENTITY mdash "&#x2014;">]><rss version="2.0">'
        b"<channel><item><title>One&nbsp;&mdash; two</title><link>/a</link></item></channel></rss>"
    )
    (entry,) = parse_feed(document, BASE).articles
    assert entry.url == "https://news.example/a"


def test_an_external_dtd_without_declarations_is_read() -> None:
    """RSS 0.91 names Netscape's DTD: it is never loaded, and the feed is read."""
    document = RSS091.replace(
        b"<rss",
        b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"'
        b' "http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss',
        1,
    )
    assert [a.url for a in parse_feed(document, BASE).articles] == [
        "https://news.example/relative/d"
    ]


CUT_FEED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
    b"<item><title>One & two</title><link>https://news.example/1</link></item>"
    b"<item><title>Two&nbsp;undefined</title><link>https://news.example/2</link></item>"
    b"<item><title>Three</title><link>https://news.example/3"
)


@pytest.mark.parametrize(
    ("cut_at", "expected"),
    [
        (len(CUT_FEED), ["https://news.example/1", "https://news.example/2"]),
        (CUT_FEED.index(b"<item><title>Three"), ["https://news.example/1"]),
        (CUT_FEED.index(b"<item><title>Two"), []),
    ],
)
def test_a_cut_off_feed_yields_its_complete_entries_and_says_it_was_cut(
    cut_at: int, expected: list[str]
) -> None:
    document = parse_feed(CUT_FEED[:cut_at], BASE)
    assert [a.url for a in document.articles] == expected
    assert document.truncated is not None and "<rss>" in document.truncated


@pytest.mark.parametrize(
    "ending",
    [b"</channel></rss>", b"</channel></rss>\n<!-- cached 3s -->\n\0", b"</channel></rss>junk"],
)
def test_a_whole_feed_with_recoverable_errors_is_not_truncated(ending: bytes) -> None:
    document = parse_feed(CUT_FEED.rsplit(b"<item><title>Three", 1)[0] + ending, BASE)
    assert [a.url for a in document.articles] == [
        "https://news.example/1",
        "https://news.example/2",
    ]
    assert document.truncated is None


def test_a_cut_off_sitemap_and_index_yield_their_complete_entries() -> None:
    urlset = (
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>/a</loc></url>'
        b"<url><loc>/b</loc></url><url><loc>/c-cut-sh"
    )
    document = parse_sitemap(urlset, "https://news.example/sitemap.xml")
    assert [a.url for a in document.articles] == [
        "https://news.example/a",
        "https://news.example/b",
    ]
    assert document.truncated is not None
    index = b"<sitemapindex><sitemap><loc>/s1.xml</loc></sitemap><sitemap><loc>/s2"
    cut_index = parse_sitemap(index, "https://news.example/index.xml")
    assert cut_index.sitemaps == ("https://news.example/s1.xml",) and cut_index.truncated


@pytest.mark.parametrize("document", [b"", b"<html><body>not a feed</body></html>", b'{"no": 1}'])
def test_not_a_feed(document: bytes) -> None:
    with pytest.raises(ListingError):
        parse_feed(document, BASE)


def test_news_sitemap_fields() -> None:
    document = parse_sitemap(
        b"""<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"><url><loc>https://news.example/j</loc>
        <lastmod>2025-01-09</lastmod><news:news><news:publication><news:name>N</news:name>
        <news:language>fr</news:language></news:publication>
        <news:publication_date>2025-01-08T06:00:00+01:00</news:publication_date>
        <news:title>Titre</news:title></news:news></url><url><loc></loc></url></urlset>""",
        "https://news.example/sitemap.xml",
    )
    assert document.kind == "urlset"
    (entry,) = document.articles
    assert (entry.url, entry.title, entry.language, entry.source) == (
        "https://news.example/j",
        "Titre",
        "fr",
        "sitemap",
    )
    assert entry.published_at == datetime(2025, 1, 8, 5, 0, tzinfo=UTC)
    assert entry.updated_at == datetime(2025, 1, 9, tzinfo=UTC)
    assert entry.hints()["date_source"] == "sitemap"


def test_sitemap_index() -> None:
    document = parse_sitemap(
        b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>/s1.xml.gz</loc>
        </sitemap><sitemap><loc>https://news.example/s2.xml</loc></sitemap></sitemapindex>""",
        "https://news.example/index.xml",
    )
    assert document.kind == "sitemapindex"
    assert document.sitemaps == ("https://news.example/s1.xml.gz", "https://news.example/s2.xml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tue, 07 Jan 2025 09:30:00 GMT", datetime(2025, 1, 7, 9, 30, tzinfo=UTC)),
        ("2025-01-07T09:30:00.123Z", datetime(2025, 1, 7, 9, 30, 0, 123000, tzinfo=UTC)),
        ("2025-01-07", datetime(2025, 1, 7, tzinfo=UTC)),
        ("2025-01-07T23:30:00-05:00", datetime(2025, 1, 8, 4, 30, tzinfo=UTC)),
        ("yesterday", None),
        ("", None),
    ],
)
def test_parse_date(text: str, expected: datetime | None) -> None:
    assert parse_date(text) == expected


def test_feed_dates_keep_the_day_the_feed_states() -> None:
    stated = parse_date("Tue, 07 Jan 2025 23:30:00 -0500")
    assert stated is not None and stated.date() == date(2025, 1, 7)
    assert stated.astimezone(UTC).date() == date(2025, 1, 8)


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("192.168.0.10", True),
        ("172.16.5.4", True),
        ("169.254.169.254", True),
        ("100.100.100.200", True),
        ("::1", True),
        ("fe80::1", True),
        ("::ffff:127.0.0.1", True),
        ("0.0.0.0", True),
        ("93.184.216.34", False),
        ("2606:4700::6810:85e5", False),
    ],
)
def test_forbidden_address(address: str, refused: bool) -> None:
    assert (forbidden_address(address) is not None) is refused


def test_retry_after_header_forms() -> None:
    now = datetime(2025, 1, 7, 9, 0, 0, tzinfo=UTC)
    assert retry_after_seconds(b"120", now) == 120.0
    assert retry_after_seconds("Tue, 07 Jan 2025 09:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Tue, 07 Jan 2025 08:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff_delay(n, 1.0, 5.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]
    assert backoff_delay(3, 0.0, 5.0) == 0.0


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        ("newsfold/0.1 (+https://old.example)", "newsfold/0.1 (+https://ops.example/bot)"),
        ("newsfold/0.1", "newsfold/0.1 (+https://ops.example/bot)"),
        ("newsfold/0.1 (+https://ops.example/bot)", "newsfold/0.1 (+https://ops.example/bot)"),
    ],
)
def test_user_agent_names_the_contact_url(user_agent: str, expected: str) -> None:
    assert user_agent_with_contact(user_agent, "https://ops.example/bot") == expected


def test_is_newer() -> None:
    day = datetime(2025, 1, 7, tzinfo=UTC)
    assert is_newer(datetime(2025, 1, 8, tzinfo=UTC), day)
    assert not is_newer(day, day)
    assert not is_newer(None, day)
    assert not is_newer(day, None)


# --- Spider callbacks --------------------------------------------------------------------


def make_spider(spider_class: type, **arguments: str) -> object:
    return spider_class.from_crawler(get_crawler(spider_class), **arguments)


def test_feed_callback_yields_canonical_article_requests_with_hints() -> None:
    spider = make_spider(FeedsSpider, url=BASE)
    response = TextResponse(BASE, body=RSS2, headers={"Content-Type": "application/rss+xml"})
    requests = list(spider.parse_feed(response))  # type: ignore[attr-defined]
    assert [r.url for r in requests] == ["https://news.example/a", "https://news.example/b"]
    assert requests[0].meta[ROLE] == "article"
    assert requests[0].meta[CHANGED_AT] == datetime(2025, 1, 7, 8, 30, tzinfo=UTC)
    assert requests[0].meta[HINTS]["title_source"] == "feed"
    assert requests[0].meta[HINTS]["listed_in"] == BASE


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "unreadable_listing"),
        (b"\x89PNG\r\n\x1a\n binary", "unreadable_listing"),
        (b"<html><body>moved</body></html>", "unreadable_listing"),
        (BILLION_LAUGHS, "xml_entities"),
    ],
)
def test_feed_callback_refuses_a_bad_feed_as_a_recorded_item(body: bytes, reason: str) -> None:
    spider = make_spider(FeedsSpider, url=BASE)
    (refusal,) = list(spider.parse_feed(Response(BASE, body=body)))  # type: ignore[attr-defined]
    assert isinstance(refusal, ArticleItem)
    assert (refusal.url, refusal.read_error, refusal.body) == (BASE, reason, None)
    assert refusal.source == "feeds" and refusal.read_error_detail
    assert spider.crawler.stats.get_value("feeds/unreadable") == 1  # type: ignore[attr-defined]


def test_feed_callback_records_a_cut_off_feed_and_uses_its_complete_entries() -> None:
    spider = make_spider(FeedsSpider, url=BASE)
    output = list(spider.parse_feed(Response(BASE, body=CUT_FEED)))  # type: ignore[attr-defined]
    record, *requests = output
    assert isinstance(record, ArticleItem) and record.read_error == "listing_truncated"
    assert record.read_error_detail.startswith("2 complete entries used")
    assert [r.url for r in requests] == ["https://news.example/1", "https://news.example/2"]
    assert spider.crawler.stats.get_value("feeds/truncated") == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\x1f\x8b\x08\x00 not really gzip", "unreadable_listing"),
        (b"<urlset><url><loc>/a</loc></url>", "listing_truncated"),
        (
            BILLION_LAUGHS.replace(b"<rss", b"<urlset").replace(b"</rss>", b"</urlset>"),
            "xml_entities",
        ),
    ],
)
def test_sitemap_callback_records_bad_sitemaps(body: bytes, reason: str) -> None:
    url = "https://news.example/sitemap.xml"
    spider = make_spider(SitemapSpider, url=url)
    response = Response(url, body=body, request=Request(url))
    output = list(spider.parse_sitemap(response))  # type: ignore[attr-defined]
    assert isinstance(output[0], ArticleItem)
    assert (output[0].url, output[0].read_error) == (url, reason)


def test_feed_callback_yields_nothing_on_304() -> None:
    spider = make_spider(FeedsSpider, url=BASE)
    assert list(spider.parse_feed(Response(BASE, status=304))) == []  # type: ignore[attr-defined]


def test_sitemap_callback_inflates_gzip_and_follows_an_index() -> None:
    spider = make_spider(SitemapSpider, url="https://news.example/sitemap.xml")
    index = gzip.compress(
        b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<sitemap><loc>https://news.example/news.xml?utm_source=x</loc></sitemap></sitemapindex>"
    )
    response = Response(
        "https://news.example/sitemap.xml.gz",
        body=index,
        request=Request("https://news.example/sitemap.xml.gz"),
    )
    (request,) = list(spider.parse_sitemap(response))  # type: ignore[attr-defined]
    assert isinstance(request, Request)
    assert request.url == "https://news.example/news.xml"
    assert request.meta[ROLE] == "listing"


def test_article_callback_builds_the_item_from_the_response() -> None:
    spider = make_spider(UrlsSpider, url="https://news.example/a")
    body = b"<html><head><link rel='canonical' href='https://news.example/a'></head><body>x</body></html>"
    response = HtmlResponse(
        "https://news.example/a?utm_medium=x",
        body=body,
        headers={"Content-Type": "text/html; charset=ISO-8859-1"},
        request=Request(
            "https://news.example/a", meta={HINTS: {"title": "T", "title_source": "feed"}}
        ),
    )
    (item,) = list(spider.parse_article(response))  # type: ignore[attr-defined]
    assert isinstance(item, ArticleItem)
    assert item.url == "https://news.example/a"
    assert item.body == body
    assert (item.content_type, item.declared_charset) == ("text/html", "ISO-8859-1")
    assert item.observed_at is not None
    assert item.hints == {"title": "T", "title_source": "feed"}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "needs -a url="),
        ({"url": "ftp://x/y"}, "not an http"),
        ({"url": "https://a/", "path": "x"}, "not both"),
        ({"path": "/nonexistent/urls.txt"}, "cannot read"),
    ],
)
def test_urls_spider_argument_errors(arguments: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        UrlsSpider.check_arguments(**arguments)


def test_seed_files_are_listed_canonical_and_real() -> None:
    feeds = FeedsSpider.check_arguments()
    sitemaps = SitemapSpider.check_arguments()
    assert len(feeds) >= 20
    assert len(sitemaps) >= 20
    assert all(url.startswith("https://") for url in feeds + sitemaps)
