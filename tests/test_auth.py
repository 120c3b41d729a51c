"""Authentication and rights: Countly's messages in Countly's order, and the pure rights rules."""
from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from bson import ObjectId

from server import keys
from server.app import create_app
from server.auth import (
    admin_app_ids,
    can_read,
    check_id_params,
    readable_app_ids,
    token_matches,
    token_seconds_left,
    user_app_ids,
    validate_read,
    validate_write,
)
from server.errors import BadRequest
from server.output import output
from server.params import Params, read_params
from tests.conftest import ADMIN_KEY, FakeClock, SettingsFactory

A, B, C = "a" * 24, "b" * 24, "c" * 24
FULL = {"all": True, "allowed": {}}


@pytest.mark.parametrize("values, error", [
    ({}, None), ({"app_id": ""}, None), ({"app_id": A, "user_id": B}, None), ({"app_id": 0}, None),
    ({"app_id": "abc"}, 'Invalid parameter "app_id"'),
    ({"app_id": A + "x"}, 'Invalid parameter "app_id"'),
    ({"app_id": [A, A]}, 'Invalid parameter "app_id"'),
    ({"app_id": {"$ne": ""}}, 'Invalid parameter "app_id"'),
    ({"app_id": A, "user_id": "1"}, 'Invalid parameter "user_id"'),
])
def test_check_id_params(values: dict[str, Any], error: str | None) -> None:
    if error is None:
        check_id_params(Params(values))
    else:
        with pytest.raises(BadRequest) as caught:
            check_id_params(Params(values))
        assert (caught.value.status, caught.value.result) == (400, error)


MEMBERS: dict[str, dict[str, Any]] = {
    "global": {"global_admin": True},
    "admin_of_a": {"permission": {"_": {"a": [A], "u": []}}},
    "user_groups": {"permission": {"_": {"a": [], "u": [[B], [C, A]]}}},
    "read_right": {"permission": {"r": {B: FULL}, "_": {"a": [], "u": []}}},
    "feature_right": {"permission": {"r": {B: {"all": False, "allowed": {"core": True}}}}},
    "other_feature": {"permission": {"r": {B: {"all": False, "allowed": {"crashes": True}}}}},
    "legacy": {"admin_of": [A], "user_of": [B]},
    "malformed": {"permission": {"_": {"a": "A", "u": "B"}, "r": []}},
    "string_admin": {"global_admin": "true"},
}


@pytest.mark.parametrize("name, admin, users, readable", [
    ("global", [], [], [A, B, C]),
    ("admin_of_a", [A], [A], [A]),
    ("user_groups", [], [B, C, A], [A, B, C]),
    ("read_right", [], [], [B]),
    ("feature_right", [], [], [B]),
    ("other_feature", [], [], []),
    ("legacy", [A], [B, A], [A, B]),
    ("malformed", [], [], []),
    ("string_admin", [], [], []),
])
def test_rights(name: str, admin: list[str], users: list[str], readable: list[str]) -> None:
    member = MEMBERS[name]
    assert admin_app_ids(member) == admin
    assert user_app_ids(member) == users
    assert readable_app_ids(member, [{"_id": ObjectId(A)}, B, {"_id": ObjectId(C)}]) == readable
    assert can_read(member, B, "crashes") is (name in ("global", "user_groups", "read_right", "legacy",
                                                       "other_feature"))


@pytest.mark.parametrize("token, path, values, ok", [
    ({"endpoint": "", "app": ""}, "/o/anything", {}, True),
    ({"endpoint": [], "app": []}, "/o/anything", {"app_id": A}, True),
    ({"endpoint": ["^/o/users/"]}, "/o/users/me", {}, True),
    ({"endpoint": ["^/o/users/"]}, "/i/o/users/", {}, False),
    ({"endpoint": "/token"}, "/o/token/list", {}, True),
    ({"endpoint": ["/a", "/b"]}, "/x/b", {}, True),
    ({"endpoint": ["("]}, "/(", {}, False),
    ({"endpoint": [{"endpoint": "^/o$", "params": {"method": "^users$"}}]}, "/o", {"method": "users"}, True),
    ({"endpoint": [{"endpoint": "^/o$", "params": {"method": "^users$"}}]}, "/o", {"method": "events"}, False),
    ({"endpoint": [{"endpoint": "^/o$", "params": {"method": "."}}]}, "/o", {}, False),
    ({"app": [A]}, "/o", {"app_id": A}, True),
    ({"app": A}, "/o", {"app_id": B}, False),
    ({"app": [A]}, "/o", {}, True),
])
def test_token_matches(token: dict[str, Any], path: str, values: dict[str, Any], ok: bool) -> None:
    assert token_matches(token, path, values) is ok


@pytest.mark.parametrize("token, now, expected", [
    (None, 100, (False, 0)),
    ({"ttl": 0, "ends": 5}, 100, (True, -1)),
    ({"ttl": 50, "ends": 150}, 100, (True, 50)),
    ({"ttl": 50, "ends": 100}, 100, (True, 0)),
    ({"ttl": 50, "ends": 99}, 100, (False, 0)),
    ({"ttl": 50}, 100, (False, 0)),
])
def test_token_seconds_left(token: dict[str, Any] | None, now: int, expected: tuple[bool, int]) -> None:
    assert token_seconds_left(token, now) == expected


# ---- the validators over HTTP, through the real factory plus two probe routes ----

async def _probe(request: web.Request, check: Callable[..., Awaitable[Any]]) -> web.Response:
    params = await read_params(request)
    check_id_params(params)
    member, app = await check(request, params, params.text("app_id") if "app_id" in params.values else None)
    return output(request, {"member": member["username"], "app": app["name"]})


