"""`/o/analytics/dashboard`, purely: the numbers, changes and top bars of one period window.

As Countly's `getSessionData` (users model) with `getDashboardData`:
* `t`, `n`, `d`, `e` are summed over the window's days, for it and for the previous window;
* `u` is estimated from the unique buckets (see `series.Series.unique`); when the window contains
  today and devices had a session start in it, the exact number of those devices replaces it and
  `is_estimate` is false (Countly's total-users correction). `is_estimate` is true only for
  `Ndays` and `[start, end]` windows that were not corrected;
* clamps (current window only): `u < n` → `n = u` when corrected, else `u = n`; `u > t` → `u = t`;
* `avg_time` = minutes per session, `avg_requests` = requests (`e`) per user, with their changes.

The top bars of platforms, resolutions and carriers are summed from the users docs' `top` day
objects (see `bars`), so the whole dashboard is read from the users collection.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from server.read.bars import metric_bars, time_bars, top_totals
from server.read.numbers import percent_change, time_string, to_fixed
from server.read.periods import Window
from server.read.series import Series
from server.read.windows import is_special, open_end, period_text, points

SUMMED = ("t", "n", "d", "e")
TOP_BARS = (("platforms", "os"), ("resolutions", "resolutions"), ("carriers", "carriers"))  # bar → metric set


def _item(total: Any, previous: float, current: float) -> dict[str, Any]:
    change, trend = percent_change(previous, current)
    return {"total": total, "change": change, "trend": trend}


def _ratio(a: float, b: float) -> float:
    return 0 if b == 0 else a / b


def numbers(users: Series, w: Window, exact_users: int | None) -> dict[str, Any]:
    """The `dashboard` object of a window; `exact_users` is the device count when it contains today."""
    prev = w.previous
    cur = users.totals(w.days, SUMMED)
    old = users.totals(prev.days, SUMMED)
    cur["u"] = users.unique(w.start, w.end, "u", open_end=open_end(w))
    old["u"] = users.unique(prev.start, prev.end, "u", open_end=open_end(prev))
    corrected = bool(exact_users) and w.contains_today
    if corrected:
        cur["u"] = exact_users or 0
    if cur["u"] < cur["n"]:
        if corrected:
            cur["n"] = cur["u"]
        else:
            cur["u"] = cur["n"]
    cur["u"] = min(cur["u"], cur["t"])

    avg_time = (_ratio(old["d"] / 60, old["t"]), _ratio(cur["d"] / 60, cur["t"]))
    avg_requests = (_ratio(old["e"], old["u"]), _ratio(cur["e"], cur["u"]))
    users_item = _item(cur["u"], old["u"], cur["u"])
    users_item["is_estimate"] = is_special(w) and not corrected
    return {
        "total_sessions": _item(cur["t"], old["t"], cur["t"]),
        "new_users": _item(cur["n"], old["n"], cur["n"]),
        "total_users": users_item,
        "total_time": _item(time_string(cur["d"] / 60), old["d"], cur["d"]),
        "avg_time": _item(time_string(avg_time[1]), *avg_time),
        "avg_requests": _item(to_fixed(avg_requests[1]), *avg_requests),
    }


def dashboard(users: Series, w: Window, exact_users: int | None, now_local: datetime) -> dict[str, Any]:
    totals = top_totals(users, w.days, [set_name for _, set_name in TOP_BARS])
    top = {bar: metric_bars(totals[set_name]) for bar, set_name in TOP_BARS}
    top["users"] = time_bars(points(users, w, ("t",)))
    return {"dashboard": numbers(users, w, exact_users), "top": top, "period": period_text(w, now_local)}
