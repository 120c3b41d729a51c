"""How a period window is shown: its kind, its time points and labels, its date-range text.

Countly splits periods into "special" ones (`Ndays`, `[start, end]`: summed day by day, unique
users estimated, time points are days labelled "D MMM") and bucket periods: `hour` (today, by
hour, "HH:mm"), `yesterday` (by hour, "D MMM, HH:mm"), `day` (this month, by day) and `month`
(this year, by month, "MMM").
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from server.read.numbers import MONTH_NAMES
from server.read.periods import NDAYS, Window
from server.read.series import Series, number
from server.timebuckets import zone

UNIQUE_KEYS = frozenset({"u"})


def is_special(w: Window) -> bool:
    return w.name == "range" or NDAYS.match(w.name) is not None


def open_end(w: Window) -> bool:
    """The window reaches today: buckets may extend past its end (nothing is stored later)."""
    return w.end >= w.today


def granularity(w: Window) -> str:
    if w.name in ("hour", "yesterday"):
        return "hour"
    if w.name == "month":
        return "month"
    return "day"


def day_label(d: date) -> str:
    return f"{d.day} {MONTH_NAMES[d.month - 1]}"


def period_text(w: Window, now_local: datetime) -> str:
    """Countly's `getDateRange`: "19 Aug - 17 Sep", "00:00 - 14:24", "Jan - Nov"."""
    if w.name == "hour":
        return f"00:00 - {now_local.hour:02d}:{now_local.minute:02d}"
    if w.name == "yesterday":
        return f"{day_label(w.start)}, 00:00 - {day_label(w.end)}, 23:59"
    if w.name == "month":
        return f"{MONTH_NAMES[w.start.month - 1]} - {MONTH_NAMES[w.end.month - 1]}"
    return f"{day_label(w.start)} - {day_label(w.end)}"


@dataclass(frozen=True)
class Point:
    """One time point of a window: `_id` text, bar label, and the values of the wanted keys."""

    id: str
    label: str
    values: dict[str, int | float]


def _months(w: Window) -> list[tuple[int, int, list[date]]]:
    out: list[tuple[int, int, list[date]]] = []
    for d in w.days:
        if not out or (out[-1][0], out[-1][1]) != (d.year, d.month):
            out.append((d.year, d.month, []))
        out[-1][2].append(d)
    return out


def points(series: Series, w: Window, keys: Sequence[str]) -> list[Point]:
    """The window's time points in order, with `keys` read (hours, days) or summed (months).

    Unique keys of a month come from the zero doc's month bucket, never from summed days.
    """
    g = granularity(w)
    out: list[Point] = []
    if g == "hour":
        d = w.start
        for h in range(24):
            obj = series.hour(d, h)
            label = f"{h:02d}:00" if w.name == "hour" else f"{day_label(d)}, {h:02d}:00"
            out.append(Point(f"{d.year}-{d.month}-{d.day} {h}:00", label, {k: number(obj, k) for k in keys}))
    elif g == "month":
        for y, m, days in _months(w):
            values = {k: (number(series.tile(("m", y, m)), k) if k in UNIQUE_KEYS else series.total(days, k))
                      for k in keys}
            out.append(Point(f"{y}-{m}", MONTH_NAMES[m - 1], values))
    else:
        for d in w.days:
            obj = series.day(d)
            out.append(Point(f"{d.year}-{d.month}-{d.day}", day_label(d), {k: number(obj, k) for k in keys}))
    return out


def local_now(now: float, tz: str) -> datetime:
    return datetime.fromtimestamp(now, zone(tz))
