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


# The vendor's documented volumes (records a day) and limits; the tap's largest page.
VENDOR_LIMIT_PER_MINUTE = 1000
PAGE_SIZE = 5000
EVENTS_PER_DAY = 120_000_000
BILLING_PER_DAY = 12_000_000
LOW_PRIORITY_RESERVE = 0.05  # the tap's rate_limit_reserve default


def backfill_duration(
    days: float,
    records_per_day: float = EVENTS_PER_DAY + BILLING_PER_DAY,
    *,
    page_size: int = PAGE_SIZE,
    limit_per_minute: int = VENDOR_LIMIT_PER_MINUTE,
    reserve: float = LOW_PRIORITY_RESERVE,
) -> dict[str, float]:
    """Requests and extraction days of a backfill running alone at the rate-limit ceiling.

    A low-priority backfill alone spends the vendor's limit less its reserve; whatever the
    scheduled runs take meanwhile comes on top of this (it yields to them).
    """
    if days <= 0 or records_per_day < 0 or page_size < 1 or not 0 <= reserve < 1:
        raise ValueError("days > 0, records_per_day >= 0, page_size >= 1, 0 <= reserve < 1")
    requests = days * records_per_day / page_size
    per_minute = limit_per_minute * (1 - reserve)
    return {"requests": requests, "requests_per_minute": per_minute,
            "days": requests / per_minute / 1440}


def describe_plan(start: str | date, end: str | date, window_days: int, budget_per_minute: int,
                  concurrency: int, records_per_day: float) -> str:
    """The text `partnerapi-ops backfill-plan` prints."""
    windows = date_windows(start, end, window_days, budget_per_minute, concurrency)
    days = (_day(end) - _day(start)).days
    at_ceiling = backfill_duration(days, records_per_day)
    fixed = backfill_duration(days, records_per_day, limit_per_minute=200, reserve=0.0)
    lines = [
        f"backfill [{_day(start)}, {_day(end)}): {days} days in {len(windows)} window(s) of "
        f"{window_days} day(s), {concurrency} at a time",
        f"volume: {records_per_day:,.0f} records/day -> {at_ceiling['requests']:,.0f} "
        f"requests of {PAGE_SIZE} records",
        f"expected extraction alone at the ceiling ({at_ceiling['requests_per_minute']:.0f}"
        f"/min: {VENDOR_LIMIT_PER_MINUTE}/min less the {LOW_PRIORITY_RESERVE:.0%} reserve): "
        f"{at_ceiling['days']:.1f} days (a fixed 200/min slice: {fixed['days']:.1f} days)",
        "time the scheduled runs take (the backfill yields to them) comes on top",
    ]
    lines += [f"  {w['PARTNERAPI_WINDOW']}  {w['TAP_PARTNERAPI__BACKFILL_START_DATE']} -> "
              f"{w['TAP_PARTNERAPI__BACKFILL_END_DATE']}" for w in windows[:3]]
    if len(windows) > 3:
        lines.append(f"  ... {len(windows) - 3} more")
    return "\n".join(lines)
