"""Choosing one title, one publish date and one author list from competing candidates.

Pure functions: the candidates come from `metadata.page_metadata`, trafilatura and the
text itself; every rule is a general pattern of news pages (site names after a
separator, "By" prefixes, job titles after a comma), never a particular site's string.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from typing import TypeAlias, TypeVar
from urllib.parse import urlsplit

from pipelines.extraction.dates import MONTH_NAMES, WEEKDAY_NAMES, find_date
from pipelines.extraction.metadata import PageMetadata, ShownDate

_SEPARATORS = re.compile(r"\s+(?:[|–—·•:»/~]|-{1,2}|::)\s+")
_SEGMENT_SEPARATORS = re.compile(r"\s+(?:[|–—·•:»/~]|-{1,2}|::)\s+|:\s+")
_URL_DATE = re.compile(
    r"/(?P<year>(?:19|20)\d\d)[/_-](?P<month>[01]?\d)[/_-](?P<day>[0-3]?\d)(?:[/_-]|$)"
    r"|/(?P<compact>(?:19|20)\d\d[01]\d[0-3]\d)(?:[/_-]|$)"
)
_Found = TypeVar("_Found")
# A fallback candidate, or the search that finds it: run only when the better sources are
# silent (the extractor's author and text-date searches cost a few ms a page).
Fallback: TypeAlias = _Found | Callable[[], _Found]

# From this many `<h1>` elements on, a page uses them for sections, not just its headline.
_SECTION_HEADINGS = 3
# From this many words on, a heading all in capitals is display type, not the headline's
# own spelling (acronyms and one- or two-word labels stay).
_CAPITALS_MIN_WORDS = 3
_FULL_WIDTH = re.compile("[\uff01-\uff5e]")
_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_LEADING_PIPE = re.compile(r"\s*\|")
_CLOCK = re.compile(r"\d\d?:\d\d")
_ISO_DAY = re.compile(r"^\s*(?P<year>\d{4})-(?P<month>\d\d)-(?P<day>\d\d)")
# "By", "Written by", "This post was written by", "Recipe by", "Author:".
_BY_PREFIX = re.compile(r"^\s*(?:(?:[\w ]{0,40}?\s)?by\b|authors?\b)[:\s]+", re.IGNORECASE)
# Words that end a name inside one by-line part: "Rachel Roe Contributing Writer",
# "Luke Kim December 19", "Craig Moe Last updated".
_NAME_TRAILERS = re.compile(
    r"^(?:editor|reporter|writer|correspondent|columnist|contributor|contributing|journalist|"
    r"producer|analyst|director|manager|founder|ceo|chief|senior|associate|photographer|"
    r"expert|consultant|specialist|former|freelance|managing|executive|professor|"
    rf"published|updated|last|min|read|on|head|(?:{MONTH_NAMES})\.?)$",
    re.IGNORECASE,
)
# A month's or weekday's name, whole: "Dec", "Monday", not "Decker" or "Monica".
_CALENDAR_WORD = re.compile(rf"^(?:{MONTH_NAMES}|{WEEKDAY_NAMES})\.?$", re.IGNORECASE)
_QUOTES = "\"'“”‘’«»"
# What separates the parts of a by-line, kept: after "and" a part is another person's name
# even when it is one word ("Maria & Katerina"); after a comma, a title's fragment.
_NAME_SPLIT = re.compile(r"\s*(;|,|\band\b|&|\bund\b|\|)\s*", re.IGNORECASE)
_CONJUNCTIONS = frozenset({"and", "&", "und"})
_JOB_WORDS = re.compile(
    r"\b(?:editor|reporter|writer|correspondent|columnist|contributor|staff|author|journalist|"
    r"producer|analyst|director|manager|founder|ceo|head|chief|senior|associate|photographer|"
    r"expert|consultant|specialist|"
    r"team|desk|news|service|newsroom|media|press|published|updated|min read|read)\b",
    re.IGNORECASE,
)
_CREDENTIAL = re.compile(r"^(?:[A-Z]{2,6}|Ph\.?\s?D\.?|M\.?D\.?|Jr\.?|Sr\.?|I{2,3})$")
# A CMS account's login name: one word in lower case, or holding dots or underscores, or
# a capital inside it ("annberg", "ann.berg", "ann_berg", "AnnB").
_LOGIN = re.compile(r"^(?:[^\W\d_A-Z]+|\S*[._]\S*|\S*[a-z][A-Z]\S*)$")
# The accounts a template names when no person is set, and the label of a form's name
# field: no by-line.
_PLACEHOLDER_ACCOUNTS = frozenset(
    {
        "admin",
        "administrator",
        "root",
        "user",
        "guest",
        "webmaster",
        "undefined",
        "null",
        "none",
        "name",
    }
)


@dataclass(frozen=True)
class DatedValue:
    """A date with the kind of evidence it came from (`json-ld`, `meta`, `url`, `text`).

    `when` is UTC; `day` is the calendar day as the page states it, in its own time zone
    (an evening article in New York is already tomorrow in UTC).
    """

    when: datetime
    day: date
    source: str


def choose_title(meta: PageMetadata, fallback: str | None, url: str) -> str | None:
    """The headline: the page's own heading when it names this article, else the title tags.

    Title tags carry site names and sections ("Headline | Politics | Site"), so the
    visible `<h1>` wins when it shares words with the page's title tags and is not
    itself the site's or blog's name; otherwise the candidate most title sources agree
    on, site segments removed. `fallback` (an extractor's guess) only votes.
    """
    title = _choose_title(meta, fallback, url)
    return _narrow_punctuation(title) if title else title


def _narrow_punctuation(title: str) -> str:
    """`title` with full-width ASCII forms (U+FF01-U+FF5E: question mark, colon...) made
    plain where it holds no CJK script, whose typing they belong to: in a Latin title
    they are an input method's."""
    if _CJK.search(title):
        return title
    return _FULL_WIDTH.sub(lambda found: chr(ord(found.group()) - 0xFEE0), title)


def _choose_title(meta: PageMetadata, fallback: str | None, url: str) -> str | None:
    """`choose_title` before full-width punctuation in a Latin-script title is made plain."""
    site_keys = _site_keys(meta.site_name, url)
    page_tags = [
        t for t in (meta.json_ld_title, meta.og_title, meta.meta_title, meta.html_title) if t
    ]
    tagged = page_tags + ([fallback] if fallback else [])
    heading = _article_heading(meta.h1, page_tags or tagged, site_keys)
    if heading is not None and page_tags and _is_display_capitals(heading):
        # Set in capitals for display: the title tags hold the headline as written.
        heading = None
    if heading is not None:
        heading = _tagged_subheading(
            heading, meta.h1_lines.get(heading, []), meta.lead_h2, page_tags, site_keys
        )
        return _heading_without_site(
            _without_label(heading, page_tags, site_keys), tagged, site_keys
        )
    # Headings passed over as the blog's name name the site in the title tags too.
    site_keys |= {
        _compact(h)
        for h in meta.h1
        if any(_is_minor_segment(_compact(h), t, site_keys) for t in tagged)
    }
    candidates = [_strip_site(title, site_keys) for title in tagged]
    candidates = [title for title in candidates if title]
    if not candidates:
        return None
    keyed = [_compact(title) for title in candidates]
    best, best_votes = candidates[0], 0.0
    for position, title in enumerate(candidates):
        votes = sum(1.0 for other in keyed if other == keyed[position])
        if votes > best_votes:
            best, best_votes = title, votes
    return best


def _tagged_subheading(
    heading: str,
    lines: list[str],
    subheadings: Callable[[], list[str]],
    page_tags: list[str],
    site_keys: set[str],
) -> str:
    """The part of the heading (`lines`), else the `<h2>` before the article's text
    (`subheadings`), that says what the title tags say where the whole `<h1>` does not: a
    kicker line over the headline in the `<h1>`, or a banner or teaser set as `<h1>` over
    the article's own headline."""
    tag_keys = {_compact(title) for title in page_tags} | {
        _compact(_strip_site(title, site_keys)) for title in page_tags
    }
    if _compact(heading) in tag_keys:
        return heading
    # A line may also be what a title tag leads with before its separator, whatever
    # follows ("Headline | Store Name").
    line_keys = tag_keys | {_compact(_SEGMENT_SEPARATORS.split(title)[0]) for title in page_tags}
    tagged = (line for line in lines if _compact(line) in line_keys)
    return next(tagged, None) or next(
        (sub for sub in subheadings() if _compact(sub) in tag_keys), heading
    )


def _is_display_capitals(heading: str) -> bool:
    """True for a headline of several words typed all in capitals ("TRAM LINE APPROVED")."""
    return heading.isupper() and len(heading.split()) >= _CAPITALS_MIN_WORDS


def _without_label(heading: str, page_tags: list[str], site_keys: set[str]) -> str:
    """`heading` without a one-word label before a colon ("Blog: Headline") that the title
    tags leave out: the section's name, not the headline's first word."""
    label, colon, rest = heading.partition(":")
    rest = rest.strip()
    if not colon or len(label.split()) != 1 or len(rest.split()) < 2:
        return heading
    key = _compact(rest)
    if any(_compact(_strip_site(title, site_keys)) == key for title in page_tags):
        return rest
    return heading


def _heading_without_site(heading: str, tagged: list[str], site_keys: set[str]) -> str:
    """`heading` without the site's name or section where it carries them as title tags
    do: a segment naming the site ("Headline - Site"), or an `<h1>` that repeats a title
    tag word for word ("Headline | Opinion") and so its decorations too; also when it
    repeats the tag less its site ("Headline | Opinion" beside "Headline | Opinion |
    Site"): a pipe separates sections, where a dash may start a subtitle."""
    segments = _SEGMENT_SEPARATORS.split(heading)
    names_site = len(segments) > 1 and any(_is_site(part, site_keys) for part in segments)
    key = _compact(heading)
    repeats_tag = any(_compact(title) == key for title in tagged) or (
        " | " in heading and any(_compact(_strip_site(title, site_keys)) == key for title in tagged)
    )
    if names_site or repeats_tag:
        return _strip_site(heading, site_keys) or heading
    return heading


def _article_heading(headings: list[str], tagged: list[str], site_keys: set[str]) -> str | None:
    """The first heading that names the article the title tags name, if any.

    Passed over: the site's name (also a one-word logo heading such as "Filmmaker" on
    a site named "Filmmaker Magazine"), headings sharing no word with the title tags
    (menus), headings ending in a colon (labels of what follows), and short headings that are a minor segment of a title tag (the blog's name).
    """
    tag_words = {word for title in tagged for word in _content_words(title)}
    # A page that sets its section headings as `<h1>` names its article in one only if
    # that heading equals a title tag or the tag's headline part.
    if len(headings) >= _SECTION_HEADINGS:
        tag_keys = {_compact(title) for title in tagged} | {
            _compact(_strip_site(title, site_keys)) for title in tagged
        }
        tag_keys |= {
            _compact(max(_SEGMENT_SEPARATORS.split(title), key=lambda part: len(part.split())))
            for title in tagged
        }
        headings = [heading for heading in headings if _compact(heading) in tag_keys]
    for heading in headings:
        words = heading.split()
        key = _compact(heading)
        if not key or not 1 <= len(words) <= 40 or key in site_keys:
            continue
        if heading.endswith(":"):
            continue  # introduces what follows ("From our founder:"): a label, no headline
        if len(words) == 1 and any(site.startswith(key) for site in site_keys):
            continue
        if tagged and not (_content_words(heading) & tag_words):
            continue
        equal_elsewhere = any(_compact(title) == key for title in tagged)
        if (
            len(words) <= 4
            and not equal_elsewhere
            and any(_is_minor_segment(key, t, site_keys) for t in tagged)
        ):
            continue
        return heading
    return None


def _is_minor_segment(key: str, title: str, site_keys: set[str]) -> bool:
    """True when `key` is a shorter part of a separated `title` (the site or blog name).

    Not when another part of `title` names the site: then `key` is the headline
    ("Book Reviews | The Writing Center"); nor when it leads the title before a pipe,
    the place of the headline in "Headline | Site".
    """
    segments = _SEGMENT_SEPARATORS.split(title)
    keys = [_compact(part) for part in segments]
    longest = _compact(max(segments, key=lambda part: len(part.split())))
    if any(_is_site(part, site_keys) for part in segments if _compact(part) != key):
        return False
    if keys[0] == key and _LEADING_PIPE.match(title.strip()[len(segments[0].strip()) :]):
        return False
    return len(keys) > 1 and key in keys and key != longest


def _content_words(text: str) -> set[str]:
    return {word for word in re.findall(r"\w+", text.lower()) if len(word) >= 4}


def _strip_site(title: str, site_keys: set[str]) -> str:
    """`title` without segments naming the site, and without trailing section segments."""
    title = " ".join(title.split())
    first_word, _, rest = title.partition(" ")
    if rest and "." in first_word and _compact(first_word) in site_keys:
        title = rest  # led by the site's host name: "lantern.example Tram Line Approved"
    named = _SEGMENT_SEPARATORS.split(title)
    if len(named) > 1 and any(_is_site(segment, site_keys) for segment in named):
        segments = named
    else:
        segments = _SEPARATORS.split(title)
    if len(segments) == 1:
        return title
    kept = [segment for segment in segments if not _is_site(segment, site_keys)]
    if not kept:
        return title
    if len(kept) == len(segments):
        # No segment names the site: trailing short segments are most likely the site
        # and sections ("Headline | Politics | Site"); a leading one is kept as part of
        # the title.
        longest = max(kept, key=lambda segment: len(segment.split()))
        while len(kept) > 1 and len(kept[-1].split()) <= 4 and kept[-1] != longest:
            kept = kept[:-1]
    start = title.find(kept[0])
    end = title.rfind(kept[-1]) + len(kept[-1])
    return title[start:end].strip() if start >= 0 and end > start else " ".join(kept)


def _is_site(segment: str, site_keys: set[str]) -> bool:
    key = _compact(segment)
    return key in site_keys or (key.startswith("the") and key[3:] in site_keys)


def _site_keys(site_name: str | None, url: str) -> set[str]:
    keys = set()
    if site_name:
        keys.add(_compact(site_name))
    host = urlsplit(url).hostname or ""
    labels = [label for label in host.split(".") if label not in {"www", "m", "amp"}]
    if labels:
        keys.add(_compact(labels[0]) if len(labels) == 1 else _compact(labels[-2]))
        keys.add(_compact(".".join(labels)))
        keys.add(_compact(".".join(labels[-2:])))
    keys.discard("")
    return keys


def _compact(value: str) -> str:
    return re.sub(r"\W+", "", value.lower())


def parse_timestamp(value: str | None) -> datetime | None:
    """A timezone-aware UTC datetime from an ISO-like or written date; None if none."""
    stated = parse_stated(value)
    return stated.astimezone(UTC) if stated is not None else None


def parse_stated(value: str | None) -> datetime | None:
    """An aware datetime in the zone `value` states (UTC when it states none); None if none."""
    if not value:
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None:
        match = _ISO_DAY.match(text)
        if match:
            try:
                parsed = datetime(int(match["year"]), int(match["month"]), int(match["day"]))
            except ValueError:
                parsed = None
    if parsed is None:
        found = find_date(text)
        parsed = found[0] if found else None
    if parsed is None or not 1990 <= parsed.year <= 2100:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def url_date(url: str) -> datetime | None:
    """The date written into a URL path (`/2021/02/25/`, `/20210225/`), if any."""
    match = _URL_DATE.search(urlsplit(url).path)
    if match is None:
        return None
    compact = match.group("compact")
    year, month, day = (
        (compact[:4], compact[4:6], compact[6:8])
        if compact
        else (match["year"], match["month"], match["day"])
    )
    try:
        return datetime(int(year), int(month), int(day), tzinfo=UTC)
    except ValueError:
        return None


def choose_published(
    meta: PageMetadata,
    url: str,
    text_date: datetime | None,
    extractor_date: Fallback[str | None],
) -> DatedValue | None:
    """The publish date, by the evidence news pages give in order of trust.

    0. A note that the article was "originally published" on a day: pages updated or
       republished since keep it, while their markup carries the new date.
    1. The publish date of the page's `<meta>` tags (`article:published_time`, Dublin
       Core, Parse.ly...).
    2. The date the by-line shows beside the headline: a published or bare date; when
       it shows only an "Updated" date, that one (the page presents itself as of that
       day).
    3. schema.org `datePublished` (JSON-LD, microdata): search-engine data, often a
       template's creation date on pages rewritten since.
    4. The page's `<time>` element, the URL, then what the extractor or a dateline found
       in the text.

    The calendar day is the one the page states: a value given in UTC is read in the
    time zone the page's other dates state (an evening article in New York is already
    tomorrow in UTC) where the page confirms that day (see `_PageClock`), else as written.

    `extractor_date` (what trafilatura's date search found) may be the search itself,
    run only when the markup does not settle the date.
    """
    searched: list[str | None] = []

    def found_by_extractor() -> str | None:
        if not searched:
            searched.append(_evaluated(extractor_date))
        return searched[0]

    clock = _page_clock(meta, url)
    modified_day = clock.day(meta.json_ld_modified or meta.meta_modified)
    meta_value = _dated(meta.meta_published, "meta", clock)
    noted = parse_stated(meta.original_published)
    if noted is not None:
        # The machine-readable value of that day, when there is one, gives the instant.
        for value, source in (
            (meta.meta_published, "meta"),
            (meta.json_ld_published, "json-ld"),
            (meta.time_published, "meta"),
        ):
            same_day = _dated(value, source, clock)
            if same_day is not None and same_day.day == noted.date():
                return same_day
        return DatedValue(noted, noted.date(), "text")
    shown_time = _dated(meta.time_published, "meta", clock)
    if meta_value is not None:
        if (
            shown_time is not None
            # The same instant shown in the theme's zone is the tag's date, not another.
            and shown_time.when != meta_value.when
            and shown_time.day not in {meta_value.day, modified_day}
            and (
                meta.time_published_labelled or _confirmed(shown_time.day, meta, found_by_extractor)
            )
        ):
            # The date a reader sees, labelled "Published" or confirmed by the text,
            # outranks a template's value.
            return shown_time
        earlier = _earlier_byline_day(meta, meta_value.day)
        if earlier is not None:
            return DatedValue(datetime.combine(earlier, time(), UTC), earlier, "text")
        return meta_value
    schema_value = (
        _dated(meta.json_ld_published, "json-ld", clock)
        if _is_iso(meta.json_ld_published)
        else None
    )
    schema_value = schema_value or _dated(meta.microdata_published, "meta", clock)
    shown = _shown_publish_day(meta)
    if shown is not None:
        # The machine-readable value of that day, when there is one, gives the instant.
        for same_day in (schema_value, shown_time):
            if same_day is not None and same_day.day == shown:
                return same_day
        return DatedValue(datetime.combine(shown, time(), UTC), shown, "text")
    if schema_value is not None:
        return schema_value
    if shown_time is not None:
        return shown_time
    from_url = url_date(url)
    if from_url is not None:
        return DatedValue(from_url, from_url.date(), "url")
    for stated, source in (
        (parse_stated(found_by_extractor()), "text"),
        (text_date, "text"),
        (parse_stated(meta.json_ld_published), "json-ld"),
    ):
        if stated is not None:
            return DatedValue(stated.astimezone(UTC), stated.date(), source)
    return None


def _earlier_byline_day(meta: PageMetadata, tagged: date) -> date | None:
    """The by-line's published or bare date (in a by-line or date line, not a sentence)
    when it is days before the meta tag's `tagged`
    day: the article's first publication, where a migration, re-import or republishing
    set the tag later (a by-line never shows a day before the article existed). A day
    apart is left to the tag: time zones."""
    bare = [shown.day.date() for shown in _byline_dates(meta) if shown.label != "updated"]
    if bare and (tagged - bare[0]).days > 1:
        return bare[0]
    return None


def _byline_dates(meta: PageMetadata) -> list[ShownDate]:
    """The dates shown beside the headline in a by-line or date line, not in a sentence
    (a deadline or an event the standfirst mentions)."""
    return [shown for shown in meta.shown_dates if not shown.in_prose]


def _shown_publish_day(meta: PageMetadata) -> date | None:
    """The day the by-line shows as the article's: its first published or bare date
    (also when that is the page's modified day: the page presents itself as of it),
    else its "Updated" date when that is all it shows."""
    byline = _byline_dates(meta)
    bare = [shown.day.date() for shown in byline if shown.label != "updated"]
    shown = bare or [shown.day.date() for shown in byline]
    return shown[0] if shown else None


def _confirmed(day: date, meta: PageMetadata, extractor_date: Callable[[], str | None]) -> bool:
    """True when the text states `day` too: beside the headline or where the extractor read."""
    if any(shown.day.date() == day for shown in meta.shown_dates if shown.label != "updated"):
        return True
    stated = parse_stated(extractor_date())
    return stated is not None and stated.date() == day


@dataclass(frozen=True)
class _PageClock:
    """How the page's UTC times map to its own calendar days.

    `zone` is the first non-UTC offset the page states. A UTC time is read in it only
    where the page confirms that local day: its URL carries the date (CMSs write the
    local day into the path), or another machine value (JSON-LD, microdata, a meta tag)
    states the same instant with the offset. An offset stated for another instant (a
    modified time months later, across a daylight-saving change; a comment's time) is no
    evidence for this one's day, nor is a `<time>` showing the same instant: themes show
    times in the zone the site is set to, not the one its publisher records the day in.
    """

    zone: tzinfo | None
    url_day: date | None
    zoned_instants: frozenset[datetime]

    def day(self, value: str | None) -> date | None:
        """The calendar day `value` names, as the page states it."""
        stated = parse_stated(value)
        if stated is None:
            return None
        if self.zone is not None and _has_time(value) and not stated.utcoffset():
            local = stated.astimezone(self.zone).date()
            if local == self.url_day or stated in self.zoned_instants:
                return local
        return stated.date()


def _page_clock(meta: PageMetadata, url: str) -> _PageClock:
    """The page's time zone (the first non-UTC offset it gives) and what confirms it."""
    zone: tzinfo | None = None
    instants: set[datetime] = set()
    for value, confirms_day in (
        (meta.time_published, False),
        (meta.meta_published, True),
        (meta.json_ld_published, True),
        (meta.microdata_published, True),
        (meta.json_ld_modified, True),
        (meta.meta_modified, True),
    ):
        stated = parse_stated(value) if _has_time(value) else None
        if stated is not None and stated.utcoffset():
            zone = zone or stated.tzinfo
            if confirms_day:
                instants.add(stated)
    from_url = url_date(url)
    return _PageClock(zone, from_url.date() if from_url else None, frozenset(instants))


def _dated(value: str | None, source: str, clock: _PageClock) -> DatedValue | None:
    stated = parse_stated(value)
    if stated is None:
        return None
    day = clock.day(value)
    return DatedValue(stated.astimezone(UTC), day or stated.date(), source)


def _has_time(value: str | None) -> bool:
    return bool(value and _CLOCK.search(value))


def _is_iso(value: str | None) -> bool:
    return bool(value and _ISO_DAY.match(value))


def choose_modified(meta: PageMetadata) -> datetime | None:
    """The last-modified date the markup states, if any."""
    return parse_timestamp(meta.json_ld_modified) or parse_timestamp(meta.meta_modified)


def choose_authors(
    meta: PageMetadata, found_authors: Fallback[list[str]], site_name: str | None = None
) -> list[str]:
    """Author names from the most structured source that names one: JSON-LD, meta tags,
    the by-line beside the headline, the share card's "Written by" field, what the
    extractor and the text's by-lines found (`found_authors`, or the search that finds
    them), author-marked elements, then a link to one author's page or a name under an
    author label anywhere on the page.

    A source naming only the site itself names no person, so a later source may still
    name one; when none does, the site's name is the by-line (a company's blog crediting
    its posts to the company). A login name ("annberg") is the by-line as written, unless
    the by-line beside the headline names a person.
    """
    site = site_name or meta.site_name
    sources: tuple[Fallback[list[str]], ...] = (
        meta.json_ld_authors,
        meta.meta_authors,
        meta.byline_authors,
        meta.card_authors,
        found_authors,
        meta.markup_authors,
        meta.linked_or_labelled_authors,
    )
    publisher: list[str] = []
    for source in sources:
        raw_names = _evaluated(source)
        names = clean_authors(raw_names, site)
        if names and all(_LOGIN.match(name) for name in names):
            # The page's markup names the account that posted it; a person's name in the
            # by-line beside the headline is the author's own.
            shown = clean_authors(meta.byline_authors, site)
            if not all(_LOGIN.match(name) for name in shown):
                return shown
        if names:
            return names
        if site and raw_names and not publisher:
            publisher = clean_authors(raw_names)
    return publisher


def _evaluated(candidate: Fallback[_Found]) -> _Found:
    """The candidate itself, or what its search finds."""
    return candidate() if callable(candidate) else candidate


def clean_authors(raw_names: list[str], site_name: str | None = None) -> list[str]:
    """Person names from by-line strings: no "By", no job titles, no site or outlet names.

    A job title is a part after the name ("Ann Berg, Senior Editor"); a by-line that is
    only a collective name ("Metro Desk", "Podium Staff") is the by-line and stays. The
    site's own name is dropped unless it reads as a person's (one-person sites).
    """
    site_key = _compact(site_name) if site_name else None
    names: list[str] = []
    for raw in raw_names:
        raw = _BY_PREFIX.sub("", " ".join(raw.split()))
        # A link, a handle, or a copyright line ("© The Lantern Media Group").
        if "http" in raw or ("@" in raw and " " not in raw) or "©" in raw:
            continue
        # Quotation marks around a name are the template's ('"Ann Berg"'), not the name's.
        pieces = _NAME_SPLIT.split(raw)
        parts = [
            (separator.lower(), _BY_PREFIX.sub("", part).strip(" .-–—:").strip(_QUOTES))
            for separator, part in zip(["", *pieces[1::2]], pieces[0::2], strict=True)
        ]
        parts = [(separator, _without_trailer(part)) for separator, part in parts if part]
        for position, (separator, name) in enumerate(parts):
            if ":" in name or name.lower() in _PLACEHOLDER_ACCOUNTS or not _looks_like_name(name):
                continue  # a login ("annberg") stays as written: the account names its owner
            if position > 0 and (
                _JOB_WORDS.search(name) or (" " not in name and separator not in _CONJUNCTIONS)
            ):
                continue  # a title after the name: "Ann Berg, Senior Editor", "Ann Berg, Home"
            if _CALENDAR_WORD.match(name):
                continue
            if _is_job_title(name):
                continue  # "Co-Founder", "Senior Editor" standing alone
            if site_key and _compact(name) == site_key and not _reads_as_person(name):
                continue
            if name.lower() not in {known.lower() for known in names}:
                names.append(name)
    return names


def _is_job_title(name: str) -> bool:
    """True for a by-line part made only of job-title words ("Co-Founder", "Senior Editor")."""
    words = [word for word in re.split(r"[\s-]+", name) if word]
    return all(_NAME_TRAILERS.match(word) or word.lower() in {"co", "of"} for word in words)


def _without_trailer(name: str) -> str:
    """`name` without what follows it in the same by-line part: a job title, a date, and
    without the avatar initials before it ("CM Craig Moe")."""
    words = name.split()
    for position in range(2, len(words)):
        if _NAME_TRAILERS.match(words[position]):
            words = words[:position]
            break
    if (
        len(words) >= 3
        and words[0].isupper()
        and words[0] == "".join(word[0] for word in words[1 : 1 + len(words[0])]).upper()
    ):
        words = words[1:]
    return " ".join(words)


def _reads_as_person(name: str) -> bool:
    words = name.split()
    return (
        2 <= len(words) <= 3
        and all(word[:1].isupper() for word in words)
        and not _JOB_WORDS.search(name)
        and words[0].lower() != "the"
    )


def _looks_like_name(value: str) -> bool:
    words = value.split()
    if not 1 <= len(words) <= 5 or _CREDENTIAL.match(value):
        return False
    return not any(ch.isdigit() for ch in value) and not value.startswith(("@", "/"))
