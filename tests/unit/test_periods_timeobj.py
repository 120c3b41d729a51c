"""server.read.periods (period windows) and server.read.timeobj (folding bucket documents)."""
from __future__ import annotations

import copy
import json
from datetime import date, datetime
from typing import Any

import pytest

from server.errors import BadRequest
from server.read.periods import Window, parse_period
from server.read.timeobj import UNIQUE_METRICS, UNIQUE_USERS, fold, merge_objects, sort_meta


def at(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def ms(iso: str) -> int:
    return int(at(iso) * 1000)


NOW = at("2024-11-14T15:30:00+00:00")
D = date

PERIODS = [
    # (id, raw, tz, now, start, end, today)
    ("default-none", None, "UTC", NOW, D(2024, 10, 16), D(2024, 11, 14), D(2024, 11, 14)),
    ("default-empty", "", "UTC", NOW, D(2024, 10, 16), D(2024, 11, 14), D(2024, 11, 14)),
    ("30days", "30days", "UTC", NOW, D(2024, 10, 16), D(2024, 11, 14), D(2024, 11, 14)),
    ("7days", "7days", "UTC", NOW, D(2024, 11, 8), D(2024, 11, 14), D(2024, 11, 14)),
    ("1days", "1days", "UTC", NOW, D(2024, 11, 14), D(2024, 11, 14), D(2024, 11, 14)),
    ("hour-is-today", "hour", "UTC", NOW, D(2024, 11, 14), D(2024, 11, 14), D(2024, 11, 14)),
    ("yesterday", "yesterday", "UTC", NOW, D(2024, 11, 13), D(2024, 11, 13), D(2024, 11, 14)),
    ("day-is-month-so-far", "day", "UTC", NOW, D(2024, 11, 1), D(2024, 11, 14), D(2024, 11, 14)),
    ("month-is-year-so-far", "month", "UTC", NOW, D(2024, 1, 1), D(2024, 11, 14), D(2024, 11, 14)),
    ("today-in-app-timezone", "hour", "Asia/Kolkata", at("2024-11-14T19:00:00+00:00"),
     D(2024, 11, 15), D(2024, 11, 15), D(2024, 11, 15)),
    ("7days-in-new-york-before-local-midnight", "7days", "America/New_York", at("2024-11-15T03:00:00+00:00"),
     D(2024, 11, 8), D(2024, 11, 14), D(2024, 11, 14)),
    ("30days-over-year-end", "30days", "UTC", at("2025-01-10T12:00:00+00:00"),
     D(2024, 12, 12), D(2025, 1, 10), D(2025, 1, 10)),
    ("30days-over-leap-day", "30days", "UTC", at("2024-03-10T12:00:00+00:00"),
     D(2024, 2, 10), D(2024, 3, 10), D(2024, 3, 10)),
    ("yesterday-on-jan-1", "yesterday", "UTC", at("2025-01-01T00:00:01+00:00"),
     D(2024, 12, 31), D(2024, 12, 31), D(2025, 1, 1)),
    ("range-ms-json", f"[{ms('2024-11-01T00:00:00+00:00')},{ms('2024-11-10T12:00:00+00:00')}]", "UTC", NOW,
     D(2024, 11, 1), D(2024, 11, 10), D(2024, 11, 14)),
    ("range-ms-list", [ms("2024-10-25T08:00:00+00:00"), ms("2024-11-02T08:00:00+00:00")], "UTC", NOW,
     D(2024, 10, 25), D(2024, 11, 2), D(2024, 11, 14)),
    ("range-days-in-app-timezone", f"[{ms('2024-10-31T20:00:00+00:00')},{ms('2024-11-01T20:00:00+00:00')}]",
     "Asia/Kolkata", NOW, D(2024, 11, 1), D(2024, 11, 2), D(2024, 11, 14)),
    ("range-one-day", f"[{ms('2024-11-05T01:00:00+00:00')},{ms('2024-11-05T23:00:00+00:00')}]", "UTC", NOW,
     D(2024, 11, 5), D(2024, 11, 5), D(2024, 11, 14)),
]


@pytest.mark.parametrize("raw,tz,now,start,end,today", [c[1:] for c in PERIODS], ids=[c[0] for c in PERIODS])
def test_parse_period(raw: Any, tz: str, now: float, start: date, end: date, today: date) -> None:
    w = parse_period(raw, tz, now)
    assert (w.start, w.end, w.today) == (start, end, today)
    assert w.length == (end - start).days + 1
    assert w.days[0] == start and w.days[-1] == end and len(w.days) == w.length


INVALID = [("word", "abc"), ("0days", "0days"), ("too-many-days", "3661days"), ("hours", "hours"),
           ("negative-days", "-7days"), ("bad-json", "[1,"), ("three-numbers", "[1,2,3]"),
           ("strings", '["a","b"]'), ("one-number", "[1]"), ("end-before-start",
                                                               f"[{ms('2024-11-10T00:00:00+00:00')},{ms('2024-11-01T00:00:00+00:00')}]"),
           ("number", 30), ("object", '{"a":1}'), ("list-of-strings", ["1", "2"])]


@pytest.mark.parametrize("raw", [c[1] for c in INVALID], ids=[c[0] for c in INVALID])
def test_parse_period_invalid(raw: Any) -> None:
    with pytest.raises(BadRequest) as info:
        parse_period(raw, "UTC", NOW)
    assert info.value.result == 'Invalid parameter "period"'
    assert info.value.status == 400


PREVIOUS = [
    ("30days", "30days", D(2024, 9, 16), D(2024, 10, 15)),
    ("7days", "7days", D(2024, 11, 1), D(2024, 11, 7)),
    ("hour", "hour", D(2024, 11, 13), D(2024, 11, 13)),
    ("yesterday", "yesterday", D(2024, 11, 12), D(2024, 11, 12)),
]


@pytest.mark.parametrize("raw,start,end", [c[1:] for c in PREVIOUS], ids=[c[0] for c in PREVIOUS])
def test_previous_window(raw: str, start: date, end: date) -> None:
    w = parse_period(raw, "UTC", NOW)
    prev = w.previous
    assert (prev.start, prev.end, prev.length) == (start, end, w.length)
    assert not prev.contains_today


@pytest.mark.parametrize("raw,now,months,years", [
    ("30days", NOW, [(2024, 10), (2024, 11)], [2024]),
    ("7days", NOW, [(2024, 11)], [2024]),
    ("day", NOW, [(2024, 11)], [2024]),
    ("month", NOW, [(2024, m) for m in range(1, 12)], [2024]),
    ("30days", at("2025-01-10T12:00:00+00:00"), [(2024, 12), (2025, 1)], [2024, 2025]),
    ("90days", at("2025-01-10T12:00:00+00:00"), [(2024, 10), (2024, 11), (2024, 12), (2025, 1)], [2024, 2025]),
], ids=["30days-two-months", "7days-one-month", "day", "month", "30days-year-end", "90days-year-end"])
def test_window_months_and_years(raw: str, now: float, months: list[tuple[int, int]], years: list[int]) -> None:
    w = parse_period(raw, "UTC", now)
    assert w.months() == months
    assert w.years() == years


@pytest.mark.parametrize("raw,contains", [("30days", True), ("hour", True), ("yesterday", False)],
                         ids=["30days", "hour", "yesterday"])
def test_contains_today(raw: str, contains: bool) -> None:
    assert parse_period(raw, "UTC", NOW).contains_today is contains


@pytest.mark.parametrize("window,tz,start,end", [
    (Window("hour", D(2024, 11, 14), D(2024, 11, 14), D(2024, 11, 14)), "UTC",
     "2024-11-14T00:00:00+00:00", "2024-11-15T00:00:00+00:00"),
    (Window("hour", D(2024, 3, 31), D(2024, 3, 31), D(2024, 3, 31)), "Europe/Riga",
     "2024-03-30T22:00:00+00:00", "2024-03-31T21:00:00+00:00"),
    (Window("hour", D(2024, 10, 27), D(2024, 10, 27), D(2024, 10, 27)), "Europe/Riga",
     "2024-10-26T21:00:00+00:00", "2024-10-27T22:00:00+00:00"),
    (Window("7days", D(2024, 11, 8), D(2024, 11, 14), D(2024, 11, 14)), "Asia/Kathmandu",
     "2024-11-07T18:15:00+00:00", "2024-11-14T18:15:00+00:00"),
], ids=["utc-day", "riga-23h-day", "riga-25h-day", "kathmandu-week"])
def test_window_bounds(window: Window, tz: str, start: str, end: str) -> None:
    assert window.bounds(tz) == (at(start), at(end))


# ---- fold ------------------------------------------------------------------------------------

# contract §6.2: one begin_session of a new user (plus one earlier bare request), 2024-11-04 13:xx
ZERO_DOC: dict[str, Any] = {"_id": "app_2024:0", "m": "2024:0", "a": "app",
            "d": {"u": 1, "f": {"0": 1}, "Unknown": {"u": 1},
                  "11": {"u": 1, "f": {"0": 1}, "Unknown": {"u": 1}},
                  "w44": {"u": 1, "f": {"0": 1}, "Unknown": {"u": 1}}},
            "meta_v2": {"countries": {"Unknown": True}, "f-ranges": {"0": True}}}
MONTH_DOC: dict[str, Any] = {"_id": "app_2024:11", "m": "2024:11", "a": "app",
             "d": {"4": {"13": {"e": 2, "t": 1, "n": 1, "u": 1}, "e": 2, "t": 1, "n": 1, "u": 1,
                         "Unknown": {"t": 1, "n": 1, "u": 1}, "f": {"0": 1}}}}
CONTRACT_EXAMPLE = json.loads("""
{"2024":{"u":1,"f":{"0":1},"Unknown":{"u":1,"t":1,"n":1},"w44":{"u":1,"f":{"0":1},"Unknown":{"u":1}},
  "11":{"u":1,"f":{"0":1},"Unknown":{"u":1,"t":1,"n":1},
        "4":{"13":{"e":2,"t":1,"n":1,"u":1},"e":2,"t":1,"n":1,"u":1,"Unknown":{"t":1,"n":1,"u":1},"f":{"0":1}},
        "e":2,"t":1,"n":1},
  "e":2,"t":1,"n":1},
 "meta":{"countries":["Unknown"],"f-ranges":["0"]}}
""")


@pytest.mark.parametrize("order", ["zero-first", "month-first"])
def test_fold_reproduces_the_contract_example(order: str) -> None:
    docs = [ZERO_DOC, MONTH_DOC] if order == "zero-first" else [MONTH_DOC, ZERO_DOC]
    snapshot = copy.deepcopy(docs)
    assert fold(docs, UNIQUE_USERS) == CONTRACT_EXAMPLE
    assert docs == snapshot  # inputs untouched


def test_fold_sums_days_and_months_but_not_hours_or_uniques() -> None:
    oct_doc: dict[str, Any] = {"m": "2024:10", "d": {"31": {"t": 2, "e": 5, "d": 60, "u": 2, "23": {"t": 2, "e": 5, "u": 2},
                                            "LV": {"t": 2, "u": 2}, "ds": {"1": 1}}}}
    nov_doc: dict[str, Any] = {"m": "2024:11", "d": {"1": {"t": 1, "e": 1, "u": 1, "0": {"t": 1}, "LV": {"t": 1, "n": 1}},
                                     "2": {"t": 3, "n": 1, "e": 3, "d": 30, "f": {"1": 2}}}}
    zero = {"m": "2024:0", "d": {"u": 3, "t": 99, "10": {"u": 2, "t": 99}, "11": {"u": 2},
                                 "LV": {"u": 2, "t": 99}, "ds": {"1": 1}},
            "meta_v2": {"countries": {"LV": True}, "d-ranges": {"10": True, "1": True, "2": True}}}
    assert fold([oct_doc, nov_doc, zero], UNIQUE_USERS) == {
        "2024": {
            "u": 3, "LV": {"u": 2, "t": 3, "n": 1}, "ds": {"1": 1},
            "t": 6, "e": 9, "d": 90, "n": 1,
            "10": {"u": 2, "31": oct_doc["d"]["31"], "t": 2, "e": 5, "d": 60, "LV": {"t": 2}},
            "11": {"u": 2, "1": nov_doc["d"]["1"], "2": nov_doc["d"]["2"], "t": 4, "e": 4, "d": 30, "n": 1,
                   "LV": {"t": 1, "n": 1}},
        },
        "meta": {"countries": ["LV"], "d-ranges": ["1", "2", "10"]},
    }


def test_fold_across_a_year_end() -> None:
    dec = {"m": "2024:12", "d": {"31": {"t": 1, "e": 1}}}
    jan = {"m": "2025:1", "d": {"1": {"t": 2, "e": 2}}}
    assert fold([dec, jan], UNIQUE_USERS) == {
        "2024": {"12": {"31": {"t": 1, "e": 1}, "t": 1, "e": 1}, "t": 1, "e": 1},
        "2025": {"1": {"1": {"t": 2, "e": 2}, "t": 2, "e": 2}, "t": 2, "e": 2},
        "meta": {},
    }


def test_fold_metric_collection() -> None:
    zero = {"m": "2024:0", "d": {"Android": {"u": 1}, "11": {"Android": {"u": 1}}, "w44": {"Android": {"u": 1}}},
            "meta_v2": {"os": {"Android": True}}}
    month = {"m": "2024:11", "d": {"4": {"Android": {"t": 1, "n": 1, "u": 1}}}}
    assert fold([zero, month], UNIQUE_METRICS) == {
        "2024": {"Android": {"u": 1, "t": 1, "n": 1}, "w44": {"Android": {"u": 1}},
                 "11": {"Android": {"u": 1, "t": 1, "n": 1}, "4": {"Android": {"t": 1, "n": 1, "u": 1}}}},
        "meta": {"os": ["Android"]},
    }


def test_fold_event_collection() -> None:
    zero = {"m": "2024:0", "s": "no-segment", "meta_v2": {"segments": {"item": True}, "item": {"book": True}}}
    month: dict[str, Any] = {"m": "2024:11", "s": "no-segment",
             "d": {"4": {"c": 3, "s": 29.97, "dur": 12, "13": {"c": 3, "s": 29.97, "dur": 12}},
                   "5": {"c": 1}}}
    assert fold([zero, month], frozenset()) == {
        "2024": {"11": {"4": month["d"]["4"], "5": {"c": 1}, "c": 4, "s": 29.97, "dur": 12},
                 "c": 4, "s": 29.97, "dur": 12},
        "meta": {"segments": ["item"], "item": ["book"]},
    }


def test_fold_refresh_keeps_uniques_and_only_that_day_without_sums() -> None:
    month = {"m": "2024:11", "d": {"3": {"t": 5, "e": 5}, "4": MONTH_DOC["d"]["4"]}}
    assert fold([ZERO_DOC, month], UNIQUE_USERS, refresh_day=(2024, 11, 4)) == {
        "2024": {"u": 1, "f": {"0": 1}, "Unknown": {"u": 1}, "w44": {"u": 1, "f": {"0": 1}, "Unknown": {"u": 1}},
                 "11": {"u": 1, "f": {"0": 1}, "Unknown": {"u": 1}, "4": MONTH_DOC["d"]["4"]}},
        "meta": {"countries": ["Unknown"], "f-ranges": ["0"]},
    }


def test_fold_legacy_meta_arrays_are_merged() -> None:
    zero = {"m": "2024:0", "meta": {"countries": ["LV", "EE"]}, "meta_v2": {"countries": {"EE": True, "FI": True}}}
    out = fold([zero], UNIQUE_USERS)
    assert list(out) == ["2024", "meta"] and out["2024"] == {}
    assert list(out["meta"]) == ["countries"]
    assert sorted(out["meta"]["countries"]) == ["EE", "FI", "LV"]  # union, each value once


def test_fold_without_meta() -> None:
    assert fold([ZERO_DOC, MONTH_DOC], UNIQUE_USERS, with_meta=False) == {
        k: v for k, v in CONTRACT_EXAMPLE.items() if k != "meta"}


@pytest.mark.parametrize("docs", [[], [{"_id": "x", "d": {"4": {"t": 1}}}], [{"m": "bad", "d": {}}]],
                         ids=["no-docs", "doc-without-m", "malformed-m"])
def test_fold_empty(docs: list[dict[str, Any]]) -> None:
    assert fold(docs, UNIQUE_USERS) == {}


SORTS = [
    ("integers-numeric-order", {"f-ranges": ["10", "0", "2", "1"]}, {"f-ranges": ["0", "1", "2", "10"]}),
    ("negative-integers", {"x": ["3", "-1"]}, {"x": ["-1", "3"]}),
    ("names-keep-order", {"countries": ["LV", "EE", "Unknown"]}, {"countries": ["LV", "EE", "Unknown"]}),
    ("mixed-keep-order", {"x": ["2", "a", "1"]}, {"x": ["2", "a", "1"]}),
    ("empty", {"x": []}, {"x": []}),
]


@pytest.mark.parametrize("meta,expected", [c[1:] for c in SORTS], ids=[c[0] for c in SORTS])
def test_sort_meta(meta: dict[str, list[str]], expected: dict[str, list[str]]) -> None:
    assert sort_meta(meta) == expected


def test_merge_objects_sums_and_unions_meta() -> None:
    a = {"2024": {"t": 1, "11": {"c": 1, "4": {"c": 1, "13": {"c": 1}}}}, "meta": {"segments": ["x"], "x": ["1"]}}
    b = {"2024": {"t": 2, "11": {"c": 3, "5": {"c": 3}}}, "2023": {"c": 1},
         "meta": {"segments": ["x", "y"], "y": ["q"]}}
    snapshot = copy.deepcopy((a, b))
    assert merge_objects([a, b]) == {
        "2024": {"t": 3, "11": {"c": 4, "4": {"c": 1, "13": {"c": 1}}, "5": {"c": 3}}},
        "2023": {"c": 1},
        "meta": {"segments": ["x", "y"], "x": ["1"], "y": ["q"]},
    }
    assert (a, b) == snapshot


@pytest.mark.parametrize("objects", [[], [{}], [{}, {}]], ids=["none", "one-empty", "two-empty"])
def test_merge_objects_empty(objects: list[dict[str, Any]]) -> None:
    assert merge_objects(objects) == {}
