"""Title, dates, authors and site reconciled from JSON-LD, meta tags, headings and the URL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from trafilatura.utils import load_html

from pipelines.extraction.article import ExtractionOptions, RawDocument, extract_article
from pipelines.extraction.dates import find_dates
from pipelines.extraction.language import LanguageDetector
from pipelines.extraction.metadata import PageMetadata, page_metadata
from pipelines.extraction.reconcile import (
    choose_authors,
    choose_modified,
    choose_published,
    choose_title,
    clean_authors,
    parse_timestamp,
    url_date,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "extraction"
URL = "https://www.lantern.example/city/harbour-bridge"


@pytest.fixture(scope="module")
def languages() -> LanguageDetector:
    return LanguageDetector()


def metadata_of(head: str, body: str = "") -> PageMetadata:
    # Parsed as extraction parses every page (the tree trafilatura reads too).
    tree = load_html(f"<html><head>{head}</head><body>{body}</body></html>")
    assert tree is not None
    return page_metadata(tree)


@pytest.mark.parametrize(
    ("head", "body", "expected"),
    [
        # The heading wins over a title tag carrying section and site.
        (
            "<title>Tram Line Approved | City | The Lantern</title>",
            "<h1>Tram Line Approved</h1>",
            "Tram Line Approved",
        ),
        # No heading: the site segment goes, whichever side it is on.
        (
            "<title>The Lantern - Tram Line Approved After Long Debate</title>",
            "",
            "Tram Line Approved After Long Debate",
        ),
        (
            '<meta property="og:title" content="Tram Line Approved After Long Debate | Lantern">',
            "",
            "Tram Line Approved After Long Debate",
        ),
        # A heading that is the blog's name, not the article's, is passed over.
        (
            "<title>Quiet Rails: Why trams came back to small towns</title>",
            "<h1>Quiet Rails</h1>",
            "Why trams came back to small towns",
        ),
        # A short heading is the headline when the title's other part names the site.
        (
            '<meta property="og:site_name" content="The Daily Lantern">'
            "<title>Bridge Reviews – The Daily Lantern</title>",
            "<h1>Bridge Reviews</h1>",
            "Bridge Reviews",
        ),
        # A one-word logo heading that begins the site's name is not the headline.
        (
            '<meta property="og:site_name" content="Beacon Magazine">'
            "<title>Tram Line Approved After Long Debate | Beacon Magazine</title>",
            "<h1>Beacon</h1>",
            "Tram Line Approved After Long Debate",
        ),
        # Headings used for sections: only one equal to a title tag is the headline.
        (
            "<title>Quiet Rails: Why trams came back to small towns</title>",
            "<h1>Small towns news</h1><h1>Why trams came back to small towns</h1>"
            "<h1>Small towns</h1>",
            "Why trams came back to small towns",
        ),
        (
            "<title>Why trams came back to small towns - The Lantern</title>",
            "<h1>Follow the trams</h1><h1>Town halls</h1><h1>Timetables</h1>",
            "Why trams came back to small towns",
        ),
        # A heading that carries the site's name after a separator loses it.
        (
            '<meta property="og:site_name" content="Tramway Review">'
            "<title>Night trams return to the harbour - Tramway Review</title>",
            "<h1>Night trams return to the harbour – Tramway Review</h1>",
            "Night trams return to the harbour",
        ),
        # A heading that repeats the title tag word for word carries its section too.
        (
            '<meta property="og:title" content="Why the night trams matter | Opinion">',
            "<h1>Why the night trams matter | Opinion</h1>",
            "Why the night trams matter",
        ),
        # A heading with a subtitle the title tags do not repeat stays whole.
        (
            "<title>Trams return - Lantern</title>",
            "<h1>Trams return – a city changes its mind</h1>",
            "Trams return – a city changes its mind",
        ),
        # A heading sharing no word with any title tag is page furniture.
        (
            '<meta property="og:title" content="Council backs tram plan">',
            "<h1>Menu</h1>",
            "Council backs tram plan",
        ),
        # A heading repeating a title tag less its site carries the tag's section too.
        (
            "<title>Night tram fares | Trams &amp; Buses | Lantern</title>",
            "<h1>Night tram fares | Trams &amp;#x26; Buses</h1>",
            "Night tram fares",
        ),
        # ... but a dash may start a subtitle, which stays.
        (
            "<title>Night tram fares – what changes in May | Lantern</title>",
            "<h1>Night tram fares – what changes in May</h1>",
            "Night tram fares – what changes in May",
        ),
        # A one-word label before a colon that the title tags leave out is the section's.
        (
            "<title>Night trams return to the harbour | Lantern</title>",
            "<h1>Blog: Night trams return to the harbour</h1>",
            "Night trams return to the harbour",
        ),
        # ... but kept where the title tags carry it too.
        (
            "<title>Review: Night trams return to the harbour | Lantern</title>",
            "<h1>Review: Night trams return to the harbour</h1>",
            "Review: Night trams return to the harbour",
        ),
        # A title led by the site's host name loses it.
        ("<title>lantern.example Night Trams</title>", "", "Night Trams"),
        # A short heading leading the title before a pipe is the headline, not a blog name.
        (
            "<title>Night Trams | Office of City Transport Planning</title>",
            "<h1>Night Trams</h1>",
            "Night Trams",
        ),
        # A heading ending in a colon introduces what follows: the next one is the headline.
        (
            "<title>The night tram timetable (Ann Berg)</title>",
            "<h1>Ann Berg's notes on trams:</h1><h1>The night tram timetable</h1>",
            "The night tram timetable",
        ),
        # A heading typed in capitals for display: the title tags spell the headline.
        (
            '<meta property="og:title" content="Council Backs Tram Plan: What Comes Next">',
            "<h1>COUNCIL BACKS THE TRAM PLAN: WHAT COMES NEXT</h1>",
            "Council Backs Tram Plan: What Comes Next",
        ),
        # An acronym heading is not display type.
        (
            "<title>NATO summit | World | Lantern</title>",
            "<h1>NATO summit</h1>",
            "NATO summit",
        ),
        # Every trailing section goes, not only the last one.
        (
            "<title>How to sleep through the night | Patient Guides | City Hospital</title>",
            "",
            "How to sleep through the night",
        ),
        # A banner heading over the article's own: the `<h2>` before the article's text
        # that says what the title tags say is the headline.
        (
            "<title>How night trams keep the harbour awake | The Lantern</title>",
            "<section><h1>Harbour Nights</h1><p>Our series on the city after dark.</p></section>"
            "<h2>How night trams keep the harbour awake</h2><p>" + "The trams run late. " * 10
            + "</p>",
            "How night trams keep the harbour awake",
        ),
        # A kicker line over the headline inside the `<h1>` is not the headline's.
        (
            "<title>Night trams return to the harbour | The Lantern</title>",
            "<h1><div class='kicker'>Night Watch</div>Night trams return to the harbour</h1>",
            "Night trams return to the harbour",
        ),
        (
            "<title>Harbour Ferries | Lantern Guide to the Waterfront</title>",
            "<h1><div>Ride along with</div><span>Harbour Ferries</span></h1>",
            "Harbour Ferries",
        ),
        # ... but not a section heading after the first paragraph that repeats the title.
        (
            "<title>Night trams and the harbour | The Lantern</title>",
            "<h1>How the harbour sleeps through the night trams</h1><p>"
            + "The trams run late. " * 10
            + "</p><h2>Night trams and the harbour</h2><p>More.</p>",
            "How the harbour sleeps through the night trams",
        ),
    ],
)
def test_title_is_reconciled(head: str, body: str, expected: str) -> None:
    assert choose_title(metadata_of(head, body), None, URL) == expected


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        # Full-width punctuation typed into a Latin title is made plain.
        ("How Do Night Trams Work？", "How Do Night Trams Work?"),
        ("Night trams！ What changes：fares", "Night trams! What changes:fares"),
        # In a CJK title it is the script's own typing and stays.
        ("夜间电车如何运行？", "夜间电车如何运行？"),
    ],
)
def test_full_width_punctuation_in_a_latin_title_is_made_plain(heading: str, expected: str) -> None:
    meta = metadata_of(f"<title>{heading}</title>", f"<h1>{heading}</h1>")
    assert choose_title(meta, None, URL) == expected


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        # A line break separates words as a space does.
        ("<h1>NIGHT<br>TRAMS<br> <span>RETURN</span></h1>", "NIGHT TRAMS RETURN"),
        (
            "<h1>Night trams return<div>to the harbour line</div></h1>",
            "Night trams return to the harbour line",
        ),
        # A date stamp or a nested by-line heading inside the headline is not its text.
        (
            '<h1><a href="/trams"><time datetime="2025-03-02">Mar 2 2025</time> Night trams return</a></h1>',
            "Night trams return",
        ),
        ("<h1>Night trams return<h3>Posted on 2 March by Ann Berg</h3></h1>", "Night trams return"),
        # An entity the CMS escaped twice reads as its character; a bare ampersand stays.
        ("<h1>Trams &amp;#x26; buses: Q&amp;A</h1>", "Trams & buses: Q&A"),
        ("<h1>Fares &amp;amp; passes</h1>", "Fares & passes"),
    ],
)
def test_headline_text_is_what_a_reader_sees(heading: str, expected: str) -> None:
    assert metadata_of("", heading).h1 == [expected]


def test_a_heading_that_only_links_to_the_front_page_is_the_logo() -> None:
    body = (
        '<h1><a href="https://lantern.example/">lantern.example</a></h1><h1>Night trams return</h1>'
    )
    assert metadata_of("", body).h1 == ["Night trams return"]


def test_json_ld_article_outranks_page_objects() -> None:
    head = """<script type="application/ld+json">{"@graph": [
        {"@type": "WebPage", "name": "City news", "datePublished": "2020-01-01"},
        {"@type": "NewsArticle", "headline": "Tram line approved", "datePublished": "2024-03-05T09:00:00Z",
         "author": {"@type": "Person", "name": "Ann Berg"}, "articleBody": "The council approved it."}
    ]}</script>"""
    meta = metadata_of(head)
    assert meta.json_ld_title == "Tram line approved"
    assert meta.json_ld_published == "2024-03-05T09:00:00Z"
    assert meta.json_ld_authors == ["Ann Berg"]
    assert meta.article_body == "The council approved it."


@pytest.mark.parametrize(
    ("head", "url", "text_date", "source", "day"),
    [
        # The page's meta tags outrank schema.org data, often a template's creation date.
        (
            '<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2021-01-01T09:00:00Z"}</script>'
            '<meta property="article:published_time" content="2024-03-05T23:30:00-05:00">',
            URL,
            None,
            "meta",
            date(2024, 3, 5),
        ),
        (
            '<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2024-03-05T23:30:00-05:00"}</script>',
            URL,
            None,
            "json-ld",
            date(2024, 3, 5),
        ),
        (
            '<meta itemprop="datePublished" content="2024-03-05">',
            URL,
            None,
            "meta",
            date(2024, 3, 5),
        ),
        (
            '<meta property="article:published_time" content="2024-03-05T10:00:00+01:00">',
            URL,
            None,
            "meta",
            date(2024, 3, 5),
        ),
        ("", "https://lantern.example/2021/02/25/tram-line", None, "url", date(2021, 2, 25)),
        ("", URL, datetime(2022, 6, 1, tzinfo=UTC), "text", date(2022, 6, 1)),
    ],
)
def test_publish_date_by_trust_with_its_source(
    head: str, url: str, text_date: datetime | None, source: str, day: date
) -> None:
    published = choose_published(metadata_of(head), url, text_date, None)
    assert published is not None
    assert published.source == source
    assert published.day == day
    assert published.when.tzinfo == UTC


def test_evening_article_keeps_its_local_day_and_utc_instant() -> None:
    published = choose_published(
        metadata_of('<meta property="article:published_time" content="2024-03-05T22:30:00-05:00">'),
        URL,
        None,
        None,
    )
    assert published is not None
    assert published.when == datetime(2024, 3, 6, 3, 30, tzinfo=UTC)
    assert published.day == date(2024, 3, 5)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-05T09:00:00Z", datetime(2024, 3, 5, 9, tzinfo=UTC)),
        ("2024-03-05 08:33:24", datetime(2024, 3, 5, 8, 33, 24, tzinfo=UTC)),
        ("March 5, 2024", datetime(2024, 3, 5, tzinfo=UTC)),
        ("not a date", None),
        ("0001-01-01", None),
    ],
)
def test_timestamps_parse_to_aware_utc(value: str, expected: datetime | None) -> None:
    assert parse_timestamp(value) == expected


def test_url_dates() -> None:
    assert url_date("https://x.example/news/20240305/tram") == datetime(2024, 3, 5, tzinfo=UTC)
    assert url_date("https://x.example/2024/13/45/tram") is None
    assert url_date("https://x.example/tram-2024") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (["By Ann Berg"], ["Ann Berg"]),
        (['"Ann Berg"', "“Piet O'Neill”"], ["Ann Berg", "Piet O'Neill"]),
        # A job title after the name, and one standing alone, are no names.
        (["Ann Berg Head Brewer", "Co-Founder"], ["Ann Berg"]),
        (["Senior Editor"], []),
        (["Metro Desk"], ["Metro Desk"]),
        (["Ann Berg, Senior Transport Correspondent"], ["Ann Berg"]),
        (["By Ann Berg and Piet Jansen"], ["Ann Berg", "Piet Jansen"]),
        # After "and" one word is another person's first name; after a comma, a title's.
        (["Ingrid & Katerina"], ["Ingrid", "Katerina"]),
        (["Ann and Piet"], ["Ann", "Piet"]),
        (["Ann Berg | The Lantern"], ["Ann Berg"]),
        (["https://lantern.example/staff/ann", "@annberg"], []),
        # Prefixes before "by", and "Author" labels.
        (["This story was written by Ann Berg"], ["Ann Berg"]),
        (["Recipe by Ann Berg"], ["Ann Berg"]),
        (["Author: Ann Berg"], ["Ann Berg"]),
        # What follows the name in the same part: a job title, a date, "Last updated".
        (["Ann Berg Contributing Writer"], ["Ann Berg"]),
        (["Ann Berg Former Transit Consultant"], ["Ann Berg"]),
        (["Ann Berg December"], ["Ann Berg"]),
        # Avatar initials before the name.
        (["AB Ann Berg Last updated"], ["Ann Berg"]),
        # One word after a comma is a title's fragment, not a second author.
        (["Ann Berg, Home- and Transit Expert"], ["Ann Berg"]),
        # A month abbreviation read as a name; names that only start like one stay.
        (["Dec"], []),
        # A form field's label and a copyright line name nobody.
        (["Name"], []),
        (["The Lantern Media Group ©"], []),
        (["Monica"], ["Monica"]),
        (["Maria & Katerina"], ["Maria", "Katerina"]),
        (["Ann Marie Mayer"], ["Ann Marie Mayer"]),
        (["Harbour Marketing"], ["Harbour Marketing"]),
        (["Ann Berg Sept. 4"], ["Ann Berg"]),
        (["The Lantern"], []),
    ],
)
def test_authors_are_a_clean_list(raw: list[str], expected: list[str]) -> None:
    assert clean_authors(raw, "The Lantern") == expected


def test_structured_authors_outrank_by_lines() -> None:
    meta = metadata_of('<meta name="author" content="Piet Jansen">')
    assert choose_authors(meta, ["Someone Else"]) == ["Piet Jansen"]
    assert choose_authors(metadata_of(""), ["By Someone Else"]) == ["Someone Else"]


def test_a_page_credited_only_to_its_site_is_by_the_site() -> None:
    """A company blog credits its posts to the company: the site's name is the by-line
    when no source names a person, and only then."""
    head = (
        '<meta property="og:site_name" content="The Ferry Line">'
        '<script type="application/ld+json">{"@type": "BlogPosting", "headline": "Night'
        ' crossings return", "author": {"@type": "Organization", "name": "The Ferry Line"}}'
        "</script>"
    )
    assert choose_authors(metadata_of(head, "<h1>Night crossings return</h1>"), []) == [
        "The Ferry Line"
    ]
    body = "<h1>Night crossings return</h1><p>By Ann Berg</p>"
    assert choose_authors(metadata_of(head, body), []) == ["Ann Berg"]
    assert choose_authors(metadata_of('<meta property="og:site_name" content="Harbour">'), []) == []


@pytest.mark.parametrize(
    ("login", "expected"),
    [
        ("annberg", ["annberg"]),
        ("ann.berg", ["ann.berg"]),
        ("ann_berg", ["ann_berg"]),
        # A template's placeholder account names nobody.
        ("admin", []),
        ("undefined", []),
    ],
)
def test_a_login_name_is_the_by_line_as_written(login: str, expected: list[str]) -> None:
    meta = metadata_of(f'<meta name="author" content="{login}">', "<h1>Night trams return</h1>")
    assert choose_authors(meta, []) == expected


def test_a_person_named_beside_the_headline_outranks_the_login_that_posted_it() -> None:
    head = '<meta name="author" content="AnnB">'
    body = "<h1>Night trams return</h1><p>By Piet Jansen</p><p>The harbour line reopens.</p>"
    assert choose_authors(metadata_of(head, body), []) == ["Piet Jansen"]
    assert choose_authors(metadata_of(head, "<h1>Night trams return</h1>"), []) == ["AnnB"]


def test_json_ld_authors_are_read_unescaped() -> None:
    head = (
        '<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Night'
        ' trams return", "author": {"@type": "Person", "name": "Ann Berg &amp; Piet Jansen"}}'
        "</script>"
    )
    assert choose_authors(metadata_of(head), []) == ["Ann Berg", "Piet Jansen"]


def test_fixture_page_metadata(languages: LanguageDetector) -> None:
    page = (FIXTURES / "harbour-article.html").read_bytes()
    article = extract_article(RawDocument(URL, page, "text/html"), ExtractionOptions(), languages)
    assert article.title == "Harbour Bridge Reopens After Two-Year Repair"
    assert article.authors == ("Mara Quill", "Tobias Fenn")
    assert article.published_at == datetime(2024, 3, 15, 3, 30, tzinfo=UTC)
    assert article.published_day == date(2024, 3, 14)
    assert article.date_source == "meta"
    assert article.modified_at == datetime(2024, 3, 16, 8, 0, tzinfo=UTC)
    assert article.site == "The Daily Lantern"
    assert article.language == "en"
    assert article.language_confidence is not None and article.language_confidence > 0.9


def test_language_is_deterministic(languages: LanguageDetector) -> None:
    page = (FIXTURES / "harbour-article.html").read_bytes()
    runs = {
        extract_article(
            RawDocument(URL, page, "text/html"), ExtractionOptions(), languages
        ).language_confidence
        for _ in range(3)
    }
    assert len(runs) == 1


def test_shown_date_confirmed_by_the_text_outranks_a_template_value() -> None:
    head = '<meta property="article:published_time" content="2019-01-01T00:00:00Z">'
    body = '<article><time datetime="2024-03-05">March 5, 2024</time></article>'
    published = choose_published(metadata_of(head, body), URL, None, "2024-03-05")
    assert published is not None
    assert published.day == date(2024, 3, 5)
    unconfirmed = choose_published(metadata_of(head, body), URL, None, None)
    assert unconfirmed is not None
    assert unconfirmed.day == date(2019, 1, 1)


SCHEMA_2021 = (
    '<script type="application/ld+json">{"@type": "NewsArticle",'
    ' "datePublished": "2021-01-10T09:00:00Z", "dateModified": "2024-03-05T09:00:00Z"}</script>'
)


def byline_page(byline: str, after: str = "") -> str:
    return (
        "<header><nav>Home News Sport</nav><h1>Tram line approved after long debate</h1>"
        f"<p class='byline'>{byline}</p></header><article><p>The council voted.</p>{after}</article>"
    )


@pytest.mark.parametrize(
    ("byline", "labels"),
    [
        ("By Ann Berg | March 5, 2024", [""]),
        ("Published on 5 March 2024 · Last updated: Mar. 9th, 2024", ["published", "updated"]),
        ("Updated\n   <span>March 9, 2024</span>", ["updated"]),
    ],
)
def test_dates_beside_the_headline_are_read_with_their_label(
    byline: str, labels: list[str]
) -> None:
    meta = metadata_of("<title>Tram line approved after long debate</title>", byline_page(byline))
    assert [shown.label for shown in meta.shown_dates] == labels


def test_dates_far_from_the_headline_are_not_its_dates() -> None:
    comments = "<p>" + "A long article paragraph. " * 60 + "</p><p>Reply: June 1, 2023</p>"
    meta = metadata_of(
        "<script>var d = 'May 2, 2022';</script>", byline_page("By Ann Berg", comments)
    )
    assert meta.shown_dates == []


def test_the_byline_date_outranks_schema_data_but_not_meta_tags() -> None:
    page = byline_page("By Ann Berg, March 2, 2024")
    published = choose_published(metadata_of(SCHEMA_2021, page), URL, None, None)
    assert published is not None
    assert (published.day, published.source) == (date(2024, 3, 2), "text")
    assert published.when == datetime(2024, 3, 2, tzinfo=UTC)
    tagged = SCHEMA_2021 + '<meta property="article:published_time" content="2021-01-10">'
    published = choose_published(metadata_of(tagged, page), URL, None, None)
    assert published is not None
    assert (published.day, published.source) == (date(2021, 1, 10), "meta")


def test_a_byline_showing_only_an_update_dates_the_page_as_of_that_day() -> None:
    page = byline_page("By Ann Berg · Updated March 9, 2024")
    published = choose_published(metadata_of(SCHEMA_2021, page), URL, None, None)
    assert published is not None
    assert published.day == date(2024, 3, 9)
    # Shown beside a published date, the update is not the publish date.
    both = byline_page("Published March 2, 2024 · Updated March 9, 2024")
    published = choose_published(metadata_of(SCHEMA_2021, both), URL, None, None)
    assert published is not None
    assert published.day == date(2024, 3, 2)


def test_a_bare_byline_date_dates_the_page_even_when_it_is_the_modified_day() -> None:
    """The page presents itself as of the one day its by-line shows; schema.org keeps
    the original day as `datePublished`, and the modified date stays apart."""
    page = byline_page("By Ann Berg March 5, 2024")
    published = choose_published(metadata_of(SCHEMA_2021, page), URL, None, None)
    assert published is not None
    assert (published.day, published.source) == (date(2024, 3, 5), "text")
    assert choose_modified(metadata_of(SCHEMA_2021, page)) == datetime(2024, 3, 5, 9, tzinfo=UTC)


def test_a_utc_meta_time_is_read_on_the_day_the_page_states_in_its_own_zone() -> None:
    head = '<meta property="article:published_time" content="2024-03-06T02:41:00+00:00">'
    body = '<p>At <time datetime="2024-03-05T21:46:00-05:00">9:46 pm</time></p>'
    dated_url = "https://lantern.example/2024/03/05/tram-line"
    published = choose_published(metadata_of(head, body), dated_url, None, None)
    assert published is not None
    assert published.when == datetime(2024, 3, 6, 2, 41, tzinfo=UTC)
    assert published.day == date(2024, 3, 5)
    # A date without a clock is a calendar day already: never shifted.
    plain = '<meta property="article:published_time" content="2024-03-06">'
    published = choose_published(metadata_of(plain, body), dated_url, None, None)
    assert published is not None
    assert published.day == date(2024, 3, 6)


def test_a_utc_time_moves_to_the_local_day_only_where_the_page_confirms_it() -> None:
    head = '<meta property="article:published_time" content="2024-03-06T02:41:00+00:00">'
    # The zone comes from another instant (an update months later): the day stays as written.
    other_instant = '<p>Updated <time datetime="2024-11-20T09:00:00-05:00">Nov 20</time></p>'
    published = choose_published(metadata_of(head, other_instant), URL, None, None)
    assert published is not None
    assert published.when == datetime(2024, 3, 6, 2, 41, tzinfo=UTC)
    assert published.day == date(2024, 3, 6)
    # The same instant stated with its offset in the page's data confirms the local day.
    same_instant = (
        '<script type="application/ld+json">{"@type": "NewsArticle",'
        ' "datePublished": "2024-03-05T21:41:00-05:00"}</script>'
    )
    published = choose_published(metadata_of(head + same_instant), URL, None, None)
    assert published is not None
    assert published.day == date(2024, 3, 5)
    # A `<time>` showing that instant in the theme's zone does not, nor is it another date.
    shown = byline_page('Posted <time datetime="2024-03-05T21:41:00-05:00">March 5, 2024</time>')
    published = choose_published(metadata_of(head, shown), URL, None, None)
    assert published is not None
    assert published.day == date(2024, 3, 6)
    # So does the URL's date, where the CMS wrote its local day.
    dated_url = "https://lantern.example/2024/03/05/tram-line"
    published = choose_published(metadata_of(head, other_instant), dated_url, None, None)
    assert published is not None
    assert published.day == date(2024, 3, 5)


def test_a_shown_time_confirmed_by_the_byline_outranks_a_meta_tag_unless_it_is_the_update() -> None:
    head = (
        '<meta property="article:published_time" content="2019-01-01T00:00:00Z">'
        '<meta property="article:modified_time" content="2024-03-09T10:00:00Z">'
    )
    shown = byline_page('By Ann Berg <time datetime="2024-03-05">March 5, 2024</time>')
    published = choose_published(metadata_of(head, shown), URL, None, None)
    assert published is not None
    assert published.day == date(2024, 3, 5)
    update = byline_page('By Ann Berg <time datetime="2024-03-09">March 9, 2024</time>')
    published = choose_published(metadata_of(head, update), URL, None, None)
    assert published is not None
    assert published.day == date(2019, 1, 1)


def test_all_dates_of_a_line_in_reading_order() -> None:
    found = find_dates("Posted 2024-03-05, updated March 9, 2024 and 10 March 2024.")
    assert [day for day, _ in found] == [
        datetime(2024, 3, 5, tzinfo=UTC),
        datetime(2024, 3, 9, tzinfo=UTC),
        datetime(2024, 3, 10, tzinfo=UTC),
    ]


@pytest.mark.parametrize(
    ("byline", "expected"),
    [
        ("By Ann Berg", ["Ann Berg"]),
        ("Written by: <a href='/ann'>Ann Berg</a> | March 5, 2024", ["Ann Berg"]),
        ("BY <span>Ann van der Berg</span> • 4 min read", ["Ann van der Berg"]),
        ("By Ann Berg and Piet Jansen on March 5, 2024", ["Ann Berg and Piet Jansen"]),
        ("<strong>Contributors:</strong> Ann Berg, Piet Jansen", ["Ann Berg, Piet Jansen"]),
        ("Authors: <a href='/ann'>Ann Berg</a>", ["Ann Berg"]),
        # A reviewer's by-line is not the author's.
        (
            "Medically reviewed <span>by</span> <a href='/piet'>Piet Jansen</a> — "
            "<span>Written by</span> <a href='/ann'>Ann Berg</a>",
            ["Ann Berg"],
        ),
        # A job title that starts with the word is no label.
        ("By <a href='/ann'>Ann Berg</a></p><p>Contributor, The Lantern", ["Ann Berg"]),
        # Sentences that begin with "By" are not by-lines.
        ("By clicking Continue you agree to the terms", []),
        ("By the end of the year, the line will run", []),
    ],
)
def test_bylines_beside_the_headline(byline: str, expected: list[str]) -> None:
    meta = metadata_of("<title>Tram line approved</title>", byline_page(byline))
    assert meta.byline_authors == expected


def test_only_the_first_byline_is_the_articles() -> None:
    """A review names the reviewed book's author below the article's by-line."""
    page = byline_page("By Ann Berg", after="<h3>A Far Better Thing</h3><p>Author: Piet Jansen</p>")
    assert metadata_of("<title>Tram line approved</title>", page).byline_authors == ["Ann Berg"]


def test_the_headline_byline_outranks_what_the_extractor_guessed() -> None:
    meta = metadata_of("<title>Tram line approved</title>", byline_page("By Ann Berg"))
    assert choose_authors(meta, ["Lantern Staff Desk"]) == ["Ann Berg"]
    tagged = metadata_of('<meta name="author" content="Piet Jansen">', byline_page("By Ann Berg"))
    assert choose_authors(tagged, []) == ["Piet Jansen"]


def test_a_byline_day_takes_its_instant_from_a_machine_value_of_that_day() -> None:
    page = byline_page(
        'By Ann Berg, <time datetime="2024-03-02T18:15:00-05:00">March 2, 2024</time>'
    )
    published = choose_published(metadata_of(SCHEMA_2021, page), URL, None, None)
    assert published is not None
    assert published.day == date(2024, 3, 2)
    assert published.when == datetime(2024, 3, 2, 23, 15, tzinfo=UTC)


def test_the_share_card_names_the_author_when_the_page_states_none_better() -> None:
    card = (
        '<meta name="twitter:label1" content="Time to read">'
        '<meta name="twitter:data1" content="4 minutes">'
        '<meta name="twitter:label2" content="Written by">'
        '<meta name="twitter:data2" content="Ann Berg">'
    )
    assert choose_authors(metadata_of(card), []) == ["Ann Berg"]
    # A by-line beside the headline outranks the card (a post's owner is not always
    # its author).
    body = "<h1>Night trams return</h1><p>By Piet Jansen</p>"
    assert choose_authors(metadata_of(card, body), []) == ["Piet Jansen"]


def test_a_link_to_one_author_page_names_the_author() -> None:
    body = (
        "<h1>Night trams return</h1>"
        '<div class="meta"><a href="/authors/ann-berg">Ann Berg</a></div>'
        "<p>The harbour line reopens.</p>"
        '<footer><a href="https://lantern.example/authors/ann-berg">Ann Berg</a></footer>'
    )
    assert choose_authors(metadata_of("", body), []) == ["Ann Berg"]


def test_a_link_to_the_author_page_holding_a_bio_is_no_other_name() -> None:
    body = (
        "<h1>Night trams return</h1>"
        '<div class="meta"><a href="/authors/ann-berg">Ann Berg</a></div>'
        "<p>The harbour line reopens.</p>"
        '<a href="/authors/ann-berg">Ann Berg has covered the city\'s transport for the'
        " Lantern since 2015 and rides the night tram home.</a>"
    )
    assert choose_authors(metadata_of("", body), []) == ["Ann Berg"]


def test_links_to_several_author_pages_name_nobody() -> None:
    """A list of related posts by different writers is not the article's by-line."""
    body = (
        "<h1>Night trams return</h1><p>The harbour line reopens.</p>"
        '<ul><li><a href="/author/ann-berg">Ann Berg</a></li>'
        '<li><a href="/author/piet-jansen">Piet Jansen</a></li></ul>'
    )
    assert choose_authors(metadata_of("", body), []) == []


