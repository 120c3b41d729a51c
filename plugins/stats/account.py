"""`/o/stats/account`: all-time totals across the member's apps (Flipsnack's user.getStats shape).

    GET /o/stats/account?api_key=…
    → {"code": 20, "status": "OK",
       "data": {"apps": 2, "sessions": 41, "users": 17, "new_users": 17, "time_spent": 5230,
                "events": 96, "requests": 310,
                "per_app": {"<app_id>": {"name": "Shop", "sessions": 30, "users": 12, …}, …}}}

`users` are distinct devices that ever had a session (a device_id used by several apps counts
once in the account total, once in each app); `new_users`, `sessions`, `requests`,
`time_spent` (seconds) and `events` (the counts of custom events, `[CLY]_` events excluded) are
sums over every month ever written.
"""
from __future__ import annotations

from typing import Any

from aiohttp import web

from plugins.activity.storage import ActivityStore
from plugins.stats.data import EVENT_FIELDS, USERS_KEYS
from plugins.stats.scope import readable_apps
from plugins.stats.storage import HistoryStore
from server.output import output
from server.params import read_params
from server.storage.apps import app_id_of

routes = web.RouteTableDef()
FIELDS = {"sessions": USERS_KEYS["sessions"], "new_users": USERS_KEYS["new_users"],
          "time_spent": USERS_KEYS["duration"], "requests": USERS_KEYS["requests"]}


def day_sum(docs: list[dict[str, Any]], key: str) -> int | float:
    """Sum of `d.<day>.<key>` over month documents (day level only: hours are not added again)."""
    total: int | float = 0
    for doc in docs:
        for day, obj in (doc.get("d") or {}).items():
            if str(day).isdigit() and isinstance(obj, dict):
                v = obj.get(key)
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    total += v
    return total


@routes.route("*", "/o/stats/account")
async def account(request: web.Request) -> web.Response:
    params = await read_params(request)
    apps = await readable_apps(request, params)
    history = HistoryStore(request.app)
    per_app: dict[str, dict[str, Any]] = {}
    for app in apps:
        app_id = app_id_of(app)
        months = await history.users_months(app_id)
        row: dict[str, Any] = {"name": app.get("name", "")}
        row.update({name: day_sum(months, key) for name, key in FIELDS.items()})
        events: int | float = 0
        for key in await history.event_keys(app_id):
            events += day_sum(await history.event_months(app_id, key), EVENT_FIELDS["count"])
        row["events"] = events
        per_app[app_id] = row
    users_total = 0
    users_app = [0] * len(apps)
    async for found in ActivityStore.of(request.app).merged([app_id_of(a) for a in apps], None, None):
        users_total += 1
        for n in found:
            users_app[n] += 1
    for n, app in enumerate(apps):
        per_app[app_id_of(app)]["users"] = users_app[n]
    totals: dict[str, Any] = {"apps": len(apps), "users": users_total}
    for name in (*FIELDS, "events"):
        totals[name] = sum(row[name] for row in per_app.values())
    totals["per_app"] = per_app
    return output(request, {"code": 20, "status": "OK", "data": totals})
