"""/i/apps/create|update|delete|reset and /o/apps/all|mine|details|plugins."""
from __future__ import annotations

import re
from typing import Any

import pytest
from bson import ObjectId

from server import keys
from server.mongo import app_users_name, event_collection_name
from server.storage.appdata import kept_period
from tests.conftest import ADMIN_KEY, Tally
from tests.manage.helpers import Api

HEX40 = re.compile(r"^[0-9a-f]{40}$")
NOW = 1_731_000_000  # the fake clock: 2024-11-07 17:20 UTC
APPS_PATH = "Invalid path, must be one of /create, /update, /delete or /reset"


@pytest.mark.parametrize("path, text", [
    ("/i/apps", APPS_PATH), ("/i/apps/rename", APPS_PATH),
    ("/o/apps", "Invalid path, must be one of /all, /mine, /details or /plugins"),
    ("/o/apps/everything", "Invalid path, must be one of /all, /mine, /details or /plugins"),
])
async def test_unknown_action_is_named_without_authentication(api: Api, path: str, text: str) -> None:
    assert await api.get(path, key=None) == (400, {"result": text})


@pytest.mark.parametrize("param", ["app_id", "user_id"])
@pytest.mark.parametrize("path", ["/i/apps/create", "/o/apps/mine", "/i/apps", "/o/token/list"])
async def test_ids_of_the_wrong_length_are_refused_first(api: Api, path: str, param: str) -> None:
    assert await api.get(path, key=None, **{param: "123"}) == (400, {"result": f'Invalid parameter "{param}"'})


async def test_create_applies_defaults_and_replies_the_stored_app(api: Api) -> None:
    admin_id = await api.admin_id()
    status, app = await api.get("/i/apps/create", args={"name": "Shop", "salt": "s1", "custom": {"x": 1}})
    assert status == 200 and HEX40.match(app["key"])
    assert app == {
        "_id": app["_id"], "name": "Shop", "salt": "s1", "custom": {"x": 1}, "country": "", "timezone": "UTC",
        "category": "6", "type": "mobile", "created_at": NOW, "edited_at": NOW, "owner": admin_id, "seq": 0,
        "key": app["key"],
    }
    stored = await api.db["apps"].find_one({"_id": ObjectId(app["_id"])})
    assert {**stored, "_id": str(stored["_id"])} == app
    assert {"ls_1", "lac_1", "did_1"} <= set(await api.db[app_users_name(app["_id"])].index_information())


async def test_create_keeps_valid_choices_and_replaces_invalid_ones(tally_factory: Any) -> None:
    api = Api(await tally_factory(default_timezone="Asia/Tokyo", default_country="JP"))
    _, good = await api.post("/i/apps/create", args={"name": "A", "timezone": "Europe/Berlin", "country": "DE",
                                                     "category": "3", "type": "web", "key": "my-key",
                                                     "checksum_salt": "cs"})
    assert [good[k] for k in ("timezone", "country", "category", "type", "key", "checksum_salt")] == \
        ["Europe/Berlin", "DE", "3", "web", "my-key", "cs"]
    _, bad = await api.get("/i/apps/create", args={"name": "B", "timezone": "Mars/Base", "country": "XX",
                                                   "category": "99", "type": "fridge", "key": ""})
    assert [bad[k] for k in ("timezone", "country", "category", "type")] == ["Asia/Tokyo", "JP", "6", "mobile"]
    assert HEX40.match(bad["key"])


@pytest.mark.parametrize("args, status, result", [
    (None, 400, "Error: Missing 'args' parameter"),
    ({}, 400, "Error: Missing name argument"),
    ("[1, 2]", 400, "Error: Missing name argument"),
    ({"name": 5}, 400, "Error: Invalid type for name"),
    ({"name": "A", "timezone": 1, "key": []}, 400, "Error: Invalid type for key,Invalid type for timezone"),
    ({"name": "A", "a.b": 1, "$x": 2}, 400, "Invalid props: $x,a.b"),
    ({"name": "A", "_id": "x"}, 400, "Invalid props: _id"),
])
async def test_create_errors(api: Api, args: Any, status: int, result: str) -> None:
    params = {} if args is None else {"args": args}
    assert await api.get("/i/apps/create", **params) == (status, {"result": result})
    assert await api.db["apps"].count_documents({}) == 0


async def test_create_refuses_a_key_in_use_and_non_admins(api: Api) -> None:
    await api.app("first", key="taken")
    assert await api.get("/i/apps/create", args={"name": "second", "key": "taken"}) == \
        (400, {"result": "App key already in use"})
    user = await api.user("ann")
    assert await api.get("/i/apps/create", key=user["api_key"], args={"name": "x"}) == \
        (401, {"result": "User does not have right"})
    assert await api.db["apps"].count_documents({}) == 1


