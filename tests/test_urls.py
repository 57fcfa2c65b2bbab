"""URL canonicalisation and rel=canonical / AMP resolution (`crawler.urls`)."""

from __future__ import annotations

import pytest

from crawler.urls import canonicalize_url, is_amp_page, is_web_url, resolve_canonical


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("https://example.com/a?utm_source=x&utm_medium=y", "https://example.com/a"),
        ("https://example.com/a?id=3&fbclid=abc&gclid=def", "https://example.com/a?id=3"),
        ("https://example.com/a#section-2", "https://example.com/a"),
        ("HTTPS://News.Example.COM/Path/A", "https://news.example.com/Path/A"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
        (
            "https://example.com/a?UTM_Campaign=x&ns_mchannel=rss&at_medium=social",
            "https://example.com/a",
        ),
        ("  https://example.com/a?xtor=RSS-1&mc_cid=9  ", "https://example.com/a"),
        ("https://example.com/caf%c3%a9", "https://example.com/caf%C3%A9"),
        ("https://example.com./a", "https://example.com/a"),
    ],
)
def test_canonicalize_url(raw: str, canonical: str) -> None:
    assert canonicalize_url(raw) == canonical


def test_canonicalize_keeps_article_identifying_parameters() -> None:
    assert (
        canonicalize_url("https://example.com/story.php?id=42&page=2")
        == "https://example.com/story.php?id=42&page=2"
    )


def test_canonicalize_is_idempotent() -> None:
    once = canonicalize_url("HTTP://Example.com:80/a/b?z=1&utm_term=q&a=%7e#x")
    assert canonicalize_url(once) == once


@pytest.mark.parametrize(
    "url", ["mailto:desk@example.com", "file:///etc/passwd", "javascript:alert(1)"]
)
def test_non_web_urls_are_left_for_the_guard(url: str) -> None:
    assert canonicalize_url(url) == url
    assert not is_web_url(url)


def test_same_site_canonical_link_renames_the_page() -> None:
    resolution = resolve_canonical(
        "https://www.example.com/print/1?ref=x", "https://example.com/news/1", is_amp=False
    )
    assert resolution.store_url == "https://example.com/news/1"
    assert resolution.fetch_url is None


def test_relative_canonical_link_is_resolved_against_the_page() -> None:
    resolution = resolve_canonical("https://example.com/news/1?page=all", "/news/1", is_amp=False)
    assert resolution.store_url == "https://example.com/news/1"


def test_cross_site_canonical_link_keeps_the_syndicated_copy_where_it_is() -> None:
    resolution = resolve_canonical(
        "https://paper.example/wire/1", "https://wire.example/story/1", is_amp=False
    )
    assert resolution.store_url == "https://paper.example/wire/1"


def test_amp_page_is_swapped_for_its_canonical_page() -> None:
    resolution = resolve_canonical(
        "https://amp.example.com/a.amp", "https://www.example.com/a", is_amp=True
    )
    assert resolution.fetch_url == "https://www.example.com/a"
    assert resolution.store_url == "https://www.example.com/a"


def test_canonical_link_to_a_non_web_url_is_ignored() -> None:
    resolution = resolve_canonical("https://example.com/a", "javascript:void(0)", is_amp=True)
    assert resolution.store_url == "https://example.com/a"
    assert resolution.fetch_url is None


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"<!doctype html><html amp lang=en><head>", True),
        ("<!doctype html><html \u26a1 lang=en>".encode(), True),
        (b"<html lang='en' amp=''>", True),
        (b"<html lang=en><head><script src=amp.js>", False),
        (b"<html class='amp-mode'>", False),
    ],
)
def test_is_amp_page(head: bytes, expected: bool) -> None:
    assert is_amp_page(head) is expected
