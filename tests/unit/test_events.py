"""server.ingest.events.record: exact updates for custom events, limits and internal events."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from bson import ObjectId

from server.ingest.events import record
from server.ingest.request import Event
from server.ingest.work import Work
from server.mongo import event_collection_name
from server.settings import Settings, load_settings
from server.storage.meta import Registry

APP = "5f0c5a3b9d1e8a2b3c4d5e6f"
TS = datetime.fromisoformat("2024-11-14T15:30:00+00:00").timestamp()  # day 14, hour 15
YESTERDAY = datetime.fromisoformat("2024-11-13T08:00:00+00:00").timestamp()


def settings(**overrides: Any) -> Settings:
    return load_settings(env={}, **overrides)


def coll(key: str) -> str:
    return event_collection_name(APP, key)


def canon(updates: list[Any]) -> list[tuple[str, str, str]]:
    return sorted((u.collection, str(u.id), json.dumps(u.ops, sort_keys=True)) for u in updates)


def expect(*updates: tuple[str, Any, dict[str, Any]]) -> list[tuple[str, str, str]]:
    return sorted((c, str(i), json.dumps(ops, sort_keys=True)) for c, i, ops in updates)


def allow_all(*_: str) -> bool:
    return True


def run(events: list[Event], registry: Registry | None = None, s: Settings | None = None,
        allows: Any = allow_all, omitted: set[str] | None = None) -> tuple[Work, tuple[int, str | None], list[str]]:
    work = Work(APP, "UTC")
    warnings: list[str] = []
    result = record(events, work, registry if registry is not None else Registry(), s or settings(), allows,
                    warnings, omitted)
    return work, result, warnings


def test_event_with_count_sum_dur_and_segmentation() -> None:
    c = coll("purchase")
    work, result, warnings = run([Event("purchase", 3, 29.97, 12.0, {"item": "book", "qty": 2}, TS)])
    assert result == (1, None) and warnings == []
    assert canon(work.updates()) == expect(
        (c, "no-segment_2024:11", {"$inc": {"d.14.c": 3, "d.14.15.c": 3, "d.14.s": 29.97, "d.14.15.s": 29.97,
                                            "d.14.dur": 12.0, "d.14.15.dur": 12.0},
                                   "$set": {"m": "2024:11", "s": "no-segment"}}),
        (c, "no-segment_2024:0", {"$set": {"m": "2024:0", "s": "no-segment", "meta_v2.segments.item": True,
                                           "meta_v2.item.book": True, "meta_v2.segments.qty": True,
                                           "meta_v2.qty.[CLY]2": True}}),
        (c, "item_2024:11", {"$inc": {"d.14.book.c": 3, "d.14.book.s": 29.97, "d.14.book.dur": 12.0},
                             "$set": {"m": "2024:11", "s": "item"}}),
        (c, "qty_2024:11", {"$inc": {"d.14.[CLY]2.c": 3, "d.14.[CLY]2.s": 29.97, "d.14.[CLY]2.dur": 12.0},
                            "$set": {"m": "2024:11", "s": "qty"}}),
        ("events", ObjectId(APP), {"$addToSet": {"list": ["purchase"], "segments.purchase": ["item", "qty"]}}),
    )


def test_event_count_only() -> None:
    c = coll("tap")
    work, result, _ = run([Event("tap", 1, None, None, {}, TS)])
    assert result == (1, None)
    assert canon(work.updates()) == expect(
        (c, "no-segment_2024:11", {"$inc": {"d.14.c": 1, "d.14.15.c": 1}, "$set": {"m": "2024:11", "s": "no-segment"}}),
        ("events", ObjectId(APP), {"$addToSet": {"list": ["tap"]}}),
    )


def test_event_with_own_timestamp_goes_to_its_day() -> None:
    c = coll("tap")
    work, _, _ = run([Event("tap", 2, None, None, {}, TS), Event("tap", 1, None, None, {}, YESTERDAY)])
    updates = work.updates()
    assert canon([u for u in updates if u.collection != "events"]) == expect(
        (c, "no-segment_2024:11", {"$inc": {"d.14.c": 2, "d.14.15.c": 2}, "$set": {"m": "2024:11", "s": "no-segment"}}),
        (c, "no-segment_2024:11", {"$inc": {"d.13.c": 1, "d.13.8.c": 1}, "$set": {"m": "2024:11", "s": "no-segment"}}),
    )
    [registry] = [u for u in updates if u.collection == "events"]
    assert registry.id == ObjectId(APP)
    assert list(registry.ops) == ["$addToSet"] and list(registry.ops["$addToSet"]) == ["list"]
    assert set(registry.ops["$addToSet"]["list"]) == {"tap"}


def test_dotted_event_key_and_escaped_segments() -> None:
    c = coll("a.b")
    work, _, _ = run([Event("a.b", 1, None, None, {"$x.y": "$1.5", "drop-list": [1], "drop-none": None,
                                                   "drop-empty": "", "": "v"}, TS)])
    assert canon(work.updates()) == expect(
        (c, "no-segment_2024:11", {"$inc": {"d.14.c": 1, "d.14.15.c": 1}, "$set": {"m": "2024:11", "s": "no-segment"}}),
        (c, "no-segment_2024:0", {"$set": {"m": "2024:0", "s": "no-segment", "meta_v2.segments.xy": True,
                                           "meta_v2.xy.1:5": True}}),
        (c, "xy_2024:11", {"$inc": {"d.14.1:5.c": 1}, "$set": {"m": "2024:11", "s": "xy"}}),
        ("events", ObjectId(APP), {"$addToSet": {"list": ["a.b"], "segments.a:b": ["xy"]}}),
    )


def test_event_limit_reached_skips_new_keys_only() -> None:
    registry = Registry({"a", "b"}, {})
    work, result, warnings = run([Event("c", 1, None, None, {}, TS), Event("a", 1, None, None, {}, TS)],
                                 registry, settings(event_limit=2))
    assert result == (1, None)
    assert warnings == ["event 'c': event_limit (2) reached, skipped"]
    # "a" is known: the registry document is not written again
    assert {u.collection for u in work.updates()} == {coll("a")}
    assert work.events == {"a"}
    assert registry.keys == {"a", "b"}


def test_event_limit_counts_keys_added_in_the_same_request() -> None:
    registry = Registry({"a"}, {})
    _, result, warnings = run([Event("b", 1, None, None, {}, TS), Event("c", 1, None, None, {}, TS)],
                              registry, settings(event_limit=2))
    assert result == (1, None)
    assert warnings == ["event 'c': event_limit (2) reached, skipped"]
    assert registry.keys == {"a", "b"}


def test_segmentation_limit_drops_new_segment_keys() -> None:
    c = coll("e")
    registry = Registry({"e"}, {"e": {"a", "b"}})
    work, _, _ = run([Event("e", 1, None, None, {"c": "x", "a": "y"}, TS)], registry,
                     settings(event_segmentation_limit=2))
    assert canon(work.updates()) == expect(
        (c, "no-segment_2024:11", {"$inc": {"d.14.c": 1, "d.14.15.c": 1}, "$set": {"m": "2024:11", "s": "no-segment"}}),
        (c, "no-segment_2024:0", {"$set": {"m": "2024:0", "s": "no-segment", "meta_v2.segments.a": True,
                                           "meta_v2.a.y": True}}),
        (c, "a_2024:11", {"$inc": {"d.14.y.c": 1}, "$set": {"m": "2024:11", "s": "a"}}),
    )  # "e" and its segment "a" are known: the registry document is not written again
    assert registry.segments["e"] == {"a", "b"}


def test_segmentation_limit_on_a_new_event_keeps_the_first_keys() -> None:
    registry = Registry()
    work, _, _ = run([Event("e", 1, None, None, {"k1": "v", "k2": "v", "k3": "v"}, TS)], registry,
                     settings(event_segmentation_limit=2))
    ids = sorted(str(u.id) for u in work.updates() if u.collection == coll("e"))
    assert ids == ["k1_2024:11", "k2_2024:11", "no-segment_2024:0", "no-segment_2024:11"]
    assert registry.segments["e"] == {"k1", "k2"}


def test_segment_value_limit_via_allows() -> None:
    c = coll("e")
    calls: list[tuple[str, ...]] = []

    def allows(collection: str, zero_id: str, set_name: str, value: str) -> bool:
        calls.append((collection, zero_id, set_name, value))
        return not (set_name == "item" and value == "book")

    work, result, _ = run([Event("e", 1, None, None, {"item": "book", "color": "red"}, TS)], allows=allows)
    assert result == (1, None)
    assert sorted(calls) == [(c, "no-segment_2024:0", "color", "red"), (c, "no-segment_2024:0", "item", "book")]
    assert canon(work.updates()) == expect(
        (c, "no-segment_2024:11", {"$inc": {"d.14.c": 1, "d.14.15.c": 1}, "$set": {"m": "2024:11", "s": "no-segment"}}),
        (c, "no-segment_2024:0", {"$set": {"m": "2024:0", "s": "no-segment", "meta_v2.segments.color": True,
                                           "meta_v2.color.red": True}}),
        (c, "color_2024:11", {"$inc": {"d.14.red.c": 1}, "$set": {"m": "2024:11", "s": "color"}}),
        ("events", ObjectId(APP), {"$addToSet": {"list": ["e"], "segments.e": ["color"]}}),
    )


def test_omitted_segments() -> None:
    work, _, _ = run([Event("e", 1, None, None, {"secret": "x", "ok": "y"}, TS)], omitted={"secret"})
    assert sorted(str(u.id) for u in work.updates() if u.collection == coll("e")) == [
        "no-segment_2024:0", "no-segment_2024:11", "ok_2024:11"]


def test_orientation_event_is_recorded_but_not_custom() -> None:
    c = coll("[CLY]_orientation")
    work, result, warnings = run([Event("[CLY]_orientation", 1, None, None, {"mode": "landscape"}, TS)])
    assert result == (0, "landscape") and warnings == []
    assert canon(work.updates()) == expect(
        (c, "no-segment_2024:11", {"$inc": {"d.14.c": 1, "d.14.15.c": 1}, "$set": {"m": "2024:11", "s": "no-segment"}}),
        (c, "no-segment_2024:0", {"$set": {"m": "2024:0", "s": "no-segment", "meta_v2.segments.mode": True,
                                           "meta_v2.mode.landscape": True}}),
        (c, "mode_2024:11", {"$inc": {"d.14.landscape.c": 1}, "$set": {"m": "2024:11", "s": "mode"}}),
        ("events", ObjectId(APP), {"$addToSet": {"list": ["[CLY]_orientation"],
                                                 "segments.[CLY]_orientation": ["mode"]}}),
    )


def test_last_orientation_wins() -> None:
    _, result, _ = run([Event("[CLY]_orientation", 1, None, None, {"mode": "landscape"}, TS),
                        Event("[CLY]_orientation", 1, None, None, {"mode": "portrait"}, TS)])
    assert result == (0, "portrait")


@pytest.mark.parametrize("key", ["[CLY]_x", "[CLY]_unknown_internal"], ids=["x", "unknown"])
def test_unknown_internal_event_is_skipped(key: str) -> None:
    registry = Registry()
    work, result, warnings = run([Event(key, 1, None, None, {}, TS)], registry)
    assert result == (0, None)
    assert work.updates() == []
    assert warnings == [f"event {key!r}: unknown internal event, skipped"]
    assert registry.keys == set()


def test_custom_events_are_counted_internal_known_are_not() -> None:
    _, result, _ = run([Event("a", 1, None, None, {}, TS), Event("b", 5, None, None, {}, TS),
                        Event("[CLY]_view", 1, None, 3.0, {"name": "home"}, TS)])
    assert result == (2, None)


def test_no_events_no_updates() -> None:
    work, result, warnings = run([])
    assert (work.updates(), result, warnings) == ([], (0, None), [])
