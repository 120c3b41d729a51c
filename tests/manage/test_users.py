"""/i/users/create|update|delete and /o/users/me|all: replies, every error path, what is stored."""
from __future__ import annotations

import re
from typing import Any

import pytest
from argon2 import PasswordHasher
from bson import ObjectId

from tests.conftest import ADMIN_KEY
from tests.manage.helpers import PASSWORD, Api

HEX24 = re.compile(r"^[0-9a-f]{24}$")
HEX32 = re.compile(r"^[0-9a-f]{32}$")
MISSING_ALL = ["Missing full_name argument", "Missing username argument", "Missing password argument",
               "Missing email argument"]
GOOD = {"full_name": "Ann Lee", "username": "ann", "password": PASSWORD, "email": "ann@example.com"}


@pytest.mark.parametrize("path, text", [
    ("/i/users", "Invalid path, must be one of /create, /update, /deleteOwnAccount or /delete"),
    ("/i/users/nope", "Invalid path, must be one of /create, /update, /deleteOwnAccount or /delete"),
    ("/o/users", "Invalid path, must be one of /all or /me"),
    ("/o/users/id", "Invalid path, must be one of /all or /me"),
])
async def test_unknown_action_is_named_without_authentication(api: Api, path: str, text: str) -> None:
    assert await api.get(path, key="not-a-member") == (400, {"result": text})
    assert await api.post(path, key=None) == (400, {"result": text})


@pytest.mark.parametrize("args, errors", [
    (None, ["Missing 'args' parameter"]),
    ("", ["Missing 'args' parameter"]),
    ({}, MISSING_ALL),
    ("not json", MISSING_ALL),
    ({**GOOD, "username": None}, ["Invalid type for username"]),
    ({k: v for k, v in GOOD.items() if k != "email"}, ["Missing email argument"]),
    ({**GOOD, "full_name": 5}, ["Invalid type for full_name"]),
    ({**GOOD, "password": "short"}, ["Length of password is lower than min length value",
                                     "password should have number", "password should have upchar",
                                     "password should have special character"]),
    ({**GOOD, "password": "longenough1"}, ["password should have upchar", "password should have special character"]),
    ({**GOOD, "password": "Longenough!"}, ["password should have number"]),
    ({**GOOD, "global_admin": "yes"}, ["Invalid type for global_admin"]),
    ({**GOOD, "admin_of": "abc"}, ["Invalid type for admin_of"]),
    ({**GOOD, "user_of": [1]}, ["Invalid type for user_of"]),
    ({**GOOD, "permission": []}, ["Invalid type for permission"]),
    ({**GOOD, "permission": {"r": {"a.b": {"all": True}}}}, ["Invalid type for permission"]),
    ({"username": "x", "password": 12345678}, ["Missing full_name argument", "Invalid type for password",
                                               "Missing email argument"]),
])
async def test_create_rejects_bad_args(api: Api, args: Any, errors: list[str]) -> None:
    params = {} if args is None else {"args": args}
    assert await api.get("/i/users/create", **params) == (400, {"result": errors})
    assert await api.db["members"].count_documents({}) == 1  # only the bootstrap admin


async def test_create_stores_member_and_replies_without_password(api: Api) -> None:
    status, reply = await api.post("/i/users/create", args={**GOOD, "username": " ann ",
                                                            "email": " Ann@Example.COM", "lang": "de"})
    assert status == 200
    assert HEX24.match(reply["_id"]) and HEX32.match(reply["api_key"])
    assert reply == {
        "full_name": "Ann Lee", "username": "ann", "email": "ann@example.com", "lang": "de",
        "permission": {"c": {}, "r": {}, "u": {}, "d": {}, "_": {"a": [], "u": []}},
        "password_changed": 0, "created_at": int(api.tally.clock.now), "locked": False,
        "api_key": reply["api_key"], "_id": reply["_id"],
    }
    stored = await api.db["members"].find_one({"_id": ObjectId(reply["_id"])})
    assert stored["password"].startswith("$argon2")
    assert PasswordHasher().verify(stored["password"], PASSWORD)
    assert await api.get("/o/users/me", key=reply["api_key"]) == (200, reply)


