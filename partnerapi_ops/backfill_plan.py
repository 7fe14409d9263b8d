"""Backfill planning: date windows and each window's share of the vendor's request budget.

Stdlib only: the Airflow virtualenv imports this module.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta


def _day(value: str | date) -> date:
    if isinstance(value, date):
        return value
    return datetime.fromisoformat(value.replace("Z", "+00:00")).date()


def request_share(budget_per_minute: int, concurrency: int) -> int:
    """Requests/minute one window may use so that ``concurrency`` windows stay within budget.

    The vendor's limit is per client_id across every process: windows running at once must
    split it, rounding down (exceeding it costs 429s and Retry-After waits of up to 60 s).
    """
    if budget_per_minute < 1 or concurrency < 1:
        raise ValueError("budget and concurrency must be >= 1")
    share = budget_per_minute // concurrency
    if share < 1:
        raise ValueError(f"a budget of {budget_per_minute}/min cannot feed {concurrency} windows")
    return share


def date_windows(
    start: str | date,
    end: str | date,
    window_days: int,
    budget_per_minute: int,
    concurrency: int,
) -> list[dict[str, str]]:
    """Half-open [start, end) windows of ``window_days`` days, as env for one Meltano run each.

    Each window gets its own Meltano state id suffix so a retried or re-run window resumes
    from its own bookmark and never moves another window's.
    """
    lo, hi = _day(start), _day(end)
    if hi <= lo:
        raise ValueError(f"empty backfill range [{lo}, {hi})")
    if window_days < 1:
        raise ValueError("window_days must be >= 1")
    share = str(request_share(budget_per_minute, concurrency))
    windows = []
    cur = lo
    while cur < hi:
        nxt = min(cur + timedelta(days=window_days), hi)
        windows.append(
            {
                "PARTNERAPI_WINDOW": f"{cur:%Y%m%d}-{nxt:%Y%m%d}",
                "TAP_PARTNERAPI__BACKFILL_START_DATE": f"{cur:%Y-%m-%d}T00:00:00Z",
                "TAP_PARTNERAPI__BACKFILL_END_DATE": f"{nxt:%Y-%m-%d}T00:00:00Z",
                "TAP_PARTNERAPI__BACKFILL_REQUESTS_PER_MINUTE": share,
            }
        )
        cur = nxt
    return windows
