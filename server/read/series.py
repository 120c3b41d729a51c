"""A read-only view over the month and zero documents of one collection, and unique estimates.

Month docs hold days (`d.<day>.<key>`, hours `d.<day>.<hour>.<key>`); zero docs hold the unique
values of the year (`d.<key>`), its months (`d.<M>.<key>`) and its weeks (`d.w<W>.<key>`, with
Tally's and Countly's write-side week `ceil(day of year / 7)`), plus `meta_v2`.

Unique values (`u`, and the `f`/`ds` buckets) cannot be summed over days: a user active on two
days would count twice. Over a window they are estimated as Countly does: the window is tiled
into the largest whole buckets that fit (year, month, week, day) and their values summed; the
sum over a coarser cover of the window (whole months or weeks) is a second upper bound, and the
smaller of the two is taken. Unlike Countly, the tiles use the same week buckets the write side
fills (Countly's reader tiles with ISO weeks, so it can look up the wrong week). A window that
ends today may use buckets that reach past today, because nothing is stored in the future: a
window from the 1st of the month to today is then exactly one month bucket.
"""
from __future__ import annotations

import calendar
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from server.read.timeobj import merge_meta, sort_meta

Doc = dict[str, Any]
Tile = tuple[Any, ...]  # ("y", year) | ("m", year, month) | ("w", year, week) | ("d", date)


def number(obj: Any, *path: str) -> int | float:
    """The number at `path` inside nested dicts, 0 when absent or not a number."""
    for key in path:
        if not isinstance(obj, dict):
            return 0
        obj = obj.get(key)
    if isinstance(obj, bool) or not isinstance(obj, (int, float)):
        return 0
    return obj


def sub(obj: Any, *path: str) -> dict[str, Any]:
    for key in path:
        if not isinstance(obj, dict):
            return {}
        obj = obj.get(key)
    return obj if isinstance(obj, dict) else {}


def _period_of(doc: Doc) -> tuple[int, int] | None:
    """(year, month) of a document, month 0 for a zero doc; from `m`, else from the `_id` suffix."""
    m = doc.get("m")
    text = m if isinstance(m, str) and ":" in m else str(doc.get("_id", "")).rsplit("_", 1)[-1]
    year, _, month = text.partition(":")
    if not (year.isdigit() and month.isdigit()):
        return None
    return int(year), int(month)


@dataclass
class Series:
    months: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    zeros: dict[int, dict[str, Any]] = field(default_factory=dict)
    meta: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, docs: Iterable[Doc]) -> Series:
        out = cls()
        meta: dict[str, list[str]] = {}
        for doc in docs:
            period = _period_of(doc)
            if period is None:
                continue
            d = sub(doc, "d")
            if period[1] == 0:
                out.zeros[period[0]] = d
                merge_meta(meta, doc)
            else:
                out.months[period] = d
        out.meta = sort_meta(meta)
        return out

    def values(self, name: str) -> list[str]:
        return list(self.meta.get(name, []))

    def day(self, d: date) -> dict[str, Any]:
        return sub(self.months.get((d.year, d.month)), str(d.day))

    def hour(self, d: date, hour: int) -> dict[str, Any]:
        return sub(self.day(d), str(hour))

    def tile(self, t: Tile) -> dict[str, Any]:
        kind = t[0]
        if kind == "d":
            return self.day(t[1])
        zero = self.zeros.get(t[1])
        if kind == "y":
            return zero if isinstance(zero, dict) else {}
        if kind == "m":
            return sub(zero, str(t[2]))
        return sub(zero, f"w{t[2]}")

    def month_days(self, year: int, month: int) -> dict[str, Any]:
        return self.months.get((year, month)) or {}

    def total(self, days: Sequence[date], *path: str) -> int | float:
        """Sum of a summable value (`t`, `n`, `d`, `e`, `<value>.t`, …) over days."""
        return sum(number(self.day(d), *path) for d in days)

    def totals(self, days: Sequence[date], keys: Sequence[str]) -> dict[str, int | float]:
        """`total` of several top-level keys, in one pass over the days."""
        out: dict[str, int | float] = dict.fromkeys(keys, 0)
        for d in days:
            obj = self.day(d)
            if obj:
                for k in keys:
                    out[k] += number(obj, k)
        return out

    def has(self, days: Sequence[date], key: str) -> bool:
        return any(isinstance(self.day(d).get(key), dict) for d in days)

    def unique(self, start: date, end: date, *path: str, open_end: bool = False) -> int | float:
        """Estimated unique value over [start, end] (see the module docstring)."""
        exact = sum(number(self.tile(t), *path) for t in unique_tiles(start, end, open_end))
        cover = sum(number(self.tile(t), *path) for t in cover_tiles(start, end))
        return min(exact, cover)


# ---- tilings (pure) ----

def week_of(d: date) -> int:
    return math.ceil(d.timetuple().tm_yday / 7)


def week_bounds(d: date) -> tuple[date, date]:
    """First and last day of the write-side week holding `d` (week 53 is Dec 30/31 only)."""
    first = date(d.year, 1, 1) + timedelta(days=7 * (week_of(d) - 1))
    return first, min(first + timedelta(days=6), date(d.year, 12, 31))


def month_end(d: date) -> date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


@lru_cache(maxsize=1024)
def unique_tiles(start: date, end: date, open_end: bool = False) -> tuple[Tile, ...]:
    """The window as whole years, months, weeks and single days, largest first.

    With `open_end` a bucket may reach past `end` (the window ends today: nothing is later).
    """
    tiles: list[Tile] = []
    d = start
    while d <= end:
        year_end = date(d.year, 12, 31)
        if d.month == 1 and d.day == 1 and (open_end or year_end <= end):
            tiles.append(("y", d.year))
            d = year_end + timedelta(days=1)
            continue
        last = month_end(d)
        if d.day == 1 and (open_end or last <= end):
            tiles.append(("m", d.year, d.month))
            d = last + timedelta(days=1)
            continue
        first, last = week_bounds(d)
        if d == first and (open_end or last <= end):
            tiles.append(("w", d.year, week_of(d)))
            d = last + timedelta(days=1)
            continue
        tiles.append(("d", d))
        d += timedelta(days=1)
    return tuple(tiles)


@lru_cache(maxsize=1024)
def cover_tiles(start: date, end: date) -> tuple[Tile, ...]:
    """A coarser cover of the window (Countly's check ticks): the month of a day when at least
    about half of that month's remainder lies in the window, else its week."""
    tiles: list[Tile] = []
    d = start
    while d <= end:
        left = (end - d).days + 1
        days_in_month = calendar.monthrange(d.year, d.month)[1]
        if left >= days_in_month * 0.5 - d.day:
            tiles.append(("m", d.year, d.month))
            d = month_end(d) + timedelta(days=1)
        else:
            tiles.append(("w", d.year, week_of(d)))
            d = week_bounds(d)[1] + timedelta(days=1)
    return tuple(tiles)


def doc_ids(prefix: str, start: date, end: date) -> list[str]:
    """Zero doc ids of every year in [start, end], then its month doc ids (at most 2 per month)."""
    ids = [f"{prefix}{y}:0" for y in range(start.year, end.year + 1)]
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        ids.append(f"{prefix}{y}:{m}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return ids
