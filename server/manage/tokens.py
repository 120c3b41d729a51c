"""Auth tokens: `/i/token/create|delete`, `/o/token/list|check` (contract §8.5).

A token stands in for its owner's api_key (`auth_token=` or the `countly-token` header). It may
expire (`ttl` seconds, 0 = never), be single-use (`multi=false`), and be restricted to some
endpoints (regular expressions searched in the path) and apps.
"""
from __future__ import annotations

import logging
from typing import Any

import orjson
from aiohttp import web

from server import keys
from server.auth import check_id_params, token_seconds_left, validate_user
from server.errors import BadRequest, NotFound
from server.manage.common import bad_field_names, jsonable, tokens
from server.output import message
from server.params import Params, read_params
from server.storage.tokens import new_token

log = logging.getLogger(__name__)

DEFAULT_TTL = 1800


def _now(request: web.Request) -> int:
    """Whole seconds, rounded as Countly's token code does (and as `server.auth` checks expiry)."""
    return round(request.app[keys.CLOCK]())


def _csv(params: Params, name: str) -> list[str] | str:
    text = params.text(name)
    return [p for p in text.split(",")] if text else ""


def _ttl(params: Params) -> int:
    raw = params.text("ttl")
    if not raw:
        return DEFAULT_TTL
    try:
        ttl = int(raw.strip())
    except ValueError:
        raise BadRequest('Invalid parameter "ttl"') from None
    if ttl < 0:
        raise BadRequest('Invalid parameter "ttl"')
    return ttl


def _endpoint(params: Params) -> Any:
    """`endpointquery` (JSON: a pattern, a list of patterns or of `{endpoint, params}`), else `endpoint` CSV.

    As in Countly, `endpointquery` that is not JSON falls back to `endpoint`.
    """
    raw = params.get("endpointquery")
    value: Any = None
    if isinstance(raw, str) and raw:
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            value = None
    elif isinstance(raw, (list, dict)):
        value = raw
    if isinstance(value, (dict, str)) and value:
        value = [value]
    if isinstance(value, list):
        if bad_field_names(value) or not all(isinstance(v, (str, dict)) for v in value):
            raise BadRequest('Invalid parameter "endpointquery"')
        return value
    return _csv(params, "endpoint")


def _escaped(value: Any) -> Any:
    """`<` and `>` escaped in every string (messages are escaped so; here they hold objects)."""
    if isinstance(value, str):
        return value.replace("<", "&lt;").replace(">", "&gt;")
    if isinstance(value, dict):
        return {k: _escaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    return value


async def create_token(request: web.Request) -> web.Response:
    params = await read_params(request)
    check_id_params(params)
    member = await validate_user(request, params)
    current = _now(request)
    ttl = _ttl(params)
    token = {
        "_id": new_token(), "ttl": ttl, "ends": ttl + current,
        "multi": params.get("multi") not in (False, "false"),
        "owner": str(member["_id"]), "app": _csv(params, "apps"), "endpoint": _endpoint(params),
        "purpose": params.text("purpose") or "", "temporary": False,
    }
    store = tokens(request)
    await store.delete_expired(current)
    await store.insert(token)
    log.info("token for %s created (ttl %s, multi %s)", token["owner"], ttl, token["multi"])
    return message(request, token["_id"])


async def list_tokens(request: web.Request) -> web.Response:
    params = await read_params(request)
    check_id_params(params)
    member = await validate_user(request, params)
    return message(request, _escaped(jsonable(await tokens(request).owned_by(str(member["_id"])))))


async def check_token(request: web.Request) -> web.Response:
    """`{"valid": bool, "time": seconds left}`; time is -1 for a token that never expires."""
    params = await read_params(request)
    check_id_params(params)
    token_id = params.text("token")
    if not token_id:
        raise BadRequest('Missing parameter "token"')
    await validate_user(request, params)
    valid, left = token_seconds_left(await tokens(request).get(token_id), _now(request))
    return message(request, {"valid": valid, "time": left})


async def delete_token(request: web.Request) -> web.Response:
    params = await read_params(request)
    check_id_params(params)
    member = await validate_user(request, params)
    token_id = params.text("tokenid")
    if not token_id:
        raise NotFound("Token id not provided")
    if not await tokens(request).delete(token_id, str(member["_id"])):
        raise NotFound("Token not found")
    return message(request, "Success")
