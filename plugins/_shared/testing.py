"""Helpers for plugin tests: SDK traffic from `/work/shared/sdk-traffic`-style records, reads."""
from __future__ import annotations

import json
from typing import Any

from tests.conftest import Tally


def encode(params: dict[str, Any]) -> dict[str, str]:
    return {k: json.dumps(v) if isinstance(v, (dict, list)) else str(v) for k, v in params.items()}


async def new_app(tally: Tally, name: str = "plugin-test", **args: Any) -> tuple[str, str]:
    """Create an app; returns (app_id, app_key)."""
    app = await tally.create_app(name, **args)
    return app["_id"], app["key"]


async def send(tally: Tally, app_key: str, **params: Any) -> Any:
    """GET /i for `app_key` (dicts/lists JSON-encoded); asserts success and returns the reply."""
    status, body = await tally.write(app_key=app_key, **params)
    assert status == 200, body
    return body


async def send_bulk(tally: Tally, app_key: str, requests: list[dict[str, Any]]) -> Any:
    r = await tally.client.post("/i/bulk", data={"app_key": app_key, "requests": json.dumps(requests)})
    body = await r.json(content_type=None)
    assert r.status == 200, body
    return body


async def get(tally: Tally, path: str, *, api_key: str | None = None, **params: Any) -> tuple[int, Any]:
    """GET a read path as the admin (or `api_key`); returns (status, json)."""
    q = encode(params)
    q["api_key"] = api_key if api_key is not None else tally.admin_key
    r = await tally.client.get(path, params=q)
    return r.status, await r.json(content_type=None)
