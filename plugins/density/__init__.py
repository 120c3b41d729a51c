"""Screen densities (`_density`) as Countly's density plugin: collection `densities`.

Reads: `/o?method=densities` (alias `density`, the modern Countly name), a v1 time object.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plugins._shared.metrics import count_session, device_fields, time_object_reader
from plugins.density.values import DENSITY, values
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
    read = time_object_reader(DENSITY.collection)
    return {"densities": read, "density": read}


@hookimpl
def tally_bucket_collections() -> list[str]:
    return [DENSITY.collection]
