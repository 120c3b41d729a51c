"""`/o?method=times-of-day`: the 7×24 matrix of a kind (`tod_type`) over some months.

Parameters: `tod_type` (`[CLY]_session`, the default, or an event key); `date_range`
(Countly's: comma-separated `YYYY:M` months) or else the months the `period` touches
(default `30days`, so this month and the previous one).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from plugins.times_of_day.write import SESSION, collection_name, doc_id
from server import keys
from server.errors import BadRequest
from server.params import Params
from server.read.periods import Window
from server.storage.aggregates import AggregateStore
from server.storage.apps import App, app_id_of

MONTH = re.compile(r"^\d{4}:(?:[1-9]|1[0-2])$")
MAX_MONTHS = 120


def months_of(params: Params, window: Window) -> list[str]:
    raw = params.text("date_range")
    if not raw:
        return [f"{y}:{m}" for y, m in window.months()]
    months = [m.strip() for m in raw.split(",") if m.strip()]
    if not months or len(months) > MAX_MONTHS or not all(MONTH.match(m) for m in months):
        raise BadRequest('Invalid parameter "date_range"')
    return list(dict.fromkeys(months))


def matrix(docs: Iterable[dict[str, Any]]) -> list[list[int | float]]:
    """Sum `d.<dow>.<hour>.count` of the documents: rows dow 0 (Sunday)…6, columns hour 0…23."""
    out: list[list[int | float]] = [[0] * 24 for _ in range(7)]
    for doc in docs:
        days = doc.get("d") or {}
        for dow, hours in days.items():
            if not isinstance(hours, dict) or not str(dow).isdigit() or int(dow) > 6:
                continue
            for hour, cell in hours.items():
                if not str(hour).isdigit() or int(hour) > 23 or not isinstance(cell, dict):
                    continue
                count = cell.get("count")
                if isinstance(count, (int, float)) and not isinstance(count, bool):
                    out[int(dow)][int(hour)] += count
    return out


async def read_times_of_day(request: web.Request, params: Params, app: App, window: Window) -> Any:
    kind = params.text("tod_type") or SESSION
    app_id = app_id_of(app)
    store = AggregateStore(request.app[keys.DB], request.app[keys.STATS])
    docs = await store.find(collection_name(app_id), [doc_id(kind, m) for m in months_of(params, window)])
    return matrix(docs)