async def test_create_global_admin_and_legacy_rights(api: Api) -> None:
    a, b = (await api.app("a"))["_id"], (await api.app("b"))["_id"]
    boss = await api.user("boss", global_admin=True)
    assert boss["global_admin"] is True
    assert (await api.get("/o/users/all", key=boss["api_key"]))[0] == 200
    member = await api.user("legacy", admin_of=[a], user_of=[b])
    full = {"all": True, "allowed": {}}
    assert member["permission"] == {"_": {"a": [a], "u": [[b]]}, "c": {a: full}, "r": {a: full, b: full},
                                    "u": {a: full}, "d": {a: full}}
    assert "admin_of" not in member and "user_of" not in member


@pytest.mark.parametrize("clash", [{"username": "ann", "email": "other@example.com"},
                                   {"username": "other", "email": "ANN@example.com"}])
async def test_create_refuses_taken_email_or_username(api: Api, clash: dict[str, str]) -> None:
    await api.user("ann")
    status, reply = await api.get("/i/users/create", args={**GOOD, **clash})
    assert (status, reply) == (400, {"result": ["Email or username already exists"]})
    assert await api.db["members"].count_documents({}) == 2


async def test_user_management_needs_an_unlocked_global_admin(api: Api) -> None:
    plain = await api.user("plain")
    locked = await api.user("locked", global_admin=True)
    await api.get("/i/users/update", args={"user_id": locked["_id"], "locked": True})
    for path in ("/i/users/create", "/i/users/update", "/i/users/delete", "/o/users/all"):
        assert await api.get(path, key=None) == (400, {"result": 'Missing parameter "api_key" or "auth_token"'})
        assert await api.get(path, key="f" * 32) == (401, {"result": "User does not exist"})
        assert await api.get(path, key=plain["api_key"], args=GOOD) == (401, {"result": "User does not have right"})
        assert await api.get(path, key=locked["api_key"], args=GOOD) == (401, {"result": "User is locked"})


async def test_update_changes_fields_and_replies_success(api: Api) -> None:
    ann = await api.user("ann")
    assert await api.get("/i/users/update", args={"user_id": ann["_id"], "full_name": "Ann B",
                                                  "email": " New@Example.com", "password": "N3w-passw0rd"}) \
        == (200, {"result": "Success"})
    stored = await api.db["members"].find_one({"_id": ObjectId(ann["_id"])})
    assert (stored["full_name"], stored["email"], stored["password_changed"]) == ("Ann B", "new@example.com", 0)
    assert PasswordHasher().verify(stored["password"], "N3w-passw0rd")
    status, me = await api.get("/o/users/me", key=ann["api_key"])
    assert (status, me["full_name"], me["email"]) == (200, "Ann B", "new@example.com")
    assert "password" not in me


async def test_update_locked_member_is_refused_everywhere(api: Api) -> None:
    ann = await api.user("ann")
    assert await api.post("/i/users/update", args={"user_id": ann["_id"], "locked": True}) == \
        (200, {"result": "Success"})
    assert await api.get("/o/users/me", key=ann["api_key"]) == (401, {"result": "User is locked"})


async def test_update_admin_of_rewrites_permission(api: Api) -> None:
    a = (await api.app("a"))["_id"]
    ann = await api.user("ann")
    assert (await api.get("/i/users/update", args={"user_id": ann["_id"], "admin_of": [a]}))[0] == 200
    _, mine = await api.get("/o/apps/mine", key=ann["api_key"])
    assert list(mine["admin_of"]) == [a] and list(mine["user_of"]) == [a]


