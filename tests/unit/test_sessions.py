"""server.ingest.sessions: unique-user levels, frequency/duration buckets, session state machine.

Every session test asserts the exact update documents the Work collects.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from server.ingest import sessions
from server.ingest.sessions import ALL_LEVELS, Levels, duration_bucket, frequency_bucket, unique_levels
from server.ingest.work import Work
from server.timebuckets import parts

APP = "app1"


def at(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def listed(work: Work) -> list[tuple[str, Any, dict[str, Any]]]:
    return sorted(((u.collection, u.id, u.ops) for u in work.updates()), key=lambda x: (x[0], str(x[1])))


def canon(updates: list[tuple[str, Any, dict[str, Any]]]) -> list[tuple[str, str, str]]:
    """Order-free form of a list of updates (several may share an _id)."""
    return sorted((c, str(i), json.dumps(ops, sort_keys=True)) for c, i, ops in updates)


# ---- unique_levels ------------------------------------------------------------------------

L = Levels
NONE = Levels(False, False, False, False, False)

# (id, last seen, now, timezone, expected levels (hour, day, week, month, year))
LEVELS = [
    ("utc-same-hour", "2024-11-14T15:05:00+00:00", "2024-11-14T15:30:00+00:00", "UTC", NONE),
    ("utc-hour-start-exactly-is-same-hour", "2024-11-14T15:00:00+00:00", "2024-11-14T15:30:00+00:00", "UTC", NONE),
    ("utc-last-second-of-previous-hour", "2024-11-14T14:59:59+00:00", "2024-11-14T15:30:00+00:00", "UTC",
     L(True, False, False, False, False)),
    ("utc-same-day-other-hour", "2024-11-14T09:00:00+00:00", "2024-11-14T15:30:00+00:00", "UTC",
     L(True, False, False, False, False)),
    ("utc-previous-day-same-week", "2024-11-13T10:00:00+00:00", "2024-11-14T15:30:00+00:00", "UTC",
     L(True, True, False, False, False)),
    # week 46 = day of year 316..322 = Nov 11..17 (2024 is a leap year)
    ("utc-previous-week-bucket", "2024-11-10T23:59:59+00:00", "2024-11-11T00:00:00+00:00", "UTC",
     L(True, True, True, False, False)),
    ("utc-previous-week", "2024-11-08T10:00:00+00:00", "2024-11-14T15:30:00+00:00", "UTC",
     L(True, True, True, False, False)),
    # Jan 31 (doy 31) and Feb 1 (doy 32) are both in week 5
    ("utc-previous-month-same-week", "2024-01-31T12:00:00+00:00", "2024-02-01T12:00:00+00:00", "UTC",
     L(True, True, False, True, False)),
    ("utc-previous-month", "2024-10-20T12:00:00+00:00", "2024-11-14T15:30:00+00:00", "UTC",
     L(True, True, True, True, False)),
    # Tally counts a user last seen in an earlier year in this year's week (Countly does not)
    ("utc-previous-year-dec31-to-jan1", "2023-12-31T23:00:00+00:00", "2024-01-01T01:00:00+00:00", "UTC",
     ALL_LEVELS),
    ("utc-previous-year-long-ago", "2022-03-01T00:00:00+00:00", "2024-11-14T15:30:00+00:00", "UTC", ALL_LEVELS),
    ("last-seen-after-now-counts-nothing", "2024-11-14T16:30:00+00:00", "2024-11-14T15:30:00+00:00", "UTC", NONE),
    # local boundaries differ from UTC ones
    ("kolkata-previous-local-day-same-utc-hour", "2024-01-01T18:20:00+00:00", "2024-01-01T18:40:00+00:00",
     "Asia/Kolkata", L(True, True, False, False, False)),
    ("utc-same-as-above-is-same-hour", "2024-01-01T18:20:00+00:00", "2024-01-01T18:40:00+00:00", "UTC", NONE),
    ("kathmandu-hour-turns-at-quarter-past", "2024-06-15T10:10:00+00:00", "2024-06-15T10:20:00+00:00",
     "Asia/Kathmandu", L(True, False, False, False, False)),
    ("new-york-previous-local-year-same-utc-day", "2024-01-01T04:30:00+00:00", "2024-01-01T05:30:00+00:00",
     "America/New_York", ALL_LEVELS),
    ("utc-same-as-above-is-other-hour-only", "2024-01-01T04:30:00+00:00", "2024-01-01T05:30:00+00:00", "UTC",
     L(True, False, False, False, False)),
    # 23:45 Jun 30 -> 00:15 Jul 1 local (+12:45): new day, month and week (doy 182 -> 183: week 26 -> 27)
    ("chatham-previous-local-month", "2024-06-30T11:00:00+00:00", "2024-06-30T11:30:00+00:00",
     "Pacific/Chatham", L(True, True, True, True, False)),
    # Riga spring-forward day (23 h): local midnight is 22:00 UTC, not 21:00
    ("riga-dst-day-previous-evening", "2024-03-30T21:30:00+00:00", "2024-03-31T07:00:00+00:00",
     "Europe/Riga", L(True, True, False, False, False)),
    ("riga-dst-day-same-day-after-midnight", "2024-03-30T22:30:00+00:00", "2024-03-31T07:00:00+00:00",
     "Europe/Riga", L(True, False, False, False, False)),
    # Riga fall-back: local 03:xx happens twice; the second pass starts a new hour (as Countly's
    # "now minus minutes and seconds" does), the same pass does not
    ("riga-repeated-hour-first-to-second-pass", "2024-10-27T00:45:00+00:00", "2024-10-27T01:15:00+00:00",
     "Europe/Riga", L(True, False, False, False, False)),
    ("riga-repeated-hour-second-pass-same-hour", "2024-10-27T01:05:00+00:00", "2024-10-27T01:15:00+00:00",
     "Europe/Riga", NONE),
    # Chatham jumps 02:45 -> 03:45 at 14:00 UTC: 03:50 and 03:55 local are the same hour
    ("chatham-hour-after-45min-gap-same-hour", "2024-09-28T14:05:00+00:00", "2024-09-28T14:10:00+00:00",
     "Pacific/Chatham", NONE),
]


@pytest.mark.parametrize("seen,now,tz,expected", [c[1:] for c in LEVELS], ids=[c[0] for c in LEVELS])
def test_unique_levels(seen: str, now: str, tz: str, expected: Levels) -> None:
    assert unique_levels(at(seen), parts(at(now), tz), tz) == expected


def test_unique_levels_without_last_seen_counts_everything() -> None:
    assert unique_levels(None, parts(at("2024-11-14T15:30:00+00:00"), "UTC"), "UTC") == ALL_LEVELS


# ---- frequency / duration buckets ----------------------------------------------------------

FREQUENCY = [(-0.01, None), (-24, None), (0, "1"), (23.99, "1"), (24, "2"), (47.99, "2"), (48, "3"),
             (71.99, "3"), (72, "4"), (95.99, "4"), (96, "5"), (119.99, "5"), (120, "6"), (143.99, "6"),
             (144, "7"), (167.99, "7"), (168, "8"), (191.99, "8"), (192, "9"), (359.99, "9"), (360, "10"),
             (743.99, "10"), (744, "11"), (100_000, "11")]


@pytest.mark.parametrize("hours,bucket", FREQUENCY, ids=[f"{h}h" for h, _ in FREQUENCY])
def test_frequency_bucket(hours: float, bucket: str | None) -> None:
    assert frequency_bucket(hours) == bucket


DURATION = [(0, "0"), (10, "0"), (11, "1"), (30, "1"), (31, "2"), (60, "2"), (61, "3"), (180, "3"), (181, "4"),
            (600, "4"), (601, "5"), (1800, "5"), (1801, "6"), (3600, "6"), (3601, "7"), (86400, "7")]


@pytest.mark.parametrize("seconds,bucket", DURATION, ids=[f"{s}s" for s, _ in DURATION])
def test_duration_bucket(seconds: int, bucket: str) -> None:
    assert duration_bucket(seconds) == bucket


# ---- begin_session -------------------------------------------------------------------------

NOW = "2024-11-14T15:30:00+00:00"  # day 14, hour 15, week 46 (UTC)
MONTH = f"{APP}_2024:11"
ZERO = f"{APP}_2024:0"
MONTH_SET = {"m": "2024:11", "a": APP}


def test_begin_session_new_user() -> None:
    work = Work(APP, "UTC")
    state: dict[str, Any] = {"did": "dev"}
    tp = parts(at(NOW), "UTC")
    levels = sessions.begin_session(state, tp, "LV", None, work, cooldown=15, ignore_cooldown=False)
    assert levels == ALL_LEVELS
    assert listed(work) == [
        ("users", ZERO, {
            "$set": {"m": "2024:0", "a": APP, "meta_v2.f-ranges.0": True, "meta_v2.countries.LV": True},
            "$inc": {"d.u": 1, "d.11.u": 1, "d.w46.u": 1, "d.LV.u": 1, "d.11.LV.u": 1, "d.w46.LV.u": 1,
                     "d.f.0": 1, "d.11.f.0": 1, "d.w46.f.0": 1}}),
        ("users", MONTH, {
            "$inc": {"d.14.e": 1, "d.14.15.e": 1, "d.14.t": 1, "d.14.15.t": 1, "d.14.n": 1, "d.14.15.n": 1,
                     "d.14.u": 1, "d.14.15.u": 1, "d.14.LV.t": 1, "d.14.LV.n": 1, "d.14.LV.u": 1, "d.14.f.0": 1},
            "$set": MONTH_SET}),
    ]
    assert state == {"did": "dev", "fs": at(NOW), "ls": at(NOW), "sc": 1, "hos": True, "lbst": at(NOW), "sd": 0}


def _returning(last_seen: str) -> dict[str, Any]:
    return {"did": "dev", "fs": at("2022-01-01T00:00:00+00:00"), "ls": at(last_seen), "sc": 3, "cc": "LV",
            "lac": at(last_seen)}


def _month(extra: dict[str, int]) -> dict[str, Any]:
    return {"$inc": {"d.14.e": 1, "d.14.15.e": 1, "d.14.t": 1, "d.14.15.t": 1, "d.14.LV.t": 1, **extra},
            "$set": MONTH_SET}


def _zero(bucket: str, extra: dict[str, int]) -> dict[str, Any]:
    return {"$set": {"m": "2024:0", "a": APP, f"meta_v2.f-ranges.{bucket}": True, "meta_v2.countries.LV": True},
            "$inc": {f"d.f.{bucket}": 1, f"d.11.f.{bucket}": 1, f"d.w46.f.{bucket}": 1, **extra}}


RETURNING = [
    # (id, last seen, frequency bucket, month doc extras, zero doc extras)
    ("same-hour", "2024-11-14T15:05:00+00:00", "1", {"d.14.f.1": 1}, {}),
    ("same-day-other-hour", "2024-11-14T09:00:00+00:00", "1", {"d.14.f.1": 1, "d.14.15.u": 1}, {}),
    ("previous-day-same-week", "2024-11-13T10:00:00+00:00", "2",
     {"d.14.f.2": 1, "d.14.15.u": 1, "d.14.u": 1, "d.14.LV.u": 1}, {}),
    ("previous-week", "2024-11-08T10:00:00+00:00", "7",
     {"d.14.f.7": 1, "d.14.15.u": 1, "d.14.u": 1, "d.14.LV.u": 1}, {"d.w46.u": 1, "d.w46.LV.u": 1}),
    ("previous-month", "2024-10-20T12:00:00+00:00", "10",
     {"d.14.f.10": 1, "d.14.15.u": 1, "d.14.u": 1, "d.14.LV.u": 1},
     {"d.w46.u": 1, "d.w46.LV.u": 1, "d.11.u": 1, "d.11.LV.u": 1}),
    ("previous-year", "2023-12-20T12:00:00+00:00", "11",
     {"d.14.f.11": 1, "d.14.15.u": 1, "d.14.u": 1, "d.14.LV.u": 1},
     {"d.w46.u": 1, "d.w46.LV.u": 1, "d.11.u": 1, "d.11.LV.u": 1, "d.u": 1, "d.LV.u": 1}),
]


@pytest.mark.parametrize("seen,bucket,month,zero", [c[1:] for c in RETURNING], ids=[c[0] for c in RETURNING])
def test_begin_session_returning_user(seen: str, bucket: str, month: dict[str, int], zero: dict[str, int]) -> None:
    work = Work(APP, "UTC")
    state = _returning(seen)
    tp = parts(at(NOW), "UTC")
    assert sessions.begin_session(state, tp, "LV", "LV", work, cooldown=15, ignore_cooldown=False) is not None
    assert listed(work) == [("users", ZERO, _zero(bucket, zero)), ("users", MONTH, _month(month))]
    assert state["ls"] == at(NOW)
    assert state["fs"] == at("2022-01-01T00:00:00+00:00")
    assert (state["sc"], state["hos"], state["lbst"], state["sd"]) == (4, True, at(NOW), 0)


def test_begin_session_country_change_counts_new_country_everywhere_once() -> None:
    work = Work(APP, "UTC")
    state = _returning("2024-11-13T10:00:00+00:00")  # previous day: hour and day levels hit
    tp = parts(at(NOW), "UTC")
    sessions.begin_session(state, tp, "EE", "LV", work, cooldown=15, ignore_cooldown=False)
    assert listed(work) == [
        ("users", ZERO, {
            "$set": {"m": "2024:0", "a": APP, "meta_v2.f-ranges.2": True, "meta_v2.countries.EE": True},
            "$inc": {"d.f.2": 1, "d.11.f.2": 1, "d.w46.f.2": 1, "d.EE.u": 1, "d.11.EE.u": 1, "d.w46.EE.u": 1}}),
        ("users", MONTH, {
            "$inc": {"d.14.e": 1, "d.14.15.e": 1, "d.14.t": 1, "d.14.15.t": 1, "d.14.EE.t": 1, "d.14.f.2": 1,
                     "d.14.15.u": 1, "d.14.u": 1, "d.14.EE.u": 1},
            "$set": MONTH_SET}),
    ]


def test_begin_session_with_last_seen_in_the_future_has_no_frequency_and_keeps_ls() -> None:
    work = Work(APP, "UTC")
    state = _returning("2024-11-14T16:00:00+00:00")
    tp = parts(at(NOW), "UTC")
    assert sessions.begin_session(state, tp, "LV", "LV", work, cooldown=15, ignore_cooldown=False) == Levels(
        False, False, False, False, False)
    assert listed(work) == [
        ("users", ZERO, {"$set": {"m": "2024:0", "a": APP, "meta_v2.countries.LV": True}}),
        ("users", MONTH, _month({})),
    ]
    assert state["ls"] == at("2024-11-14T16:00:00+00:00")


def test_begin_session_in_app_timezone() -> None:
    # 2024-12-31 19:00 UTC is 2025-01-01 00:30 in Kolkata: a user last seen 18:00 UTC (23:30 local, Dec 31)
    work = Work(APP, "Asia/Kolkata")
    state = {"fs": at("2024-12-01T00:00:00+00:00"), "ls": at("2024-12-31T18:00:00+00:00"), "sc": 1, "cc": "IN"}
    sessions.begin_session(state, parts(at("2024-12-31T19:00:00+00:00"), "Asia/Kolkata"), "IN", "IN", work,
                           cooldown=15, ignore_cooldown=False)
    assert listed(work) == [
        ("users", f"{APP}_2025:0", {
            "$set": {"m": "2025:0", "a": APP, "meta_v2.f-ranges.1": True, "meta_v2.countries.IN": True},
            "$inc": {"d.f.1": 1, "d.1.f.1": 1, "d.w1.f.1": 1, "d.w1.u": 1, "d.w1.IN.u": 1, "d.1.u": 1,
                     "d.1.IN.u": 1, "d.u": 1, "d.IN.u": 1}}),
        ("users", f"{APP}_2025:1", {
            "$inc": {"d.1.e": 1, "d.1.0.e": 1, "d.1.t": 1, "d.1.0.t": 1, "d.1.IN.t": 1, "d.1.f.1": 1,
                     "d.1.0.u": 1, "d.1.u": 1, "d.1.IN.u": 1},
            "$set": {"m": "2025:1", "a": APP}}),
    ]


def test_begin_session_closes_an_unclosed_previous_session_at_its_last_activity() -> None:
    work = Work(APP, "UTC")
    state = _returning("2024-11-13T10:00:00+00:00")
    state.update(hos=True, sd=45, lac=at("2024-11-13T10:20:00+00:00"))
    sessions.begin_session(state, parts(at(NOW), "UTC"), "LV", "LV", work, cooldown=15, ignore_cooldown=False)
    ds_month = ("users", MONTH, {"$inc": {"d.13.ds.2": 1}, "$set": MONTH_SET})
    ds_zero = ("users", ZERO, {"$set": {"m": "2024:0", "a": APP, "meta_v2.d-ranges.2": True},
                               "$inc": {"d.ds.2": 1, "d.11.ds.2": 1, "d.w46.ds.2": 1}})
    session_zero = ("users", ZERO, _zero("2", {}))
    session_month = ("users", MONTH, _month({"d.14.f.2": 1, "d.14.15.u": 1, "d.14.u": 1, "d.14.LV.u": 1}))
    assert canon(listed(work)) == canon([ds_zero, ds_month, session_zero, session_month])
    assert state["sd"] == 0 and state["hos"] is True


def test_begin_session_within_cooldown_extends_the_session() -> None:
    work = Work(APP, "UTC")
    t0 = at(NOW)
    state = {"fs": t0 - 3600, "ls": t0 - 60, "sc": 1, "cc": "LV", "lest": t0 - 5, "pc": t0 + 10, "sd": 55}
    levels = sessions.begin_session(state, parts(t0, "UTC"), "LV", "LV", work, cooldown=15, ignore_cooldown=False)
    assert levels is None
    assert work.updates() == []
    assert state == {"fs": t0 - 3600, "ls": t0 - 60, "sc": 1, "cc": "LV", "lest": t0 - 5, "sd": 55,
                     "hos": True, "lbst": t0}


def test_begin_session_ignore_cooldown_closes_the_ended_session_and_counts_a_new_one() -> None:
    work = Work(APP, "UTC")
    t0 = at(NOW)
    state = {"fs": t0 - 3600, "ls": t0 - 60, "sc": 1, "cc": "LV", "lest": t0 - 5, "pc": t0 + 10, "sd": 55,
             "lac": t0 - 5}
    levels = sessions.begin_session(state, parts(t0, "UTC"), "LV", "LV", work, cooldown=15, ignore_cooldown=True)
    assert levels == NONE
    assert canon(listed(work)) == canon([
        ("users", ZERO, {"$set": {"m": "2024:0", "a": APP, "meta_v2.d-ranges.2": True},
                         "$inc": {"d.ds.2": 1, "d.11.ds.2": 1, "d.w46.ds.2": 1}}),
        ("users", MONTH, {"$inc": {"d.14.ds.2": 1}, "$set": MONTH_SET}),
        ("users", ZERO, _zero("1", {})),
        ("users", MONTH, _month({"d.14.f.1": 1})),
    ])
    assert "pc" not in state and (state["sc"], state["sd"], state["hos"]) == (2, 0, True)


# ---- duration, end, close -------------------------------------------------------------------

def test_add_duration() -> None:
    work = Work(APP, "UTC")
    state: dict[str, Any] = {"sd": 10, "tsd": 100}
    sessions.add_duration(state, parts(at(NOW), "UTC"), 30, work)
    assert listed(work) == [("users", MONTH, {"$inc": {"d.14.d": 30, "d.14.15.d": 30, "d.14.e": 1, "d.14.15.e": 1},
                                             "$set": MONTH_SET})]
    assert state == {"sd": 40, "tsd": 130}


def test_end_session_without_open_session_does_nothing() -> None:
    work = Work(APP, "UTC")
    state: dict[str, Any] = {"fs": 1.0, "ls": 1.0, "sd": 0}
    sessions.end_session(state, parts(at(NOW), "UTC"), work, cooldown=0)
    sessions.end_session(state, parts(at(NOW), "UTC"), work, cooldown=15)
    assert work.updates() == []
    assert state == {"fs": 1.0, "ls": 1.0, "sd": 0}


def test_end_session_with_cooldown_zero_buckets_the_duration_at_once() -> None:
    work = Work(APP, "UTC")
    state: dict[str, Any] = {"hos": True, "sd": 45, "tsd": 45}
    sessions.end_session(state, parts(at(NOW), "UTC"), work, cooldown=0)
    assert listed(work) == [
        ("users", ZERO, {"$set": {"m": "2024:0", "a": APP, "meta_v2.d-ranges.2": True},
                         "$inc": {"d.ds.2": 1, "d.11.ds.2": 1, "d.w46.ds.2": 1}}),
        ("users", MONTH, {"$inc": {"d.14.ds.2": 1}, "$set": MONTH_SET}),
    ]
    assert state == {"sd": 0, "tsd": 45, "lest": at(NOW)}


def test_end_session_with_cooldown_waits() -> None:
    work = Work(APP, "UTC")
    state: dict[str, Any] = {"hos": True, "sd": 45}
    sessions.end_session(state, parts(at(NOW), "UTC"), work, cooldown=15)
    assert work.updates() == []
    assert state == {"sd": 45, "lest": at(NOW), "pc": at(NOW) + 15}


def test_end_then_begin_within_cooldown_counts_nothing() -> None:
    t0 = at(NOW)
    state: dict[str, Any] = {"fs": t0 - 600, "ls": t0 - 600, "sc": 1, "cc": "LV", "hos": True, "sd": 20}
    work = Work(APP, "UTC")
    sessions.end_session(state, parts(t0, "UTC"), work, cooldown=15)
    sessions.close_if_due(state, t0 + 14, 1800, work)
    assert sessions.begin_session(state, parts(t0 + 14, "UTC"), "LV", "LV", work, cooldown=15,
                                  ignore_cooldown=False) is None
    assert work.updates() == []
    assert state["sc"] == 1 and state["hos"] is True and "pc" not in state and state["sd"] == 20


def test_end_then_begin_after_cooldown_counts_both() -> None:
    t0 = at(NOW)
    state: dict[str, Any] = {"fs": t0 - 600, "ls": t0 - 600, "sc": 1, "cc": "LV", "hos": True, "sd": 20,
                             "lac": t0}
    work = Work(APP, "UTC")
    sessions.end_session(state, parts(t0, "UTC"), work, cooldown=15)
    sessions.close_if_due(state, t0 + 15, 1800, work)
    got = listed(work)
    assert got == [
        ("users", ZERO, {"$set": {"m": "2024:0", "a": APP, "meta_v2.d-ranges.1": True},
                         "$inc": {"d.ds.1": 1, "d.11.ds.1": 1, "d.w46.ds.1": 1}}),
        ("users", MONTH, {"$inc": {"d.14.ds.1": 1}, "$set": MONTH_SET}),
    ]
    assert sessions.begin_session(state, parts(t0 + 15, "UTC"), "LV", "LV", work, cooldown=15,
                                  ignore_cooldown=False) is not None
    assert state["sc"] == 2


def test_close_if_due_ended_session_is_closed_at_its_end_time() -> None:
    end = at("2024-11-30T23:59:55+00:00")
    state: dict[str, Any] = {"lest": end, "pc": end + 15, "sd": 700}
    work = Work(APP, "UTC")
    sessions.close_if_due(state, end + 15, 1800, work)  # due on Dec 1, counted on Nov 30
    assert listed(work) == [
        ("users", ZERO, {"$set": {"m": "2024:0", "a": APP, "meta_v2.d-ranges.5": True},
                         "$inc": {"d.ds.5": 1, "d.11.ds.5": 1, "d.w48.ds.5": 1}}),
        ("users", MONTH, {"$inc": {"d.30.ds.5": 1}, "$set": MONTH_SET}),
    ]
    assert state == {"lest": end, "sd": 0}


def test_close_if_due_before_cooldown_is_over_does_nothing() -> None:
    state: dict[str, Any] = {"lest": 100.0, "pc": 115.0, "sd": 7}
    work = Work(APP, "UTC")
    sessions.close_if_due(state, 114.9, 1800, work)
    assert work.updates() == []
    assert state == {"lest": 100.0, "pc": 115.0, "sd": 7}


@pytest.mark.parametrize("idle,closed", [(1799, False), (1800, True), (5000, True)],
                         ids=["idle-1799s-open", "idle-1800s-closed", "idle-5000s-closed"])
def test_close_if_due_by_inactivity(idle: int, closed: bool) -> None:
    lac = at(NOW)
    state: dict[str, Any] = {"hos": True, "lac": lac, "sd": 100}
    work = Work(APP, "UTC")
    sessions.close_if_due(state, lac + idle, 1800, work)
    if closed:
        assert listed(work) == [
            ("users", ZERO, {"$set": {"m": "2024:0", "a": APP, "meta_v2.d-ranges.3": True},
                             "$inc": {"d.ds.3": 1, "d.11.ds.3": 1, "d.w46.ds.3": 1}}),
            ("users", MONTH, {"$inc": {"d.14.ds.3": 1}, "$set": MONTH_SET}),
        ]
        assert state == {"lac": lac, "sd": 0}
    else:
        assert work.updates() == []
        assert state == {"hos": True, "lac": lac, "sd": 100}


def test_close_session_without_open_session_does_nothing() -> None:
    state: dict[str, Any] = {"sd": 30}
    work = Work(APP, "UTC")
    sessions.close_session(state, work, at(NOW))
    assert work.updates() == [] and state == {"sd": 30}
