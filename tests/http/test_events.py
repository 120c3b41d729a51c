"""Custom events: `/o?method=events` (one event, a segment, a merge, the default) and `get_events`.

Countly's modern events test (`test/3.api.write/5.write.app.events.js`) replayed with Tally's
decisions: events without `count` count 1, an event without key is a skipped part (200 with a
warning), `method=events` returns one merged object, `get_events` always carries `limits`.
"""
from __future__ import annotations

from typing import Any

from tests.http.util_http import LIMITS, T0, bad_field_names_in_db, new_app, read_ok, same_timeobj, write_ok

DEVICE = "1234567890"


def one_day(**values: Any) -> dict[str, Any]:
    """Event time object with everything on 2024-11-07 17:xx (no segments)."""
    return {"2024": {"11": {"7": {"17": dict(values), **values}, **values}, **values}, "meta": {}}


async def _events(tally: Any, app_id: str, **params: Any) -> Any:
    return await read_ok(tally, app_id, method="events", **params)


async def _send(tally: Any, key: str, events: Any, device: str = DEVICE) -> None:
    await write_ok(tally, app_key=key, device_id=device, events=events)


async def test_countly_events_sequence(tally):
    app_id, key = await new_app(tally)

    # no events at all
    await _send(tally, key, [])
    assert await read_ok(tally, app_id, method="get_events") == {"limits": LIMITS}
    r = await tally.client.get("/o", params={"api_key": tally.admin_key, "app_id": app_id, "method": "events"})
    assert (r.status, await r.text()) == (200, "{}")

    # an event without key: a skipped part, the request still succeeds
    status, body = await tally.write(app_key=key, device_id=DEVICE, events=[{"count": 1}])
    assert status == 200 and body["result"] == "Success" and len(body["warnings"]) == 1, body
    assert await read_ok(tally, app_id, method="get_events") == {"limits": LIMITS}

    # an event without count counts 1
    await _send(tally, key, [{"key": "test"}])
    assert same_timeobj(await _events(tally, app_id), one_day(c=1))
    assert await read_ok(tally, app_id, method="get_events") == {"_id": app_id, "list": ["test"], "limits": LIMITS}

    await _send(tally, key, [{"key": "test", "count": 1}])
    await _send(tally, key, [{"key": "test", "count": 2}])
    for params in ({}, {"event": "test"}, {"events": ["test"]}):
        assert same_timeobj(await _events(tally, app_id, **params), one_day(c=4)), params

    # another event: the default read stays on the first key in alphabetical order
    await _send(tally, key, [{"key": "test1", "count": 1}])
    assert same_timeobj(await _events(tally, app_id), one_day(c=4))
    assert same_timeobj(await _events(tally, app_id, event="test1"), one_day(c=1))
    assert same_timeobj(await _events(tally, app_id, events=["test", "test1"]), one_day(c=5))
    assert await read_ok(tally, app_id, method="get_events") == {
        "_id": app_id, "list": ["test", "test1"], "limits": LIMITS}

    # two events in one request, then sums
    await _send(tally, key, [{"key": "test1", "count": 3}, {"key": "test2", "count": 2}])
    await _send(tally, key, [{"key": "test1", "count": 1, "sum": 2.5}])
    await _send(tally, key, [{"key": "test1", "count": 1, "sum": 1.25, "dur": 7}])
    assert same_timeobj(await _events(tally, app_id, event="test1"), one_day(c=6, s=3.75, dur=7))
    assert same_timeobj(await _events(tally, app_id, event="test2"), one_day(c=2))

    # segmentation
    await _send(tally, key, [{"key": "test1", "count": 1, "segmentation": {"country": "Latvia"}}])
    await _send(tally, key, [{"key": "test1", "count": 2, "segmentation": {"country": "Latvia", "market": "amazon"}}])
    await _send(tally, key, [{"key": "test1", "count": 2, "sum": 1.5, "dur": 3,
                              "segmentation": {"country": "Turkey", "market": "googleplay", "version": "1.2"}}])
    meta = {"segments": ["country", "market", "version"], "country": ["Latvia", "Turkey"],
            "market": ["amazon", "googleplay"], "version": ["1:2"]}
    test1 = {"c": 11, "s": 5.25, "dur": 10}
    assert await _events(tally, app_id, event="test1") == {
        "2024": {"11": {"7": {"17": test1, **test1}, **test1}, **test1}, "meta": meta}
    assert await _events(tally, app_id, event="test1", segmentation="country") == {
        "2024": {"Latvia": {"c": 3}, "Turkey": {"c": 2, "s": 1.5, "dur": 3},
                 "11": {"Latvia": {"c": 3}, "Turkey": {"c": 2, "s": 1.5, "dur": 3},
                        "7": {"Latvia": {"c": 3}, "Turkey": {"c": 2, "s": 1.5, "dur": 3}}}},
        "meta": meta}
    assert await _events(tally, app_id, event="test1", segmentation="market") == {
        "2024": {"amazon": {"c": 2}, "googleplay": {"c": 2, "s": 1.5, "dur": 3},
                 "11": {"amazon": {"c": 2}, "googleplay": {"c": 2, "s": 1.5, "dur": 3},
                        "7": {"amazon": {"c": 2}, "googleplay": {"c": 2, "s": 1.5, "dur": 3}}}},
        "meta": meta}
    assert await _events(tally, app_id, event="test1", segmentation="version") == {
        "2024": {"1:2": {"c": 2, "s": 1.5, "dur": 3},
                 "11": {"1:2": {"c": 2, "s": 1.5, "dur": 3}, "7": {"1:2": {"c": 2, "s": 1.5, "dur": 3}}}},
        "meta": meta}
    # merge of several events: numbers summed, metas joined
    merged = {"c": 15, "s": 5.25, "dur": 10}
    assert await _events(tally, app_id, events=["test", "test1"]) == {
        "2024": {"11": {"7": {"17": merged, **merged}, **merged}, **merged}, "meta": meta}
    assert await read_ok(tally, app_id, method="get_events") == {
        "_id": app_id, "list": ["test", "test1", "test2"],
        "segments": {"test1": ["country", "market", "version"]}, "limits": LIMITS}
    assert same_timeobj(await _events(tally, app_id), one_day(c=4))  # still the first event


