"""/i/token/create|delete, /o/token/list|check, and using tokens instead of an api_key."""
from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.conftest import ADMIN_KEY
from tests.manage.helpers import Api

HEX40 = re.compile(r"^[0-9a-f]{40}$")
NOW = 1_731_000_000
NOT_VALID = (400, {"result": "Token not valid"})


async def _token(api: Api, key: str = ADMIN_KEY, **params: Any) -> str:
    status, reply = await api.get("/i/token/create", key=key, **params)
    assert status == 200 and HEX40.match(reply["result"]), reply
    return reply["result"]  # type: ignore[no-any-return]


async def _use(api: Api, token: str, path: str = "/o/users/me", **params: Any) -> tuple[int, Any]:
    return await api.get(path, key=None, auth_token=token, **params)


@pytest.mark.parametrize("path, text", [
    ("/i/token", "Invalid path, must be one of /delete or /create"),
    ("/i/token/list", "Invalid path, must be one of /delete or /create"),
    ("/o/token", "Invalid path, must be one of /list"),
    ("/o/token/create", "Invalid path, must be one of /list"),
])
async def test_unknown_action_is_named(api: Api, path: str, text: str) -> None:
    assert await api.get(path, key=None) == (400, {"result": text})


async def test_create_with_defaults_and_list(api: Api) -> None:
    token = await _token(api)
    admin_id = await api.admin_id()
    assert await api.get("/o/token/list") == (200, {"result": [{
        "_id": token, "ttl": 1800, "ends": NOW + 1800, "multi": True, "owner": admin_id, "app": "",
        "endpoint": "", "purpose": "", "temporary": False}]})


async def test_create_with_restrictions(api: Api) -> None:
    app = await api.app("a")
    token = await _token(api, ttl=300, multi="false", apps=app["_id"], endpoint="/o/token/list,/o/apps/mine",
                         purpose="My <token>")
    _, listed = await api.post("/o/token/list")
    assert listed["result"][0] == {
        "_id": token, "ttl": 300, "ends": NOW + 300, "multi": False, "owner": await api.admin_id(),
        "app": [app["_id"]], "endpoint": ["/o/token/list", "/o/apps/mine"], "purpose": "My &lt;token&gt;",
        "temporary": False}


@pytest.mark.parametrize("params, result", [
    ({"ttl": "soon"}, 'Invalid parameter "ttl"'),
    ({"ttl": "-5"}, 'Invalid parameter "ttl"'),
    ({"endpointquery": json.dumps([{"endpoint": "^/o", "params": {"a.b": "x"}}])}, 'Invalid parameter "endpointquery"'),
    ({"endpointquery": json.dumps([5])}, 'Invalid parameter "endpointquery"'),
])
async def test_create_errors(api: Api, params: dict[str, str], result: str) -> None:
    assert await api.get("/i/token/create", **params) == (400, {"result": result})
    assert await api.db["auth_tokens"].count_documents({}) == 0


async def test_a_token_stands_in_for_the_api_key(api: Api) -> None:
    ann = await api.user("ann")
    token = await _token(api, key=ann["api_key"])
    _, me = await api.get("/o/users/me", key=ann["api_key"])
    assert await _use(api, token) == (200, me)
    r = await api.tally.client.get("/o/users/me", headers={"countly-token": token})
    assert (r.status, await r.json()) == (200, me)
    # the token wins over a wrong api_key; a bad token falls back to a good one
    assert await api.get("/o/users/me", key="wrong", auth_token=token) == (200, me)
    assert await api.get("/o/users/me", key=ann["api_key"], auth_token="f" * 40) == (200, me)


async def test_single_use_token_works_once(api: Api) -> None:
    token = await _token(api, multi="false")
    assert (await _use(api, token, "/o/apps/mine"))[0] == 200
    assert await _use(api, token, "/o/apps/mine") == NOT_VALID
    assert await api.get("/o/token/list") == (200, {"result": []})


