"""`/o/analytics/*` (contract §7): routing, authentication and the reads each report needs.

Order of checks: `app_id`/`user_id` length, the sub-path, `app_id` present, `validate_read`, then
the report's own parameters. Each report fetches the few bucket documents covering its windows
with one query per collection (zero doc per year + month doc per month) and, for windows that
contain today, counts devices by their last session start for exact unique users.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from aiohttp import web

from server import keys
from server.auth import check_id_params, validate_read
from server.errors import BadRequest
from server.ingest import clean
from server.mongo import event_collection_name
from server.output import output
from server.params import Params, read_params
from server.read import analytics
from server.read.countries import countries, metric_table
from server.read.dashboard import dashboard
from server.read.periods import Window, parse_period
from server.read.series import Series, doc_ids
from server.read.windows import local_now
from server.storage.aggregates import AggregateStore
from server.storage.apps import App, app_id_of

routes = web.RouteTableDef()

INVALID_PATH = ("Invalid path, must be one of /dashboard, /countries, /sessions, /metric, /tops, /frequency, "
                "/durations, /events")
NO_METRIC = "Must provide metric"
NO_EVENT = "Must provide event or events"
BAD_EVENTS = "Must provide valid array with event keys as events param."
DEFAULT_WINDOWS = (("30days", "30days"), ("7days", "7days"), ("today", "hour"))


@dataclass
class Read:
    """One authenticated analytics request and the reads it may make."""

    request: web.Request
    params: Params
    app: App
    app_id: str
    tz: str
    now: float

    @property
    def store(self) -> AggregateStore:
        return AggregateStore(self.request.app[keys.DB], self.request.app[keys.STATS])

    def window(self, raw: Any = None) -> Window:
        return parse_period(self.params.get("period") if raw is None else raw, self.tz, self.now)

    async def series(self, collection: str, start: date, end: date) -> Series:
        """The collection's zero and month docs covering [start, end], in one query."""
        return Series.of(await self.store.find(collection, doc_ids(f"{self.app_id}_", start, end)))

    async def exact_users(self, w: Window) -> int | None:
        """Devices whose last session started in the window (only for windows containing today)."""
        if not w.contains_today:
            return None
        start, end = w.bounds(self.tz)
        return await self.request.app[keys.DEVICES].count(self.app_id, {"ls": {"$gte": start, "$lt": end}})

    async def exact_groups(self, w: Window, field: str) -> dict[str, int] | None:
        """Those devices counted per value of a device field (e.g. `cc` → country)."""
        if not w.contains_today:
            return None
        start, end = w.bounds(self.tz)
        query: dict[str, Any] = {"ls": {"$gte": start, "$lt": end}}
        if field == "cty" and self.app.get("country"):
            query["cc"] = self.app["country"]  # cities are only counted in the app's own country
        groups = await self.request.app[keys.DEVICES].group_count(self.app_id, query, field)
        return {str(g["_id"]): int(g["u"]) for g in groups if g.get("_id") is not None}


Report = Callable[[Read], Awaitable[Any]]


def _period_key(raw: Any) -> str:
    return raw if isinstance(raw, str) else orjson.dumps(raw).decode()


async def read_dashboard(r: Read) -> dict[str, Any]:
    raw = r.params.get("period")
    if raw in (None, "", "30days"):
        windows = [(key, r.window(period)) for key, period in DEFAULT_WINDOWS]
    else:
        windows = [(_period_key(raw), r.window(raw))]
    first = min(w.previous.start for _, w in windows)
    last = max(w.end for _, w in windows)
    # the users docs hold the top bars too (see server.read.dashboard): one bucket query in all
    users, exact = await asyncio.gather(r.series("users", first, last),
                                        asyncio.gather(*(r.exact_users(w) for _, w in windows)))
    now_local = local_now(r.now, r.tz)
    return {key: dashboard(users, w, n, now_local) for (key, w), n in zip(windows, exact)}


async def read_countries(r: Read) -> dict[str, Any]:
    windows = [(key, r.window(period)) for key, period in DEFAULT_WINDOWS]
    users = await r.series("users", min(w.start for _, w in windows), max(w.end for _, w in windows))
    exact = await asyncio.gather(*(r.exact_groups(w, "cc") for _, w in windows))
    return {key: countries(users, w, groups) for (key, w), groups in zip(windows, exact)}


