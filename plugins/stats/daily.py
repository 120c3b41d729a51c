"""Daily statistics in Capgo's shape: per app, for a list of apps, for every readable app.

    GET /o/stats/app?api_key=…&app_id=…&from=2024-11-01&to=2024-11-07[&noAccumulate=true]
    GET /o/stats/apps?api_key=…&app_ids=["…","…"]&from=…&to=…[&breakdown=true][&noAccumulate=true]
    GET /o/stats/user?api_key=…&from=…&to=…[&breakdown=true][&noAccumulate=true]
    → [{"date": "2024-11-01", "mau": 12, "users": 5, "new_users": 2, "sessions": 9, "requests": 40,
        "duration": 315}, …]
    with breakdown=true → {"total": [rows], "apps": {"<app_id>": [rows], …}}

    GET /o/stats/app/bundle_usage?api_key=…&app_id=…&from=…&to=…
    → {"labels": ["2024-11-01", …], "datasets": [{"label": "1.2.3", "data": [60.5, …]}, …]}

Fields: `mau` distinct devices active in the 30 days ending that day; `users` distinct devices
active that day (with accumulation: from `from` through that day); `new_users`, `sessions`,
`requests`, `duration` (seconds) that day (with accumulation: running sums from `from`).
Across apps a device_id seen in several apps is one user. `noAccumulate` defaults to false.
`bundle_usage`: each app version's share (percent, 2 decimals) of the version-tagged daily users.
"""
from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from plugins.stats import data
from plugins.stats.scope import DayRange, day_range, flag, listed_apps, one_app, readable_apps, timezone_of
from server import keys
from server.output import output
from server.params import Params, read_params
from server.storage.apps import App, app_id_of

routes = web.RouteTableDef()


def rows(rng: DayRange, values: data.DayValues, users: Any, accumulate: bool) -> list[dict[str, Any]]:
    """The rows of one scope: `users` is that scope's `Counts`."""
    out: list[dict[str, Any]] = [{"date": d.isoformat()} for d in rng.days]
    mau, daily = users.rolling, (users.running if accumulate else users.daily)
    for k, row in enumerate(out):
        row["mau"] = mau[k]
        row["users"] = daily[k]
    for name, key in data.USERS_KEYS.items():
        column = data.series(values, key, rng)
        if accumulate:
            column = data.cumulative(column)
        for row, v in zip(out, column):
            row[name] = v
    return out


async def daily_stats(request: web.Request, params: Params, apps: list[App], breakdown: bool) -> Any:
    accumulate = not flag(params, "noAccumulate")
    tz = timezone_of(request, apps[0]) if apps else request.app[keys.SETTINGS].default_timezone
    rng = day_range(request, params, tz)
    per_app = [await data.users_days(request.app, app_id_of(a), rng) for a in apps]
    counts = await data.user_counts(request.app, apps, rng, per_app=breakdown)
    total = rows(rng, data.by_day(per_app), counts.total, accumulate)
    if not breakdown:
        return total
    return {"total": total,
            "apps": {app_id_of(a): rows(rng, per_app[n], counts.apps[n], accumulate) for n, a in enumerate(apps)}}


@routes.route("*", "/o/stats/app")
async def app_stats(request: web.Request) -> web.Response:
    params = await read_params(request)
    app = await one_app(request, params)
    return output(request, await daily_stats(request, params, [app], False))


@routes.route("*", "/o/stats/apps")
async def apps_stats(request: web.Request) -> web.Response:
    params = await read_params(request)
    apps = await listed_apps(request, params)
    return output(request, await daily_stats(request, params, apps, flag(params, "breakdown")))


@routes.route("*", "/o/stats/user")
async def user_stats(request: web.Request) -> web.Response:
    params = await read_params(request)
    apps = await readable_apps(request, params)
    return output(request, await daily_stats(request, params, apps, flag(params, "breakdown")))


def version_label(value: str) -> str:
    """An escaped app version back to its text: "1:2:3" → "1.2.3"."""
    return value.replace(":", ".")


def version_key(label: str) -> list[tuple[int, Any]]:
    return [(0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"[.\-+]", label)]


def shares(counts: dict[str, int | float]) -> dict[str, float]:
    total = sum(counts.values())
    return {k: round(v * 100.0 / total, 2) for k, v in counts.items()} if total else {}


@routes.route("*", "/o/stats/app/bundle_usage")
async def bundle_usage(request: web.Request) -> web.Response:
    params = await read_params(request)
    app = await one_app(request, params)
    rng = day_range(request, params, timezone_of(request, app))
    app_id = app_id_of(app)
    store = data.store_of(request.app)
    zero = await store.find("device_details", [f"{app_id}_{y}:0" for y in sorted({d.year for d in rng.days})])
    versions: list[str] = []
    for doc in zero:
        for v in ((doc.get("meta_v2") or {}).get("app_versions") or {}):
            if v not in versions:
                versions.append(v)
    docs = await store.find("device_details", data.month_ids(f"{app_id}_", rng))
    per_day: dict[Any, dict[str, Any]] = {}
    for doc in docs:
        m = str(doc.get("m", ""))
        if ":" not in m or m.endswith(":0"):
            continue
        year, month = (int(x) for x in m.split(":"))
        for day, obj in (doc.get("d") or {}).items():
            if isinstance(obj, dict) and str(day).isdigit():
                per_day[(year, month, int(day))] = obj
    daily_shares = []
    for d in rng.days:
        obj = per_day.get((d.year, d.month, d.day), {})
        counts = {v: obj[v]["u"] for v in versions
                  if isinstance(obj.get(v), dict) and isinstance(obj[v].get("u"), (int, float)) and obj[v]["u"] > 0}
        daily_shares.append(shares(counts))
    used = [v for v in versions if any(v in s for s in daily_shares)]
    used.sort(key=lambda v: version_key(version_label(v)))
    return output(request, {
        "labels": [d.isoformat() for d in rng.days],
        "datasets": [{"label": version_label(v), "data": [s.get(v, 0) for s in daily_shares]} for v in used],
    })