async def test_merge_of_events_without_data_and_an_empty_list(tally):
    app_id, key = await new_app(tally)
    await _send(tally, key, [{"key": "a", "count": 1}])
    assert same_timeobj(await _events(tally, app_id, events=["a", "nothing"]), one_day(c=1))
    r = await tally.client.get("/o", params={"api_key": tally.admin_key, "app_id": app_id, "method": "events",
                                             "events": "[]"})
    assert (r.status, await r.text()) == (200, "{}")
    r = await tally.client.get("/o", params={"api_key": tally.admin_key, "app_id": app_id, "method": "events",
                                             "event": "nothing"})
    assert (r.status, await r.text()) == (200, "{}")


async def test_default_event_is_the_alphabetically_first_non_internal_key(tally):
    app_id, key = await new_app(tally)
    await _send(tally, key, [{"key": "zeta", "count": 5}])
    await _send(tally, key, [{"key": "[CLY]_view", "count": 9, "segmentation": {"name": "home"}}])
    await _send(tally, key, [{"key": "alpha", "count": 2}])
    assert same_timeobj(await _events(tally, app_id), one_day(c=2))


async def test_internal_keys_are_hidden_from_get_events(tally):
    app_id, key = await new_app(tally)
    await _send(tally, key, [{"key": "[CLY]_view", "count": 1, "dur": 4, "segmentation": {"name": "home"}},
                             {"key": "buy", "count": 1, "segmentation": {"item": "tea"}}])
    assert await read_ok(tally, app_id, method="get_events") == {
        "_id": app_id, "list": ["buy"], "segments": {"buy": ["item"]}, "limits": LIMITS}
    # internal events known to the server are still stored and readable by key
    assert await _events(tally, app_id, event="[CLY]_view") == {
        "2024": {"11": {"7": {"17": {"c": 1, "dur": 4}, "c": 1, "dur": 4}, "c": 1, "dur": 4}, "c": 1, "dur": 4},
        "meta": {"segments": ["name"], "name": ["home"]}}


