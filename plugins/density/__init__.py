"""Screen densities (`_density`) as Countly's density plugin: collection `densities`.

Reads: `/o?method=densities` (alias `density`, the modern Countly name), a v1 time object.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plugins._shared.metrics import PluginMetric, fields_of, session_updates, time_object_reader
from plugins.density.values import DENSITY, values
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
    read = time_object_reader(DENSITY.collection)
    return {"densities": read, "density": read}


@hookimpl
def tally_bucket_collections() -> list[str]:
    return [DENSITY.collection]
