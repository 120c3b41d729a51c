"""Install sources / referrers from the SDKs' `_store` (Countly's sources plugin): `sources`.

Reads: `/o?method=sources`, a v1 time object of collection `sources` (meta set `sources`,
device field `src`).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plugins._shared.metrics import PluginMetric, fields_of, session_updates, time_object_reader
from plugins.sources.values import SOURCE, values
from server.hookspecs import Allows, Reader, hookimpl
from server.ingest.process import Applied
from server.storage.merge import Update


def _values(applied: Applied) -> Mapping[PluginMetric, str]:
    return values(applied.request.metrics, applied.before)


@hookimpl
def tally_write(applied: Applied, allows: Allows) -> list[Update]:
    return session_updates(applied, allows, _values)


@hookimpl
def tally_device_fields(applied: Applied) -> Mapping[str, Any] | None:
    return fields_of(applied, _values)


@hookimpl
def tally_readers() -> Mapping[str, Reader]:
    return {"sources": time_object_reader(SOURCE.collection)}


@hookimpl
def tally_bucket_collections() -> list[str]:
    return [SOURCE.collection]
