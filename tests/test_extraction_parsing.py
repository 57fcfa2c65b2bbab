"""The shared page parser gives trafilatura's trees with lxml's plain element classes."""

from __future__ import annotations

import pytest
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.utils import load_html

from pipelines.extraction.parsing import parse_html

ARTICLE = """<!DOCTYPE html><html><head><title>Council votes</title>
<!-- a comment --><?php echo 1; ?></head><body>
<form action="/search"><input name="q"><label>Search</label><select><option>a</option></select>
<textarea>x</textarea></form>
<article><h1>Council votes on the bridge</h1><p>The council voted on Tuesday &amp; decided.</p>
<p>Work starts in <b>May</b>.</p></article></body></html>"""


@pytest.mark.parametrize(
    "html",
    [
        ARTICLE,
        # An encoding declaration in a str: lxml refuses it and the bytes are parsed.
        '<?xml version="1.0" encoding="utf-8"?>' + ARTICLE,
        # A page cut short before </body>.
        ARTICLE[:300],
    ],
    ids=["article", "xml-declaration", "truncated"],
)
def test_trees_are_trafilaturas_node_for_node(html: str) -> None:
    ours = parse_html(html)
    theirs = load_html(html)
    assert ours is not None and theirs is not None
    assert etree.tostring(ours, encoding="unicode") == etree.tostring(theirs, encoding="unicode")


def test_every_element_is_a_plain_html_element() -> None:
    tree = parse_html(ARTICLE)
    assert tree is not None
    classes = {type(node) for node in tree.iter(etree.Element)}
    assert classes == {HtmlElement}
    # lxml.html's own lookup would have given its form helpers here.
    assert {type(node).__name__ for node in load_html(ARTICLE).iter("input", "form")} == {
        "InputElement",
        "FormElement",
    }


def test_comments_and_processing_instructions_are_dropped() -> None:
    tree = parse_html(ARTICLE)
    assert tree is not None
    assert not tree.xpath("//comment() | //processing-instruction()")


@pytest.mark.parametrize("text", ["just a line of text", "{\"json\": true}"])
def test_text_that_is_not_html_is_rejected_as_trafilatura_does(text: str) -> None:
    assert parse_html(text) is None
    assert load_html(text) is None
