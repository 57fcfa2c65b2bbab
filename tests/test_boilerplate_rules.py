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


def test_line_printed_twice_in_a_row_keeps_one_copy() -> None:
    line = "Workers repair the old pier in the early morning light"
    cleaned = clean_paragraphs([line, line, BODY])
    assert cleaned.paragraphs == [line, BODY]
    assert cleaned.removed["repeated"] == 1


def test_credited_caption_printed_twice_goes_entirely() -> None:
    caption = "Workers repair the old pier at dawn. (Photo: Ann Berg/The Courier)"
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


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("4 min read", "furniture"),
        ("Estimated reading time: 6 minutes", "furniture"),
        ("Share this post", "furniture"),
        ("Enjoyed this article? Pin it for later!", "furniture"),
        ("Thank you! Your submission has been received!", "furniture"),
        ("Back to Blog", "furniture"),
        ("Tags: Harbour, City council, Budget", "furniture"),
        ("This website uses cookies to improve your experience while you browse.", "cookie_notice"),
        (
            "Products are chosen independently by our editors; we may earn a commission.",
            "disclosure",
        ),
        (
            "This guide is not intended as a substitute for professional medical advice.",
            "disclosure",
        ),
        ("Featured image from the city archive", "caption"),
        ("Written by", "furniture"),
        ("Cookie Policy", "furniture"),
        ("Join our weekly harbour newsletter for the news from the quays.", "newsletter"),
        ("This article is exclusive to Courier Plus subscribers", "newsletter"),
        ("Image used under license from a stock agency", "caption"),
    ],
)
def test_page_furniture_is_removed(line: str, kind: str) -> None:
    cleaned = clean_paragraphs([BODY, line, BODY + " Again."])
    assert cleaned.paragraphs == [BODY, BODY + " Again."]
    assert cleaned.removed[kind] == 1


@pytest.mark.parametrize(
    "line",
    [
        "Shops on the quay use affiliate programmes and discount codes to draw tourists.",
        'The bakery owner told us: "We need your help to keep the ovens running this winter."',
    ],
)
def test_body_sentences_near_furniture_words_stay(line: str) -> None:
    cleaned = clean_paragraphs([BODY, line, BODY + " Again.", BODY + " Once more."])
    assert line in cleaned.paragraphs


def test_table_of_contents_goes_but_the_headings_it_lists_stay() -> None:
    paragraphs = [
        "Table of Contents",
        "Why the bridge closed",
        "What the repairs cost",
        "Why the bridge closed",
        BODY,
        "What the repairs cost",
        BODY + " Again.",
    ]
    cleaned = clean_paragraphs(paragraphs)
    assert cleaned.paragraphs == paragraphs[3:]
    assert cleaned.removed["contents"] == 3


def test_contents_heading_without_entries_goes_alone() -> None:
    cleaned = clean_paragraphs(["Contents", BODY, BODY + " Again."])
    assert cleaned.paragraphs == [BODY, BODY + " Again."]


def test_closing_related_section_goes_to_the_end() -> None:
    story = [f"{BODY} Part {number}." for number in range(6)]
    closing = ["You may also like", "Ferry timetable changes", "New tram depot opens"]
    cleaned = clean_paragraphs([*story, *closing])
    assert cleaned.paragraphs == story
    assert cleaned.removed["related"] == 3


def test_related_heading_early_in_the_text_is_a_section_of_the_article() -> None:
    paragraphs = [BODY, "Related posts about the harbour", *(f"{BODY} {n}." for n in range(6))]
    assert clean_paragraphs(paragraphs).paragraphs == paragraphs


@pytest.mark.parametrize(
    "bio",
    [
        "Ann Berg is the chief technology officer and co-founder of Harbour Data.",
        "(Piet Jansen is an attorney at a firm in the northern estates.)",
        "Mara Quill founded the Courier in 2011 to cover the harbour towns.",
        "Hi there! I'm Mara, and I have written about the harbour since 2011.",
    ],
)
def test_author_bio_at_the_end_is_removed(bio: str) -> None:
    cleaned = clean_paragraphs([BODY, BODY + " Again.", bio])
    assert cleaned.paragraphs == [BODY, BODY + " Again."]
    assert cleaned.removed["author_bio"] == 1


