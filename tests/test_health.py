"""`scrapy health`: the judgement on its own, and real runs against a site that starts failing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.sourcehealth import HealthOptions, assess_site, error_rate
from storage.run_history import SiteRun
from tests.conftest import LocalSite, run_scrapy
from tests.test_run_history import article_html, web_crawl_arguments

START = datetime(2025, 1, 6, tzinfo=UTC)


def site_runs(*counts: tuple[int, int, int]) -> list[SiteRun]:
    """Runs of one site from (fetched, stored, http_errors), oldest first."""
    return [
        SiteRun("a.example", number, START + timedelta(hours=number), fetched, stored, 0, errors, 0)
        for number, (fetched, stored, errors) in enumerate(counts)
    ]


def test_steady_site_is_not_flagged() -> None:
    runs = site_runs((10, 10, 0), (12, 11, 1), (9, 9, 0), (10, 8, 0))
    assert assess_site(runs, HealthOptions()).problems == ()


def test_yield_far_below_the_median_is_flagged() -> None:
    runs = site_runs((10, 10, 0), (12, 11, 0), (9, 9, 0), (10, 3, 0))
    [problem] = assess_site(runs, HealthOptions()).problems
    assert problem.startswith("stored 3, recent median 10")


def test_error_rate_jump_is_flagged() -> None:
    runs = site_runs((10, 10, 0), (10, 10, 0), (10, 10, 0), (6, 6, 4))
    assessment = assess_site(runs, HealthOptions(yield_drop=0.5))
    assert assessment.error_rate == pytest.approx(0.4)
    assert [p.split(",")[0] for p in assessment.problems] == ["error rate 40%"]


def test_site_without_enough_history_is_not_judged() -> None:
    runs = site_runs((10, 10, 0), (0, 0, 10))
    assessment = assess_site(runs, HealthOptions(min_history=3))
    assert assessment.median_stored is None and not assessment.flagged


def test_only_the_window_of_earlier_runs_counts() -> None:
    # Long ago the site stored 100 a run; recently 5. Five is normal now.
    runs = site_runs(*[(100, 100, 0)] * 5, *[(5, 5, 0)] * 3, (5, 5, 0))
    assert not assess_site(runs, HealthOptions(window=3)).flagged
    assert assess_site(runs, HealthOptions(window=8)).flagged


def test_error_rate_counts_http_errors_and_extraction_failures() -> None:
    run = SiteRun("a.example", 1, START, 8, 5, 3, 2, 0)
    assert error_rate(run) == pytest.approx(5 / 10)
    assert error_rate(SiteRun("a.example", 1, START, 0, 0, 0, 0, 4)) == 0.0


def test_a_site_that_never_answers_has_an_error_rate_of_one() -> None:
    unreachable = SiteRun("a.example", 1, START, 0, 0, 0, 0, 0, download_failures=6)
    assert error_rate(unreachable) == 1.0
    half = SiteRun("a.example", 1, START, 3, 3, 0, 0, 0, download_failures=3)
    assert error_rate(half) == pytest.approx(0.5)


@pytest.mark.parametrize(
    "options",
    [{"window": 0}, {"min_history": 9}, {"yield_drop": 1.5}, {"error_rate_jump": 0.0}],
)
def test_bad_options_name_the_setting(options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="HEALTH_"):
        HealthOptions(**options)  # type: ignore[arg-type]


def test_health_flags_the_site_whose_server_starts_returning_500s(
    local_site: LocalSite, sqlite_url: str, tmp_path: Path
) -> None:
    # Two sites on one server: "localhost" stays healthy, "127.0.0.1" breaks.
    port = local_site.base_url.rsplit(":", 1)[1]
    healthy = [f"http://localhost:{port}/a/{n}.html" for n in range(3)]
    breaking = [local_site.url(f"/b/{n}.html") for n in range(3)]
    for number in range(3):
        local_site.add(f"/a/{number}.html", article_html(f"Healthy {number}", number))
        local_site.add(f"/b/{number}.html", article_html(f"Breaking {number}", 10 + number))
    url_file = tmp_path / "urls.txt"
    url_file.write_text("\n".join(healthy + breaking) + "\n")

    def crawl() -> None:
        result = run_scrapy(*web_crawl_arguments(url_file), database_url=sqlite_url)
        assert result.returncode == 0, result.stderr[-3000:]

    def health() -> tuple[int, str]:
        result = run_scrapy("health", "-s", "HEALTH_MIN_HISTORY=2", database_url=sqlite_url)
        return result.returncode, result.stdout

    for _ in range(3):
        crawl()
    status, report = health()
    assert status == 0, report
    assert report.count("ok ") == 2 and "FLAGGED" not in report

    for number in range(3):
        local_site.add(f"/b/{number}.html", "server error", status=500)
    crawl()
    status, report = health()

    assert status == 1, report
    flagged_lines = [line for line in report.splitlines() if line.startswith("FLAGGED")]
    assert len(flagged_lines) == 1 and " 127.0.0.1 " in flagged_lines[0], report
    assert "stored 0, recent median 3" in flagged_lines[0]
    assert "error rate 100%" in flagged_lines[0]
    assert any(line.startswith("ok") and " localhost " in line for line in report.splitlines())
