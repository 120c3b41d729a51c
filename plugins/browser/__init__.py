"""Browsers from the web SDK's `_browser` / `_browser_version` (Countly's browser plugin).

Collection `browser`, meta sets `browser` and `browser_version`, device fields `brw`/`brwv`.
Reads: `/o?method=browser`, a v1 time object holding both kinds of values.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plugins._shared.metrics import PluginMetric, fields_of, session_updates, time_object_reader
from plugins.browser.values import COLLECTION, values
from server.hookspecs import Allows, Reader, hookimpl
from server.ingest.process import Applied
from server.storage.merge import Update


def _values(applied: Applied) -> Mapping[PluginMetric, str]:
    return values(applied.request.metrics)


@hookimpl
def tally_write(applied: Applied, allows: Allows) -> list[Update]:
    return session_updates(applied, allows, _values)


@hookimpl
def tally_device_fields(applied: Applied) -> Mapping[str, Any] | None:
    return fields_of(applied, _values)


@hookimpl
def tally_readers() -> Mapping[str, Reader]:
    return {"browser": time_object_reader(COLLECTION)}


@hookimpl
def tally_bucket_collections() -> list[str]:
    return [COLLECTION]
