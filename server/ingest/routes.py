"""HTTP routes of the write API: /i, /i/bulk and /o/sdk (GET and POST)."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from aiohttp import web

from server.auth import check_id_params
from server.errors import ApiError, BadRequest
from server.ingest.pipeline import Ingestor, client_ip, reply
from server.output import callback_of, message, render
from server.params import Params, read_params

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


@routes.route("*", "/i")
async def write(request: web.Request) -> web.Response:
    params = await _checked_params(request)
    ingest = Ingestor(request.app)
    ingest.check_room()
    req = ingest.parse(params.values, client_ip(request))
    app = await ingest.app_for(req.app_key)
    problem = await ingest.verify_checksum(app, params.values, _payloads(params.raw_query, params.raw_body))
    if problem is not None:
        return message(request, problem)
    outcome, done = await ingest.apply(req, app)
    if done is not None:
        await ingest.wait([done])
    return render(request, reply(outcome), callback=callback_of(request))


@routes.route("*", "/i/bulk")
async def bulk(request: web.Request) -> web.Response:
    """Items strictly in order, each device's state carried along; reply once all are written."""
    params = await _checked_params(request)
    items = _bulk_items(params.get("requests"))
    ingest = Ingestor(request.app)
    ingest.check_room()
    ip = client_ip(request)
    fallback = params.get("app_key")
    if isinstance(fallback, str):
        # A salted app signs the whole bulk; an unknown or paused top-level app is reported per item.
        app = await ingest.apps.by_key(fallback)
        if app is not None:
            problem = await ingest.verify_checksum(app, params.values, _payloads(params.raw_query, params.raw_body))
            if problem is not None:
                return message(request, problem)
    pending: list[asyncio.Future[bool]] = []
    warnings: list[str] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            warnings.append(f"requests[{i}]: not an object, skipped")
            continue
        try:
            req = ingest.parse(item, str(item["ip_address"]) if item.get("ip_address") else ip, fallback)
            app = await ingest.app_for(req.app_key)
            outcome, done = await ingest.apply(req, app)
        except ApiError as exc:
            if exc.status >= 500:
                raise
            warnings.append(f"requests[{i}]: {exc.result}")
            continue
        warnings.extend(f"requests[{i}]: {w}" for w in outcome.warnings)
        if done is not None:
            pending.append(done)
    await ingest.wait(pending)
    return render(request, reply(None, warnings), callback=callback_of(request))


@routes.route("*", "/o/sdk")
async def sdk(request: web.Request) -> web.Response:
    """SDK configuration reads: remote config and web SDK settings are empty (client defaults)."""
    params = await _checked_params(request)
    ingest = Ingestor(request.app)
    req = ingest.parse(params.values, client_ip(request))
    app = await ingest.app_for(req.app_key)
    problem = await ingest.verify_checksum(app, params.values, _payloads(params.raw_query, params.raw_body))
    if problem is not None:
        return message(request, problem)
    method = params.text("method")
    if method not in ("sc", "fetch_remote_config", "rc", "ab", "queue", "feedback"):
        raise BadRequest("Invalid method")
    result: Any = [] if method == "feedback" else {}
    return render(request, result, callback=callback_of(request))


async def _checked_params(request: web.Request) -> Params:
    """Parameters, after the checks that must fail before anything is stored."""
    params = await read_params(request)
    check_id_params(params)
    callback_of(request)  # a bad JSONP callback is a 400 before the data is touched
    return params


def _payloads(raw_query: str, raw_body: str) -> list[str]:
    return [p for p in (raw_query, raw_body) if p]


def _bulk_items(raw: Any) -> list[Any]:
    """`requests`: missing or unparseable → 400 Missing; parsed but not an array → 400 Invalid."""
    if isinstance(raw, str):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise BadRequest('Missing parameter "requests"') from None
    if raw is None:
        raise BadRequest('Missing parameter "requests"')
    if not isinstance(raw, list):
        raise BadRequest('Invalid parameter "requests"')
    return raw
