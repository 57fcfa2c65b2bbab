"""Pages that hold no article are rejected; the pipeline reads and validates its settings."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from crawler.items import ArticleItem
from pipelines.extraction.article import (
    ExtractionOptions,
    ExtractionRejected,
    RawDocument,
    extract_article,
)
from pipelines.extraction.body import (
    Block,
    covers_little,
    cut_trailing_sections,
    more_complete,
    page_words,
    prefer_json_ld_body,
)
from pipelines.extraction.language import LanguageDetector
from pipelines.extraction.pipeline import ExtractionPipeline, uses_worker_pool
from pipelines.rejection import RejectedItem

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "extraction"

LISTING = """<!DOCTYPE html><html><head><title>City news | The Lantern</title></head><body>
<h1>City news</h1><ul>
<li><a href="/a">Tram line approved</a></li><li><a href="/b">Bridge reopens</a></li>
<li><a href="/c">Library hours extended</a></li><li><a href="/d">New park for the east side</a></li>
</ul><p>Page 1 of 12</p></body></html>"""
LOGIN_WALL = """<!DOCTYPE html><html><head><title>Sign in | The Lantern</title></head><body>
<h1>Sign in to keep reading</h1><form><p>Email address</p><input name="email">
<p>Password</p><input name="password" type="password"><button>Log in</button></form>
<p>Already a subscriber? Log in to continue. Not yet? Subscribe now for full access to every story.</p>
</body></html>"""
ERROR_PAGE = """<!DOCTYPE html><html><head><title>404 Page not found</title></head><body>
<h1>Sorry, we could not find that page</h1>
<p>The story you were looking for may have moved or been removed. Try the search box above,
or return to the front page to see today's news from the city, the region and beyond.</p>
<p>If you followed a link from another site, please let them know it is broken.</p>
</body></html>"""


@pytest.fixture(scope="module")
def languages() -> LanguageDetector:
    return LanguageDetector()


@pytest.mark.parametrize(
    "page", [LISTING, LOGIN_WALL, ERROR_PAGE], ids=["listing", "login", "error"]
)
def test_page_without_article_is_rejected(page: str, languages: LanguageDetector) -> None:
    document = RawDocument("https://lantern.example/x", page.encode(), "text/html")
    with pytest.raises(ExtractionRejected) as rejected:
        extract_article(document, ExtractionOptions(), languages)
    assert rejected.value.reason == "no_article_body"


def test_pipeline_counts_and_rejects() -> None:
    crawler = get_crawler(
        settings_dict={
            "EXTRACTION_MODE": "recall",
            "EXTRACTION_SECOND_MODE": "",
            "EXTRACTION_WORKERS": "0",
        }
    )
    pipeline = ExtractionPipeline.from_crawler(crawler)
    assert pipeline.options.second_mode is None
    pipeline.open_spider()
    now = datetime(2024, 3, 15, tzinfo=UTC)
    article = ArticleItem(
        url="https://lantern.example/city/harbour-bridge",
        body=(FIXTURES / "harbour-article.html").read_bytes(),
        fetched_at=now,
        source="test",
        content_type="text/html",
    )
    assert pipeline.process_item(article).article is not None
    listing = ArticleItem(
        url="https://lantern.example/city", body=LISTING.encode(), fetched_at=now, source="test"
    )
    with pytest.raises(RejectedItem) as rejected:
        pipeline.process_item(listing)
    assert rejected.value.reason == "no_article_body"
    assert crawler.stats is not None
    assert crawler.stats.get_value("extraction/extracted") == 1
    assert crawler.stats.get_value("extraction/rejected/no_article_body") == 1


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"EXTRACTION_MODE": "fast"}, "EXTRACTION_MODE"),
        ({"EXTRACTION_SECOND_MODE": "everything"}, "EXTRACTION_SECOND_MODE"),
        ({"EXTRACTION_MIN_WORDS": "0"}, "EXTRACTION_MIN_WORDS"),
    ],
)
def test_bad_settings_fail_loudly(settings: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ExtractionPipeline.from_crawler(get_crawler(settings_dict=settings))


def test_project_default_is_one_worker_per_core() -> None:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    assert settings.get("EXTRACTION_WORKERS") is None
    pipeline = ExtractionPipeline.from_crawler(get_crawler(settings_dict={}))
    assert pipeline.workers == (os.cpu_count() or 1)
    in_process = ExtractionPipeline.from_crawler(
        get_crawler(settings_dict={"EXTRACTION_WORKERS": "0"})
    )
    assert in_process.workers == 0


FERRY_BERTH = """<html><head><title>Ferry berth decision</title></head><body><article>
<h1>Ferry berth decision</h1>
<p>The harbour board met on the quay on Tuesday to settle the question of the old ferry berth, empty for years.</p>
<p>Members heard from fishermen, shopkeepers and the sailing club, who all want a say in what is built there.</p>
<p>The chair said a decision on the design would follow once the engineers had surveyed the sea wall again.</p>
<p>A public meeting in the town hall will show residents the three plans the board has drawn up so far.</p>
</article>{footer}</body></html>"""


@pytest.mark.parametrize(
    ("footer", "published"),
    [
        ("<footer><p>© 2024 Harbour Gazette. All rights reserved.</p></footer>", None),
        (
            "<p class='posted'>Posted on March 3, 2024</p><footer><p>© 2024 Harbour Gazette.</p></footer>",
            datetime(2024, 3, 3, tzinfo=UTC),
        ),
    ],
    ids=["copyright-year-only", "date-in-text"],
)
def test_a_copyright_year_is_no_publish_date(
    footer: str, published: datetime | None, languages: LanguageDetector
) -> None:
    """The text search's year found alone (as 1 January) is dropped; a full date is kept."""
    page = FERRY_BERTH.format(footer=footer)
    document = RawDocument("https://gazette.example/ferry-berth", page.encode(), "text/html")
    article = extract_article(document, ExtractionOptions(), languages)
    assert article.published_at == published


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, True),
        ({"EXTRACTION_WORKERS": "0"}, False),
        ({"EXTRACTION_WORKERS": "-3"}, False),  # the pipeline itself reports the bad value
        ({"ITEM_PIPELINES": {"pipelines.storage.StoragePipeline": 300}}, False),
        ({"ITEM_PIPELINES": {ExtractionPipeline: 100}}, True),
    ],
    ids=["project-default", "in-process", "bad-value", "no-extraction", "class-entry"],
)
def test_crawl_command_knows_from_settings_whether_workers_are_used(
    overrides: dict[str, object], expected: bool
) -> None:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.update(overrides, priority="cmdline")
    assert uses_worker_pool(settings) is expected