@pytest.mark.parametrize(
    "body",
    [
        "<h1>Night trams return</h1><p>The line reopens.</p><h3>Written by</h3><div>Ann Berg</div>",
        "<h1>Night trams return</h1><p>The line reopens.</p><p>Written by Ann Berg</p>",
    ],
)
def test_a_name_under_an_author_label_names_the_author(body: str) -> None:
    assert choose_authors(metadata_of("", body), []) == ["Ann Berg"]


def test_the_time_nearest_the_headline_is_the_articles_not_a_listing_before_it() -> None:
    listing = "".join(
        f'<li><time datetime="2025-01-{n:02d}T12:00:00Z">01/{n:02d}/2025</time>'
        f'<a href="/news/{n}">Other story {n}</a><p>A teaser of it.</p></li>'
        for n in (30, 31)
    )
    body = (
        f'<aside><ul>{listing}</ul><p><a href="/news">More stories</a></p></aside>'
        "<h1>Tram line approved after long debate</h1>"
        '<div class="meta"><time datetime="2017-03-01T12:00:00Z">03/01/2017</time> by Ann Berg</div>'
        "<p>The council voted.</p>"
    )
    head = "<title>Tram line approved after long debate | Lantern</title>"
    meta = metadata_of(head, body)
    assert meta.time_published == "2017-03-01T12:00:00Z"
    published = choose_published(meta, URL, None, None)
    assert published is not None
    assert published.day == date(2017, 3, 1)
    # Just as near when it stands above the headline.
    above = body.replace(
        "</aside>", '</aside><small><time datetime="2017-03-01">Mar 1</time></small>'
    )
    above = above.replace('<time datetime="2017-03-01T12:00:00Z">03/01/2017</time>', "")
    assert metadata_of(head, above).time_published == "2017-03-01"