@pytest.mark.parametrize("args, status, result", [
    (None, 400, ["Missing 'args' parameter"]),
    ({}, 400, ["Missing user_id argument"]),
    ({"user_id": 5}, 400, ["Invalid type for user_id"]),
    ({"user_id": "x", "password": "weak"}, 400, ["Length of password is lower than min length value",
                                                 "password should have number", "password should have upchar",
                                                 "password should have special character"]),
    ({"user_id": "x", "locked": "yes"}, 400, ["Invalid type for locked"]),
    ({"user_id": "nonsense", "full_name": "X"}, 404, "User not found"),
    ({"user_id": "0" * 24, "full_name": "X"}, 404, "User not found"),
    ({"user_id": "0" * 24}, 404, "User not found"),
])
async def test_update_errors(api: Api, args: Any, status: int, result: Any) -> None:
    params = {} if args is None else {"args": args}
    assert await api.get("/i/users/update", **params) == (status, {"result": result})


async def test_update_to_a_taken_email_is_refused(api: Api) -> None:
    await api.user("ann")
    bob = await api.user("bob")
    assert await api.get("/i/users/update", args={"user_id": bob["_id"], "email": "ann@example.com"}) == \
        (400, {"result": ["Email or username already exists"]})


async def test_update_with_nothing_to_change_succeeds(api: Api) -> None:
    ann = await api.user("ann")
    assert await api.get("/i/users/update", args={"user_id": ann["_id"]}) == (200, {"result": "Success"})


@pytest.mark.parametrize("args, result", [
    (None, "Error: Missing 'args' parameter"),
    ({}, "Error: Missing user_ids argument"),
    ({"user_ids": "abc"}, "Error: Invalid type for user_ids"),
])
async def test_delete_errors(api: Api, args: Any, result: str) -> None:
    params = {} if args is None else {"args": args}
    assert await api.get("/i/users/delete", **params) == (400, {"result": result})


async def test_delete_removes_members_and_their_tokens_but_never_oneself(api: Api) -> None:
    ann, bob = await api.user("ann"), await api.user("bob")
    _, token = await api.get("/i/token/create", key=ann["api_key"])
    admin_id = await api.admin_id()
    ids = [ann["_id"], bob["_id"], admin_id, "", "garbage", "0" * 24, 7]
    assert await api.get("/i/users/delete", args={"user_ids": ids}) == (200, {"result": "Success"})
    assert await api.get("/o/users/me", key=ann["api_key"]) == (401, {"result": "User does not exist"})
    assert await api.get("/o/users/me", key=None, auth_token=token["result"]) == \
        (400, {"result": "Token not valid"})
    assert await api.db["auth_tokens"].count_documents({}) == 0
    status, everyone = await api.get("/o/users/all")
    assert (status, list(everyone)) == (200, [admin_id])


async def test_me_and_all_show_members_as_countly_does(api: Api) -> None:
    ann = await api.user("ann", lang="fr")
    admin = await api.db["members"].find_one({"api_key": ADMIN_KEY})
    admin_id = str(admin["_id"])
    status, me = await api.get("/o/users/me")
    assert (status, me) == (200, {
        "_id": admin_id, "full_name": "Administrator", "username": admin["username"], "email": admin["email"],
        "api_key": ADMIN_KEY, "global_admin": True, "locked": False, "created_at": admin["created_at"],
        "password_changed": 0, "permission": {"c": {}, "r": {}, "u": {}, "d": {}, "_": {"a": [], "u": []}},
    })
    status, everyone = await api.post("/o/users/all")
    extra = {"last_login": 0, "blocked": False}
    assert (status, everyone) == (200, {
        admin_id: {**me, **extra, "is_current_user": True},
        ann["_id"]: {**ann, **extra, "global_admin": False, "is_current_user": False},
    })


async def test_replies_are_html_escaped_and_jsonp_wrapped(api: Api) -> None:
    ann = await api.user("ann", full_name="<b>Ann</b>")
    r = await api.tally.client.get("/o/users/me", params={"api_key": ann["api_key"], "callback": "cb"})
    text = await r.text()
    assert r.status == 200 and text.startswith("cb(") and "&lt;b&gt;Ann&lt;/b&gt;" in text
