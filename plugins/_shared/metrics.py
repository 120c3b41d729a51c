"""Plugin metrics counted exactly like the core's (`server/ingest/metrics.py`).

A plugin metric is a value an SDK sends in `metrics` (e.g. `_density`), aggregated into its own
shared time-bucket collection (month docs `<appId>_<YYYY>:<M>`, zero docs `<appId>_<YYYY>:0`)
on a counted begin_session, and remembered on the device document so that a changed value is
recognised:
- every counted session: `d.<day>.<V>.t`, meta `meta_v2.<set>.<V>`;
- a new user: `<V>.n` and `<V>.u` (day) and `<V>.u` at year/month/week level;
- a returning user whose remembered value differs: `<V>.u` at day and year/month/week level;
- a returning user with the same value: `<V>.u` only at the unique levels the session hit.
The metric limit (`metric_limit` distinct values per zero document) applies as for the core.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from server import keys
from server.hookspecs import Allows, Reader
from server.ingest import clean
from server.ingest.metrics import count_value
from server.ingest.process import Applied
from server.ingest.work import Work
from server.params import Params
from server.read import fetch
from server.read.periods import Window
from server.storage.aggregates import AggregateStore
from server.storage.apps import App, app_id_of
from server.storage.merge import Update


@dataclass(frozen=True, slots=True)
class PluginMetric:
    param: str        # key in the request's `metrics` (documentation; values come from a normaliser)
    collection: str   # shared time-bucket collection
    meta: str         # meta set name in the zero doc
    field: str        # short field on the device document


Normaliser = Callable[[Mapping[str, Any], Mapping[str, Any] | None], dict[PluginMetric, str]]


ValuesOf = Callable[[Applied], Mapping[PluginMetric, str]]


def session_updates(applied: Applied, allows: Allows, values_of: ValuesOf) -> list[Update]:
    """`tally_write` of a metric plugin: count its values on a counted session that sent metrics."""
    if applied.levels is None or not applied.request.metrics:
        return []
    return count_session(applied, values_of(applied), allows)


def fields_of(applied: Applied, values_of: ValuesOf) -> dict[str, Any] | None:
    """`tally_device_fields` of a metric plugin: its device fields when the request sent metrics."""
    if not applied.request.metrics:
        return None
    return device_fields(values_of(applied))


def count_session(applied: Applied, values: Mapping[PluginMetric, str], allows: Allows) -> list[Update]:
    """The updates of a counted session for these metric values (none for other requests)."""
    levels = applied.levels
    if levels is None or not values:
        return []
    core = applied.work
    tp = core.time(applied.request.ts)
    own = Work(core.app_id, core.tz)
    before = applied.before or {}
    zero_id = f"{core.app_id}_{tp.zero_id}"
    for metric, value in values.items():
        if not allows(metric.collection, zero_id, metric.meta, value):
            continue
        b = own.buckets(metric.collection, tp)
        b.add_meta(metric.meta, value)
        count_value(b, value, is_new=applied.is_new_user, changed=before.get(metric.field) != value, levels=levels)
    return own.updates()


def device_fields(values: Mapping[PluginMetric, str]) -> dict[str, str]:
    """The device fields remembering the values (set on every request that carries them)."""
    return {metric.field: value for metric, value in values.items()}


def time_object_reader(collection: str) -> Reader:
    """An `/o?method=` reader answering the v1 time object of a shared bucket collection."""
    async def read(request: web.Request, params: Params, app: App, window: Window) -> Any:
        store = AggregateStore(request.app[keys.DB], request.app[keys.STATS])
        return await fetch.time_object(store, collection, app_id_of(app), window,
                                       refresh=params.text("action") == "refresh")

    read.__name__ = f"read_{collection}"
    return read


def escaped(text: str) -> str:
    """A metric value as a field name: the core's escaping (`.` → `:`, no leading `$`), and
    "1"…"31" become "[CLY]1"…"[CLY]31" (as the core does for segment values) so that a value
    never reads as a day of a month document or a month of a zero document."""
    value = clean.metric_value(text)
    return "[CLY]" + value if value in clean.CLY_DAY_VALUES else value


def scalar(value: Any) -> str | None:
    """A metric value as text, or None when it is missing, empty or structured."""
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = value if isinstance(value, str) else str(value)
    text = text.strip()
    return text or None
