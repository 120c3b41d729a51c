"""The v1 read API `/o?method=…` (contract §6) and `/o/health`."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from server import keys
from server.auth import check_id_params, validate_global_admin, validate_read
from server.errors import BadRequest
from server.output import output
from server.params import Params, read_params
from server.read import fetch
from server.read.periods import Window, parse_period
from server.storage.aggregates import AggregateStore
from server.storage.apps import App, app_id_of

routes = web.RouteTableDef()

LIMIT_NAMES = ("event_limit", "event_segmentation_limit", "event_segmentation_value_limit")
TIME_OBJECTS = {
    "sessions": "users", "users": "users", "locations": "users", "countries": "users",
    "device_details": "device_details", "app_versions": "device_details",
    "devices": "devices", "carriers": "carriers", "cities": "cities",
}
# total_users&metric=… → the device field to group by
TOTAL_USERS_FIELDS = {
    "countries": "cc", "cities": "cty", "carriers": "c", "devices": "d", "device_type": "dt",
    "app_versions": "av", "os": "p", "platforms": "p", "os_versions": "pv", "platform_versions": "pv",
    "resolutions": "r", "manufacturers": "mnf",
}
Reader = Callable[[web.Request, Params, App, Window], Awaitable[Any]]


def store_of(request: web.Request) -> AggregateStore:
    return AggregateStore(request.app[keys.DB], request.app[keys.STATS])


async def read_time_object(request: web.Request, params: Params, app: App, window: Window) -> Any:
    method = params.text("method") or ""
    collection = TIME_OBJECTS[method]
    settings = request.app[keys.SETTINGS]
    if (collection == "cities" and not settings.city_data) or (method == "countries" and not settings.country_data):
        return {}
    return await fetch.time_object(store_of(request), collection, app_id_of(app), window,
                                   refresh=params.text("action") == "refresh")


async def read_events(request: web.Request, params: Params, app: App, window: Window) -> Any:
    return await fetch.events_object(store_of(request), app_id_of(app), params.values, window,
                                     refresh=params.text("action") == "refresh")


async def read_get_events(request: web.Request, params: Params, app: App, window: Window) -> Any:
    settings = request.app[keys.SETTINGS]
    limits = {name: getattr(settings, name) for name in LIMIT_NAMES}
    reg = await fetch.registry(store_of(request), app_id_of(app))
    if not reg:
        return {"limits": limits}
    out: dict[str, Any] = {k: v for k, v in reg.items() if k not in ("list", "segments")}
    out["_id"] = str(reg["_id"])
    out["list"] = [k for k in reg.get("list") or [] if not str(k).startswith("[CLY]_")]
    segments = {k: v for k, v in (reg.get("segments") or {}).items() if not k.startswith("[CLY]_")}
    if segments:
        out["segments"] = segments
    out["limits"] = limits
    return out


async def read_total_users(request: web.Request, params: Params, app: App, window: Window) -> Any:
    """Devices whose last session started inside the window (exact; only windows that include today)."""
    if not window.contains_today:
        return []
    tz = app.get("timezone") or request.app[keys.SETTINGS].default_timezone
    start, end = window.bounds(tz)
    query = {"ls": {"$gte": start, "$lt": end}}
    devices = request.app[keys.DEVICES]
    metric = params.text("metric") or "users"
    if metric == "users":
        n = await devices.count(app_id_of(app), query)
        return [{"_id": "users", "u": n}] if n else []
    field = TOTAL_USERS_FIELDS.get(metric)
    if field is None:
        raise BadRequest('Invalid parameter "metric"')
    groups = await devices.group_count(app_id_of(app), query, field)
    return sorted(({"_id": g["_id"], "u": g["u"]} for g in groups if g["_id"] is not None),
                  key=lambda g: (-g["u"], str(g["_id"])))


READERS: dict[str, Reader] = {
    **{name: read_time_object for name in TIME_OBJECTS},
    "events": read_events,
    "get_events": read_get_events,
    "total_users": read_total_users,
}


@routes.route("*", "/o")
async def read(request: web.Request) -> web.Response:
    params = await read_params(request)
    check_id_params(params)
    app_id = params.text("app_id")
    if not app_id:
        raise BadRequest('Missing parameter "app_id"')
    method = params.text("method") or ""
    plugins = request.app.get(keys.PLUGINS)
    reader = READERS.get(method) or (plugins.readers.get(method) if plugins is not None else None)
    if reader is None:
        raise BadRequest("Invalid method")
    _member, app = await validate_read(request, params, app_id)
    tz = app.get("timezone") or request.app[keys.SETTINGS].default_timezone
    window = parse_period(params.get("period"), tz, request.app[keys.CLOCK]())
    return output(request, await reader(request, params, app, window))


@routes.route("*", "/o/health")
async def health(request: web.Request) -> web.Response:
    """The write batcher and storage counters (global admins)."""
    params = await read_params(request)
    await validate_global_admin(request, params)
    batcher = request.app[keys.BATCHER]
    stats = request.app[keys.STATS]
    stats.pending_updates = batcher.pending()
    plugins = request.app.get(keys.PLUGINS)
    failures = dict(plugins.failures) if plugins is not None else {}
    return output(request, {"batcher": {"pending_updates": batcher.pending(), "accepting": batcher.has_room()},
                            "storage": stats.snapshot(), "plugin_failures": failures})
