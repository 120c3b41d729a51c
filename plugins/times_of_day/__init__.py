"""Times of day: sessions and events by the device's local hour × day of week.

Write: per counted session and per stored event, `d.<dow>.<hour>.count` in the app's collection
`plugin_times_of_day_<appId>`, one document per kind (`[CLY]_session` or the event key) and
month. Read: `/o?method=times-of-day` → a 7×24 matrix (rows Sunday…Saturday, columns 0…23).
"""
from __future__ import annotations

from collections.abc import Mapping

from plugins.times_of_day.read import read_times_of_day
from plugins.times_of_day.write import updates
from server.hookspecs import Reader, hookimpl
from server.ingest.process import Applied
from server.storage.merge import Update


@hookimpl
def tally_write(applied: Applied) -> list[Update]:
    return updates(applied)


@hookimpl
def tally_readers() -> Mapping[str, Reader]:
    return {"times-of-day": read_times_of_day}
