"""`/i/bulk`: Countly's bulk test and the parameter rules (contract §3.11, Tally decisions).

Items are applied strictly in order with each device's state carried from item to item (so the
Countly test's two distinct devices are exactly two new users), the reply comes once all items are
stored, items may carry `metrics`/`events` as objects or JSON text, seconds or ms timestamps, and
fall back to the top-level `app_key`.
"""
from __future__ import annotations

import json
from typing import Any

from tests.http.util_http import T0, metric_obj, new_app, query_string, raw, read_ok, same_timeobj, sessions

DEVICE = "1234567890"


async def _bulk_get(tally: Any, requests: Any, **extra: Any) -> tuple[int, Any]:
    params = {"requests": requests if isinstance(requests, str) else json.dumps(requests), **extra}
    r = await tally.client.get("/i/bulk", params=params)
    return r.status, await r.json()


async def test_countly_bulk_sessions(tally):
    app_id, key = await new_app(tally)
    requests = [
        {"device_id": DEVICE, "app_key": key, "timestamp": T0 - 360},                          # 17:14 bare
        {"device_id": DEVICE, "app_key": key, "begin_session": 1, "timestamp": T0 - 300},      # 17:15 new user
        {"device_id": DEVICE, "app_key": key, "begin_session": 1, "timestamp": T0 - 240},      # 17:16 again
        {"device_id": DEVICE, "app_key": key, "session_duration": 60, "timestamp": T0 - 3 * 3600},  # 14:20
        {"device_id": DEVICE, "app_key": key, "end_session": 1, "timestamp": T0 - 2 * 3600},   # 15:20
        {"device_id": DEVICE + "new", "app_key": key, "begin_session": 1, "timestamp": T0 - 3600},  # 16:20
    ]
    assert await _bulk_get(tally, requests) == (200, {"result": "Success"})
    # The second begin closes the first (0 s) session: ds "0", frequency "1" (1 minute later).
    # The end_session closes the second one with its 60 s: ds "2". e counts all six items.
    expected = {
        "2024": {
            "u": 2, "f": {"0": 2, "1": 1}, "ds": {"0": 1, "2": 1}, "Unknown": {"u": 2, "t": 3, "n": 2},
            "w45": {"u": 2, "f": {"0": 2, "1": 1}, "ds": {"0": 1, "2": 1}, "Unknown": {"u": 2}},
            "11": {
                "u": 2, "f": {"0": 2, "1": 1}, "ds": {"0": 1, "2": 1}, "Unknown": {"u": 2, "t": 3, "n": 2},
                "7": {"14": {"e": 1, "d": 60}, "15": {"e": 1}, "16": {"e": 1, "t": 1, "n": 1, "u": 1},
                      "17": {"e": 3, "t": 2, "n": 1, "u": 1},
                      "e": 6, "t": 3, "n": 2, "u": 2, "d": 60, "Unknown": {"t": 3, "n": 2, "u": 2},
                      "f": {"0": 2, "1": 1}, "ds": {"0": 1, "2": 1}},
                "e": 6, "t": 3, "n": 2, "d": 60},
            "e": 6, "t": 3, "n": 2, "d": 60},
        "meta": {"countries": ["Unknown"], "f-ranges": ["0", "1"], "d-ranges": ["0", "2"]},
    }
    for method in ("sessions", "users", "locations"):
        assert await sessions(tally, app_id, method) == expected, method
    assert await sessions(tally, app_id, "total_users") == [{"_id": "users", "u": 2}]


