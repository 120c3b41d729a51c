"""Shared helpers of the HTTP tests (exact JSON through the real app on the embedded store)."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from yarl import URL

from server import keys
from tests.conftest import Tally

T0 = 1_731_000_000  # the FakeClock's start: Thu 2024-11-07 17:20:00 UTC (day of year 312, week 45)
LIMITS = {"event_limit": 500, "event_segmentation_limit": 100, "event_segmentation_value_limit": 1000}


async def new_app(tally: Tally, name: str = "app", **args: Any) -> tuple[str, str]:
    """Create an app (UTC unless told otherwise); returns (app_id, app_key)."""
    args.setdefault("timezone", "UTC")
    app = await tally.create_app(name, **args)
    return app["_id"], app["key"]


def enc(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)


def query_string(params: dict[str, Any] | list[tuple[str, Any]]) -> str:
    """Percent-encode like the JS SDKs (`encodeURIComponent`), keeping the given order."""
    pairs = params.items() if isinstance(params, dict) else params
    return "&".join(f"{quote(k, safe='')}={quote(enc(v), safe='')}" for k, v in pairs)


async def raw(tally: Tally, method: str, path: str, qs: str = "", *, body: bytes | str | None = None,
              content_type: str | None = None, headers: dict[str, str] | None = None) -> tuple[int, str, Any]:
    """Send exactly this query string (no re-encoding) and body; returns (status, text, response)."""
    url = URL(path + ("?" + qs if qs else ""), encoded=True)
    hdrs = dict(headers or {})
    if content_type is not None:
        hdrs["Content-Type"] = content_type
    data = body.encode() if isinstance(body, str) else body
    r = await tally.client.request(method, url, data=data, headers=hdrs)
    return r.status, await r.text(), r


async def sessions(tally: Tally, app_id: str, method: str = "sessions", **params: Any) -> Any:
    status, body = await tally.read(app_id=app_id, method=method, **params)
    assert status == 200, body
    return body


async def read_ok(tally: Tally, app_id: str, **params: Any) -> Any:
    status, body = await tally.read(app_id=app_id, **params)
    assert status == 200, body
    return body


async def write_ok(tally: Tally, **params: Any) -> None:
    status, body = await tally.write(**params)
    assert (status, body) == (200, {"result": "Success"}), (params, status, body)


def same_timeobj(body: Any, expected: dict[str, Any]) -> bool:
    """Exact equality; when the expected `meta` is empty the reply may also leave `meta` out
    (Countly adds `meta` only from zero documents, Tally may send `{}`)."""
    if body == expected:
        return True
    if expected.get("meta") == {} and isinstance(body, dict) and "meta" not in body:
        return body == {k: v for k, v in expected.items() if k != "meta"}
    return False


def metric_obj(values: dict[str, int], meta: dict[str, list[str]], *, day: str = "7",
               month: str = "11", year: str = "2024", week: str = "w45") -> dict[str, Any]:
    """Time object of a metric collection where every value was seen by `n` NEW users in one
    session each, all on one day: value → {u: n, t: n, n: n} at every level."""
    y: dict[str, Any] = {v: {"u": n, "t": n, "n": n} for v, n in values.items()}
    y[week] = {v: {"u": n} for v, n in values.items()}
    m: dict[str, Any] = {v: {"u": n, "t": n, "n": n} for v, n in values.items()}
    m[day] = {v: {"t": n, "n": n, "u": n} for v, n in values.items()}
    y[month] = m
    return {year: y, "meta": meta}


def field_names(doc: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, name) of every field name in a document, recursively (lists included)."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield path, k
            yield from field_names(v, f"{path}.{k}" if path else str(k))
    elif isinstance(doc, list):
        for i, item in enumerate(doc):
            yield from field_names(item, f"{path}[{i}]")


async def bad_field_names_in_db(tally: Tally) -> list[str]:
    """Every stored field name MongoDB would refuse: a `.` anywhere or a leading `$`."""
    db = tally.app[keys.DB]
    bad: list[str] = []
    for name in await db.list_collection_names():
        async for doc in db[name].find({}):
            for path, key in field_names(doc):
                if not isinstance(key, str) or "." in key or key.startswith("$"):
                    bad.append(f"{name}: {path}.{key}" if path else f"{name}: {key}")
    return bad
