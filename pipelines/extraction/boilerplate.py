"""News boilerplate removal shared by the HTML and the plain-text paths.

The rules are patterns of news pages, not strings of particular sites: share bars,
teasers ("Read next:", "Related:"), continuation prompts, photo captions and credits,
author contact and bio lines, copyright, comment-policy and newsletter prompts, and
datelines and by-lines (which are removed from the body but kept as metadata).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from pipelines.extraction.dates import WEEKDAYS, find_date
from pipelines.extraction.decoding import may_hold_mojibake, repair_mojibake

# Words that make up share/social bars ("FacebookXPinterestEmailShare", "Share | Tweet").
_SHARE_BAR = re.compile(
    r"^(?:facebook|twitter|x|pinterest|e-?mail|share|shares|linkedin|whatsapp|reddit|print|"
    r"copylink|copy|link|messenger|telegram|tumblr|flipboard|pocket|sms|tweet|save|bluesky|"
    r"threads|mastodon|comments?|gift|article|this|on)+$"
)
# Runs of anything but letters and digits, cut out of a line to read a share bar.
_NOT_ALPHANUMERIC = re.compile(r"[\W_]+")
_TEASER = re.compile(
    r"^(?:read next|read more|read also|also read|related|related stories|related articles|"
    r"related coverage|related content|see also|more from|more on this|recommended|"
    r"recommended stories|most read|most popular|trending|don'?t miss|watch|listen|"
    r"more stories|top stories|editor'?s picks?|you may also like|up next|latest)\b"
    r"\s*(?:[:：|»>—–-]|$)",
    re.IGNORECASE,
)
_PROMPT = re.compile(
    r"^(?:(?:the )?(?:story|article|text)?\s*continues(?: below| after| on next page)?"
    r"(?: (?:this |the )?(?:advertisement|ad))?|continue reading|continued below|advertisement|"
    r"skip advertisement|advertisement - scroll to continue|scroll to continue|"
    r"sponsored content|ad|loading|loading\.\.\.|show comments|view comments|"
    r"click to expand|enlarge this image|toggle caption|hide caption|image|video|"
    r"listen to this article|share this article|share this story|print this page|"
    r"back to top|close)\W*$",
    re.IGNORECASE,
)
# Page furniture around an article's text: reading times, share prompts, form replies.
_FURNITURE = re.compile(
    r"^(?:(?:estimated )?reading time\W*(?:\d+\s*(?:min(?:ute)?s?)?)?|"
    r"\d+\s*(?:-\s*\d+\s*)?min(?:ute)?s?\.?(?: read(?:ing time)?)?|"
    r"share (?:this|the) (?:post|article|story|page)|"
    r"(?:enjoy(?:ed)?|like[d]?|love[d]?) (?:this|the) (?:post|article|piece|story)\?.{0,80}|"
    r"thank you! your submission has been received!?|"
    r"oops! something went wrong while submitting the form\.?|"
    r"back to (?:all )?(?:blogs?|posts|articles|news|selection)|"
    r"(?:view|see) (?:author|full) (?:page|profile|bio)|end of article|"
    r"(?:written|posted|published|reviewed|edited|fact-checked) by|"
    r"cookies? (?:policy|settings|preferences))\W*$",
    re.IGNORECASE,
)
# Tag and topic lines under an article: "Tags: Jobs, Housing", "Filed under: City".
_TAG_LINE = re.compile(
    r"^(?:tags?|tagged|topics?|filed under|categories|category|posted in)\s*(?:[:|]|$)",
    re.IGNORECASE,
)
# The phrase rules (cookie notices, contact lines, copyright, comment policy, newsletter
# prompts, disclosures) are written in lower case: they read the lower-cased paragraph.
# Consent banners that trafilatura keeps when they sit inside the article's container.
_COOKIE_NOTICE = re.compile(
    r"\b(?:(?:this|our) (?:web)?site uses cookies|we use cookies|uses cookies to|"
    r"(?:necessary|functional|analytics?|performance) cookies (?:are|help|allow|may)|"
    r"by clicking [\"“']?(?:accept|allow|agree|i agree|ok))"
)
# Appeals for money or support under an article: only ever read in its last paragraphs.
_APPEAL = re.compile(
    r"\b(?:(?:make|your|a) (?:one-off |one-time |monthly |small )?donations?|donate (?:now|today)|"
    r"readers like you|reader donations|we need your (?:help|support)|support (?:us|our work)|"
    r"kept alive by|consider (?:supporting|subscribing)|become a (?:supporter|donor)|"
    r"if you (?:enjoyed|liked|loved|found) (?:this|my|the|our) (?:\w+ )?(?:post|article|piece|story)|"
    r"^what do you think(?=\?)|let (?:us|me) know (?:in the comments|what you think)|"
    r"(?:was|were) (?:originally )?(?:written|developed|produced) (?:by|in partnership with))\b",
    re.IGNORECASE,
)
# A heading that opens a table of contents; the entries that follow repeat later headings.
_CONTENTS_HEADING = re.compile(
    r"^(?:table of contents?|contents|article contents|in this (?:article|post|guide)|"
    r"on this page|jump to(?: section)?|quick links|topics covered|what'?s inside|"
    r"skip to)\W*(?:show|hide|toggle)?\W*$",
    re.IGNORECASE,
)
_CONTENTS_ENTRY_MAX_WORDS = 16
# Headings that open what follows an article: links to other pages, not its text.
_MORE_SECTION = re.compile(
    r"^(?:(?:you(?:'ll|’ll| will)?|we think you(?:'d|’d)?) (?:may |might )?(?:also )?(?:like|love|enjoy)|"
    r"read this next|what to read next|(?:other|more|related|similar|recent|popular|latest|"
    r"recommended|featured) (?:posts|articles|stories|reads|guides|resources|reading|news)\b|"
    r"you (?:may|might) (?:also )?be interested in|.{0,40}\bfound the following (?:pages? )?"
    r"helpful|keep reading|continue exploring|explore (?:more|related)|more ways (?:i|we) can help|"
    r"(?:more|other) (?:from|by) (?:the|this|our) (?:author|blog|site|team|series))\b.{0,60}$",
    re.IGNORECASE,
)
_MORE_SECTION_MAX_WORDS = 14
# The share of a text's words a closing section may follow at the earliest.
_MORE_SECTION_MIN_SHARE = 0.8
_CONTACT = re.compile(
    r"\b(?:can|may) be (?:reached|contacted|emailed)\b|"
    r"\bfollow (?:him|her|them|us|me) on\b|\b(?:email|e-mail|contact) (?:him|her|them) at\b|"
    r"\bsend (?:news )?tips to\b"
)
_CONTACT_NAME = re.compile(
    r"^[\s\-–—•*·|]*(?P<name>[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){1,3})\s+"
    r"(?:can|may) be (?:reached|contacted|emailed)\b"
)
_EMAIL = re.compile(r"\b[\w.+-]+@(?P<domain>[\w-]+(?:\.[\w-]+)+)\b")
_COPYRIGHT = re.compile(
    r"^(?:copyright\b|©|\(c\)\s*\d{4})|\ball rights reserved\b|\breprint permission\b|"
    r"\bmay not be (?:published|reproduced|redistributed)\b"
)
# Words one of which every match of a rule holds (`_PHOTO_CREDIT` and `_COPYRIGHT`:
# every match away from the paragraph's start). Most paragraphs hold none, and a
# substring test costs a fraction of a search.
_COOKIE_NOTICE_WORDS = ("cookies", "by clicking")
_CONTACT_WORDS = (
    "be reached",
    "be contacted",
    "be emailed",
    "follow ",
    "mail ",
    "contact ",
    "tips to",
)
_COMMENT_POLICY_WORDS = ("comment", "join the ")
_COPYRIGHT_PHRASE_WORDS = ("all rights reserved", "reprint permission", "may not be ")
_DISCLOSURE_WORDS = (
    "affiliate link",
    "commission",
    "cost to you",
    "independently ",
    "when you buy through",
    "not intended ",
    "not meant ",
    "substitute for ",
    "by our editors",
)
_COMMENT_POLICY = re.compile(
    r"\bcomment(?:ing)? policy\b|\bbefore commenting\b|\bcomments? (?:are|is) (?:closed|moderated)\b|"
    r"\bjoin the (?:conversation|discussion)\b|\bleave a comment\b|\bpost a comment\b"
)
# Prompts to subscribe, sign up or log in: phrases, not single words ("subscription
# costs" is body text in a review; "subscribe to our newsletter" is a prompt).
_NEWSLETTER = re.compile(
    r"\b(?:sign up (?:for|to|now|today|here|below)|subscribe (?:to|now|today|for|here|below)|"
    r"(?:our|the|free|daily|weekly) newsletters?\b|in(?:to)? your inbox|download (?:our|the) app|"
    r"follow us (?:on|for)|like us on|never miss (?:a|an|another) (?:story|update|post|article)|"
    r"already (?:a subscriber|have an account)|log in to|create (?:a |your )?(?:free )?account|"
    r"register now|support (?:our|independent) journalism|become a (?:member|subscriber|patron)|"
    r"join (?:our|my|the) [\w ]{0,30}(?:newsletter|mailing list)|unlock (?:this|the full) (?:article|story)|"
    r"exclusive to [\w+ ]{0,30}subscribers)"
)
# Author bios: "Ann Berg is a senior reporter who covers ...", "Ann Berg has written for ...".
_AUTHOR_BIO = re.compile(
    r"^\(?(?:about the author\W*)?[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){0,3}\s+(?:is|was|has been|has|covers|writes)\s+"
    r"(?:a|an|the|our|\w+ed)\b.{0,200}?\b(?:writer|editor|journalist|reporter|correspondent|"
    r"contributor|columnist|author|freelancer?|blogger|producer|critic|photographer|"
    r"founder|co-founder|ceo|cto|cfo|coo|president|director|attorney|lawyer|consultant|"
    r"manager|executive|specialist|analyst|engineer|scientist|professor|researcher|"
    r"strategist|marketer|coach|advisor|adviser)s?\b",
)
# Founder bios: "Ann started The Courier in 2011 ...", "Ann Berg founded the shop in 2014."
_FOUNDER_BIO = re.compile(
    r"^\(?[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){0,3}\s+(?:founded|co-founded|started|launched)\s+"
    r".{0,80}?\b(?:in|back in|since) (?:19|20)\d{2}\b"
)
# First-person bios: "Hi, I'm Ann and I started this blog in 2011 ..."
_FIRST_PERSON_BIO = re.compile(
    r"^(?:hi|hello|hey)\b.{0,20}\bi'?[’']?m\b|^about (?:the|this) author\b",
    re.IGNORECASE,
)
# Disclosures printed above or below reviews and commerce news.
_DISCLOSURE = re.compile(
    r"\b(?:contains?|includes?|uses?|may contain|has) (?:some )?affiliate links?\b|"
    r"\b(?:we|i) (?:may )?(?:earn|receive) (?:a )?(?:small )?commission\b|"
    r"\bat no (?:extra|additional) cost to you\b|\bindependently (?:selected|chosen|reviewed)\b|"
    r"\bwhen you buy through (?:our )?links\b|"
    r"\b(?:not (?:intended|meant) (?:to replace|as a substitute for)|(?:a )?substitute for "
    r"(?:direct |professional )?(?:medical|legal|financial|tax) (?:advice|care))\b|"
    r"\b(?:products|items) (?:are|were) (?:independently )?(?:chosen|selected) by our editors\b"
)
# Photo credits that end captions: "(AP Photo/Name, File)", "(Getty Images)", "Photo: Name".
_PHOTO_CREDIT = re.compile(
    r"\((?:[^()]{0,40}\b(?:photo|photograph|image|picture|pool|file)\b[^()]{0,80}|"
    r"[^()]{0,40}\b(?:getty images|shutterstock|afp|reuters|ap|epa|alamy|via [^()]{1,40}))\)\W*$|"
    r"^(?:photo|image|picture|credit|photograph|foto)s?\s*(?:credit|sources?)?s?\s*[:/]|"
    r"^(?:featured|header|cover|hero|lead)\s+(?:image|photo)\s+(?:from|by|via|courtesy|credit)\b|"
    r"^(?:image|photo)s? (?:used )?(?:under licen[cs]e|courtesy of|via)\b",
    re.IGNORECASE,
)
_CAPTION_START = re.compile(
    r"^(?:in this|this)\s+(?:[\w.,'’-]+\s+){0,10}?(?:file\s+)?(?:photo|image|picture|"
    r"photograph|handout photo|video grab|screengrab)\b",
    re.IGNORECASE,
)
_BYLINE = re.compile(
    r"^(?i:by)\s+(?P<names>[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,3}"
    r"(?:\s*(?:,|and|&)\s*[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,3})*)"
    r"(?:\s*[,|/–—-]\s*(?P<rest>.*))?$"
)
_DATELINE_WORDS = re.compile(
    r"\b(?:published|updated|posted|last updated|modified|on|at|am|pm|a\.m\.|p\.m\.|"
    r"et|est|edt|gmt|utc|bst|cet|pt|pst|pdt)\b|\d{1,2}:\d{2}|[-–—|•·,:]",
    re.IGNORECASE,
)
# Quotes and attribution mark reporting, which prompts to the reader never contain.
_REPORTED_SPEECH = re.compile(r"[\"“”]|\b(?:said|says|told|according to)\b", re.IGNORECASE)
# Short lines are where prompts live; a body paragraph may mention a newsletter freely.
_SHORT_LINE_WORDS = 30
_DISCLOSURE_MAX_WORDS = 60
_CAPTION_MAX_WORDS = 60
_BIO_MAX_WORDS = 80
_TAIL_PARAGRAPHS = 3
_REPEAT_MIN_WORDS = 12
_DATELINE_MAX_WORDS = 16
_DATELINE_MAX_LEFTOVER_WORDS = 4
_TITLE_MAX_WORDS = 30


@dataclass
class CleanedText:
    """Body paragraphs with boilerplate removed, and the metadata found on the way."""

    paragraphs: list[str]
    title: str | None = None
    published_at: datetime | None = None
    modified_at: datetime | None = None
    authors: list[str] = field(default_factory=list)
    site: str | None = None
    contact_domains: list[str] = field(default_factory=list)
    removed: Counter[str] = field(default_factory=Counter)

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs of plain text: one per line, or per blank-line block when hard-wrapped."""
    lines = [line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    if _is_hard_wrapped(lines):
        blocks = re.split(r"\n\s*\n", "\n".join(lines))
        return [" ".join(block.split()) for block in blocks if block.strip()]
    return [" ".join(line.split()) for line in lines if line]


def clean_paragraphs(paragraphs: list[str], *, find_title: bool = False) -> CleanedText:
    """Remove news boilerplate from `paragraphs`, keeping datelines and by-lines as metadata.

    With `find_title`, the first remaining paragraph that reads like a headline becomes
    the title (plain-text input, where nothing else marks it).
    """
    if may_hold_mojibake("\n".join(paragraphs)):
        paragraphs = [repair_mojibake(paragraph) for paragraph in paragraphs]
    result = CleanedText(paragraphs=[])
    tail_start = len(paragraphs) - _TAIL_PARAGRAPHS
    sections = _contents_blocks(paragraphs) | _closing_sections(paragraphs)
    seen: set[str] = set()
    for position, paragraph in enumerate(paragraphs):
        # A whole paragraph printed again is a pull-quote or a page's repeat, and one
        # printed twice in a row a caption or heading shown twice; the first copy stays.
        # Short repeats far apart (table cells, recurring subheadings) are content.
        repeat = _is_doubled(paragraphs, position) or (
            paragraph in seen and len(paragraph.split()) >= _REPEAT_MIN_WORDS
        )
        seen.add(paragraph)
        kind = sections.get(position) or ("repeated" if repeat else None)
        kind = kind or _boilerplate_kind(paragraph, result)
        if kind is None and position >= tail_start:
            kind = _tail_kind(paragraph)
        if kind is not None:
            result.removed[kind] += 1
            continue
        if (
            find_title
            and result.title is None
            and not result.paragraphs
            and _is_headline(paragraph)
        ):
            result.title = paragraph
            continue
        result.paragraphs.append(paragraph)
    if result.site is None and result.contact_domains:
        result.site = Counter(result.contact_domains).most_common(1)[0][0]
    return result


def _tail_kind(paragraph: str) -> str | None:
    """The kind of end-of-article boilerplate `paragraph` is, or None.

    A bio or an appeal is only boilerplate at the end: "X is a former editor" or
    "readers like you" mid-story is news.
    """
    if len(paragraph.split()) > _BIO_MAX_WORDS:
        return None
    bios = (_AUTHOR_BIO, _FOUNDER_BIO, _FIRST_PERSON_BIO)
    # "Why is a bridge the better choice?" reads like "X is a ..." but asks a question.
    if not paragraph.endswith("?") and any(rule.match(paragraph) for rule in bios):
        return "author_bio"
    if _APPEAL.search(paragraph) and not _REPORTED_SPEECH.search(paragraph):
        return "appeal"
    return None


def _contents_blocks(paragraphs: list[str]) -> dict[int, str]:
    """Positions of tables of contents: a "Table of contents" heading and the short
    entries after it that name a later paragraph (the headings they link to)."""
    found: dict[int, str] = {}
    for position, paragraph in enumerate(paragraphs):
        if not _CONTENTS_HEADING.match(paragraph):
            continue
        found[position] = "contents"
        later = {_entry_key(text) for text in paragraphs[position + 1 :]}
        entry = position + 1
        while entry < len(paragraphs):
            text = paragraphs[entry]
            key = _entry_key(text)
            is_entry = len(text.split()) <= _CONTENTS_ENTRY_MAX_WORDS and (
                key in later - {_entry_key(p) for p in paragraphs[position + 1 : entry + 1]}
                or key in {_entry_key(p) for p in paragraphs[entry + 1 :]}
            )
            if not is_entry:
                break
            found[entry] = "contents"
            entry += 1
    return found


def closing_heading(
    texts: list[str], heading: re.Pattern[str], max_words: int, min_share: float
) -> int | None:
    """Position of the first short text matching `heading` that stands after at least
    `min_share` of all the texts' words: where the article ends and what follows it
    (related links, comments, bios) begins. None when there is no such heading."""
    counts = [len(text.split()) for text in texts]
    least = sum(counts) * min_share
    seen = 0
    for position, words in enumerate(counts):
        if seen >= least and words <= max_words and heading.match(texts[position]):
            return position
        seen += words
    return None


def _closing_sections(paragraphs: list[str]) -> dict[int, str]:
    """Positions from a closing "You may also like"/"Other posts" heading to the end,
    when it stands after most of the text's words."""
    start = closing_heading(
        paragraphs, _MORE_SECTION, _MORE_SECTION_MAX_WORDS, _MORE_SECTION_MIN_SHARE
    )
    return {} if start is None else dict.fromkeys(range(start, len(paragraphs)), "related")


def _entry_key(text: str) -> str:
    """A heading's words without numbering or punctuation, lower-cased."""
    return " ".join(re.findall(r"[^\W\d_]+", text.lower()))


def _boilerplate_kind(paragraph: str, result: CleanedText) -> str | None:
    """The kind of boilerplate `paragraph` is (recording any metadata it holds), or None."""
    words = paragraph.split()
    short = len(words) <= _SHORT_LINE_WORDS
    if len(paragraph) <= 120:
        compact = _NOT_ALPHANUMERIC.sub("", paragraph).lower()
        if compact and _SHARE_BAR.match(compact):
            return "share_bar"
    if short and (_TEASER.match(paragraph) or _PROMPT.match(paragraph)):
        return "teaser"
    if short and (_FURNITURE.match(paragraph) or _TAG_LINE.match(paragraph)):
        return "furniture"
    # The phrase rules are written in lower case and read the lower-cased paragraph
    # (much faster than case-insensitive matching).
    lowered = paragraph.lower()
    if (
        len(words) <= _DISCLOSURE_MAX_WORDS * 2
        and _holds_any(lowered, _COOKIE_NOTICE_WORDS)
        and _COOKIE_NOTICE.search(lowered)
    ):
        return "cookie_notice"
    if short and _holds_any(lowered, _CONTACT_WORDS) and _CONTACT.search(lowered):
        _note_contact(paragraph, result)
        return "contact"
    if short and _search_or_match(_COPYRIGHT, lowered, _COPYRIGHT_PHRASE_WORDS):
        return "copyright"
    if short and _holds_any(lowered, _COMMENT_POLICY_WORDS) and _COMMENT_POLICY.search(lowered):
        return "comment_policy"
    if short and _NEWSLETTER.search(lowered) and not _REPORTED_SPEECH.search(paragraph):
        return "newsletter"
    if (
        len(words) <= _DISCLOSURE_MAX_WORDS
        and _holds_any(lowered, _DISCLOSURE_WORDS)
        and _DISCLOSURE.search(lowered)
    ):
        return "disclosure"
    captionable = len(words) <= _CAPTION_MAX_WORDS
    if captionable and (
        _search_or_match(_PHOTO_CREDIT, paragraph, ("(",)) or _CAPTION_START.match(paragraph)
    ):
        return "caption"
    if len(words) <= _DATELINE_MAX_WORDS and _take_dateline(paragraph, result):
        return "dateline"
    if len(words) <= 14 and _take_byline(paragraph, result):
        return "byline"
    return None


def _holds_any(text: str, words: tuple[str, ...]) -> bool:
    # A loop, not any(): on most paragraphs the generator costs more than the tests.
    for word in words:  # noqa: SIM110
        if word in text:
            return True
    return False


def _search_or_match(pattern: re.Pattern[str], text: str, words: tuple[str, ...]) -> bool:
    """Whether `pattern` matches anywhere in `text`, for a pattern whose matches past the
    start of a text all hold one of `words`: without them, only a match at the start is
    tried."""
    if _holds_any(text, words):
        return pattern.search(text) is not None
    return pattern.match(text) is not None


def _is_doubled(paragraphs: list[str], position: int) -> bool:
    """True when the short paragraph at `position` repeats the one just before it."""
    paragraph = paragraphs[position]
    return (
        position > 0
        and paragraph == paragraphs[position - 1]
        and 3 <= len(paragraph.split()) <= _CAPTION_MAX_WORDS
    )


def _note_contact(paragraph: str, result: CleanedText) -> None:
    match = _CONTACT_NAME.match(paragraph)
    if match and match.group("name") not in result.authors:
        result.authors.append(match.group("name"))
    result.contact_domains.extend(m.group("domain").lower() for m in _EMAIL.finditer(paragraph))


def _take_dateline(paragraph: str, result: CleanedText) -> bool:
    """Record a dateline ("- The Site - Thursday, February 25, 2021") and say if it was one."""
    found = find_date(paragraph)
    if found is None or re.search(r"[/?=&{}<>]", paragraph.replace(found[1].group(0), "")):
        return False
    when, match = found
    before = paragraph[: match.start()]
    leftover = WEEKDAYS.sub(" ", before + " " + paragraph[match.end() :])
    leftover_words = _DATELINE_WORDS.sub(" ", leftover).split()
    if len(leftover_words) > _DATELINE_MAX_LEFTOVER_WORDS:
        return False
    if re.match(r"^\W*(?:updated|last updated|modified)\b", paragraph, re.IGNORECASE):
        result.modified_at = result.modified_at or when
    else:
        result.published_at = result.published_at or when
        site = " ".join(_DATELINE_WORDS.sub(" ", WEEKDAYS.sub(" ", before)).split())
        if site and site[0].isupper() and result.site is None:
            result.site = site
    return True


def _take_byline(paragraph: str, result: CleanedText) -> bool:
    match = _BYLINE.match(paragraph)
    if match is None:
        return False
    for name in re.split(r"\s*(?:,|\band\b|&)\s*", match.group("names")):
        if len(name.split()) >= 2 and name not in result.authors:
            result.authors.append(name)
    return True


def _is_headline(paragraph: str) -> bool:
    words = paragraph.split()
    return 2 <= len(words) <= _TITLE_MAX_WORDS and not re.search(r"[.,;:]['\"’”]?$", paragraph)


def _is_hard_wrapped(lines: list[str]) -> bool:
    """True when text was wrapped at a fixed width, so line breaks are not paragraphs."""
    filled = [line for line in lines if line]
    if len(filled) < 4:
        return False
    lengths = sorted(len(line) for line in filled)
    median = lengths[len(lengths) // 2]
    unterminated = sum(1 for line in filled if not re.search(r"[.!?\"”:]$", line))
    return lengths[-1] <= 100 and median >= 50 and unterminated > len(filled) / 2