async def test_countly_bulk_metrics(tally):
    app_id, key = await new_app(tally)
    ios = {"_os": "IOS", "_os_version": "7.1", "_resolution": "2048x1536", "_device": "iPod", "_carrier": "Telecom",
           "_app_version": "1.2"}
    requests = [
        {"device_id": DEVICE + "1", "app_key": key, "begin_session": 1, "metrics": {"_os": "Android"}},
        {"device_id": DEVICE + "2", "app_key": key, "begin_session": 1, "metrics": {"_os_version": "4.4"}},
        {"device_id": DEVICE + "4", "app_key": key, "begin_session": 1, "metrics": {"_resolution": "1200x800"}},
        {"device_id": DEVICE + "5", "app_key": key, "begin_session": 1,
         "metrics": json.dumps({"_os": "Android", "_os_version": "4.4"})},                    # JSON text
        {"device_id": DEVICE + "6", "app_key": key, "begin_session": 1, "metrics": {"_device": "Nexus 5"}},
        {"device_id": DEVICE + "7", "app_key": key, "begin_session": 1, "metrics": {"_carrier": "Vodafone"}},
        {"device_id": DEVICE + "8", "app_key": key, "begin_session": 1, "metrics": {"_app_version": "1.0"}},
        {"device_id": DEVICE + "9", "app_key": key, "begin_session": 1, "metrics": ios},
        {"device_id": DEVICE + "10", "app_key": key, "begin_session": 1, "metrics": json.dumps(ios)},
    ]
    assert await _bulk_get(tally, requests) == (200, {"result": "Success"})
    assert await sessions(tally, app_id, "device_details") == metric_obj(
        {"Android": 2, "4:4": 1, "1200x800": 1, "a4:4": 1, "1:0": 1, "IOS": 2, "i7:1": 2, "2048x1536": 2, "1:2": 2},
        {"os": ["Android", "IOS"], "os_versions": ["4:4", "a4:4", "i7:1"], "resolutions": ["1200x800", "2048x1536"],
         "app_versions": ["1:0", "1:2"]})
    assert await sessions(tally, app_id, "devices") == metric_obj({"Nexus 5": 1, "iPod": 2},
                                                                  {"devices": ["Nexus 5", "iPod"]})
    assert await sessions(tally, app_id, "carriers") == metric_obj({"Vodafone": 1, "Telecom": 2},
                                                                   {"carriers": ["Vodafone", "Telecom"]})
    users = await sessions(tally, app_id)
    assert (users["2024"]["t"], users["2024"]["n"], users["2024"]["u"], users["2024"]["e"]) == (9, 9, 9, 9)


async def test_countly_bulk_events(tally):
    app_id, key = await new_app(tally)
    requests = [
        {"device_id": DEVICE, "app_key": key, "events": [{"key": "test", "count": 1}]},
        {"device_id": DEVICE, "app_key": key, "events": [{"key": "test", "count": 2}]},
        {"device_id": DEVICE, "app_key": key, "events": [{"key": "test1", "count": 1}]},
        {"device_id": DEVICE, "app_key": key, "events": [{"key": "test1", "count": 3}, {"key": "test2", "count": 2}]},
        {"device_id": DEVICE, "app_key": key, "events": json.dumps([{"key": "test1", "count": 1, "sum": 2.5}])},
        {"device_id": DEVICE, "app_key": key, "events": [{"key": "test1", "count": 1, "sum": 1.25}]},
        {"device_id": DEVICE, "app_key": key,
         "events": [{"key": "test1", "count": 1, "segmentation": {"country": "Latvia", "version": "1.0"}}]},
        {"device_id": DEVICE, "app_key": key, "events": [{"key": "test1", "count": 2, "segmentation": {
            "country": "Latvia", "market": "amazon", "version": "1.0"}}]},
        {"device_id": DEVICE, "app_key": key, "events": [{"key": "test1", "count": 2, "sum": 1.5, "segmentation": {
            "country": "Turkey", "market": "googleplay", "version": "1.2"}}]},
        {"device_id": DEVICE, "app_key": key, "events": [{"key": "test2", "count": 2, "sum": 1.5, "segmentation": {
            "country": "Latvia", "market": "googleplay"}}]},
        {"device_id": DEVICE + "A", "app_key": key, "events": [{"key": "test2", "count": 2, "sum": 1.5,
                                                                 "segmentation": {"country": "Latvia"}}]},
    ]
    assert await _bulk_get(tally, requests) == (200, {"result": "Success"})
    c3 = {"c": 3}
    assert same_timeobj(await read_ok(tally, app_id, method="events"),
                        {"2024": {"11": {"7": {"17": c3, **c3}, **c3}, **c3}, "meta": {}})
    meta = {"segments": ["country", "version", "market"], "country": ["Latvia", "Turkey"],
            "version": ["1:0", "1:2"], "market": ["amazon", "googleplay"]}
    test1 = {"c": 11, "s": 5.25}
    assert await read_ok(tally, app_id, method="events", event="test1") == {
        "2024": {"11": {"7": {"17": test1, **test1}, **test1}, **test1}, "meta": meta}
    assert await read_ok(tally, app_id, method="events", event="test1", segmentation="country") == {
        "2024": {"Latvia": {"c": 3}, "Turkey": {"c": 2, "s": 1.5},
                 "11": {"Latvia": {"c": 3}, "Turkey": {"c": 2, "s": 1.5},
                        "7": {"Latvia": {"c": 3}, "Turkey": {"c": 2, "s": 1.5}}}},
        "meta": meta}
    test2 = {"c": 6, "s": 3.0}
    assert await read_ok(tally, app_id, method="events", event="test2") == {
        "2024": {"11": {"7": {"17": test2, **test2}, **test2}, **test2},
        "meta": {"segments": ["country", "market"], "country": ["Latvia"], "market": ["googleplay"]}}
    users = await sessions(tally, app_id)
    assert same_timeobj(users, {"2024": {"11": {"7": {"17": {"e": 11}, "e": 11}, "e": 11}, "e": 11}, "meta": {}})