@pytest.mark.parametrize(
    ("note", "day"),
    [
        ("<p>This guide was originally published on 26 Sep 2019 and is updated often.</p>", 26),
        (
            '<p><span>Originally published <span class="d">September 26, 2019</span>'
            '<span class="t">11:01 AM</span></span></p>',
            26,
        ),
        ("<p>First posted on Thursday, September 26, 2019.</p>", 26),
    ],
)
def test_a_note_of_the_original_publication_dates_an_updated_article(note: str, day: int) -> None:
    head = (
        '<meta property="article:published_time" content="2024-03-05T09:00:00Z">'
        '<meta property="article:modified_time" content="2024-03-05T09:00:00Z">'
    )
    body = byline_page("By Ann Berg, March 5, 2024", after=note)
    published = choose_published(metadata_of(head, body), URL, None, None)
    assert published is not None
    assert (published.day, published.source) == (date(2019, 9, day), "text")


def test_a_date_far_after_the_words_originally_published_is_not_the_articles() -> None:
    note = "<p>The plan was first published by the council, who met again on March 2, 2022.</p>"
    head = '<meta property="article:published_time" content="2024-03-05T09:00:00Z">'
    meta = metadata_of(head, byline_page("By Ann Berg", after=note))
    assert meta.original_published is None
    published = choose_published(meta, URL, None, None)
    assert published is not None
    assert published.day == date(2024, 3, 5)


