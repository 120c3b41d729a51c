"""Pure time bucketing in an app's timezone (Countly's `initTimeObj`).

Keys are unpadded: year "2024", month "11", day "4", hour "13". The week is Countly's
`ceil(day_of_year / 7)` (not ISO), so Dec 31 of a leap year is week 53.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass(frozen=True, slots=True)
class TimeParts:
    ts: float          # seconds since the epoch
    year: int
    month: int
    day: int
    hour: int
    week: int          # ceil(day of year / 7)
    weekday: int       # 0 = Sunday … 6 = Saturday (as SDKs' `dow`)
    day_start: float   # epoch seconds of local midnight
    hour_start: float  # epoch seconds of the start of the local hour
    month_start: float
    year_start: float

    @property
    def month_id(self) -> str:
        return f"{self.year}:{self.month}"

    @property
    def zero_id(self) -> str:
        return f"{self.year}:0"

    @property
    def ms(self) -> int:
        return int(self.ts * 1000)


def week_of(d: date) -> int:
    return math.ceil(d.timetuple().tm_yday / 7)


def local_midnight(d: date, tz: ZoneInfo) -> float:
    """Epoch seconds of the first instant of local date `d` (safe across DST changes)."""
    naive = datetime(d.year, d.month, d.day)
    start = naive.replace(tzinfo=tz)
    return start.timestamp()


def _bucket_start(candidate: float, ts: float, tz: ZoneInfo, same: Callable[[datetime], bool]) -> float:
    """The first instant of the local bucket holding `ts`.

    `candidate` is the naive local start; when a DST change makes that local time skip (a gap),
    it lands outside the bucket, and the real start (the transition) is found by bisection.
    """
    if candidate <= ts and same(datetime.fromtimestamp(candidate, tz)):
        return candidate
    lo, hi = min(candidate, ts) - 7200, ts  # lo is outside the bucket, hi inside
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if same(datetime.fromtimestamp(mid, tz)):
            hi = mid
        else:
            lo = mid
    return float(hi)


SLOT = 900


def parts(ts: float, tz_name: str) -> TimeParts:
    """The time parts of `ts` in `tz_name`.

    Since 1972 every UTC offset and DST change falls on a quarter hour, so all instants of a
    15-minute UTC slot share their local hour, day, week…: those are computed once per slot
    (checked at both ends of the slot) and cached; only `ts` differs.
    """
    fields = _slot_fields(tz_name, int(ts // SLOT))
    if fields is None:
        return _compute(ts, tz_name)
    return TimeParts(ts, *fields)


@lru_cache(maxsize=16384)
def _slot_fields(tz_name: str, slot: int) -> tuple[Any, ...] | None:
    first, last = _compute(slot * SLOT, tz_name), _compute(slot * SLOT + SLOT - 1, tz_name)
    if (first.day_start, first.hour_start) != (last.day_start, last.hour_start) or first.hour != last.hour:
        return None
    return (first.year, first.month, first.day, first.hour, first.week, first.weekday, first.day_start,
            first.hour_start, first.month_start, first.year_start)


def _compute(ts: float, tz_name: str) -> TimeParts:
    tz = zone(tz_name)
    local = datetime.fromtimestamp(ts, tz)
    d = local.date()
    day_start = _bucket_start(local_midnight(d, tz), ts, tz, lambda x: x.date() == d)
    hour_start = _bucket_start(local.replace(minute=0, second=0, microsecond=0).timestamp(), ts, tz,
                               lambda x: x.date() == d and x.hour == local.hour)
    return TimeParts(
        ts=ts, year=d.year, month=d.month, day=d.day, hour=local.hour, week=week_of(d),
        weekday=(d.weekday() + 1) % 7, day_start=day_start, hour_start=hour_start,
        month_start=local_midnight(d.replace(day=1), tz),
        year_start=local_midnight(date(d.year, 1, 1), tz),
    )


def parse_timestamp(raw: object, now: float) -> float:
    """The `timestamp` parameter in seconds: 10-digit seconds (decimals allowed) or 13-digit ms.

    Anything else means "now"; a time in the future is clamped to now.
    """
    if raw is None or isinstance(raw, bool):
        return now
    try:
        value = float(str(raw).strip())
    except ValueError:
        return now
    if not math.isfinite(value) or value <= 0:
        return now
    digits = len(str(int(value)))
    if digits >= 13:
        value /= 1000.0
    elif digits != 10:
        return now
    return min(value, now)


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def today(tz_name: str, now: float | None = None) -> date:
    return datetime.fromtimestamp(time.time() if now is None else now, zone(tz_name)).date()