async def probe_read(request: web.Request) -> web.Response:
    return await _probe(request, validate_read)


async def probe_write(request: web.Request) -> web.Response:
    return await _probe(request, validate_write)


Call = Callable[..., Awaitable[tuple[int, Any]]]


@pytest.fixture
async def call(aiohttp_client: Any, make_settings: SettingsFactory, clock: FakeClock) -> Call:
    """call(path, **params) on an app with /probe/read and /probe/write, seeded with members and app A."""
    app = create_app(make_settings(), clock=clock, start_background=False)
    app.router.add_route("*", "/probe/read", probe_read)
    app.router.add_route("*", "/probe/write", probe_write)
    client = await aiohttp_client(app)
    db = app[keys.DB]
    await db["apps"].insert_one({"_id": ObjectId(A), "name": "App A", "key": "key-a", "timezone": "UTC"})
    seeds: dict[str, dict[str, Any]] = {
        "user": {"permission": {"_": {"a": [], "u": [[A]]}}},
        "admin": {"permission": {"_": {"a": [A], "u": []}}},
        "reader": {"permission": {"r": {A: FULL}}},
        "legacy": {"user_of": [A]},
        "stranger": {"permission": {"_": {"a": [], "u": []}}},
        "locked_user": {"permission": {"_": {"a": [], "u": [[A]]}}, "locked": True},
        "locked_stranger": {"locked": True},
    }
    for name, fields in seeds.items():
        await db["members"].insert_one({"username": name, "email": f"{name}@x", "api_key": f"key-{name}", **fields})

    async def do(path: str, *, headers: dict[str, str] | None = None, **params: Any) -> tuple[int, Any]:
        r = await client.get(path, params={k: str(v) for k, v in params.items()}, headers=headers)
        return r.status, await r.json(content_type=None)

    return do


def _key(who: str) -> str:
    return ADMIN_KEY if who == "admin-global" else f"key-{who}"


@pytest.mark.parametrize("who, app_id, status, result", [
    (None, A, 400, 'Missing parameter "api_key" or "auth_token"'),
    ("nobody", A, 401, "User does not exist"),
    ("user", None, 401, "No app_id provided"),
    ("stranger", A, 401, "User does not have right"),
    ("stranger", C, 401, "User does not have right"),          # rights before existence: no probing
    ("locked_stranger", A, 401, "User does not have right"),   # rights before the lock
    ("locked_user", A, 401, "User is locked"),
    ("admin-global", C, 401, "App does not exist"),
    ("admin-global", None, 400, 'Missing parameter "app_id"'),
    ("user", "", 401, "User does not have right"),
    ("user", A, 200, {"member": "user", "app": "App A"}),
    ("admin", A, 200, {"member": "admin", "app": "App A"}),
    ("reader", A, 200, {"member": "reader", "app": "App A"}),
    ("legacy", A, 200, {"member": "legacy", "app": "App A"}),
    ("admin-global", A, 200, {"member": f"admin-{ADMIN_KEY[:8]}", "app": "App A"}),
])
async def test_validate_read(call: Call, who: str | None, app_id: str | None, status: int, result: Any) -> None:
    params = {} if app_id is None else {"app_id": app_id}
    if who is not None:
        params["api_key"] = "f" * 32 if who == "nobody" else _key(who)
    body = result if isinstance(result, dict) else {"result": result}
    assert await call("/probe/read", **params) == (status, body)


@pytest.mark.parametrize("who, status, result", [
    ("user", 401, "User does not have right"),
    ("reader", 401, "User does not have right"),
    ("locked_user", 401, "User does not have right"),
    ("admin", 200, {"member": "admin", "app": "App A"}),
])
async def test_validate_write_needs_an_app_admin(call: Call, who: str, status: int, result: Any) -> None:
    body = result if isinstance(result, dict) else {"result": result}
    assert await call("/probe/write", api_key=_key(who), app_id=A) == (status, body)


async def test_tokens_and_api_keys(call: Call) -> None:
    assert await call("/probe/read", app_id=A, auth_token="nope") == (400, {"result": "Token not valid"})
    assert await call("/probe/read", app_id=A, headers={"countly-token": "nope"}) == \
        (400, {"result": "Token not valid"})
    assert (await call("/probe/read", app_id=A, auth_token="nope", api_key="key-user"))[0] == 200
    status, token = await call("/i/token/create", api_key="key-user", apps=A, multi="false")
    assert status == 200
    assert await call("/probe/read", app_id=A, auth_token=token["result"]) == \
        (200, {"member": "user", "app": "App A"})
    assert await call("/probe/read", app_id=A, auth_token=token["result"]) == (400, {"result": "Token not valid"})


async def test_api_key_must_be_a_plain_string(call: Call) -> None:
    assert await call("/probe/read", **{"app_id": A, "api_key[$ne]": "x"}) == \
        (400, {"result": 'Missing parameter "api_key" or "auth_token"'})
    assert await call("/probe/read", app_id=A, api_key="") == \
        (400, {"result": 'Missing parameter "api_key" or "auth_token"'})


async def test_operator_objects_in_a_json_body_never_match(aiohttp_client: Any, make_settings: SettingsFactory,
                                                           clock: FakeClock) -> None:
    client = await aiohttp_client(create_app(make_settings(), clock=clock, start_background=False))
    for body in ({"api_key": {"$ne": ""}}, {"api_key": {"$regex": "."}, "auth_token": {"$ne": ""}}):
        r = await client.post("/o/users/me", data=json.dumps(body), headers={"Content-Type": "application/json"})
        assert (r.status, await r.json()) == (400, {"result": 'Missing parameter "api_key" or "auth_token"'})
