"""Statistics endpoints: shapes, bad input, rights, JSONP (the exact numbers: test_exact_users)."""
from __future__ import annotations

import json
from typing import Any

import pytest

from plugins._shared.testing import get, new_app, send
from plugins.stats.tests.traffic import NOW
from tests.conftest import Tally

PASSWORD = "Passw0rd!"
MISSING_KEY = 'Missing parameter "api_key" or "auth_token"'


async def member(tally: Tally, name: str, **args: Any) -> str:
    """A member created through /i/users/create; returns its api_key."""
    body = {"full_name": name.title(), "username": name, "password": PASSWORD, "email": f"{name}@example.com", **args}
    status, reply = await get(tally, "/i/users/create", args=body)
    assert status == 200, reply
    return str(reply["api_key"])


@pytest.mark.hook("tally_routes", "tally_requires")
async def test_routes_are_served(tally) -> None:  # type: ignore[no-untyped-def]
    app_id, _ = await new_app(tally)
    for path in ("/o/stats/chart", "/o/stats/app", "/o/stats/app/bundle_usage"):
        status, body = await get(tally, path, app_id=app_id)
        assert status == 200, (path, body)
    for path in ("/o/stats/user", "/o/stats/account", "/o/stats/activity"):
        status, body = await get(tally, path)
        assert status == 200, (path, body)
    import plugins.stats as plugin

    assert plugin.tally_requires() == ["activity"]


@pytest.mark.hook("tally_routes")
async def test_chart_shape_and_events(tally) -> None:  # type: ignore[no-untyped-def]
    app_id, key = await new_app(tally)
    await send(tally, key, device_id="a", begin_session=1, timestamp=NOW - 86400)
    await send(tally, key, device_id="a", events=[{"key": "purchase", "count": 3, "sum": 29.97}],
               timestamp=NOW - 86400 + 5)
    await send(tally, key, device_id="a", events=[{"key": "purchase", "sum": 1.5}], timestamp=NOW - 5)
    await tally.flush()
    q = {"from": "2024-11-06", "to": "2024-11-07"}
    status, body = await get(tally, "/o/stats/chart", app_id=app_id, metric="event", event="purchase", **q)
    assert status == 200, body
    assert body == {"errorId": 0, "fromDate": "6 Nov 00:00", "toDate": "7 Nov 17:20", "chartData": [
        {"name": "purchase", "data": [{"date": "6 November", "shortdate": "6 Nov", "value": 3},
                                      {"date": "7 November", "shortdate": "7 Nov", "value": 1}]}]}
    _, body = await get(tally, "/o/stats/chart", app_id=app_id, metric="event", event="purchase",
                        event_field="sum", **{"from": "2024-11-06", "to": "2024-11-06"})
    assert body["chartData"] == [{"name": "purchase (sum)", "data": [
        {"date": "6 November", "shortdate": "6 Nov", "value": 29.97}]}]
    assert body["toDate"] == "6 Nov 23:59"
    _, body = await get(tally, "/o/stats/chart", app_id=app_id, metric="requests,new_users,duration", **q)
    assert [(s["name"], [p["value"] for p in s["data"]]) for s in body["chartData"]] == [
        ("Requests", [2, 1]), ("New users", [1, 0]), ("Time spent (seconds)", [0, 0])]
    _, default = await get(tally, "/o/stats/chart", app_id=app_id)     # sessions, the last 30 days
    assert len(default["chartData"][0]["data"]) == 30 and default["fromDate"] == "9 Oct 00:00"
    r = await tally.client.get("/o/stats/chart", params={"api_key": tally.admin_key, "app_id": app_id,
                                                         "callback": "draw", **q})
    text = await r.text()
    assert r.status == 200 and text.startswith("draw(") and json.loads(text[5:-2])["errorId"] == 0


@pytest.mark.hook("tally_routes")
async def test_bundle_usage(tally) -> None:  # type: ignore[no-untyped-def]
    app_id, key = await new_app(tally)
    day1, day2 = NOW - 86400, NOW - 60
    for device, version in (("a", "1.0.0"), ("b", "1.0.0"), ("c", "2.0.0")):
        await send(tally, key, device_id=device, begin_session=1, metrics={"_app_version": version}, timestamp=day1)
    await send(tally, key, device_id="a", begin_session=1, metrics={"_app_version": "2.0.0"}, timestamp=day2)
    await send(tally, key, device_id="b", begin_session=1, metrics={"_app_version": "1.0.0"}, timestamp=day2)
    await tally.flush()
    status, body = await get(tally, "/o/stats/app/bundle_usage", app_id=app_id,
                             **{"from": "2024-11-05", "to": "2024-11-07"})
    assert status == 200, body
    assert body == {"labels": ["2024-11-05", "2024-11-06", "2024-11-07"], "datasets": [
        {"label": "1.0.0", "data": [0, 66.67, 50.0]}, {"label": "2.0.0", "data": [0, 33.33, 50.0]}]}