def test_question_at_the_end_is_not_a_bio() -> None:
    question = "Why is a new bridge the better choice, and how can the council pay for it?"
    cleaned = clean_paragraphs([BODY, BODY + " Again.", question])
    assert question in cleaned.paragraphs


def test_donation_appeal_at_the_end_is_removed() -> None:
    appeal = "The Courier is kept alive by reader donations. Please make a donation today."
    cleaned = clean_paragraphs([BODY, BODY + " Again.", appeal])
    assert cleaned.paragraphs == [BODY, BODY + " Again."]
    assert cleaned.removed["appeal"] == 1


@pytest.mark.parametrize(
    "closing",
    [
        "If you enjoyed this post, you will like our guide to the ferries too.",
        "What do you think? Should the council have kept the old bridge?",
        "This story was produced in partnership with the Harbour Trust.",
    ],
)
def test_closing_reader_prompts_are_removed(closing: str) -> None:
    cleaned = clean_paragraphs([BODY, BODY + " Again.", closing])
    assert cleaned.paragraphs == [BODY, BODY + " Again."]
    assert cleaned.removed["appeal"] == 1


def test_update_note_at_the_end_stays() -> None:
    note = "This report was originally published in March 2023 and updated in May 2024."
    cleaned = clean_paragraphs([BODY, BODY + " Again.", note])
    assert note in cleaned.paragraphs


def test_donations_mentioned_mid_story_are_news() -> None:
    news = "The harbour fund collected a donation of 40,000 euros from local firms last year."
    paragraphs = [BODY, news, *(f"{BODY} {n}." for n in range(4))]
    assert clean_paragraphs(paragraphs).paragraphs == paragraphs


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        # Each form of the rules that a substring pre-check guards: at the start of the
        # line, and away from it.
        ("Copyright 2024 Example Media", "copyright"),
        ("(c) 2024 Example Media", "copyright"),
        ("Text and photos by the agency, all rights reserved.", "copyright"),
        ("Reprint permission is granted to member papers.", "copyright"),
        ("This material may not be redistributed without consent.", "copyright"),
        ("The pier at dawn. (Getty Images)", "caption"),
        ("Photo: Jane Roe", "caption"),
        ("Featured image courtesy of the harbour museum", "caption"),
        ("Images used under license from the agency", "caption"),
        ("We use cookies to improve your visit.", "cookie_notice"),
        ("By clicking Accept you agree to the storing of data.", "cookie_notice"),
        ("This post contains affiliate links.", "disclosure"),
        ("We may earn a small commission when you shop.", "disclosure"),
        ("Every product here was independently selected.", "disclosure"),
        ("This guide is not intended to replace a visit to your doctor.", "disclosure"),
        ("Items were chosen by our editors.", "disclosure"),
        ("Ann Berg may be contacted at the city desk.", "contact"),
        ("Ann Berg can be emailed at the city desk.", "contact"),
        ("Follow them on Bluesky for the latest.", "contact"),
        ("E-mail her at ann@example.org with questions.", "contact"),
        ("Contact him at the harbour office.", "contact"),
        ("Send news tips to desk@example.org.", "contact"),
        ("Read our commenting policy first.", "comment_policy"),
        ("Before commenting, read the house rules.", "comment_policy"),
        ("Comments are closed.", "comment_policy"),
        ("Join the conversation below.", "comment_policy"),
        ("Post a comment to take part.", "comment_policy"),
    ],
)
def test_guarded_rules_match_in_every_form(line: str, kind: str) -> None:
    cleaned = clean_paragraphs([BODY, line, BODY + " Again."])
    assert cleaned.paragraphs == [BODY, BODY + " Again."]
    assert cleaned.removed[kind] == 1
