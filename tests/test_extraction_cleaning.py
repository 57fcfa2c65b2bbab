"""Each news boilerplate rule, pinned with a short page of our own writing."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from pipelines.extraction.article import ExtractionOptions, RawDocument, extract_article
from pipelines.extraction.body import blocks_of
from pipelines.extraction.boilerplate import clean_paragraphs
from pipelines.extraction.language import LanguageDetector

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "extraction"
BODY = [
    "The council approved the new tram line on Tuesday after a debate that lasted most of the night.",
    "Residents of the northern estates have waited a decade for a direct link to the city centre.",
    "Construction is due to start next spring and the first trams should run within three years.",
]


@pytest.fixture(scope="module")
def languages() -> LanguageDetector:
    return LanguageDetector()


@pytest.mark.parametrize(
    ("kind", "line"),
    [
        ("share_bar", "FacebookTwitterWhatsAppEmailShare"),
        ("share_bar", "Share | Tweet | Email | Print"),
        ("teaser", "Read more: Ferry timetable changes as the bridge returns"),
        ("teaser", "Related: Council votes on parking charges"),
        ("teaser", "Most read"),
        ("teaser", "Advertisement"),
        ("teaser", "Story continues below advertisement"),
        ("newsletter", "Sign up for our free morning newsletter and get the news in your inbox."),
        ("newsletter", "Already a subscriber? Log in to keep reading."),
        ("caption", "Workers lift the last rail into place. (Photo: Ann Berg/The Courier)"),
        ("caption", "In this March 3 file photo, the mayor speaks to reporters at the depot."),
        ("contact", "Ann Berg can be reached at aberg@courier.example."),
        ("contact", "Follow him on Twitter @example_reporter."),
        ("copyright", "Copyright © 2024 The Courier. All rights reserved."),
        ("copyright", "This material may not be published, broadcast or redistributed."),
        ("comment_policy", "Please read our comment policy before commenting."),
        ("disclosure", "This article contains affiliate links; we may earn a commission."),
        ("dateline", "Published: Tuesday, March 5, 2024 at 10:15 a.m. ET"),
        ("byline", "By Ann Berg and Piet Jansen"),
    ],
)
def test_boilerplate_line_is_removed_and_counted(kind: str, line: str) -> None:
    cleaned = clean_paragraphs([BODY[0], line, BODY[1], BODY[2]])
    assert cleaned.paragraphs == BODY
    assert cleaned.removed[kind] == 1


def test_paragraph_printed_twice_in_a_row_keeps_its_first_copy() -> None:
    line = "A tram waits at the depot before its first test run on the new line."
    cleaned = clean_paragraphs([BODY[0], line, line, BODY[1]])
    assert cleaned.paragraphs == [BODY[0], line, BODY[1]]
    assert cleaned.removed["repeated"] == 1


def test_repeats_far_apart_are_content() -> None:
    """Recurring subheadings and table cells are part of the article, not duplicates."""
    paragraphs = ["Cost", BODY[0], "Cost", BODY[1]]
    assert clean_paragraphs(paragraphs).paragraphs == paragraphs


@pytest.mark.parametrize(
    "line",
    [
        "Subscription costs rose by a third, the report said, while usage fell.",
        'She said: "Sign up for the newsletter and you will never miss a meeting."',
        "Engineers compared the 2024/11/01 build with the one released in spring.",
        "The photo above shows the original 1912 station before the fire.",
    ],
)
def test_body_sentences_that_mention_boilerplate_words_are_kept(line: str) -> None:
    cleaned = clean_paragraphs([BODY[0], line, BODY[1]])
    assert line in cleaned.paragraphs


def test_by_line_and_dateline_become_metadata() -> None:
    cleaned = clean_paragraphs(["By Ann Berg", "March 5, 2024", *BODY])
    assert cleaned.authors == ["Ann Berg"]
    assert cleaned.published_at is not None
    assert cleaned.published_at.date().isoformat() == "2024-03-05"


def test_html_page_comes_out_clean(languages: LanguageDetector) -> None:
    page = (FIXTURES / "harbour-article.html").read_bytes()
    document = RawDocument("https://news.example/city/harbour-bridge", page, "text/html")
    article = extract_article(document, ExtractionOptions(), languages)
    paragraphs = article.text.split("\n\n")
    assert paragraphs[0].startswith("The old harbour bridge opened")
    assert paragraphs[-1].startswith("Shopkeepers on both ends")
    assert len(paragraphs) == 5
    for boilerplate in (
        "Facebook",
        "Photo:",
        "Advertisement",
        "Read more",
        "newsletter",
        "can be reached",
        "Copyright",
        "comment policy",
        "Most read",
        "Harbour Bridge Reopens",
        "By Mara Quill",
    ):
        assert boilerplate not in article.text


def test_plain_text_page_loses_furniture_contents_and_closing_links(
    languages: LanguageDetector,
) -> None:
    body = [f"{paragraph} It was the longest sitting of the year." for paragraph in BODY] * 2
    body = [f"{paragraph} ({number})" for number, paragraph in enumerate(body)]
    page = "\n".join(
        [
            "Tram Line Approved After Long Night",
            "5 min read",
            "Share this post",
            *body,
            "Tags: Trams, Council",
            "You may also like",
            "Ferry timetable changes for the winter",
            "New depot opens in the north",
        ]
    )
    document = RawDocument("https://news.example/trams.txt", page.encode(), "text/plain")
    article = extract_article(document, ExtractionOptions(), languages)
    assert article.title == "Tram Line Approved After Long Night"
    assert article.text.split("\n\n") == body


def test_line_breaks_and_nested_blocks_in_extractor_output_separate_words() -> None:
    xml = (
        "<doc><main><p>Timetable: see here<lb/>Weekdays - every ten minutes</p>"
        "<list><item>Harbour stop<lb/>Open daily</item></list>"
        "<table><row><cell><p>Fares</p><p>Two euros</p></cell></row></table></main></doc>"
    )
    assert [block.text for block in blocks_of(etree.fromstring(xml))] == [
        "Timetable: see here Weekdays - every ten minutes",
        "Harbour stop Open daily",
        "Fares Two euros",
    ]


def test_extractor_blocks_lose_invisible_characters_and_are_nfc() -> None:
    xml = (
        "<main><p>\u200bNight trams return to the cafe\u0301 district\u00ad.</p>"
        "<p><hi>Fare</hi><hi>2 euros</hi></p><p>A ride<!-- counter --> takes an hour</p></main>"
    )
    assert [block.text for block in blocks_of(etree.fromstring(xml))] == [
        "Night trams return to the caf\u00e9 district.",
        "Fare 2 euros",
        "A ride takes an hour",
    ]


def test_extractor_blocks_over_several_lines_lose_invisible_characters() -> None:
    xml = (
        "<main><p>Night\n trams\u200b\treturn</p><p>Day\ntrams\u00ad run \u200b late</p>"
        "<p>\nEvery\n\nhour\n</p></main>"
    )
    assert [block.text for block in blocks_of(etree.fromstring(xml))] == [
        "Night trams return",
        "Day trams run late",
        "Every hour",
    ]


def test_headline_heading_is_dropped_when_the_title_comes_from_the_title_tags(
    languages: LanguageDetector,
) -> None:
    # The <h1> in capitals is display type, so the title is the tags' headline; the
    # heading still repeats the page's headline and is not body text.
    paragraphs = "".join(f"<p>{text}</p>" for text in BODY * 2)
    page = (
        "<html><head><title>Tram line approved after night debate | The Courier</title>"
        '<meta property="og:title" content="Tram line approved after night debate"></head>'
        f"<body><article><h1>TRAM LINE GETS THE GREEN LIGHT</h1>{paragraphs}</article>"
        "</body></html>"
    )
    article = extract_article(
        RawDocument("https://courier.example/news/tram.html", page.encode(), "text/html"),
        ExtractionOptions(),
        languages,
    )
    assert article.title == "Tram line approved after night debate"
    assert "GREEN LIGHT" not in article.text
    assert article.text.startswith(BODY[0])