async def test_state_is_carried_in_order_within_one_bulk(tally):
    app_id, key = await new_app(tally)
    # the same device begins twice in one bulk: one new user, one returning session
    requests = [{"device_id": "same", "app_key": key, "begin_session": 1},
                {"device_id": "same", "app_key": key, "session_duration": 45},
                {"device_id": "same", "app_key": key, "end_session": 1},
                {"device_id": "same", "app_key": key, "begin_session": 1}]
    assert await _bulk_get(tally, requests) == (200, {"result": "Success"})
    body = await sessions(tally, app_id)
    assert body["2024"]["11"]["7"] == {"17": {"e": 4, "t": 2, "n": 1, "u": 1, "d": 45},
                                       "e": 4, "t": 2, "n": 1, "u": 1, "d": 45,
                                       "Unknown": {"t": 2, "n": 1, "u": 1}, "f": {"0": 1, "1": 1}, "ds": {"2": 1}}


async def test_timestamps_in_seconds_and_ms(tally):
    app_id, key = await new_app(tally)
    requests = [{"device_id": "s", "app_key": key, "begin_session": 1, "timestamp": T0 - 86400},
                {"device_id": "ms", "app_key": key, "begin_session": 1, "timestamp": (T0 - 2 * 86400) * 1000},
                {"device_id": "str", "app_key": key, "begin_session": 1, "timestamp": str(T0 - 3 * 86400)},
                {"device_id": "future", "app_key": key, "begin_session": 1, "timestamp": T0 + 86400}]
    assert await _bulk_get(tally, requests) == (200, {"result": "Success"})
    month = (await sessions(tally, app_id))["2024"]["11"]
    assert {day: month[day]["t"] for day in ("4", "5", "6", "7")} == {"4": 1, "5": 1, "6": 1, "7": 1}
    assert month["7"]["17"] == {"e": 1, "t": 1, "n": 1, "u": 1}    # the future one clamped to now


async def test_top_level_app_key_fallback_and_skipped_items(tally):
    app_id, key = await new_app(tally)
    _, other_key = await new_app(tally, "other")
    requests = [
        {"device_id": "a", "begin_session": 1},                        # top-level app_key
        {"device_id": "b", "app_key": key, "begin_session": 1},        # its own
        {"app_key": key, "begin_session": 1},                           # no device_id: skipped
        {"device_id": "c", "app_key": other_key, "begin_session": 1},  # another app
        "not an object",                                                # skipped
        {"device_id": "d", "app_key": "no-such-app", "begin_session": 1},  # unknown app: skipped
    ]
    status, body = await _bulk_get(tally, requests, app_key=key)
    assert status == 200 and body["result"] == "Success", body
    assert len(body["warnings"]) == 3, body
    assert set(body) == {"result", "warnings"}
    users = await sessions(tally, app_id)
    assert (users["2024"]["t"], users["2024"]["n"], users["2024"]["e"]) == (2, 2, 2)


