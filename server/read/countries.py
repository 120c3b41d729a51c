"""Per-value tables (`/o/analytics/countries`, `/o/analytics/metric`) of one window, purely.

Each value seen in the window gets `t` and `n` summed over its days and `u` either exact (the
number of devices with that value whose last session started in the window, when the window
contains today and such devices exist) or estimated from the unique buckets; `u` is then kept
within [n, t]. Countries carry their English name (pycountry) and lower-case code.
"""
from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import pycountry

from server.read.periods import Window
from server.read.series import Series
from server.read.windows import open_end

UNKNOWN = "Unknown"
MAX_COUNTRIES = 10
Row = dict[str, Any]


@lru_cache(maxsize=512)
def country_name(code: str) -> str:
    if len(code) != 2 or not code.isalpha():
        return UNKNOWN
    try:
        found = pycountry.countries.get(alpha_2=code.upper())
    except (KeyError, LookupError):
        found = None
    return str(found.name) if found is not None else UNKNOWN


def value_rows(series: Series, values: list[str], w: Window,
               exact: Mapping[str, int] | None) -> list[tuple[str, int | float, int | float, int | float]]:
    """(value, t, n, u) of every value with data in the window, by u descending (stable)."""
    days = w.days
    rows = []
    for v in values:
        if not series.has(days, v):
            continue
        t = series.total(days, v, "t")
        n = series.total(days, v, "n")
        if exact is not None and v in exact:
            u: int | float = exact[v]
        else:
            u = series.unique(w.start, w.end, v, "u", open_end=open_end(w))
        u = min(max(u, n), t)
        if t or n or u:
            rows.append((v, t, n, u))
    rows.sort(key=lambda r: -r[3])
    return rows


def countries(users: Series, w: Window, exact: Mapping[str, int] | None) -> list[Row]:
    """Top 10 countries by users, then ordered by new users (Countly's `getLocationData`)."""
    values = sorted(users.values("countries"), key=lambda c: (country_name(c), c))
    rows = value_rows(users, values, w, exact)[:MAX_COUNTRIES]
    rows.sort(key=lambda r: -r[2])
    return [{"country": country_name(v), "code": v.lower(), "t": t, "u": u, "n": n} for v, t, n, u in rows]


def metric_table(series: Series, meta_name: str, w: Window, exact: Mapping[str, int] | None) -> list[Row]:
    """`[{_id, t, n, u}]` of a metric's values (Countly's `getMetric`)."""
    return [{"_id": v, "t": t, "n": n, "u": u} for v, t, n, u in value_rows(series, series.values(meta_name), w, exact)]
