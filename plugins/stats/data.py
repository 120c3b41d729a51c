"""Per-day numbers from the core's bucket documents and exact user counts from activity.

Additive numbers (sessions `t`, new users `n`, requests `e`, time spent `d`, event `c`/`s`/
`dur`) are read from the day level of the month documents and may be summed over days and apps.
User numbers never are: they come from `plugins.activity` (`Counts`), one pass over the devices.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from aiohttp import web

from plugins.activity.days import Counts, day_of, iso_weeks, months
from plugins.activity.storage import ActivityStore
from plugins.stats.scope import DayRange
from server import keys
from server.mongo import event_collection_name
from server.storage.aggregates import AggregateStore
from server.storage.apps import App, app_id_of

# daily-stat field → short key of the `users` month documents
USERS_KEYS = {"sessions": "t", "new_users": "n", "requests": "e", "duration": "d"}
EVENT_FIELDS = {"count": "c", "sum": "s", "dur": "dur"}
Number = int | float
DayValues = dict[date, dict[str, Number]]


def store_of(app: web.Application) -> AggregateStore:
    return AggregateStore(app[keys.DB], app[keys.STATS])


def day_values(docs: Iterable[dict[str, Any]], wanted: Iterable[str]) -> DayValues:
    """{date: {key: value}} from month documents (`m` "YYYY:M", `d.<day>.<key>`); zero docs skipped."""
    keys_ = tuple(wanted)
    out: DayValues = {}
    for doc in docs:
        m = doc.get("m")
        if not isinstance(m, str) or ":" not in m:
            continue
        year, month = m.split(":", 1)
        if month == "0" or not (year.isdigit() and month.isdigit()):
            continue
        for day, obj in (doc.get("d") or {}).items():
            if not isinstance(obj, dict) or not str(day).isdigit():
                continue
            try:
                when = date(int(year), int(month), int(day))
            except ValueError:
                continue
            values = out.setdefault(when, {})
            for k in keys_:
                v = obj.get(k)
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    values[k] = values.get(k, 0) + v
    return out


def month_ids(prefix: str, rng: DayRange) -> list[str]:
    return [f"{prefix}{y}:{m}" for y, m in rng.months()]


async def users_days(app: web.Application, app_id: str, rng: DayRange) -> DayValues:
    docs = await store_of(app).find("users", month_ids(f"{app_id}_", rng))
    return day_values(docs, USERS_KEYS.values())


async def event_days(app: web.Application, app_id: str, key: str, rng: DayRange) -> DayValues:
    docs = await store_of(app).find(event_collection_name(app_id, key), month_ids("no-segment_", rng))
    return day_values(docs, EVENT_FIELDS.values())


def series(values: DayValues, key: str, rng: DayRange) -> list[Number]:
    return [values.get(d, {}).get(key, 0) for d in rng.days]


def cumulative(values: Sequence[Number]) -> list[Number]:
    out: list[Number] = []
    acc: Number = 0
    for v in values:
        acc += v
        out.append(acc)
    return out


@dataclass
class UserCounts:
    """Exact user numbers over a day range: overall (devices merged across apps) and per app."""

    total: Counts
    apps: list[Counts] = field(default_factory=list)
    weeks: list[tuple[int, int, int, int]] = field(default_factory=list)
    months: list[tuple[int, int, int, int]] = field(default_factory=list)


async def user_counts(app: web.Application, apps: Sequence[App], rng: DayRange, *, window: int = 30,
                      all_time: bool = False, per_app: bool = False) -> UserCounts:
    """One pass over the activity of the apps' devices.

    Reads the devices active from `window - 1` days before the range to its end (all devices up
    to the end with `all_time`, for `Counts.total`).
    """
    weeks, mons = iso_weeks(rng.lo, rng.hi), months(rng.lo, rng.hi)
    spans = [(a, b) for *_, a, b in weeks] + [(a, b) for *_, a, b in mons]

    def new() -> Counts:
        return Counts(rng.lo, rng.hi, window=window, groups=spans)

    result = UserCounts(new(), [new() for _ in apps] if per_app else [], weeks, mons)
    lo = None if all_time else rng.lo - (window - 1)
    store = ActivityStore.of(app)
    async for found in store.merged([app_id_of(a) for a in apps], lo, rng.hi):
        every: list[int] = []
        for n, days in found.items():
            every.extend(days)
            if per_app:
                result.apps[n].add(days)
        result.total.add(every)
    return result


def by_day(values: Iterable[DayValues]) -> DayValues:
    """Sum several apps' per-day additive values."""
    out: DayValues = defaultdict(dict)
    for one in values:
        for d, kv in one.items():
            target = out[d]
            for k, v in kv.items():
                target[k] = target.get(k, 0) + v
    return dict(out)


def day_index(rng: DayRange, d: date) -> int:
    return day_of(d) - rng.lo
