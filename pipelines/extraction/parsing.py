"""HTML text to the lxml tree every reader of a page shares.

`parse_html` is trafilatura's `load_html` (same decoding checks, repairs, parser options
and rejection of text that is not HTML), with one difference that makes every later
step cheaper: the parser gives each node lxml's plain HTML element classes through
lxml's built-in lookup, in C. lxml.html's own parser asks a Python lookup the class of
every node the tree ever hands out, and trafilatura's XPath passes hand out each node
many times: the lookup cost about 2 ms of a 45 ms page. The classes it could choose
beside `HtmlElement` (form, input, label, select and textarea helpers) are never used
by trafilatura or by us, and the trees are the same node for node.
"""

from __future__ import annotations

import logging

from lxml import etree
from lxml.html import (
    HtmlComment,
    HtmlElement,
    HtmlEntity,
    HTMLParser,
    HtmlProcessingInstruction,
    fromstring,
)
from trafilatura.utils import decode_file, is_dubious_html, repair_faulty_html

logger = logging.getLogger(__name__)


def html_parser() -> HTMLParser:
    """An HTML parser with trafilatura's options and the plain element classes."""
    parser = HTMLParser(
        collect_ids=False,
        default_doctype=False,
        encoding="utf-8",
        remove_comments=True,
        remove_pis=True,
    )
    parser.set_element_class_lookup(
        etree.ElementDefaultClassLookup(
            element=HtmlElement,
            comment=HtmlComment,
            pi=HtmlProcessingInstruction,
            entity=HtmlEntity,
        )
    )
    return parser


def parse_html(html: str, parser: HTMLParser | None = None) -> HtmlElement | None:
    """The tree of `html`, or None when it is not HTML (as trafilatura's `load_html`)."""
    parser = parser or html_parser()
    text = decode_file(html)
    beginning = text[:50].lower()
    dubious = is_dubious_html(beginning)
    text = repair_faulty_html(text, beginning)
    tree: HtmlElement | None = None
    parsed_bytes = False
    try:
        tree = fromstring(text, parser=parser)
    except ValueError:  # "Unicode strings with encoding declaration are not supported."
        tree = _parse_bytes(text, parser)
        parsed_bytes = True
    except Exception as error:  # lxml's own failures: the page is not HTML
        logger.debug("lxml could not parse the page: %s", error)
    if (tree is None or len(tree) < 1) and not parsed_bytes:
        tree = _parse_bytes(text, parser)
    if tree is not None and dubious and len(tree) < 2:
        return None
    return tree


def _parse_bytes(text: str, parser: HTMLParser) -> HtmlElement | None:
    try:
        return fromstring(text.encode("utf-8", "surrogatepass"), parser=parser)
    except Exception as error:  # lxml's own failures: the page is not HTML
        logger.debug("lxml could not parse the page as bytes: %s", error)
        return None