@pytest.mark.parametrize("args, status, result", [
    (None, 400, "Error: Missing 'args' parameter"),
    ({}, 400, "Error: Missing app_id argument"),
    ({"app_id": "123"}, 400, "Error: Length of app_id is lower than min length value"),
    ({"app_id": "1" * 25}, 400, "Error: Length of app_id is greater than max length value"),
    ({"app_id": "{id}", "name": ""}, 400, "Invalid app name"),
    ({"app_id": "{id}", "key": ""}, 400, "Invalid app key"),
    ({"app_id": "{id}", "locked": "no"}, 400, "Error: Invalid type for locked"),
    ({"app_id": "{id}", "timezone": "Mars/Base"}, 400, "Invalid props: timezone"),
    ({"app_id": "{id}", "country": "XX", "category": "99"}, 400, "Invalid props: country,category"),
    ({"app_id": "{id}", "x.y": 1}, 400, "Invalid props: x.y"),
    ({"app_id": "{id}"}, 200, "Nothing changed"),
    ({"app_id": "0" * 24, "name": "X"}, 404, "App not found"),
    ({"app_id": "{id}", "key": "other-key"}, 400, "App key already in use"),
])
async def test_update_errors(api: Api, args: Any, status: int, result: str) -> None:
    app = await api.app("mine", key="mine-key")
    await api.app("other", key="other-key")
    params: dict[str, Any] = {} if args is None else {"args": {k: v.replace("{id}", app["_id"]) if isinstance(v, str) else v
                                               for k, v in args.items()}}
    assert await api.get("/i/apps/update", **params) == (status, {"result": result})
    stored = await api.db["apps"].find_one({"_id": ObjectId(app["_id"])})
    assert (stored["name"], stored["key"], stored["edited_at"]) == ("mine", "mine-key", NOW)


async def test_update_replies_the_applied_changes(api: Api) -> None:
    app = await api.app("old", checksum_salt="old-salt")
    api.tally.clock.advance(60)
    status, reply = await api.post("/i/apps/update", args={"app_id": app["_id"], "name": "New", "timezone":
                                                           "Europe/Paris", "paused": True})
    assert (status, reply) == (200, {"name": "New", "timezone": "Europe/Paris", "paused": True,
                                     "edited_at": NOW + 60})
    _, listed = await api.get("/o/apps/all")
    assert listed["admin_of"][app["_id"]]["name"] == "New"
    # the legacy checksum_salt becomes `salt`; the old field goes, so ingest sees one salt only
    assert await api.get("/i/apps/update", args={"app_id": app["_id"], "checksum_salt": "new-salt"}) == \
        (200, {"salt": "new-salt", "edited_at": NOW + 60})
    stored = await api.db["apps"].find_one({"_id": ObjectId(app["_id"])})
    assert stored["salt"] == "new-salt" and "checksum_salt" not in stored
    assert api.tally.app[keys.APPS] is not None and (await api.tally.app[keys.APPS].by_id(app["_id"]))["name"] == "New"


async def test_update_rights(api: Api) -> None:
    a, b = await api.app("a"), await api.app("b")
    admin = await api.user("boss", admin_of=[a["_id"]])
    user = await api.user("reader", user_of=[a["_id"]])
    change = {"app_id": a["_id"], "name": "A2"}
    assert await api.get("/i/apps/update", key=admin["api_key"], app_id=a["_id"], args=change) == \
        (200, {"name": "A2", "edited_at": NOW})
    assert await api.get("/i/apps/update", key=admin["api_key"], app_id=a["_id"],
                         args={"app_id": b["_id"], "name": "B2"}) == \
        (401, {"result": "User does not have admin rights for this app"})
    assert await api.get("/i/apps/update", key=admin["api_key"], args=change) == \
        (401, {"result": "User does not have right"})
    assert await api.get("/i/apps/update", key=user["api_key"], app_id=a["_id"], args=change) == \
        (401, {"result": "User does not have right"})
    assert await api.get("/i/apps/update", key=admin["api_key"], app_id="", args=change) == \
        (401, {"result": "User does not have right"})