async def test_items_without_any_app_key_are_skipped_with_a_warning(tally):
    app_id, key = await new_app(tally)
    status, body = await _bulk_get(tally, [{"device_id": "x", "begin_session": 1},
                                           {"device_id": "y", "app_key": key, "begin_session": 1}])
    assert status == 200 and body["result"] == "Success" and len(body["warnings"]) == 1, body
    assert (await sessions(tally, app_id))["2024"]["t"] == 1


async def test_requests_missing_or_not_an_array(tally):
    await new_app(tally)
    r = await tally.client.get("/i/bulk")
    assert (r.status, await r.json()) == (400, {"result": 'Missing parameter "requests"'})
    assert await _bulk_get(tally, "[not json") == (400, {"result": 'Missing parameter "requests"'})
    assert await _bulk_get(tally, '{"device_id": "x"}') == (400, {"result": 'Invalid parameter "requests"'})
    assert await _bulk_get(tally, '"a string"') == (400, {"result": 'Invalid parameter "requests"'})
    assert await _bulk_get(tally, "[]") == (200, {"result": "Success"})


async def test_post_form_body_and_json_body(tally):
    app_id, key = await new_app(tally)
    items = [{"device_id": "p1", "begin_session": 1, "metrics": {"_os": "Android"}},
             {"device_id": "p1", "events": [{"key": "buy", "count": 2}]}]
    status, text, _ = await raw(tally, "POST", "/i/bulk", body=query_string({"app_key": key, "requests": items}),
                                content_type="application/x-www-form-urlencoded")
    assert (status, json.loads(text)) == (200, {"result": "Success"})
    r = await tally.client.post("/i/bulk", json={"app_key": key, "requests": [
        {"device_id": "p2", "begin_session": 1, "metrics": {"_os": "IOS"}}]})
    assert (r.status, await r.json()) == (200, {"result": "Success"})
    assert await sessions(tally, app_id, "device_details") == metric_obj(
        {"Android": 1, "IOS": 1}, {"os": ["Android", "IOS"]})
    c2 = {"c": 2}
    assert same_timeobj(await read_ok(tally, app_id, method="events", event="buy"),
                        {"2024": {"11": {"7": {"17": c2, **c2}, **c2}, **c2}, "meta": {}})


async def test_bulk_duplicates_are_not_counted_twice(tally):
    app_id, key = await new_app(tally)
    item = {"device_id": "dup", "app_key": key, "begin_session": 1, "timestamp": T0 - 60}
    assert await _bulk_get(tally, [item, {**item, "rr": 3}]) == (200, {"result": "Success"})
    assert await _bulk_get(tally, [item]) == (200, {"result": "Success"})   # the whole bulk retried
    users = await sessions(tally, app_id)
    assert (users["2024"]["t"], users["2024"]["e"]) == (1, 1)


async def test_unknown_top_level_app_key_is_reported_per_item_not_for_the_whole_bulk(tally):
    app = await tally.create_app("bulk-fallback")
    items = [{"device_id": "a", "begin_session": 1},                           # falls back to the bad key
             {"app_key": app["key"], "device_id": "b", "begin_session": 1}]    # its own, valid key
    r = await tally.client.get("/i/bulk", params={"app_key": "no-such-app", "requests": json.dumps(items)})
    assert r.status == 200
    assert await r.json() == {"result": "Success", "warnings": ["requests[0]: App does not exist"]}
    status, body = await tally.read(app_id=app["_id"], method="sessions")
    assert status == 200
    assert (body["2024"]["t"], body["2024"]["n"]) == (1, 1)