async def test_expiry(api: Api) -> None:
    short = await _token(api, ttl=60)
    forever = await _token(api, ttl=0)
    api.tally.clock.advance(60)
    assert (await _use(api, short))[0] == 200
    assert await api.get("/o/token/check", token=short) == (200, {"result": {"valid": True, "time": 0}})
    api.tally.clock.advance(1)
    assert await api.get("/o/token/check", token=short) == (200, {"result": {"valid": False, "time": 0}})
    assert await _use(api, short) == NOT_VALID
    api.tally.clock.advance(10 * 365 * 86400)
    assert (await _use(api, forever))[0] == 200
    assert await api.get("/o/token/check", token=forever) == (200, {"result": {"valid": True, "time": -1}})
    _, listed = await api.get("/o/token/list")
    assert [t["_id"] for t in listed["result"]] == [forever]  # the expired one was removed when used


async def test_endpoint_restriction(api: Api) -> None:
    token = await _token(api, endpoint="^/o/users/")
    assert (await _use(api, token, "/o/users/all"))[0] == 200
    assert await _use(api, token, "/o/apps/mine") == NOT_VALID
    assert (await _use(api, token, "/o/users/me"))[0] == 200  # a refused use does not consume it


async def test_app_restriction(api: Api) -> None:
    a, b = await api.app("a"), await api.app("b")
    token = await _token(api, apps=a["_id"])
    assert (await _use(api, token, "/o/apps/details", app_id=a["_id"]))[0] == 200
    assert await _use(api, token, "/o/apps/details", app_id=b["_id"]) == NOT_VALID
    assert (await _use(api, token, "/o/users/me"))[0] == 200  # requests naming no app are allowed


async def test_endpointquery_with_parameter_patterns(api: Api) -> None:
    a, b = await api.app("a"), await api.app("b")
    query = [{"endpoint": "^/o/apps/details$", "params": {"app_id": f"^{a['_id']}$"}}, "(unclosed"]
    token = await _token(api, endpointquery=json.dumps(query))
    assert (await _use(api, token, "/o/apps/details", app_id=a["_id"]))[0] == 200
    assert await _use(api, token, "/o/apps/details", app_id=b["_id"]) == NOT_VALID
    assert await _use(api, token, "/o/apps/details") == NOT_VALID
    assert await _use(api, token, "/o/users/me") == NOT_VALID


async def test_tokens_of_deleted_or_locked_members(api: Api) -> None:
    ann = await api.user("ann")
    token = await _token(api, key=ann["api_key"])
    await api.get("/i/users/update", args={"user_id": ann["_id"], "locked": True})
    assert await _use(api, token) == (401, {"result": "User is locked"})
    await api.db["members"].delete_one({"username": "ann"})
    assert await _use(api, token) == (401, {"result": "User does not exist"})


async def test_check(api: Api) -> None:
    token = await _token(api, ttl=100)
    api.tally.clock.advance(30)
    assert await api.post("/o/token/check", token=token) == (200, {"result": {"valid": True, "time": 70}})
    assert await api.get("/o/token/check", token="f" * 40) == (200, {"result": {"valid": False, "time": 0}})
    assert await api.get("/o/token/check") == (400, {"result": 'Missing parameter "token"'})
    assert await api.get("/o/token/check", key=None, token=token) == \
        (400, {"result": 'Missing parameter "api_key" or "auth_token"'})


async def test_delete(api: Api) -> None:
    ann = await api.user("ann")
    mine, hers = await _token(api), await _token(api, key=ann["api_key"])
    assert await api.get("/i/token/delete") == (404, {"result": "Token id not provided"})
    assert await api.get("/i/token/delete", tokenid=hers) == (404, {"result": "Token not found"})
    assert await api.post("/i/token/delete", tokenid=mine) == (200, {"result": "Success"})
    assert await api.get("/o/token/list") == (200, {"result": []})
    assert (await _use(api, hers))[0] == 200


@pytest.mark.parametrize("path", ["/i/token/create", "/o/token/list", "/i/token/delete"])
async def test_token_endpoints_need_a_member(api: Api, path: str) -> None:
    assert await api.get(path, key=None) == (400, {"result": 'Missing parameter "api_key" or "auth_token"'})
    assert await api.get(path, key="nobody") == (401, {"result": "User does not exist"})
