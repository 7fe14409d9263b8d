"""Backfill windows and their share of the vendor's request budget."""

from __future__ import annotations

import pytest

from partnerapi_ops.backfill_plan import date_windows, request_share


@pytest.mark.parametrize(("budget", "concurrency"), [(200, 1), (200, 3), (200, 7), (1000, 4)])
def test_windows_running_at_once_never_exceed_the_budget(budget: int, concurrency: int) -> None:
    share = request_share(budget, concurrency)
    assert share * concurrency <= budget < (share + 1) * concurrency


def test_windows_tile_the_range_half_open_without_gap_or_overlap() -> None:
    w = date_windows("2024-02-26", "2024-03-12", 7, budget_per_minute=200, concurrency=2)
    starts = [x["TAP_PARTNERAPI__BACKFILL_START_DATE"] for x in w]
    ends = [x["TAP_PARTNERAPI__BACKFILL_END_DATE"] for x in w]
    assert starts[0] == "2024-02-26T00:00:00Z" and ends[-1] == "2024-03-12T00:00:00Z"
    assert starts[1:] == ends[:-1]  # leap day included, nothing read twice or skipped
    assert [x["PARTNERAPI_WINDOW"] for x in w] == [
        "20240226-20240304",
        "20240304-20240311",
        "20240311-20240312",
    ]
    assert {x["TAP_PARTNERAPI__BACKFILL_REQUESTS_PER_MINUTE"] for x in w} == {"100"}


@pytest.mark.parametrize(
    ("start", "end", "days", "budget", "concurrency"),
    [
        ("2024-01-02", "2024-01-01", 7, 200, 1),  # empty range
        ("2024-01-01", "2024-01-02", 0, 200, 1),  # no window size
        ("2024-01-01", "2024-01-02", 1, 3, 4),  # budget too small to split
    ],
)
def test_impossible_plans_are_refused(
    start: str, end: str, days: int, budget: int, concurrency: int
) -> None:
    with pytest.raises(ValueError):
        date_windows(start, end, days, budget, concurrency)


def test_the_plan_prints_a_two_year_backfill_at_the_ceiling() -> None:
    from partnerapi_ops.backfill_plan import backfill_duration
    from partnerapi_ops.cli import main

    # 730 days x 120 M events / 5,000 a page at 950 requests/min: ~12.8 days.
    events = backfill_duration(730, 120_000_000)
    assert 12.5 < events["days"] < 13.0
    assert backfill_duration(730, 120_000_000, limit_per_minute=200, reserve=0)["days"] > 60
    assert main(["backfill-plan", "--start", "2024-11-01", "--end", "2026-11-01"]) == 0
