"""Top-3 bars (`{"name", "value", "percent"}`) as Countly's dashboard computes them.

Metric bars (`extractBarData`): every value with sessions in the window, sorted by sessions
(ties in ascending name order); each percent is of the total over all values, rounded to one
decimal; the rounding error is added to the first value when the percents sum below 100, or to
the last value (of all, before the cut) when above; then the top 3 are kept.

The dashboard's metric bars (platforms = set `os`, resolutions, carriers) come from the users
docs: a counted session adds `d.<day>.top.<set>.<value>` there for the values the metric limit
lets into `device_details`/`carriers`, which equals their `<value>.t`, so the sums are the same.

Time bars (`getBars` of the users model, the `top.users` of the dashboard): the window's time
points with sessions, top 3 by sessions (ties keep time order); integer percents of the top 3's
total, floored, the last one taking the remainder so they sum to 100.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import Any

from server.ingest.metrics import TOP_KEY
from server.read.numbers import js_round, plain
from server.read.series import Series
from server.read.windows import Point

Bar = dict[str, Any]
MAX_ITEMS = 3


def metric_bars(totals: Sequence[tuple[str, int | float]], max_items: int = MAX_ITEMS) -> list[Bar]:
    items = sorted(((name, value) for name, value in totals if value), key=lambda x: (-x[1], x[0]))
    if not items:
        return []
    total = sum(value for _, value in items)
    percents = [0.0] * len(items)
    summed = 0.0
    for i in range(len(items) - 1, -1, -1):  # Countly adds them up from the last one
        percents[i] = js_round(items[i][1] / total * 100, 1)
        summed += percents[i]
    fix = len(items) - 1 if summed > 100 else 0
    percents[fix] = js_round(percents[fix] + 100 - summed, 1)
    return [{"name": name, "value": plain(value), "percent": plain(percents[i])}
            for i, (name, value) in enumerate(items[:max_items])]


def value_totals(series: Series, values: Sequence[str], days: Sequence[Any], key: str = "t"
                 ) -> list[tuple[str, int | float]]:
    """(value, sum of `<value>.<key>` over the days) for each value."""
    return [(v, series.total(days, v, key)) for v in values]


def top_totals(users: Series, days: Sequence[date], sets: Sequence[str]) -> dict[str, list[tuple[str, int | float]]]:
    """Per metric set, (value, sessions over the days) of each value in the users docs'
    `top.<set>` day objects (one pass over the days for all the sets)."""
    totals: dict[str, dict[str, int | float]] = {s: {} for s in sets}
    for d in days:
        top = users.day(d).get(TOP_KEY)
        if not isinstance(top, dict):
            continue
        for set_name, counts in top.items():
            into = totals.get(set_name)
            if into is None or not isinstance(counts, dict):
                continue
            for value, n in counts.items():
                if isinstance(n, (int, float)) and not isinstance(n, bool):
                    into[value] = into.get(value, 0) + n
    return {s: list(t.items()) for s, t in totals.items()}


def time_bars(points: Sequence[Point], key: str = "t", max_items: int = MAX_ITEMS) -> list[Bar]:
    ranked = sorted((p for p in points if p.values.get(key)), key=lambda p: -p.values[key])[:max_items]
    top = sum(p.values[key] for p in ranked)
    bars: list[Bar] = []
    given = 0
    for i, p in enumerate(ranked):
        percent = math.floor(p.values[key] / top * 100)
        given += percent
        if i == len(ranked) - 1:
            percent += 100 - given
        bars.append({"name": p.label, "value": plain(p.values[key]), "percent": percent})
    return bars