@pytest.mark.parametrize(("params", "message"), [
    ({"from": "2024-13-01"}, 'Invalid parameter "from" (no such date)'),
    ({"from": "20241101"}, 'Invalid parameter "from" (expected YYYY-MM-DD)'),
    ({"to": "yesterday"}, 'Invalid parameter "to" (expected YYYY-MM-DD)'),
    ({"from": "2024-11-07", "to": "2024-11-06"}, 'Invalid parameter "from" (after "to")'),
    ({"from": "2024-01-01", "to": "2024-11-07"}, 'Invalid parameter "to" (the range is longer than 30 days)'),
    ({"noAccumulate": "maybe"}, 'Invalid parameter "noAccumulate" (expected true or false)'),
])
@pytest.mark.hook("tally_routes")
async def test_bad_dates_and_flags(tally_factory, params: dict[str, str], message: str) -> None:  # type: ignore[no-untyped-def]
    tally = await tally_factory(stats_max_range_days=30)
    app_id, _ = await new_app(tally)
    for path in ("/o/stats/app", "/o/stats/chart", "/o/stats/activity"):
        if "noAccumulate" in params and path != "/o/stats/app":
            continue
        status, body = await get(tally, path, app_id=app_id, **params)
        assert (status, body) == (400, {"result": message}), path
    status, _ = await get(tally, "/o/stats/app", app_id=app_id, **{"from": "2024-10-09", "to": "2024-11-07"})
    assert status == 200   # exactly 30 days


@pytest.mark.hook("tally_routes")
async def test_bad_parameters(tally) -> None:  # type: ignore[no-untyped-def]
    app_id, _ = await new_app(tally)
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("/o/stats/chart", {"app_id": app_id, "metric": "sessions,bogus"}, 'Invalid parameter "metric"'),
        ("/o/stats/chart", {"app_id": app_id, "metric": "event"}, 'Missing parameter "event"'),
        ("/o/stats/chart", {"app_id": app_id, "metric": "event", "event": "x", "event_field": "avg"},
         'Invalid parameter "event_field"'),
        ("/o/stats/app", {}, 'Missing parameter "app_id"'),
        ("/o/stats/app", {"app_id": "123"}, 'Invalid parameter "app_id"'),
        ("/o/stats/apps", {"app_ids": "[1, 2]"}, 'Invalid parameter "app_ids"'),
        ("/o/stats/apps", {"app_ids": "["}, 'Invalid parameter "app_ids"'),
        ("/o/stats/apps", {}, 'Invalid parameter "app_ids"'),
        ("/o/stats/apps", {"app_ids": [app_id], "breakdown": "x"},
         'Invalid parameter "breakdown" (expected true or false)'),
    ]
    for path, params, message in cases:
        assert await get(tally, path, **params) == (400, {"result": message}), (path, params)
    assert await get(tally, "/o/stats/app", app_id="0" * 24) == (401, {"result": "App does not exist"})


@pytest.mark.hook("tally_routes")
async def test_rights(tally) -> None:  # type: ignore[no-untyped-def]
    a_id, a_key = await new_app(tally, "a")
    b_id, _ = await new_app(tally, "b")
    await send(tally, a_key, device_id="x", begin_session=1)
    await tally.flush()
    reader = await member(tally, "reader", user_of=[a_id])
    stranger = await member(tally, "stranger")
    r = await tally.client.get("/o/stats/app", params={"app_id": a_id})
    assert (r.status, await r.json()) == (400, {"result": MISSING_KEY})
    assert await get(tally, "/o/stats/account", api_key="0" * 32) == (401, {"result": "User does not exist"})
    for path in ("/o/stats/app", "/o/stats/chart", "/o/stats/app/bundle_usage", "/o/stats/activity"):
        assert await get(tally, path, app_id=b_id, api_key=reader) == (401, {"result": "User does not have right"})
        status, _ = await get(tally, path, app_id=a_id, api_key=reader)
        assert status == 200, path
    assert await get(tally, "/o/stats/apps", app_ids=[a_id, b_id], api_key=reader) == (
        401, {"result": "User does not have right"})
    _, account = await get(tally, "/o/stats/account", api_key=reader)
    assert (account["data"]["apps"], list(account["data"]["per_app"]), account["data"]["users"]) == (1, [a_id], 1)
    _, nothing = await get(tally, "/o/stats/account", api_key=stranger)
    assert nothing["data"]["apps"] == 0 and nothing["data"]["users"] == 0
    _, rows = await get(tally, "/o/stats/user", api_key=stranger, **{"from": "2024-11-07", "to": "2024-11-07"})
    assert rows == [{"date": "2024-11-07", "mau": 0, "users": 0, "sessions": 0, "new_users": 0, "requests": 0,
                     "duration": 0}]
    _, mine = await get(tally, "/o/stats/user", api_key=reader, breakdown="true",
                        **{"from": "2024-11-07", "to": "2024-11-07"})
    assert list(mine["apps"]) == [a_id] and mine["total"][0]["users"] == 1
