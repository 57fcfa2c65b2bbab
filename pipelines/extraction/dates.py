"""Finding calendar dates in short strings (datelines, URLs, metadata values)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
# The names and abbreviations of the months and the weekdays, as regex alternatives
# (longest first).
MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))
WEEKDAY_NAMES = (
    "monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    "thurs|tues|thur|mon|tue|wed|thu|fri|sat|sun"
)
_MONTH = rf"(?P<month>{MONTH_NAMES})\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_DATE_PATTERNS = (
    re.compile(rf"\b{_MONTH}\s+{_DAY},?\s+{_YEAR}\b", re.IGNORECASE),
    re.compile(rf"\b{_DAY}\.?\s+{_MONTH},?\s+{_YEAR}\b", re.IGNORECASE),
    re.compile(r"\b(?P<year>(?:19|20)\d\d)[-/.](?P<month>[01]?\d)[-/.](?P<day>[0-3]?\d)\b"),
)
WEEKDAYS = re.compile(rf"\b(?:{WEEKDAY_NAMES})\b\.?,?", re.IGNORECASE)


def find_date(text: str) -> tuple[datetime, re.Match[str]] | None:
    """The first calendar date written in `text` (as UTC midnight) and where it stands."""
    if not _may_hold_year(text):
        return None
    for pattern in _DATE_PATTERNS:
        for match in pattern.finditer(text):
            parsed = _to_datetime(match)
            if parsed is not None:
                return parsed, match
    return None


def find_dates(text: str) -> list[tuple[datetime, re.Match[str]]]:
    """Every calendar date written in `text` (as UTC midnight), in reading order.

    Where two patterns match overlapping text, the earlier-starting match is kept.
    """
    if not _may_hold_year(text):
        return []
    found = [
        (parsed, match)
        for pattern in _DATE_PATTERNS
        for match in pattern.finditer(text)
        if (parsed := _to_datetime(match)) is not None
    ]
    found.sort(key=lambda pair: pair[1].start())
    kept: list[tuple[datetime, re.Match[str]]] = []
    for parsed, match in found:
        if not kept or match.start() >= kept[-1][1].end():
            kept.append((parsed, match))
    return kept


def _may_hold_year(text: str) -> bool:
    """False when `text` cannot hold a date: every pattern needs a year starting 19 or 20
    (two substring tests, where the patterns' searches cost a few microseconds)."""
    return "19" in text or "20" in text


def _to_datetime(match: re.Match[str]) -> datetime | None:
    month_text = match.group("month").lower().rstrip(".")
    month = _MONTHS.get(month_text) or (int(month_text) if month_text.isdigit() else 0)
    try:
        return datetime(int(match.group("year")), month, int(match.group("day")), tzinfo=UTC)
    except ValueError:
        return None
