"""The two seed articles come out clean: every report paragraph kept, every boilerplate line gone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.items import ExtractedArticle
from pipelines.extraction.article import ExtractionOptions, RawDocument, extract_article
from pipelines.extraction.language import LanguageDetector

SEEDS = Path(__file__).resolve().parents[1] / "seeds" / "articles"
MILITARY = SEEDS / "military-com-biden-airstrikes-syria.txt"
WASHINGTON_TIMES = SEEDS / "washington-times-biden-airstrikes-syria.txt"

# What a reader recognises as not part of the report, by kind (seeds/README.md lists them).
BOILERPLATE_MARKERS = {
    "share bar": "FacebookXPinterestEmail",
    "photo caption": "file photo, Department of Defense Press Secretary",
    "photo credit": "(AP Photo/",
    "read next teaser": "Read Next:",
    "related teaser": "Related:",
    "contact line": "can be reached at",
    "follow line": "Follow him on Twitter",
    "story continues": "Story Continues",
    "dateline": "- The Washington Times -",
    "copyright": "Copyright ©",
    "reprint line": "reprint permission",
    "comment policy": "comment policy",
}


@pytest.fixture(scope="module")
def languages() -> LanguageDetector:
    return LanguageDetector()


def clean_seed(path: Path, languages: LanguageDetector) -> ExtractedArticle:
    document = RawDocument(path.as_uri(), path.read_bytes(), "text/plain")
    return extract_article(document, ExtractionOptions(), languages)


def report_paragraphs(path: Path, title: str | None) -> list[str]:
    """The seed's lines that are neither boilerplate nor the title, whitespace normalised."""
    lines = [" ".join(line.split()) for line in path.read_text(encoding="utf-8").splitlines()]
    return [
        line
        for line in lines
        if line
        and line != title
        and not any(marker in line for marker in BOILERPLATE_MARKERS.values())
    ]


@pytest.mark.parametrize("seed", [MILITARY, WASHINGTON_TIMES], ids=lambda path: path.stem)
@pytest.mark.parametrize("kind", sorted(BOILERPLATE_MARKERS))
def test_boilerplate_kind_is_gone(seed: Path, kind: str, languages: LanguageDetector) -> None:
    article = clean_seed(seed, languages)
    assert BOILERPLATE_MARKERS[kind] not in article.text


@pytest.mark.parametrize("seed", [MILITARY, WASHINGTON_TIMES], ids=lambda path: path.stem)
def test_every_report_paragraph_is_kept_in_order(seed: Path, languages: LanguageDetector) -> None:
    article = clean_seed(seed, languages)
    expected = report_paragraphs(seed, article.title)
    assert article.text.split("\n\n") == expected
    assert len(expected) >= 9


def test_seed_sources_still_hold_the_boilerplate() -> None:
    """Guards the test above: the markers must match lines of the raw seeds."""
    raw = MILITARY.read_text(encoding="utf-8") + WASHINGTON_TIMES.read_text(encoding="utf-8")
    missing = [kind for kind, marker in BOILERPLATE_MARKERS.items() if marker not in raw]
    assert missing == []


def test_military_metadata(languages: LanguageDetector) -> None:
    article = clean_seed(MILITARY, languages)
    assert (
        article.title
        == "Biden Orders Airstrikes on Iranian-Backed Militias in Syria After Rocket Attacks"
    )
    assert article.authors == ("Stephen Losey",)
    assert article.site == "military.com"
    assert article.published_at is None  # the text states no date
    assert article.language == "en"
    assert article.language_confidence is not None and article.language_confidence > 0.9


def test_washington_times_metadata(languages: LanguageDetector) -> None:
    article = clean_seed(WASHINGTON_TIMES, languages)
    assert article.published_at == datetime(2021, 2, 25, tzinfo=UTC)
    assert article.date_source == "text"
    assert article.site == "The Washington Times"
    assert article.authors == ("Ben Wolfgang",)
    assert article.text.startswith("President Biden on Thursday ordered U.S. airstrikes")
    assert article.text.endswith("decade-long civil war.")
