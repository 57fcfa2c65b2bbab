"""Source health: per-site counts of a run, and which sites look unwell against their past.

Pure code: the run-history extension feeds `SiteTally` from Scrapy signals, `scrapy
health` calls `assess_sites` on what `storage.run_history.RunHistory.site_runs` reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from statistics import median
from urllib.parse import urlsplit

from storage.run_history import SiteCounts, SiteRun

LOCAL_SITE = "local"
_COUNTS = (
    "fetched",
    "stored",
    "extraction_failures",
    "http_errors",
    "robots_blocked",
    "download_failures",
)


def site_of(url: str) -> str:
    """The site a URL belongs to: its lower-case host, or "local" for files and odd URLs."""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.hostname:
        return parts.hostname.lower()
    return LOCAL_SITE


class SiteTally:
    """Counts per site during one run."""

    def __init__(self) -> None:
        self._counts: dict[str, dict[str, int]] = {}

    def add(self, site: str, count: str, number: int = 1) -> None:
        """Add `number` to one count (fetched, stored, extraction_failures, ...)."""
        if count not in _COUNTS:
            raise ValueError(f"unknown site count {count!r}; one of {', '.join(_COUNTS)}")
        site_counts = self._counts.setdefault(site, dict.fromkeys(_COUNTS, 0))
        site_counts[count] += number

    def sites(self) -> list[SiteCounts]:
        """Every site's counts, by site name."""
        return [SiteCounts(site, **counts) for site, counts in sorted(self._counts.items())]


@dataclass(frozen=True)
class HealthOptions:
    """When a site counts as unwell."""

    # Earlier runs of the site compared against (the latest run excluded).
    window: int = 7
    # Earlier runs needed before a site is judged at all.
    min_history: int = 3
    # Flag when the latest run stored less than this fraction of the median of earlier runs.
    yield_drop: float = 0.5
    # Flag when the latest error rate exceeds the earlier median by this much (0..1).
    error_rate_jump: float = 0.3

    def __post_init__(self) -> None:
        checks = (
            ("HEALTH_WINDOW", self.window >= 1, ">= 1"),
            ("HEALTH_MIN_HISTORY", 1 <= self.min_history <= self.window, "1..HEALTH_WINDOW"),
            ("HEALTH_YIELD_DROP", 0.0 < self.yield_drop < 1.0, "(0, 1)"),
            ("HEALTH_ERROR_RATE_JUMP", 0.0 < self.error_rate_jump <= 1.0, "(0, 1]"),
        )
        for name, valid, allowed in checks:
            if not valid:
                raise ValueError(f"{name} must be in {allowed}")


@dataclass(frozen=True)
class SiteAssessment:
    """A site's latest run against its own recent past, and why it is flagged (if it is)."""

    site: str
    latest: SiteRun
    earlier_runs: int
    median_stored: float | None
    error_rate: float
    median_error_rate: float | None
    problems: tuple[str, ...]

    @property
    def flagged(self) -> bool:
        return bool(self.problems)


def error_rate(run: SiteRun) -> float:
    """Share of the site's outcomes that were errors: HTTP errors, extraction failures and
    requests that got no response at all."""
    attempts = run.fetched + run.http_errors + run.download_failures
    failures = run.http_errors + run.extraction_failures + run.download_failures
    return min(1.0, failures / attempts) if attempts else 0.0


def assess_site(runs: Sequence[SiteRun], options: HealthOptions) -> SiteAssessment:
    """Judge a site's latest run (the last of `runs`, oldest first) against the earlier ones."""
    if not runs:
        raise ValueError("assess_site needs at least one run")
    latest = runs[-1]
    earlier = list(runs[:-1])[-options.window :]
    latest_rate = error_rate(latest)
    if len(earlier) < options.min_history:
        return SiteAssessment(latest.site, latest, len(earlier), None, latest_rate, None, ())
    median_stored = float(median(run.stored for run in earlier))
    median_rate = float(median(error_rate(run) for run in earlier))
    problems = []
    if median_stored > 0 and latest.stored < options.yield_drop * median_stored:
        problems.append(f"stored {latest.stored}, recent median {median_stored:g}")
    if latest_rate - median_rate >= options.error_rate_jump:
        problems.append(f"error rate {latest_rate:.0%}, recent median {median_rate:.0%}")
    return SiteAssessment(
        latest.site, latest, len(earlier), median_stored, latest_rate, median_rate, tuple(problems)
    )


def assess_sites(
    history: Mapping[str, Sequence[SiteRun]], options: HealthOptions
) -> list[SiteAssessment]:
    """`assess_site` for every site with at least one run, by site name."""
    return [assess_site(runs, options) for site, runs in sorted(history.items()) if runs]


def flagged(assessments: Iterable[SiteAssessment]) -> list[SiteAssessment]:
    """The assessments with problems."""
    return [assessment for assessment in assessments if assessment.flagged]