def test_a_time_labelled_published_outranks_a_meta_tag_of_another_day() -> None:
    head = '<meta property="article:published_time" content="2024-03-01T00:00:00-05:00">'
    # At the foot of the article, too far from the headline to be its by-line.
    labelled = (
        "<p>" + "The council voted for the new line. " * 30 + "</p>"
        '<div class="foot">Published <time datetime="2024-03-05">March 5, 2024</time></div>'
    )
    page = byline_page("By Ann Berg", after=labelled)
    meta = metadata_of(head, page)
    assert meta.time_published_labelled
    published = choose_published(meta, URL, None, None)
    assert published is not None
    assert published.day == date(2024, 3, 5)
    # Without the label the meta tag stands.
    unlabelled = page.replace("Published <time", "<time")
    published = choose_published(metadata_of(head, unlabelled), URL, None, None)
    assert published is not None
    assert published.day == date(2024, 3, 1)


def test_a_byline_date_before_the_meta_tags_is_the_first_publication() -> None:
    head = '<meta property="article:published_time" content="2024-08-07T12:00:00Z">'
    migrated = byline_page('By Ann Berg · <span class="date">Dec 30, 2013</span>')
    published = choose_published(metadata_of(head, migrated), URL, None, None)
    assert published is not None
    assert (published.day, published.source) == (date(2013, 12, 30), "text")
    # A day apart is a time zone's doing: the tag stands.
    next_door = byline_page('By Ann Berg · <span class="date">Aug 6, 2024</span>')
    published = choose_published(metadata_of(head, next_door), URL, None, None)
    assert published is not None
    assert published.day == date(2024, 8, 7)
    # A date in a sentence beside the headline is not the by-line's.
    prose = byline_page(
        "By Ann Berg",
        after="<p>The council first met about the line on Dec 30, 2013, and again the next spring to vote.</p>",
    )
    meta = metadata_of(head, prose)
    assert [shown.in_prose for shown in meta.shown_dates] == [True]
    published = choose_published(meta, URL, None, None)
    assert published is not None
    assert published.day == date(2024, 8, 7)


def test_a_date_in_a_sentence_beside_the_headline_does_not_date_the_page() -> None:
    body = byline_page(
        "By Ann Berg",
        after="<p>Fares rise on the night trams from April 15, 2025, the council said on Friday.</p>"
        '<footer>Page last changed <time datetime="2025-01-17T13:00:00-05:00">Jan. 17</time></footer>',
    )
    meta = metadata_of("", body)
    assert [(shown.day.date(), shown.in_prose) for shown in meta.shown_dates] == [
        (date(2025, 4, 15), True)
    ]
    published = choose_published(meta, URL, None, None)
    assert published is not None
    assert published.day == date(2025, 1, 17)
