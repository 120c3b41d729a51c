"""Browsers from the web SDK's `_browser` / `_browser_version` (Countly's browser plugin).

Collection `browser`, meta sets `browser` and `browser_version`, device fields `brw`/`brwv`.
Reads: `/o?method=browser`, a v1 time object holding both kinds of values.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plugins._shared.metrics import count_session, device_fields, time_object_reader
from plugins.browser.values import COLLECTION, values
from server.hookspecs import Allows, Reader, hookimpl
from server.ingest.process import Applied
from server.storage.merge import Update


@hookimpl
def tally_write(applied: Applied, allows: Allows) -> list[Update]:
    if applied.levels is None or not applied.request.metrics:
        return []
    return count_session(applied, values(applied.request.metrics), allows)


@hookimpl
def tally_device_fields(applied: Applied) -> Mapping[str, Any] | None:
    if not applied.request.metrics:
        return None
    return device_fields(values(applied.request.metrics))


@hookimpl
def tally_readers() -> Mapping[str, Reader]:
    return {"browser": time_object_reader(COLLECTION)}


@hookimpl
def tally_bucket_collections() -> list[str]:
    return [COLLECTION]