async def _seed(api: Api, app_id: str) -> None:
    """Data of every kind an app owns, two years of it."""
    for collection in ("users", "device_details", "devices", "carriers", "cities"):
        await api.db[collection].insert_many([{"_id": f"{app_id}_{m}", "m": m} for m in
                                              ("2023:0", "2023:5", "2024:0", "2024:9", "2024:10", "2024:11")])
    await api.db["events"].insert_one({"_id": ObjectId(app_id), "list": ["buy"]})
    await api.db[event_collection_name(app_id, "buy")].insert_many(
        [{"_id": f"no-segment_{m}", "m": m} for m in ("2023:0", "2023:5", "2024:0", "2024:11")])
    await api.db[event_collection_name(app_id, "[CLY]_view")].insert_one({"_id": "no-segment_2024:11", "m": "2024:11"})
    await api.db[app_users_name(app_id)].insert_many([{"_id": "old", "ls": NOW - 86400 * 400},
                                                      {"_id": "new", "ls": NOW - 3600}])
    await api.db[f"metric_changes{app_id}"].insert_many([{"ts": NOW - 86400 * 400}, {"ts": NOW - 60}])
    await api.db[f"plugin_crashes{app_id}"].insert_one({"x": 1})


async def _left(api: Api, app_id: str) -> dict[str, Any]:
    db = api.db
    out: dict[str, Any] = {}
    for c in ("users", "device_details", "devices", "carriers", "cities"):
        docs = await db[c].find({"_id": {"$regex": f"^{app_id}_"}}).to_list(length=None)
        out[c] = sorted(d["_id"].split("_", 1)[1] for d in docs)
    names = set(await db.list_collection_names())
    out["registry"] = await db["events"].count_documents({"_id": ObjectId(app_id)})
    out["buy"] = sorted(d["m"] for d in await db[event_collection_name(app_id, "buy")].find().to_list(length=None))
    out["view"] = event_collection_name(app_id, "[CLY]_view") in names
    out["devices_ls"] = sorted(d["ls"] for d in await db[app_users_name(app_id)].find().to_list(length=None))
    out["metric_changes"] = await db[f"metric_changes{app_id}"].count_documents({})
    out["plugin"] = f"plugin_crashes{app_id}" in names
    return out


NOTHING = {"users": [], "device_details": [], "devices": [], "carriers": [], "cities": [], "buy": [],
           "view": False, "devices_ls": [], "metric_changes": 0, "plugin": False}


@pytest.mark.parametrize("period, expected", [
    ("reset", {**NOTHING, "registry": 0}),
    ("all", {**NOTHING, "registry": 1}),
    ("1month", {**{c: ["2024:0", "2024:10", "2024:11"] for c in ("users", "device_details", "devices", "carriers",
                                                                 "cities")},
                "registry": 1, "buy": ["2024:0", "2024:11"], "view": True, "devices_ls": [1, NOW - 3600],
                "metric_changes": 1, "plugin": True}),
])
async def test_reset_removes_the_apps_data_only(api: Api, period: str, expected: dict[str, Any]) -> None:
    app, other = await api.app("a"), await api.app("b")
    await _seed(api, app["_id"])
    await _seed(api, other["_id"])
    await api.db["apps"].update_one({"_id": ObjectId(app["_id"])}, {"$set": {"seq": 9}})
    assert await api.get("/i/apps/reset", args={"app_id": app["_id"], "period": period}) == \
        (200, {"result": "Success"})
    assert await _left(api, app["_id"]) == expected
    untouched = await _left(api, other["_id"])
    assert untouched["users"] == ["2023:0", "2023:5", "2024:0", "2024:10", "2024:11", "2024:9"]
    assert untouched["plugin"] and untouched["registry"] == 1
    stored = await api.db["apps"].find_one({"_id": ObjectId(app["_id"])})
    assert stored["seq"] == (9 if period == "1month" else 0)
    assert {"ls_1", "lac_1", "did_1"} <= set(await api.db[app_users_name(app["_id"])].index_information())


@pytest.mark.parametrize("months, kept", [
    (1, ["2024:11", "2024:0", "2024:10"]),
    (3, ["2024:11", "2024:0", "2024:10", "2024:9", "2024:8"]),
    (12, ["2024:11", "2024:0", *[f"2024:{m}" for m in range(10, 0, -1)], "2023:12", "2023:0", "2023:11"]),
])
def test_kept_period(months: int, kept: list[str]) -> None:
    assert kept_period(NOW, "UTC", months) == (kept, NOW - {1: 31, 3: 92, 12: 366}[months] * 86400)


def test_kept_period_uses_the_app_timezone_and_clamps_the_day() -> None:
    new_year_in_tokyo = 1_704_034_800  # 2023-12-31 15:00 UTC = 2024-01-01 00:00 in Tokyo
    assert kept_period(new_year_in_tokyo, "Asia/Tokyo", 1)[0] == ["2024:1", "2024:0", "2023:12", "2023:0"]
    march_31 = 1_711_843_200  # 2024-03-31 00:00 UTC
    assert kept_period(march_31, "UTC", 1)[1] == 1_709_164_800  # 2024-02-29 00:00 UTC


