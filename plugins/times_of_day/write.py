"""Pure: the times-of-day counts of one applied request.

The slot of a session is the request's `hour` and `dow` parameters (the SDK's local time; `dow`
0 = Sunday). An event uses its own `hour`/`dow` when it carries them, else the request's. When
an SDK sends neither, the slot is derived from the timestamp and the device's `tz` offset
(minutes), or the app's timezone when the device never sent one.

Only what the core counted is counted: sessions that were not swallowed by the cooldown, events
the core accepted (not over `event_limit`, not an unknown `[CLY]_` event).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from server.ingest.process import Applied
from server.storage.merge import Update

SESSION = "[CLY]_session"


def collection_name(app_id: str) -> str:
    return f"plugin_times_of_day_{app_id}"


def doc_id(kind: str, month_id: str) -> str:
    return f"{kind}_{month_id}"


def _small_int(value: Any, top: int) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if 0 <= number <= top else None


def slot_of(values: Any, fallback: tuple[int, int]) -> tuple[int, int]:
    """(dow, hour) from a mapping with `dow`/`hour`, or `fallback` when either is missing or bad."""
    if not isinstance(values, Mapping):
        return fallback
    dow, hour = _small_int(values.get("dow"), 6), _small_int(values.get("hour"), 23)
    return (dow, hour) if dow is not None and hour is not None else fallback


def derived_slot(ts: float, tz_minutes: Any, app_weekday: int, app_hour: int) -> tuple[int, int]:
    """The device's local (dow, hour) from its `tz` offset; the app's local time without one."""
    if isinstance(tz_minutes, (int, float)) and not isinstance(tz_minutes, bool) and abs(tz_minutes) <= 24 * 60:
        local = datetime.fromtimestamp(ts, timezone(timedelta(minutes=tz_minutes)))
        return (local.weekday() + 1) % 7, local.hour
    return app_weekday, app_hour


def updates(applied: Applied) -> list[Update]:
    req = applied.request
    if applied.levels is None and not req.events:
        return []  # neither a counted session nor events: nothing to place in the week
    work = applied.work
    tz_minutes = applied.after.get("tz")
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def fallback(ts: float) -> tuple[int, int]:
        tp = work.time(ts)
        return derived_slot(ts, tz_minutes, tp.weekday, tp.hour)

    sent = slot_of(req.params, (-1, -1))
    request_slot = sent if sent != (-1, -1) else fallback(req.ts)
    if applied.levels is not None:
        dow, hour = request_slot
        counts[(SESSION, work.time(req.ts).month_id)][f"d.{dow}.{hour}.count"] += 1
    if req.events:
        accepted = work.events  # the keys the core counted (limits and unknown internal events)
        for event in req.events:
            if event.key not in accepted:
                continue
            default = sent if sent != (-1, -1) else fallback(event.ts)
            dow, hour = slot_of(event.raw, default)
            counts[(event.key, work.time(event.ts).month_id)][f"d.{dow}.{hour}.count"] += event.count
    name = collection_name(work.app_id)
    return [Update(name, doc_id(kind, month), {"$inc": dict(inc), "$set": {"m": month, "s": kind}})
            for (kind, month), inc in counts.items()]
