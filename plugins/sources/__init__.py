"""Install sources / referrers from the SDKs' `_store` (Countly's sources plugin): `sources`.

Reads: `/o?method=sources`, a v1 time object of collection `sources` (meta set `sources`,
device field `src`).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plugins._shared.metrics import count_session, device_fields, time_object_reader
from plugins.sources.values import SOURCE, values
from server.hookspecs import Allows, Reader, hookimpl
from server.ingest.process import Applied
from server.storage.merge import Update


@hookimpl
def tally_write(applied: Applied, allows: Allows) -> list[Update]:
    if applied.levels is None or not applied.request.metrics:
        return []
    return count_session(applied, values(applied.request.metrics, applied.before), allows)


@hookimpl
def tally_device_fields(applied: Applied) -> Mapping[str, Any] | None:
    if not applied.request.metrics:
        return None
    return device_fields(values(applied.request.metrics, applied.before))


@hookimpl
def tally_readers() -> Mapping[str, Reader]:
    return {"sources": time_object_reader(SOURCE.collection)}


@hookimpl
def tally_bucket_collections() -> list[str]:
    return [SOURCE.collection]
