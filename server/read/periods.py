"""Pure period windows in an app's timezone (Countly's `period` parameter).

`30days` (default), `Ndays`, `hour` (today), `day` (this month so far), `month` (this year so
far), `yesterday`, or `[start_ms, end_ms]` (JSON). Each window has a previous window of the same
length, used for `change`/`trend`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property

import orjson

from server.errors import BadRequest
from server.timebuckets import days_between, local_midnight, today, zone

NDAYS = re.compile(r"^(\d{1,4})days$")
MAX_DAYS = 3660


@dataclass(frozen=True)
class Window:
    name: str
    start: date
    end: date          # inclusive
    today: date

    @cached_property
    def days(self) -> tuple[date, ...]:
        """Every day of the window, in order (computed once: reports walk them many times)."""
        return tuple(days_between(self.start, self.end))

    @property
    def length(self) -> int:
        return (self.end - self.start).days + 1

    @cached_property
    def previous(self) -> Window:
        end = self.start - timedelta(days=1)
        return Window(self.name, end - timedelta(days=self.length - 1), end, self.today)

    @property
    def contains_today(self) -> bool:
        return self.start <= self.today <= self.end

    def months(self) -> list[tuple[int, int]]:
        """(year, month) of every month the window touches, in order."""
        out: list[tuple[int, int]] = []
        for d in (self.start, *(x for x in self.days if x.day == 1)):
            if (d.year, d.month) not in out:
                out.append((d.year, d.month))
        return out

    def years(self) -> list[int]:
        return sorted({y for y, _ in self.months()})

    def bounds(self, tz: str) -> tuple[float, float]:
        """[first instant, first instant after) of the window, epoch seconds."""
        z = zone(tz)
        return local_midnight(self.start, z), local_midnight(self.end + timedelta(days=1), z)


def _range_day(value: object, tz: str) -> date:
    """A `[start, end]` item: ms or s timestamps (10 digits are seconds), or "DD-MM-YYYY"."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return today(tz, value if value < 1e11 else value / 1000.0)
    if isinstance(value, str):
        try:
            return datetime.strptime(value, "%d-%m-%Y").date()
        except ValueError:
            pass
    raise BadRequest('Invalid parameter "period"')


def parse_period(raw: object, tz: str, now: float) -> Window:
    t = today(tz, now)
    if raw is None or raw == "":
        raw = "30days"
    if isinstance(raw, str):
        m = NDAYS.match(raw)
        if m:
            n = int(m.group(1))
            if not 1 <= n <= MAX_DAYS:
                raise BadRequest('Invalid parameter "period"')
            return Window(raw, t - timedelta(days=n - 1), t, t)
        if raw == "hour":
            return Window(raw, t, t, t)
        if raw == "yesterday":
            y = t - timedelta(days=1)
            return Window(raw, y, y, t)
        if raw == "day":
            return Window(raw, t.replace(day=1), t, t)
        if raw == "month":
            return Window(raw, t.replace(month=1, day=1), t, t)
        if raw.startswith("["):
            try:
                raw = orjson.loads(raw)
            except orjson.JSONDecodeError:
                raise BadRequest('Invalid parameter "period"') from None
    if isinstance(raw, list) and len(raw) == 2:
        start, end = (_range_day(x, tz) for x in raw)
        if end < start or (end - start).days >= MAX_DAYS:
            raise BadRequest('Invalid parameter "period"')
        return Window("range", start, end, t)
    raise BadRequest('Invalid parameter "period"')
