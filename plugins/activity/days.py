"""Pure counting of distinct devices from their active days (day numbers, 1970-01-01 = 0).

`Counts` takes one device at a time (its active days, any order, duplicates allowed) and keeps,
for the report days `lo`…`hi`:
- `daily[k]`: devices active on day lo+k;
- `rolling[k]`: devices active in the `window` days ending on lo+k (a 30-day MAU);
- `running[k]`: devices active at least once in lo…lo+k;
- `total[k]`: devices whose first active day ever is on or before lo+k;
- `groups[j]`: devices active at least once in the j-th (first, last) span (weeks, months,
  the whole range…).
Each device is counted at most once per day and per span, so every number is an exact count of
distinct devices, never a sum of daily counts. One pass, memory O(days + spans).
"""
from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

EPOCH = date(1970, 1, 1)
EPOCH_ORDINAL = EPOCH.toordinal()


def day_number(year: int, month: int, day: int) -> int:
    return date(year, month, day).toordinal() - EPOCH_ORDINAL


def day_of(d: date) -> int:
    return d.toordinal() - EPOCH_ORDINAL


def date_of(n: int) -> date:
    return EPOCH + timedelta(days=n)


class Counts:
    def __init__(self, lo: int, hi: int, *, window: int = 30, groups: Sequence[tuple[int, int]] = ()) -> None:
        if hi < lo:
            raise ValueError("hi < lo")
        self.lo, self.hi, self.window = lo, hi, window
        n = hi - lo + 1
        self._daily = [0] * n
        self._rolling = [0] * (n + 1)   # difference arrays
        self._running = [0] * (n + 1)
        self._total = [0] * (n + 1)
        self.spans = list(groups)
        self.groups = [0] * len(self.spans)
        self.devices = 0

    def add(self, days: Iterable[int]) -> None:
        ds = sorted(set(days))
        if not ds:
            return
        self.devices += 1
        lo, hi = self.lo, self.hi
        first_in = None
        run_start = run_end = None
        for d in ds:
            if lo <= d <= hi:
                self._daily[d - lo] += 1
                if first_in is None:
                    first_in = d
            # rolling window: day d makes the device count on report days d … d+window-1
            a, b = max(d, lo), min(d + self.window - 1, hi)
            if a > b:
                continue
            if run_end is not None and a <= run_end + 1:
                run_end = max(run_end, b)
            else:
                if run_start is not None and run_end is not None:
                    self._mark(self._rolling, run_start, run_end)
                run_start, run_end = a, b
        if run_start is not None and run_end is not None:
            self._mark(self._rolling, run_start, run_end)
        if first_in is not None:
            self._mark(self._running, first_in, hi)
        if ds[0] <= hi:
            self._mark(self._total, max(ds[0], lo), hi)
        for j, (a, b) in enumerate(self.spans):
            k = bisect_left(ds, a)
            if k < len(ds) and ds[k] <= b:
                self.groups[j] += 1

    def _mark(self, diff: list[int], a: int, b: int) -> None:
        diff[a - self.lo] += 1
        diff[b - self.lo + 1] -= 1

    @staticmethod
    def _prefix(diff: list[int]) -> list[int]:
        out, acc = [], 0
        for x in diff[:-1]:
            acc += x
            out.append(acc)
        return out

    @property
    def daily(self) -> list[int]:
        return list(self._daily)

    @property
    def rolling(self) -> list[int]:
        return self._prefix(self._rolling)

    @property
    def running(self) -> list[int]:
        return self._prefix(self._running)

    @property
    def total(self) -> list[int]:
        return self._prefix(self._total)


def iso_weeks(lo: int, hi: int) -> list[tuple[int, int, int, int]]:
    """(iso year, iso week, first day, last day) of every ISO week touching lo…hi, clipped to it."""
    out: list[tuple[int, int, int, int]] = []
    d = lo
    while d <= hi:
        day = date_of(d)
        year, week, weekday = day.isocalendar()
        end = min(d + (7 - weekday), hi)
        out.append((year, week, d, end))
        d = end + 1
    return out


def months(lo: int, hi: int) -> list[tuple[int, int, int, int]]:
    """(year, month, first day, last day) of every calendar month touching lo…hi, clipped to it."""
    out: list[tuple[int, int, int, int]] = []
    d = lo
    while d <= hi:
        day = date_of(d)
        nxt = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
        end = min(day_of(nxt) - 1, hi)
        out.append((day.year, day.month, d, end))
        d = end + 1
    return out