async def read_sessions(r: Read) -> list[dict[str, Any]]:
    w = r.window()
    return analytics.sessions(await r.series("users", w.start, w.end), w)


async def read_metric(r: Read) -> list[dict[str, Any]]:
    name = r.params.text("metric")
    if not name:
        raise BadRequest(NO_METRIC)
    spec = analytics.METRICS.get(name)
    w = r.window()
    if spec is None:
        return []
    series = await r.series(spec.collection, w.start, w.end)
    return metric_table(series, spec.meta, w, await r.exact_groups(w, spec.field))


async def read_tops(r: Read) -> Any:
    w = r.window()
    cache: dict[str, Series] = {}

    async def bars(metric: str) -> list[dict[str, Any]]:
        collection = analytics.METRICS[metric].collection
        if collection not in cache:
            cache[collection] = await r.series(collection, w.start, w.end)
        return analytics.bars_of(cache[collection], metric, w)

    one = r.params.text("metric")
    if one:
        return await bars(one) if one in analytics.METRICS else []
    many = r.params.get("metrics")
    if many is not None:
        names = _json_list(many)
        return {m: await bars(m) for m in (names or []) if isinstance(m, str) and m in analytics.METRICS}
    return {m: await bars(m) for m in analytics.TOPS}


async def read_frequency(r: Read) -> list[dict[str, Any]]:
    w = r.window()
    return analytics.ranges(await r.series("users", w.start, w.end), w, "f")


async def read_durations(r: Read) -> list[dict[str, Any]]:
    w = r.window()
    return analytics.ranges(await r.series("users", w.start, w.end), w, "ds")


def _json_list(raw: Any) -> list[Any] | None:
    """A JSON array parameter (a JSON string becomes a one-item list); None when it is not one."""
    value = raw
    if isinstance(raw, str):
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
    if isinstance(value, str):
        return [value]
    return value if isinstance(value, list) else None


async def _event(r: Read, raw_key: Any, w: Window) -> list[dict[str, Any]]:
    text = raw_key if isinstance(raw_key, str) else orjson.dumps(raw_key).decode()
    key = clean.event_key(text) or text
    collection = event_collection_name(r.app_id, key)
    segmentation = r.params.text("segmentation")
    segment = clean.segment_key(segmentation) if segmentation and segmentation != "no-segment" else None
    ids = [i for i in doc_ids("no-segment_", w.start, w.end) if i.endswith(":0")]
    month_prefix = f"{segment}_" if segment else "no-segment_"
    ids += [i for i in doc_ids(month_prefix, w.start, w.end) if not i.endswith(":0")]
    series = Series.of(await r.store.find(collection, ids))
    if segment:
        return analytics.event_segments(series, w, segment)
    return analytics.event_points(series, w)


async def read_events(r: Read) -> Any:
    event = r.params.get("event")
    raw_events = r.params.get("events")
    if isinstance(event, str) and event:
        return await _event(r, event, r.window())
    if raw_events is not None and raw_events != "" and raw_events != []:
        names = _json_list(raw_events)
        if names is None:
            raise BadRequest(BAD_EVENTS)
        w = r.window()
        out: dict[str, Any] = {}
        for name in names:
            label = name if isinstance(name, str) else orjson.dumps(name).decode()
            out[label] = await _event(r, name, w)
        return out
    raise BadRequest(NO_EVENT)


REPORTS: Mapping[str, Report] = {
    "dashboard": read_dashboard,
    "countries": read_countries,
    "sessions": read_sessions,
    "metric": read_metric,
    "tops": read_tops,
    "frequency": read_frequency,
    "durations": read_durations,
    "events": read_events,
}


@routes.route("*", "/o/analytics")
@routes.route("*", "/o/analytics/{tail:.*}")
async def analytics_read(request: web.Request) -> web.Response:
    params = await read_params(request)
    check_id_params(params)
    action = request.match_info.get("tail", "").strip("/").split("/")[0]
    report = REPORTS.get(action)
    if report is None:
        raise BadRequest(INVALID_PATH)
    app_id = params.text("app_id")
    if not app_id:
        raise BadRequest('Missing parameter "app_id"')
    _member, app = await validate_read(request, params, app_id)
    tz = app.get("timezone") or request.app[keys.SETTINGS].default_timezone
    read = Read(request, params, app, app_id_of(app), tz, request.app[keys.CLOCK]())
    return output(request, await report(read))