async def test_reset_forgets_devices_so_a_returning_device_counts_as_new(api: Api) -> None:
    app = await api.app("a")
    tally: Tally = api.tally
    await tally.write(app_key=app["key"], device_id="d1", begin_session=1, timestamp=NOW)
    await tally.flush()
    assert (await tally.read(app_id=app["_id"], method="users"))[1]["2024"]["n"] == 1
    assert (await api.get("/i/apps/reset", args={"app_id": app["_id"], "period": "reset"}))[0] == 200
    assert await tally.read(app_id=app["_id"], method="users") == (200, {})
    tally.clock.advance(120)
    await tally.write(app_key=app["key"], device_id="d1", begin_session=1, timestamp=NOW + 120)
    await tally.flush()
    assert (await tally.read(app_id=app["_id"], method="users"))[1]["2024"]["n"] == 1


@pytest.mark.parametrize("args, status, result", [
    (None, 400, "Error: Missing 'args' parameter"),
    ({}, 400, "Error: Missing app_id argument,Missing period argument"),
    ({"app_id": "{id}"}, 400, "Error: Missing period argument"),
    ({"app_id": "abc", "period": "reset"}, 400, "Error: Length of app_id is lower than min length value"),
    ({"app_id": "{id}", "period": "5years"}, 400, "Error: Invalid period argument"),
    ({"app_id": "{id}", "period": 1}, 400, "Error: Invalid type for period"),
    ({"app_id": "0" * 24, "period": "reset"}, 404, "App not found"),
    ({"app_id": "{locked}", "period": "reset"}, 403, "Application is locked"),
])
async def test_reset_errors(api: Api, args: Any, status: int, result: str) -> None:
    app, locked = await api.app("a"), await api.app("locked")
    await api.get("/i/apps/update", args={"app_id": locked["_id"], "locked": True})
    await _seed(api, app["_id"])
    ids = {"{id}": app["_id"], "{locked}": locked["_id"]}
    params: dict[str, Any] = {} if args is None else {
        "args": {k: ids.get(v, v) if isinstance(v, str) else v for k, v in args.items()}}
    assert await api.get("/i/apps/reset", **params) == (status, {"result": result})
    assert (await _left(api, app["_id"]))["users"] != []


async def test_delete_removes_app_data_and_rights(api: Api) -> None:
    app, other = await api.app("a"), await api.app("b")
    await _seed(api, app["_id"])
    ann = await api.user("ann", admin_of=[app["_id"], other["_id"]], user_of=[app["_id"]])
    assert await api.post("/i/apps/delete", args={"app_id": app["_id"]}) == (200, {"result": "Success"})
    assert await _left(api, app["_id"]) == {**NOTHING, "registry": 0}
    _, listed = await api.get("/o/apps/all")
    assert list(listed["admin_of"]) == [other["_id"]] == list(listed["user_of"])
    _, me = await api.get("/o/users/me", key=ann["api_key"])
    full = {"all": True, "allowed": {}}
    assert me["permission"] == {"_": {"a": [other["_id"]], "u": []}, "c": {other["_id"]: full},
                                "r": {other["_id"]: full}, "u": {other["_id"]: full}, "d": {other["_id"]: full}}
    assert await api.tally.app[keys.APPS].by_key(app["key"]) is None


@pytest.mark.parametrize("args, status, result", [
    (None, 400, "Error: Missing 'args' parameter"),
    ({}, 400, "Error: Missing app_id argument"),
    ({"app_id": 7}, 400, "Error: Invalid type for app_id"),
    ({"app_id": "0" * 24}, 404, "App not found"),
])
async def test_delete_errors(api: Api, args: Any, status: int, result: str) -> None:
    await api.app("a")
    params = {} if args is None else {"args": args}
    assert await api.get("/i/apps/delete", **params) == (status, {"result": result})
    assert await api.db["apps"].count_documents({}) == 1


async def test_delete_refuses_locked_apps_and_non_admins(api: Api) -> None:
    app = await api.app("a")
    boss = await api.user("boss", admin_of=[app["_id"]])
    assert await api.get("/i/apps/delete", key=boss["api_key"], args={"app_id": app["_id"]}) == \
        (401, {"result": "User does not have right"})
    await api.get("/i/apps/update", args={"app_id": app["_id"], "locked": True})
    assert await api.get("/i/apps/delete", args={"app_id": app["_id"]}) == (403, {"result": "Application is locked"})
    assert await api.db["apps"].count_documents({}) == 1


