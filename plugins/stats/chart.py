"""`/o/stats/chart`: daily series ready for HighCharts, in AntiCaptcha's getAppStats shape.

    GET /o/stats/chart?api_key=…&app_id=…&metric=sessions,users&from=2024-10-09&to=2024-11-07
    → {"errorId": 0,
       "chartData": [{"name": "Sessions", "data": [{"date": "9 October", "shortdate": "9 Oct", "value": 3}, …]},
                     {"name": "Users", "data": […]}],
       "fromDate": "9 Oct 00:00", "toDate": "7 Nov 17:20"}

`metric`: one or more (comma-separated) of sessions, users, new_users, duration, requests,
event (with `event=<key>` and `event_field=count|sum|dur`, default count). `users` are exact
distinct devices per day (activity plugin); the others are the day's sums. `toDate` is 23:59 of
`to`, or the current local time when `to` is today.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from aiohttp import web

from plugins.stats import data
from plugins.stats.scope import DayRange, day_range, one_app, timezone_of
from server import keys
from server.errors import BadRequest
from server.ingest import clean
from server.output import output
from server.params import read_params
from server.storage.apps import app_id_of
from server.timebuckets import zone

routes = web.RouteTableDef()

NAMES = {"sessions": "Sessions", "users": "Users", "new_users": "New users",
         "duration": "Time spent (seconds)", "requests": "Requests"}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")


def long_date(d: date) -> str:
    return f"{d.day} {MONTHS[d.month - 1]}"


def short_date(d: date) -> str:
    return f"{d.day} {MONTHS[d.month - 1][:3]}"


def points(rng: DayRange, values: list[Any]) -> list[dict[str, Any]]:
    return [{"date": long_date(d), "shortdate": short_date(d), "value": v} for d, v in zip(rng.days, values)]


def until(rng: DayRange, now: float, tz: str) -> str:
    if rng.end == rng.today:
        return f"{short_date(rng.end)} {datetime.fromtimestamp(now, zone(tz)):%H:%M}"
    return f"{short_date(rng.end)} 23:59"


def metrics_of(text: str | None) -> list[str]:
    wanted = [m.strip() for m in (text or "sessions").split(",") if m.strip()]
    if not wanted or any(m not in NAMES and m != "event" for m in wanted):
        raise BadRequest('Invalid parameter "metric"')
    return list(dict.fromkeys(wanted))


@routes.route("*", "/o/stats/chart")
async def chart(request: web.Request) -> web.Response:
    params = await read_params(request)
    app = await one_app(request, params)
    wanted = metrics_of(params.text("metric"))
    event = params.text("event")
    field = params.text("event_field") or "count"
    if "event" in wanted:
        if not event:
            raise BadRequest('Missing parameter "event"')
        event = clean.event_key(event)
        if event is None:
            raise BadRequest('Invalid parameter "event"')
        if field not in data.EVENT_FIELDS:
            raise BadRequest('Invalid parameter "event_field"')
    tz = timezone_of(request, app)
    rng = day_range(request, params, tz)
    app_id = app_id_of(app)
    series: list[dict[str, Any]] = []
    users_days = await data.users_days(request.app, app_id, rng) if set(wanted) & set(data.USERS_KEYS) else {}
    for metric in wanted:
        if metric == "users":
            counts = await data.user_counts(request.app, [app], rng)
            values: list[Any] = counts.total.daily
            name = NAMES[metric]
        elif metric == "event":
            assert event is not None
            ev = await data.event_days(request.app, app_id, event, rng)
            values = data.series(ev, data.EVENT_FIELDS[field], rng)
            name = event if field == "count" else f"{event} ({field})"
        else:
            values = data.series(users_days, data.USERS_KEYS[metric], rng)
            name = NAMES[metric]
        series.append({"name": name, "data": points(rng, values)})
    return output(request, {"errorId": 0, "chartData": series, "fromDate": f"{short_date(rng.start)} 00:00",
                            "toDate": until(rng, request.app[keys.CLOCK](), tz)})
