"""Helpers shared by the management handlers."""
from __future__ import annotations

from typing import Any

from aiohttp import web
from bson import ObjectId

from server import keys
from server.params import Params, json_param
from server.storage.appdata import AppData
from server.storage.members import MemberStore
from server.storage.tokens import TokenStore


def now(request: web.Request) -> int:
    """The current time in whole epoch seconds (the app's clock, faked in tests)."""
    return int(request.app[keys.CLOCK]())


def read_args(params: Params) -> dict[str, Any] | None:
    """The `args` parameter (JSON text, or an object in a JSON body); None when absent or empty.

    As in Countly, `args` that is not a JSON object is treated as an object without any fields,
    so the reply names the missing arguments.
    """
    raw = params.get("args")
    if raw is None or raw == "":
        return None
    value, ok = json_param(raw, dict)
    return value if ok and isinstance(value, dict) else {}


def jsonable(value: Any) -> Any:
    """Documents as JSON: ObjectIds become their hex strings."""
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def bad_field_names(doc: Any) -> list[str]:
    """Field names MongoDB would refuse or misread as paths (`.` anywhere, leading `$`), recursively."""
    bad: list[str] = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            if not isinstance(key, str) or "." in key or key.startswith("$") or "\x00" in key:
                bad.append(str(key))
            bad.extend(bad_field_names(value))
    elif isinstance(doc, list):
        for item in doc:
            bad.extend(bad_field_names(item))
    return bad


def members(request: web.Request) -> MemberStore:
    return MemberStore(request.app[keys.DB], request.app[keys.STATS])


def tokens(request: web.Request) -> TokenStore:
    return TokenStore(request.app[keys.DB], request.app[keys.STATS])


def appdata(request: web.Request) -> AppData:
    plugins = request.app[keys.PLUGINS]
    return AppData(request.app[keys.DB], request.app[keys.STATS], plugin_buckets=plugins.bucket_collections(),
                   plugin_collections=plugins.app_collections)