async def test_unknown_internal_event_is_not_stored(tally):
    app_id, key = await new_app(tally)
    status, body = await tally.write(app_key=key, device_id=DEVICE,
                                     events=[{"key": "[CLY]_no_such_thing", "count": 1}, {"key": "ok"}])
    assert status == 200 and body["result"] == "Success", body
    r = await tally.client.get("/o", params={"api_key": tally.admin_key, "app_id": app_id, "method": "events",
                                             "event": "[CLY]_no_such_thing"})
    assert (r.status, await r.text()) == (200, "{}")
    assert same_timeobj(await _events(tally, app_id, event="ok"), one_day(c=1))


async def test_event_timestamp_switches_the_buckets_of_that_event_only(tally):
    app_id, key = await new_app(tally)
    oct20_noon_ms = 1_729_425_600_000  # 2024-10-20 12:00 UTC: another month, inside the 30-day window
    await _send(tally, key, [{"key": "late", "count": 5, "sum": 1.5, "timestamp": oct20_noon_ms},
                             {"key": "late", "count": 2}])
    await _send(tally, key, [{"key": "late", "count": 1, "timestamp": (T0 - 3600) // 1}])  # seconds: 16:20
    assert same_timeobj(await _events(tally, app_id, event="late"), {
        "2024": {
            "10": {"20": {"12": {"c": 5, "s": 1.5}, "c": 5, "s": 1.5}, "c": 5, "s": 1.5},
            "11": {"7": {"16": {"c": 1}, "17": {"c": 2}, "c": 3}, "c": 3},
            "c": 8, "s": 1.5},
        "meta": {}})


async def test_day_like_segment_values_get_the_cly_prefix(tally):
    app_id, key = await new_app(tally)
    await _send(tally, key, [{"key": "level", "segmentation": {"stage": "32"}}])
    await _send(tally, key, [{"key": "level", "segmentation": {"stage": "5"}},
                             {"key": "level", "segmentation": {"stage": 5}}])
    await _send(tally, key, [{"key": "level", "count": 2, "segmentation": {"stage": 31}}])
    meta = {"segments": ["stage"], "stage": ["32", "[CLY]5", "[CLY]31"]}
    assert await _events(tally, app_id, event="level", segmentation="stage") == {
        "2024": {"32": {"c": 1}, "[CLY]5": {"c": 2}, "[CLY]31": {"c": 2},
                 "11": {"32": {"c": 1}, "[CLY]5": {"c": 2}, "[CLY]31": {"c": 2},
                        "7": {"32": {"c": 1}, "[CLY]5": {"c": 2}, "[CLY]31": {"c": 2}}}},
        "meta": meta}


async def test_keys_with_dots_and_dollars_are_escaped_everywhere(tally):
    app_id, key = await new_app(tally)
    await write_ok(tally, app_key=key, device_id="esc.dev$1", begin_session=1,
                   metrics={"_os": "Android", "_device": "$Galaxy.S10", "_carrier": "$Tele.2", "_my.metric": "x"},
                   user_details={"name": "A", "custom": {"a.b": "x", "$set": "y", "nested": {"c.d": 1}}},
                   events=[{"key": "my.event$x", "count": 2,
                            "segmentation": {"a.b": "v.1", "$seg": "$val", "z": "x.y.z"}},
                           {"key": "system.thing", "count": 1},
                           {"key": "x..y", "count": 1}])
    assert await read_ok(tally, app_id, method="get_events") == {
        "_id": app_id, "list": ["my.eventx", "thing", "xy"], "segments": {"my:eventx": ["ab", "seg", "z"]},
        "limits": LIMITS}
    two = {"c": 2}
    meta = {"segments": ["ab", "seg", "z"], "ab": ["v:1"], "seg": ["val"], "z": ["x:y:z"]}
    assert await _events(tally, app_id, event="my.eventx") == {
        "2024": {"11": {"7": {"17": two, **two}, **two}, **two}, "meta": meta}
    assert await _events(tally, app_id, event="my.eventx", segmentation="ab") == {
        "2024": {"v:1": two, "11": {"v:1": two, "7": {"v:1": two}}}, "meta": meta}
    assert same_timeobj(await _events(tally, app_id, event="thing"), one_day(c=1))
    assert same_timeobj(await _events(tally, app_id, event="xy"), one_day(c=1))
    devices = await read_ok(tally, app_id, method="devices")
    assert devices["meta"] == {"devices": ["Galaxy:S10"]}
    carriers = await read_ok(tally, app_id, method="carriers")
    assert carriers["meta"] == {"carriers": ["Tele:2"]}
    await tally.flush()
    assert await bad_field_names_in_db(tally) == []


async def test_event_limit(tally_factory):
    tally = await tally_factory(event_limit=2)
    app_id, key = await new_app(tally)
    await _send(tally, key, [{"key": "a"}, {"key": "b"}])
    status, body = await tally.write(app_key=key, device_id=DEVICE, events=[{"key": "c"}, {"key": "a", "count": 2}])
    assert status == 200 and body["result"] == "Success", body
    assert await read_ok(tally, app_id, method="get_events") == {
        "_id": app_id, "list": ["a", "b"],
        "limits": {"event_limit": 2, "event_segmentation_limit": 100, "event_segmentation_value_limit": 1000}}
    assert same_timeobj(await _events(tally, app_id, event="a"), one_day(c=3))
    r = await tally.client.get("/o", params={"api_key": tally.admin_key, "app_id": app_id, "method": "events",
                                             "event": "c"})
    assert (r.status, await r.text()) == (200, "{}")


async def test_segmentation_limits(tally_factory):
    tally = await tally_factory(event_segmentation_limit=1, event_segmentation_value_limit=2)
    app_id, key = await new_app(tally)
    await _send(tally, key, [{"key": "a", "segmentation": {"k1": "v1", "k2": "x"}}])   # k2: over the key limit
    await _send(tally, key, [{"key": "a", "segmentation": {"k2": "y"}}])               # still over it
    await _send(tally, key, [{"key": "a", "segmentation": {"k1": "v2"}}])
    await _send(tally, key, [{"key": "a", "count": 4, "segmentation": {"k1": "v3"}}])  # over the value limit
    await _send(tally, key, [{"key": "a", "segmentation": {"k1": "v1"}}])
    assert await read_ok(tally, app_id, method="get_events") == {
        "_id": app_id, "list": ["a"], "segments": {"a": ["k1"]},
        "limits": {"event_limit": 500, "event_segmentation_limit": 1, "event_segmentation_value_limit": 2}}
    meta = {"segments": ["k1"], "k1": ["v1", "v2"]}
    assert await _events(tally, app_id, event="a") == {
        "2024": {"11": {"7": {"17": {"c": 8}, "c": 8}, "c": 8}, "c": 8}, "meta": meta}
    assert await _events(tally, app_id, event="a", segmentation="k1") == {
        "2024": {"v1": {"c": 2}, "v2": {"c": 1}, "11": {"v1": {"c": 2}, "v2": {"c": 1},
                                                        "7": {"v1": {"c": 2}, "v2": {"c": 1}}}},
        "meta": meta}
    r = await tally.client.get("/o", params={"api_key": tally.admin_key, "app_id": app_id, "method": "events",
                                             "event": "a", "segmentation": "k2"})
    assert (r.status, await r.text()) == (200, "{}") or (await r.json())["2024"] == {}


async def test_an_events_only_request_counts_one_e(tally):
    app_id, key = await new_app(tally)
    await _send(tally, key, [{"key": "a", "count": 3}, {"key": "b"}])
    users = await read_ok(tally, app_id, method="sessions")
    assert same_timeobj(users, {"2024": {"11": {"7": {"17": {"e": 1}, "e": 1}, "e": 1}, "e": 1}, "meta": {}})
