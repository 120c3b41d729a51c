"""Replies: JSON or JSONP, Countly's HTML escaping, CORS, and the one error middleware."""
from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from server import keys
from server.errors import ApiError, BadRequest
from server.params import PARAMS

log = logging.getLogger(__name__)

JSON_TYPE = "application/json"
CALLBACK_RE = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$")
_ENTITY_RE = re.compile(r"&(amp|lt|gt|quot|#39|#\d+|#x[0-9a-fA-F]+);")
_NEEDS_ESCAPE = re.compile("[\"'&<>]")
_UNSAFE_JSON = re.compile(rb"[&<>']|\\\"")  # in serialised JSON a `"` inside a string is `\"`
SECURITY_HEADERS = {"X-Frame-Options": "deny", "X-XSS-Protection": "1; mode=block"}


def escape_html(text: str) -> str:
    """Countly's output escaping; an `&` that already starts an entity is kept (idempotent)."""
    if _NEEDS_ESCAPE.search(text) is None:
        return text
    if text.startswith("{") and text.endswith("}"):
        try:
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict):
            return orjson.dumps(escape_output(parsed)).decode()
    out = _ENTITY_RE.sub(lambda m: "\0" + m.group(1) + "\1", text)
    out = out.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    out = out.replace('"', "&quot;").replace("'", "&#39;")
    return out.replace("\0", "&").replace("\1", ";")


def escape_output(value: Any) -> Any:
    """Escape every string key and string value of a JSON-like structure."""
    if isinstance(value, str):
        return escape_html(value)
    if isinstance(value, dict):
        return {escape_html(k) if isinstance(k, str) else k: escape_output(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [escape_output(v) for v in value]
    return value


def escape_message(value: Any) -> Any:
    """Messages only get `<` and `>` escaped (as Countly)."""
    if isinstance(value, str):
        return value.replace("<", "&lt;").replace(">", "&gt;")
    if isinstance(value, list):
        return [escape_message(v) for v in value]
    return value


def callback_of(request: web.Request) -> str | None:
    """The JSONP callback name of a request (query or already-parsed body), validated."""
    parsed = request.get(PARAMS)
    name = parsed.get("callback") if parsed is not None else request.query.get("callback")
    if name is None or name == "":
        return None
    if not isinstance(name, str) or not CALLBACK_RE.match(name) or len(name) > 128:
        raise BadRequest('Invalid parameter "callback"')
    return name


def render(request: web.Request, data: Any, status: int = 200, *, callback: str | None = None) -> web.Response:
    return _reply(orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS), status, callback)


def _reply(body: bytes, status: int, callback: str | None) -> web.Response:
    if callback:
        body = callback.encode() + b"(" + body + b");"
        return web.Response(body=body, status=status, content_type="application/javascript", charset="utf-8")
    return web.Response(body=body, status=status, content_type=JSON_TYPE, charset="utf-8")


def output(request: web.Request, data: Any, *, escape: bool = True) -> web.Response:
    """Data reply (Countly's "output" helper): 200, strings HTML-escaped, JSONP when asked.

    The data is serialised first: when no key or string holds a character that needs escaping
    (the usual case for time objects, whose keys are numbers and counters), that is the reply."""
    callback = callback_of(request)
    body = orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
    if escape and _UNSAFE_JSON.search(body):
        body = orjson.dumps(escape_output(data), option=orjson.OPT_NON_STR_KEYS)
    return _reply(body, 200, callback)


def message(request: web.Request, result: Any, status: int = 200, **extra: Any) -> web.Response:
    """Message reply (Countly's "message" helper): `{"result": …}`."""
    return render(request, {"result": escape_message(result), **extra}, status, callback=callback_of(request))


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _cors(request: web.Request, response: web.StreamResponse) -> None:
    origin = request.app[keys.SETTINGS].cors_origin
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers.update(SECURITY_HEADERS)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Renders every ApiError (and unknown paths) as `{"result": …}`, with JSONP and CORS."""
    if request.method == "OPTIONS":
        response: web.StreamResponse = web.Response(status=204)
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = request.headers.get(
            "Access-Control-Request-Headers", "Content-Type, countly-token")
        response.headers["Access-Control-Max-Age"] = "86400"
        _cors(request, response)
        return response
    try:
        response = await handler(request)
    except ApiError as exc:
        response = _error_response(request, exc.status, exc.result)
    except web.HTTPNotFound:
        response = _error_response(request, 400, "Invalid path")
    except web.HTTPMethodNotAllowed:
        response = _error_response(request, 400, "Invalid path")
    _cors(request, response)
    return response


def _error_response(request: web.Request, status: int, result: Any) -> web.Response:
    try:
        callback = callback_of(request)
    except ApiError:
        callback = None
    return render(request, {"result": escape_message(result)}, status, callback=callback)
