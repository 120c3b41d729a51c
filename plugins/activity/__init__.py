"""Activity: each device's active local days, so unique users over any span are exact.

Write: on the device's first counted session of a day (a begin_session the cooldown did not
swallow), the device's document in `plugin_activity_<appId>` gets the session's day (days since 1970-01-01 in the app's
timezone) added to its array `d`; `i` is the SDK's device_id. Nothing else is stored; the
statistics plugin reads these documents (see `plugins/activity/README.md` for the method and its
storage cost).
"""
from __future__ import annotations

from plugins.activity.days import day_number
from plugins.activity.storage import collection_name
from server.hookspecs import hookimpl
from server.ingest.pipeline import device_key
from server.ingest.process import Applied
from server.storage.merge import Update


@hookimpl
def tally_write(applied: Applied) -> list[Update]:
    if applied.levels is None or not applied.levels.day:
        return []  # no counted session, or not the device's first of its day: the day is stored
    req = applied.request
    tp = applied.work.time(req.ts)
    day = day_number(tp.year, tp.month, tp.day)
    return [Update(collection_name(applied.work.app_id), device_key(req.app_key, req.device_id),
                   {"$addToSet": {"d": [day]}, "$setOnInsert": {"i": req.device_id}})]
