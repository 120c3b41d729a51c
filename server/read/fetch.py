"""Fetching the bucket documents of a period and folding them (the read side's only I/O)."""
from __future__ import annotations

from typing import Any

import orjson

from server.errors import BadRequest
from server.ingest import clean
from server.mongo import event_collection_name
from server.read.periods import Window
from server.read.timeobj import HIDDEN_USERS, UNIQUE_METRICS, UNIQUE_USERS, fold, merge_objects
from server.storage.aggregates import AggregateStore
from server.storage.apps import object_id

SEGMENT_VALUE_LIMIT = 1000


def doc_ids(prefix: str, window: Window, *, months: bool = True) -> list[str]:
    """Zero doc ids of every year the window touches, then its month doc ids."""
    ids = [f"{prefix}{y}:0" for y in window.years()]
    if months:
        ids += [f"{prefix}{y}:{m}" for y, m in window.months()]
    return ids


def _refresh(window: Window) -> tuple[int, int, int]:
    t = window.today
    return (t.year, t.month, t.day)


async def time_object(store: AggregateStore, collection: str, app_id: str, window: Window,
                      refresh: bool = False) -> dict[str, Any]:
    """The v1 time object of `users` or a metric collection over `window` (+ its previous window)."""
    span = Window(window.name, window.previous.start, window.end, window.today)
    ids = doc_ids(f"{app_id}_", span if not refresh else Window("hour", window.today, window.today, window.today))
    docs = await store.find(collection, ids)
    users = collection == "users"
    return fold(docs, UNIQUE_USERS if users else UNIQUE_METRICS, refresh_day=_refresh(window) if refresh else None,
                hidden=HIDDEN_USERS if users else frozenset())


async def event_object(store: AggregateStore, app_id: str, key: str, window: Window, *,
                       segmentation: str | None = None, refresh: bool = False) -> dict[str, Any]:
    """An event's time object, or one segment's (`{segValue: {c, s, dur}}` per day)."""
    coll = event_collection_name(app_id, key)
    span = Window(window.name, window.previous.start, window.end, window.today)
    if refresh:
        span = Window("hour", window.today, window.today, window.today)
    zero_ids = [f"no-segment_{y}:0" for y in span.years()]
    if segmentation:
        seg = clean.segment_key(segmentation)
        month_ids = [f"{seg}_{y}:{m}" for y, m in span.months()]
    else:
        month_ids = [f"no-segment_{y}:{m}" for y, m in span.months()]
    docs = await store.find(coll, zero_ids + month_ids)
    result = fold(docs, frozenset(), refresh_day=_refresh(window) if refresh else None)
    if "meta" in result:
        result["meta"] = {k: v[:SEGMENT_VALUE_LIMIT] for k, v in result["meta"].items()}
    return result


async def registry(store: AggregateStore, app_id: str) -> dict[str, Any] | None:
    return await store.find_one("events", object_id(app_id))


def visible_events(reg: dict[str, Any] | None) -> list[str]:
    """Event keys in dashboard order: the registry's `order`, else alphabetical; no `[CLY]_` keys."""
    if not reg:
        return []
    keys = [k for k in reg.get("list") or [] if not str(k).startswith("[CLY]_")]
    order = [k for k in reg.get("order") or [] if k in keys]
    return order + sorted(k for k in keys if k not in order)


async def events_object(store: AggregateStore, app_id: str, params: dict[str, Any], window: Window,
                        refresh: bool) -> dict[str, Any]:
    """`/o?method=events`: one event, a merge of several (`events=[…]`), or the first event."""
    raw_events = params.get("events")
    if raw_events is not None:
        keys = raw_events
        if isinstance(raw_events, str):
            try:
                keys = orjson.loads(raw_events)
            except orjson.JSONDecodeError:
                raise BadRequest('Invalid parameter "events"') from None
        if not isinstance(keys, list):
            raise BadRequest('Invalid parameter "events"')
        objects = [await event_object(store, app_id, str(k), window, refresh=refresh) for k in keys]
        return merge_objects(objects)
    key = params.get("event")
    if not key:
        first = visible_events(await registry(store, app_id))
        if not first:
            return {}
        key = first[0]
    return await event_object(store, app_id, str(key), window, segmentation=params.get("segmentation") or None,
                              refresh=refresh)
