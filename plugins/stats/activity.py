"""`/o/stats/activity`: environment activity in the shape of seed 004 (users and per-app scopes).

    GET /o/stats/activity?api_key=…[&app_id=… | &app_ids=[…]]&from=2024-11-01&to=2024-11-07[&breakdown=true]
    → {"users": {
         "total_users": [{"year": 2024, "month": 11, "day": 1, "count": 40}, …],
         "monthly_active_users": [{"year": 2024, "month": 11, "count": 31}],
         "daily_active_users": {
           "per_day": [{"year": 2024, "month": 11, "day": 1, "count": 7}, …],
           "per_week": [{"year": 2024, "week": 44, "count": 15}, …],
           "per_month": [{"year": 2024, "month": 11, "count": 19}]}},
       "apps": {…the same lists, each row {"year", "month"[, "day" | "week"], "<app_id>": count, …}}}

Without `app_id`/`app_ids`: every app the member may read. `apps` only with breakdown=true.
- `total_users`: distinct devices first active on or before that day (all time, not from `from`);
- `monthly_active_users`: distinct devices active in the 30 days ending on the month's last
  day, or on `to` for the last month of the range;
- `daily_active_users.per_day|per_week|per_month`: distinct devices active that day, ISO
  week, calendar month (weeks and months are cut to the range).
A device_id seen in several apps is one user in `users`.
"""
from __future__ import annotations

from typing import Any

from aiohttp import web

from plugins.activity.days import Counts
from plugins.stats import data
from plugins.stats.scope import DayRange, apps_of, day_range, flag, timezone_of
from server import keys
from server.output import output
from server.params import read_params
from server.storage.apps import app_id_of

routes = web.RouteTableDef()


def lists(rng: DayRange, counts: data.UserCounts, of: Counts) -> dict[str, Any]:
    """The four lists of one scope as {key: [(row labels, count)]}."""
    days = rng.days
    n_weeks = len(counts.weeks)
    rolling = of.rolling
    return {
        "total_users": [({"year": d.year, "month": d.month, "day": d.day}, c) for d, c in zip(days, of.total)],
        "monthly_active_users": [({"year": y, "month": m}, rolling[last - rng.lo])
                                 for y, m, _first, last in counts.months],
        "per_day": [({"year": d.year, "month": d.month, "day": d.day}, c) for d, c in zip(days, of.daily)],
        "per_week": [({"year": y, "week": w}, of.groups[j]) for j, (y, w, _a, _b) in enumerate(counts.weeks)],
        "per_month": [({"year": y, "month": m}, of.groups[n_weeks + j])
                      for j, (y, m, _a, _b) in enumerate(counts.months)],
    }


def shaped(parts: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {"total_users": parts["total_users"], "monthly_active_users": parts["monthly_active_users"],
            "daily_active_users": {k: parts[k] for k in ("per_day", "per_week", "per_month")}}


@routes.route("*", "/o/stats/activity")
async def activity(request: web.Request) -> web.Response:
    params = await read_params(request)
    apps = await apps_of(request, params)
    breakdown = flag(params, "breakdown")
    tz = timezone_of(request, apps[0]) if apps else request.app[keys.SETTINGS].default_timezone
    rng = day_range(request, params, tz)
    counts = await data.user_counts(request.app, apps, rng, all_time=True, per_app=breakdown)
    total = lists(rng, counts, counts.total)
    body: dict[str, Any] = {"users": shaped({k: [{**labels, "count": c} for labels, c in rows]
                                             for k, rows in total.items()})}
    if breakdown:
        per_app = [lists(rng, counts, c) for c in counts.apps]
        merged: dict[str, list[dict[str, Any]]] = {}
        for key, rows in total.items():
            merged[key] = []
            for k, (labels, _c) in enumerate(rows):
                row = dict(labels)
                for app, one in zip(apps, per_app):
                    row[app_id_of(app)] = one[key][k][1]
                merged[key].append(row)
        body["apps"] = shaped(merged)
    return output(request, body)