def _listed(app: dict[str, Any]) -> dict[str, Any]:
    return {k: app[k] for k in ("_id", "category", "country", "key", "name", "timezone")}


async def test_all_and_mine(api: Api) -> None:
    a, b, c = await api.app("a"), await api.app("b", country="DE"), await api.app("c")
    everything = {x["_id"]: _listed(x) for x in (a, b, c)}
    assert await api.get("/o/apps/all") == (200, {"admin_of": everything, "user_of": everything})
    assert await api.post("/o/apps/mine") == (200, {"admin_of": everything, "user_of": everything})
    ann = await api.user("ann", permission={"_": {"a": [a["_id"]], "u": [[b["_id"]], ["0" * 24]]}})
    assert await api.get("/o/apps/mine", key=ann["api_key"]) == (200, {
        "admin_of": {a["_id"]: _listed(a)}, "user_of": {a["_id"]: _listed(a), b["_id"]: _listed(b)}})
    nobody = await api.user("nobody")
    assert await api.get("/o/apps/mine", key=nobody["api_key"]) == (200, {"admin_of": {}, "user_of": {}})
    assert await api.get("/o/apps/all", key=nobody["api_key"]) == (401, {"result": "User does not have right"})
    assert await api.get("/o/apps/mine", key=None) == (400, {"result": 'Missing parameter "api_key" or "auth_token"'})


async def test_details(api: Api) -> None:
    app = await api.app("a")
    boss = await api.user("boss", admin_of=[app["_id"]])
    reader = await api.user("reader", user_of=[app["_id"]])
    await api.user("stranger")
    admin_id = await api.admin_id()
    await api.db[app_users_name(app["_id"])].insert_many([{"lac": NOW - 50}, {"lac": NOW - 5}])
    await api.db["apps"].update_one({"_id": ObjectId(app["_id"])}, {"$set": {"plugins": {"p": {"on": True}}}})
    expected = {
        "app": {"owner": "Administrator", "owner_id": admin_id, "created_at": NOW, "edited_at": NOW,
                "plugins": {"p": {"on": True}}, "last_data_users": NOW - 5},
        "global_admin": [{"_id": admin_id, "full_name": "Administrator", "username": f"admin-{ADMIN_KEY[:8]}"}],
        "admin": [{"_id": boss["_id"], "full_name": "Boss", "username": "boss"}],
        "user": [{"_id": reader["_id"], "full_name": "Reader", "username": "reader"}],
    }
    assert await api.get("/o/apps/details", app_id=app["_id"]) == (200, expected)
    assert await api.get("/o/apps/details", key=boss["api_key"], app_id=app["_id"]) == (200, expected)


@pytest.mark.parametrize("who, app_id, status, result", [
    ("admin", None, 400, "No app id provided"),
    ("admin", "", 400, "No app id provided"),
    ("admin", "0" * 24, 401, "App does not exist"),
    ("reader", "{id}", 401, "User does not have right"),
    ("reader", "0" * 24, 401, "User does not have right"),
])
async def test_details_errors(api: Api, who: str, app_id: str | None, status: int, result: str) -> None:
    app = await api.app("a")
    key = ADMIN_KEY if who == "admin" else (await api.user("reader", user_of=[app["_id"]]))["api_key"]
    params = {} if app_id is None else {"app_id": app_id.replace("{id}", app["_id"])}
    assert await api.get("/o/apps/details", key=key, **params) == (status, {"result": result})


async def test_plugins(api: Api) -> None:
    app = await api.app("a")
    assert await api.get("/o/apps/plugins", app_id=app["_id"]) == (200, {"plugins": {}})
    settings = {"logger": {"state": "on"}, "api": {"x": 1}}
    await api.db["apps"].update_one({"_id": ObjectId(app["_id"])}, {"$set": {"plugins": settings}})
    api.tally.app[keys.APPS].invalidate()
    assert await api.get("/o/apps/plugins", app_id=app["_id"]) == (200, {"plugins": settings})
    assert await api.get("/o/apps/plugins", app_id=app["_id"], name="logger") == \
        (200, {"plugins": {"logger": {"state": "on"}}})
    assert await api.get("/o/apps/plugins", app_id=app["_id"], name="nope") == (200, {"plugins": settings})
    assert await api.get("/o/apps/plugins") == (400, {"result": "Error: Missing app_id argument"})
    assert await api.get("/o/apps/plugins", app_id="0" * 24) == (404, {"result": "App not found"})
