"""server.ingest.metrics: value normalisation (contract §3.6) and per-session aggregation."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from server.ingest.metrics import aggregate, normalise, remember
from server.ingest.sessions import ALL_LEVELS, Levels
from server.ingest.work import Work
from server.timebuckets import parts

APP = "app1"
NOW = datetime.fromisoformat("2024-11-14T15:30:00+00:00").timestamp()  # day 14, week 46
NO_LEVELS = Levels(False, False, False, False, False)

NORMALISE = [
    ("os-version-dots", {"_os_version": "4.4"}, {"_os_version": "4:4"}),
    ("app-version-integer-string", {"_app_version": "1"}, {"_app_version": "1:0"}),
    ("app-version-integer-number", {"_app_version": 2}, {"_app_version": "2:0"}),
    ("app-version-whole-float", {"_app_version": 2.0}, {"_app_version": "2:0"}),
    ("app-version-float", {"_app_version": 1.5}, {"_app_version": "1:5"}),
    ("app-version-dotted", {"_app_version": "1.2.3"}, {"_app_version": "1:2:3"}),
    ("app-version-1.0", {"_app_version": "1.0"}, {"_app_version": "1:0"}),
    ("app-version-text", {"_app_version": "beta"}, {"_app_version": "beta"}),
    ("number-value", {"_resolution": 1080}, {"_resolution": "1080"}),
    ("float-value", {"_device": 4.5}, {"_device": "4:5"}),
    ("bool-value", {"_carrier": True}, {"_carrier": "true"}),
    ("leading-dollar", {"_device": "$iPhone"}, {"_device": "iPhone"}),
    ("leading-dollars", {"_device": "$$iPhone"}, {"_device": "iPhone"}),
    ("inner-dollar-kept", {"_device": "i$Phone"}, {"_device": "i$Phone"}),
    ("android-prefix", {"_os": "Android", "_os_version": "4.4"}, {"_os": "Android", "_os_version": "a4:4"}),
    ("ios-prefix", {"_os": "iOS", "_os_version": "7.1"},
     {"_os": "iOS", "_os_version": "i7:1", "_manufacturer": "Apple"}),
    ("IOS-prefix", {"_os": "IOS", "_os_version": "7.1"}, {"_os": "IOS", "_os_version": "i7:1"}),
    ("numeric-version-with-os", {"_os": "Android", "_os_version": 4.4}, {"_os": "Android", "_os_version": "a4:4"}),
    ("version-alone", {"_os_version": "4.4"}, {"_os_version": "4:4"}),
    ("already-prefixed", {"_os": "Android", "_os_version": "a4.4"}, {"_os": "Android", "_os_version": "a4:4"}),
    ("windows", {"_os": "Windows", "_os_version": "10"}, {"_os": "Windows", "_os_version": "mw10"}),
    ("windows-phone", {"_os": "Windows Phone", "_os_version": "8.1"},
     {"_os": "Windows Phone", "_os_version": "w8:1"}),
    ("macos", {"_os": "macOS", "_os_version": "14.1"},
     {"_os": "macOS", "_os_version": "o14:1", "_manufacturer": "Apple"}),
    ("linux", {"_os": "Linux", "_os_version": "6.1.0"}, {"_os": "Linux", "_os_version": "l6:1:0"}),
    ("unknown-os-first-letter", {"_os": "Symbian", "_os_version": "9.2"},
     {"_os": "Symbian", "_os_version": "s9:2"}),
    ("empty-os-no-prefix", {"_os": "", "_os_version": "9.2"}, {"_os_version": "9:2"}),
    ("nested-and-null-values-dropped", {"_device": {"a": 1}, "_carrier": None, "_resolution": [1, 2]}, {}),
    ("empty-string-dropped", {"_device": ""}, {}),
    ("unknown-metrics-ignored", {"_density": "2.0", "_locale": "en_US", "_store": "npm"}, {}),
]


@pytest.mark.parametrize("metrics,expected", [c[1:] for c in NORMALISE], ids=[c[0] for c in NORMALISE])
def test_normalise(metrics: dict[str, Any], expected: dict[str, str]) -> None:
    assert normalise(metrics) == expected


def canon(work: Work) -> list[tuple[str, str, str]]:
    return sorted((u.collection, str(u.id), json.dumps(u.ops, sort_keys=True)) for u in work.updates())


def expect(*updates: tuple[str, str, dict[str, Any]]) -> list[tuple[str, str, str]]:
    return sorted((c, i, json.dumps(ops, sort_keys=True)) for c, i, ops in updates)


def month(coll: str, inc: dict[str, int]) -> tuple[str, str, dict[str, Any]]:
    return (coll, f"{APP}_2024:11", {"$inc": inc, "$set": {"m": "2024:11", "a": APP}})


def zero(coll: str, meta: dict[str, bool], inc: dict[str, int] | None) -> tuple[str, str, dict[str, Any]]:
    ops: dict[str, Any] = {"$set": {"m": "2024:0", "a": APP, **meta}}
    if inc:
        ops["$inc"] = inc
    return (coll, f"{APP}_2024:0", ops)


def allow_all(*_: str) -> bool:
    return True


def test_aggregate_new_user() -> None:
    work = Work(APP, "UTC")
    values = {"_os": "Android", "_carrier": "Telecom"}
    aggregate({}, values, "Riga", parts(NOW, "UTC"), ALL_LEVELS, True, work, allow_all)
    assert canon(work) == expect(
        month("carriers", {"d.14.Telecom.t": 1, "d.14.Telecom.n": 1, "d.14.Telecom.u": 1}),
        zero("carriers", {"meta_v2.carriers.Telecom": True},
             {"d.Telecom.u": 1, "d.11.Telecom.u": 1, "d.w46.Telecom.u": 1}),
        month("device_details", {"d.14.Android.t": 1, "d.14.Android.n": 1, "d.14.Android.u": 1}),
        zero("device_details", {"meta_v2.os.Android": True},
             {"d.Android.u": 1, "d.11.Android.u": 1, "d.w46.Android.u": 1}),
        month("cities", {"d.14.Riga.t": 1, "d.14.Riga.n": 1, "d.14.Riga.u": 1}),
        zero("cities", {"meta_v2.cities.Riga": True}, {"d.Riga.u": 1, "d.11.Riga.u": 1, "d.w46.Riga.u": 1}),
        month("users", {"d.14.top.os.Android": 1, "d.14.top.carriers.Telecom": 1}),
    )


def test_aggregate_two_metrics_in_one_collection_share_documents() -> None:
    work = Work(APP, "UTC")
    aggregate({}, {"_os": "Android", "_os_version": "a4:4"}, None, parts(NOW, "UTC"), ALL_LEVELS, True, work,
              allow_all)
    assert canon(work) == expect(
        month("device_details", {"d.14.Android.t": 1, "d.14.Android.n": 1, "d.14.Android.u": 1,
                                 "d.14.a4:4.t": 1, "d.14.a4:4.n": 1, "d.14.a4:4.u": 1}),
        zero("device_details", {"meta_v2.os.Android": True, "meta_v2.os_versions.a4:4": True},
             {"d.Android.u": 1, "d.11.Android.u": 1, "d.w46.Android.u": 1,
              "d.a4:4.u": 1, "d.11.a4:4.u": 1, "d.w46.a4:4.u": 1}),
        month("users", {"d.14.top.os.Android": 1}),
    )


SAME_VALUE = [
    # (id, levels hit, month-doc uniques, zero-doc uniques)
    ("same-hour", NO_LEVELS, {}, None),
    ("other-hour-only", Levels(True, False, False, False, False), {}, None),
    ("new-day", Levels(True, True, False, False, False), {"d.14.Android.u": 1}, None),
    ("new-week", Levels(True, True, True, False, False), {"d.14.Android.u": 1}, {"d.w46.Android.u": 1}),
    ("new-month-same-week", Levels(True, True, False, True, False), {"d.14.Android.u": 1}, {"d.11.Android.u": 1}),
    ("new-year", ALL_LEVELS, {"d.14.Android.u": 1},
     {"d.w46.Android.u": 1, "d.11.Android.u": 1, "d.Android.u": 1}),
]


@pytest.mark.parametrize("levels,month_u,zero_u", [c[1:] for c in SAME_VALUE], ids=[c[0] for c in SAME_VALUE])
def test_aggregate_returning_user_same_value(levels: Levels, month_u: dict[str, int],
                                             zero_u: dict[str, int] | None) -> None:
    work = Work(APP, "UTC")
    aggregate({"p": "Android"}, {"_os": "Android"}, None, parts(NOW, "UTC"), levels, False, work, allow_all)
    assert canon(work) == expect(
        month("device_details", {"d.14.Android.t": 1, **month_u}),
        zero("device_details", {"meta_v2.os.Android": True}, zero_u),
        month("users", {"d.14.top.os.Android": 1}),
    )


@pytest.mark.parametrize("previous", ["iOS", None], ids=["value-changed", "value-first-sent"])
def test_aggregate_returning_user_value_changed_counts_everywhere(previous: str | None) -> None:
    work = Work(APP, "UTC")
    state = {"p": previous} if previous else {}
    aggregate(state, {"_os": "Android"}, None, parts(NOW, "UTC"), NO_LEVELS, False, work, allow_all)
    assert canon(work) == expect(
        month("device_details", {"d.14.Android.t": 1, "d.14.Android.u": 1}),
        zero("device_details", {"meta_v2.os.Android": True},
             {"d.Android.u": 1, "d.11.Android.u": 1, "d.w46.Android.u": 1}),
        month("users", {"d.14.top.os.Android": 1}),
    )


def test_aggregate_metric_limit_refused_value_is_dropped_entirely() -> None:
    calls: list[tuple[str, ...]] = []

    def allows(collection: str, zero_id: str, set_name: str, value: str) -> bool:
        calls.append((collection, zero_id, set_name, value))
        return value != "Telecom"

    work = Work(APP, "UTC")
    aggregate({}, {"_os": "Android", "_carrier": "Telecom"}, None, parts(NOW, "UTC"), ALL_LEVELS, True, work, allows)
    assert sorted(calls) == [("carriers", f"{APP}_2024:0", "carriers", "Telecom"),
                             ("device_details", f"{APP}_2024:0", "os", "Android")]
    assert canon(work) == expect(
        month("device_details", {"d.14.Android.t": 1, "d.14.Android.n": 1, "d.14.Android.u": 1}),
        zero("device_details", {"meta_v2.os.Android": True},
             {"d.Android.u": 1, "d.11.Android.u": 1, "d.w46.Android.u": 1}),
        month("users", {"d.14.top.os.Android": 1}),  # the refused carrier is not in the top data either
    )


def test_remember_stores_short_fields() -> None:
    state: dict[str, Any] = {"p": "iOS", "cty": "Riga"}
    remember(state, {"_os": "Android", "_os_version": "a4:4", "_app_version": "1:0", "_device": "Pixel",
                     "_manufacturer": "Google", "_carrier": "Telecom", "_resolution": "1080x1920",
                     "_device_type": "mobile"})
    assert state == {"p": "Android", "pv": "a4:4", "av": "1:0", "d": "Pixel", "mnf": "Google", "c": "Telecom",
                     "r": "1080x1920", "dt": "mobile", "cty": "Riga"}
