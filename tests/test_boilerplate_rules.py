"""Each boilerplate rule, pinned with short lines of our own writing (not the seeds')."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipelines.extraction.boilerplate import clean_paragraphs, split_paragraphs

BODY = "The council approved the new budget on Tuesday after a long debate among its members."


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("Share on Facebook | Tweet | Email", "share_bar"),
        ("TwitterFacebookLinkedInWhatsAppCopy link", "share_bar"),
        ("Read more: Council delays vote on harbour plan", "teaser"),
        ("RELATED: Mayor opens new bridge", "teaser"),
        ("Most Read", "teaser"),
        ("Advertisement", "teaser"),
        ("Article continues below", "teaser"),
        ("— Jane Doe can be reached at jdoe@example.org.", "contact"),
        ("Follow her on Twitter @janedoe.", "contact"),
        ("© 2023 Example Media Group. All rights reserved.", "copyright"),
        ("Comments are moderated and may take a day to appear.", "comment_policy"),
        ("Sign up for our morning newsletter to get the news first.", "newsletter"),
        ("The mayor speaks at city hall on Monday. (Photo by John Roe/Example News)", "caption"),
        ("In this March 3, 2019 file photo, the harbour is seen from the air.", "caption"),
    ],
)
def test_boilerplate_line_is_removed(line: str, kind: str) -> None:
    cleaned = clean_paragraphs([BODY, line, BODY + " Again."])
    assert cleaned.paragraphs == [BODY, BODY + " Again."]
    assert cleaned.removed[kind] == 1


def test_caption_printed_twice_is_removed_entirely() -> None:
    caption = "Workers repair the old pier in the early morning light"
    cleaned = clean_paragraphs([caption, caption, BODY])
    assert cleaned.paragraphs == [BODY]


def test_repeated_body_paragraph_keeps_its_first_copy() -> None:
    cleaned = clean_paragraphs([BODY, "A second, different paragraph of the report.", BODY])
    assert cleaned.paragraphs == [BODY, "A second, different paragraph of the report."]


def test_body_paragraphs_mentioning_rule_words_stay() -> None:
    quoted = '"We will subscribe to the plan if it protects jobs," the union leader said.'
    related = "Related measures were passed last year, officials said, but failed in court."
    cleaned = clean_paragraphs([quoted, related, BODY])
    assert cleaned.paragraphs == [quoted, related, BODY]


def test_dateline_becomes_publish_date_and_site() -> None:
    cleaned = clean_paragraphs(["- The Daily Example - Monday, March 6, 2023", BODY])
    assert cleaned.paragraphs == [BODY]
    assert cleaned.published_at == datetime(2023, 3, 6, tzinfo=UTC)
    assert cleaned.site == "The Daily Example"


def test_updated_line_is_a_modified_date_not_a_publish_date() -> None:
    cleaned = clean_paragraphs(["Updated 14:05 GMT, 7 March 2023", BODY])
    assert cleaned.modified_at == datetime(2023, 3, 7, tzinfo=UTC)
    assert cleaned.published_at is None


def test_byline_becomes_authors() -> None:
    cleaned = clean_paragraphs(["By Jane Doe and Richard Roe", BODY])
    assert cleaned.paragraphs == [BODY]
    assert cleaned.authors == ["Jane Doe", "Richard Roe"]


def test_headline_is_taken_from_first_line_of_plain_text() -> None:
    cleaned = clean_paragraphs(["Council Passes Budget After Long Debate", BODY], find_title=True)
    assert cleaned.title == "Council Passes Budget After Long Debate"
    assert cleaned.paragraphs == [BODY]


def test_sentence_first_line_is_not_a_headline() -> None:
    cleaned = clean_paragraphs([BODY, BODY + " More."], find_title=True)
    assert cleaned.title is None


def test_hard_wrapped_text_is_joined_into_paragraphs() -> None:
    wrapped = (
        "The council approved the new budget on Tuesday after a long debate\n"
        "among its members, who had argued over the harbour plan for weeks\n"
        "and could not agree on the cost of repairs to the old pier\n"
        "\n"
        "The mayor said the vote was a relief for the city and its workers\n"
        "who had waited since spring for the money to be released to them\n"
    )
    assert split_paragraphs(wrapped) == [
        "The council approved the new budget on Tuesday after a long debate among its members, "
        "who had argued over the harbour plan for weeks and could not agree on the cost of repairs "
        "to the old pier",
        "The mayor said the vote was a relief for the city and its workers who had waited since "
        "spring for the money to be released to them",
    ]
