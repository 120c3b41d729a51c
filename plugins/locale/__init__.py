"""Languages from the SDKs' `_locale` (Countly's locale plugin): collection `langs`.

`_locale` "en_US" (or "en-US") counts language "en" in `langs` (meta set `langs`, device field
`la`); the full locale is kept on the device as `lo`. Reads: `/o?method=langs`.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plugins._shared.metrics import PluginMetric, fields_of, session_updates, time_object_reader
from plugins.locale.values import LANG, locale_of, values
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
    fields = fields_of(applied, _values)
    if fields is None:
        return None
    locale = locale_of(applied.request.metrics)
    if locale is not None:
        fields["lo"] = locale
    return fields


@hookimpl
def tally_readers() -> Mapping[str, Reader]:
    return {"langs": time_object_reader(LANG.collection)}


@hookimpl
def tally_bucket_collections() -> list[str]:
    return [LANG.collection]