def blocks(*texts: str) -> list[Block]:
    return [Block("p", text) for text in texts]


STORY = [
    "The council approved the new tram line on Tuesday after a long debate among members.",
    "Residents of the northern estates have waited a decade for a direct link to the centre.",
    "Construction is due to start next spring and the first trams should run within three years.",
]


def test_sections_after_the_article_are_cut() -> None:
    page = blocks(
        *STORY, "Related stories", "Bridge reopens after repair", "Library hours extended"
    )
    assert cut_trailing_sections(page) == blocks(*STORY)


def test_a_section_heading_early_in_the_story_is_not_an_ending() -> None:
    page = blocks("Comments", *STORY)
    assert cut_trailing_sections(page) == page


def test_longer_pass_wins_only_as_a_near_superset() -> None:
    short = blocks(*STORY[:2])
    longer = blocks(*STORY)
    elsewhere = blocks(
        "Bridge reopens after repair, with a band playing on the quay.", *STORY[2:] * 3
    )
    assert more_complete(short, longer) == longer
    assert more_complete(short, elsewhere) == short


def test_json_ld_body_replaces_only_a_wrong_region() -> None:
    body = "\n".join(STORY * 3)
    wrong = blocks("Most read", "Bridge reopens", "Library hours extended")
    assert [block.text for block in prefer_json_ld_body(wrong, body)] == STORY * 3
    right = blocks(*STORY * 3)
    assert prefer_json_ld_body(right, body) == right


TEASER_PAGE = """<html><head><script>var words = "one two three four five six";</script>
<style>p { color: red }</style></head><body><p>Lead paragraph of the story here.</p>
<script>track("a b c d e f g h i j k l m n o p q r s t u v w x y z");</script>
<div>More of the story follows in these twelve further words of the body text.</div>
</body></html>"""


def test_page_words_count_what_a_reader_sees() -> None:
    from lxml import html

    tree = html.document_fromstring(TEASER_PAGE)
    assert page_words(tree) == 6 + 14


@pytest.mark.parametrize(
    ("kept", "share", "expected"),
    [
        ("Lead paragraph of the story here.", 0.5, True),
        ("Lead paragraph of the story here.", 0.25, False),
    ],
)
def test_second_pass_only_when_the_first_covers_little(
    kept: str, share: float, expected: bool
) -> None:
    from lxml import html

    tree = html.document_fromstring(TEASER_PAGE)
    assert covers_little([Block("p", kept)], tree, share) is expected


def test_second_pass_share_is_read_and_checked() -> None:
    crawler = get_crawler(settings_dict={"EXTRACTION_SECOND_PASS_BELOW": 0.5})
    assert ExtractionPipeline.from_crawler(crawler).options.second_pass_below == 0.5
    with pytest.raises(ValueError, match="EXTRACTION_SECOND_PASS_BELOW"):
        ExtractionPipeline.from_crawler(
            get_crawler(settings_dict={"EXTRACTION_SECOND_PASS_BELOW": 1.5})
        )


@pytest.mark.parametrize(
    "page",
    [
        (FIXTURES / "harbour-article.html").read_text("utf-8"),
        # No markup metadata: title, author, site and date come from the fallbacks.
        "<html><head><title>Ferry fares rise | @portnews</title></head><body><article>"
        "<h1>Ferry fares rise</h1><p class='author'>By Ann Berg</p><p>Published 3 May 2024.</p>"
        "<p>Fares on the island ferry rise by a tenth from June, the operator said.</p>"
        "</article></body></html>",
    ],
)
def test_extractor_metadata_matches_trafilatura(page: str) -> None:
    """Our shortcut through trafilatura's metadata gives what its own full pass gives."""
    from trafilatura.metadata import extract_metadata
    from trafilatura.utils import load_html

    from pipelines.extraction.article import extractor_metadata

    tree = load_html(page)
    url = "https://lantern.example/city/2024/03/14/harbour-bridge"
    full = extract_metadata(tree, url, None, True)
    ours = extractor_metadata(tree, url)
    assert (ours.title, ours.site_name, ours.url) == (full.title, full.sitename, full.url)
    assert ours.authors == [name for name in (full.author or "").split(";") if name.strip()]
    assert ours.date == full.date
    assert full.title and full.date and full.author
