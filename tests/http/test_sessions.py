"""Sessions, users and the `users` time object (`/o?method=sessions|users|locations`), exact JSON.

Countly's modern sessions test (`test/3.api.write/2.write.app.sessions.js`) replayed step by step,
with Tally's decisions: no shard suffixes (nothing is invisible), `e` counts every accepted /i
request (the last step gives 8), `ds` counts closed sessions only. All times are UTC (the app's
timezone); the FakeClock starts at 2024-11-07 17:20:00 (day 312 of the year → week 45).
"""
from __future__ import annotations

from typing import Any

import pytest

from server import keys
from tests.http.util_http import T0, new_app, same_timeobj, sessions, write_ok

DEVICE = "1234567890"
DEVICE2 = "12345678901234567890"


async def _all_three(tally: Any, app_id: str) -> Any:
    """sessions, users and locations are aliases of one time object: all three must be equal."""
    body = await sessions(tally, app_id, "sessions")
    assert await sessions(tally, app_id, "users") == body
    assert await sessions(tally, app_id, "locations") == body
    return body


async def _total_users(tally: Any, app_id: str) -> Any:
    return await sessions(tally, app_id, "total_users", metric="users")


async def test_empty_app_reads_are_empty_objects(tally):
    app_id, _ = await new_app(tally)
    for method in ("sessions", "users", "locations"):
        r = await tally.client.get("/o", params={"api_key": tally.admin_key, "app_id": app_id, "method": method})
        assert r.status == 200
        assert await r.text() == "{}"
    assert await _total_users(tally, app_id) == []


async def test_countly_sessions_sequence(tally):
    app_id, key = await new_app(tally)

    # 1. a bare request from a fresh device: only `e`, and (Tally) visible at once
    await write_ok(tally, app_key=key, device_id=DEVICE)
    body = await _all_three(tally, app_id)
    assert same_timeobj(body, {"2024": {"11": {"7": {"17": {"e": 1}, "e": 1}, "e": 1}, "e": 1}, "meta": {}}), body
    assert await _total_users(tally, app_id) == []

    # 2. begin_session of a new user
    await write_ok(tally, app_key=key, device_id=DEVICE, begin_session=1)
    assert await _all_three(tally, app_id) == {
        "2024": {
            "u": 1, "f": {"0": 1}, "Unknown": {"u": 1, "t": 1, "n": 1},
            "w45": {"u": 1, "f": {"0": 1}, "Unknown": {"u": 1}},
            "11": {
                "u": 1, "f": {"0": 1}, "Unknown": {"u": 1, "t": 1, "n": 1},
                "7": {"17": {"e": 2, "t": 1, "n": 1, "u": 1},
                      "e": 2, "t": 1, "n": 1, "u": 1, "Unknown": {"t": 1, "n": 1, "u": 1}, "f": {"0": 1}},
                "e": 2, "t": 1, "n": 1},
            "e": 2, "t": 1, "n": 1},
        "meta": {"countries": ["Unknown"], "f-ranges": ["0"]},
    }
    assert await _total_users(tally, app_id) == [{"_id": "users", "u": 1}]

    # 3. a new session without closing the previous one: the open session (0 s) is closed into
    #    ds "0", the new one counts t and frequency "1" (< 24 h), no new unique user
    await write_ok(tally, app_key=key, device_id=DEVICE, begin_session=1)
    assert await _all_three(tally, app_id) == {
        "2024": {
            "u": 1, "f": {"0": 1, "1": 1}, "ds": {"0": 1}, "Unknown": {"u": 1, "t": 2, "n": 1},
            "w45": {"u": 1, "f": {"0": 1, "1": 1}, "ds": {"0": 1}, "Unknown": {"u": 1}},
            "11": {
                "u": 1, "f": {"0": 1, "1": 1}, "ds": {"0": 1}, "Unknown": {"u": 1, "t": 2, "n": 1},
                "7": {"17": {"e": 3, "t": 2, "n": 1, "u": 1},
                      "e": 3, "t": 2, "n": 1, "u": 1, "Unknown": {"t": 2, "n": 1, "u": 1},
                      "f": {"0": 1, "1": 1}, "ds": {"0": 1}},
                "e": 3, "t": 2, "n": 1},
            "e": 3, "t": 2, "n": 1},
        "meta": {"countries": ["Unknown"], "f-ranges": ["0", "1"], "d-ranges": ["0"]},
    }
    assert await _total_users(tally, app_id) == [{"_id": "users", "u": 1}]

    # 4. a second device: a new user
    await write_ok(tally, app_key=key, device_id=DEVICE2, begin_session=1)
    assert await _all_three(tally, app_id) == {
        "2024": {
            "u": 2, "f": {"0": 2, "1": 1}, "ds": {"0": 1}, "Unknown": {"u": 2, "t": 3, "n": 2},
            "w45": {"u": 2, "f": {"0": 2, "1": 1}, "ds": {"0": 1}, "Unknown": {"u": 2}},
            "11": {
                "u": 2, "f": {"0": 2, "1": 1}, "ds": {"0": 1}, "Unknown": {"u": 2, "t": 3, "n": 2},
                "7": {"17": {"e": 4, "t": 3, "n": 2, "u": 2},
                      "e": 4, "t": 3, "n": 2, "u": 2, "Unknown": {"t": 3, "n": 2, "u": 2},
                      "f": {"0": 2, "1": 1}, "ds": {"0": 1}},
                "e": 4, "t": 3, "n": 2},
            "e": 4, "t": 3, "n": 2},
        "meta": {"countries": ["Unknown"], "f-ranges": ["0", "1"], "d-ranges": ["0"]},
    }
    assert await _total_users(tally, app_id) == [{"_id": "users", "u": 2}]

    # 5. session_duration=30 for the first device: d 30, e +1
    await write_ok(tally, app_key=key, device_id=DEVICE, session_duration=30)
    assert await _all_three(tally, app_id) == {
        "2024": {
            "u": 2, "f": {"0": 2, "1": 1}, "ds": {"0": 1}, "Unknown": {"u": 2, "t": 3, "n": 2},
            "w45": {"u": 2, "f": {"0": 2, "1": 1}, "ds": {"0": 1}, "Unknown": {"u": 2}},
            "11": {
                "u": 2, "f": {"0": 2, "1": 1}, "ds": {"0": 1}, "Unknown": {"u": 2, "t": 3, "n": 2},
                "7": {"17": {"e": 5, "t": 3, "n": 2, "u": 2, "d": 30},
                      "e": 5, "t": 3, "n": 2, "u": 2, "d": 30, "Unknown": {"t": 3, "n": 2, "u": 2},
                      "f": {"0": 2, "1": 1}, "ds": {"0": 1}},
                "e": 5, "t": 3, "n": 2, "d": 30},
            "e": 5, "t": 3, "n": 2, "d": 30},
        "meta": {"countries": ["Unknown"], "f-ranges": ["0", "1"], "d-ranges": ["0"]},
    }

    # 6. end_session (cooldown 0): the 30 s session is closed into ds "1" ([11, 30] s)
    await write_ok(tally, app_key=key, device_id=DEVICE, end_session=1)
    after_end = {
        "2024": {
            "u": 2, "f": {"0": 2, "1": 1}, "ds": {"0": 1, "1": 1}, "Unknown": {"u": 2, "t": 3, "n": 2},
            "w45": {"u": 2, "f": {"0": 2, "1": 1}, "ds": {"0": 1, "1": 1}, "Unknown": {"u": 2}},
            "11": {
                "u": 2, "f": {"0": 2, "1": 1}, "ds": {"0": 1, "1": 1}, "Unknown": {"u": 2, "t": 3, "n": 2},
                "7": {"17": {"e": 6, "t": 3, "n": 2, "u": 2, "d": 30},
                      "e": 6, "t": 3, "n": 2, "u": 2, "d": 30, "Unknown": {"t": 3, "n": 2, "u": 2},
                      "f": {"0": 2, "1": 1}, "ds": {"0": 1, "1": 1}},
                "e": 6, "t": 3, "n": 2, "d": 30},
            "e": 6, "t": 3, "n": 2, "d": 30},
        "meta": {"countries": ["Unknown"], "f-ranges": ["0", "1"], "d-ranges": ["0", "1"]},
    }
    assert await _all_three(tally, app_id) == after_end

    # 7. session_duration without a session: d 60, e 7, no new bucket
    await write_ok(tally, app_key=key, device_id=DEVICE, session_duration=30)
    day = after_end["2024"]["11"]["7"]
    day["17"].update(e=7, d=60)
    day.update(e=7, d=60)
    after_end["2024"]["11"].update(e=7, d=60)
    after_end["2024"].update(e=7, d=60)
    assert await _all_three(tally, app_id) == after_end

    # 8. end_session from a device that never had a session: e 8 and nothing else (no ds)
    await write_ok(tally, app_key=key, device_id=DEVICE + "A", end_session=1)
    assert await _all_three(tally, app_id) == {
        "2024": {
            "u": 2, "f": {"0": 2, "1": 1}, "ds": {"0": 1, "1": 1}, "Unknown": {"u": 2, "t": 3, "n": 2},
            "w45": {"u": 2, "f": {"0": 2, "1": 1}, "ds": {"0": 1, "1": 1}, "Unknown": {"u": 2}},
            "11": {
                "u": 2, "f": {"0": 2, "1": 1}, "ds": {"0": 1, "1": 1}, "Unknown": {"u": 2, "t": 3, "n": 2},
                "7": {"17": {"e": 8, "t": 3, "n": 2, "u": 2, "d": 60},
                      "e": 8, "t": 3, "n": 2, "u": 2, "d": 60, "Unknown": {"t": 3, "n": 2, "u": 2},
                      "f": {"0": 2, "1": 1}, "ds": {"0": 1, "1": 1}},
                "e": 8, "t": 3, "n": 2, "d": 60},
            "e": 8, "t": 3, "n": 2, "d": 60},
        "meta": {"countries": ["Unknown"], "f-ranges": ["0", "1"], "d-ranges": ["0", "1"]},
    }
    assert await _total_users(tally, app_id) == [{"_id": "users", "u": 2}]


async def test_buckets_use_the_app_timezone(tally):
    # 17:20 UTC is 02:20 on Nov 8 in Tokyo (UTC+9): day 8, hour 2, still week 45 (day 313)
    app_id, key = await new_app(tally, timezone="Asia/Tokyo")
    await write_ok(tally, app_key=key, device_id="tokyo", begin_session=1)
    assert await sessions(tally, app_id) == {
        "2024": {
            "u": 1, "f": {"0": 1}, "Unknown": {"u": 1, "t": 1, "n": 1},
            "w45": {"u": 1, "f": {"0": 1}, "Unknown": {"u": 1}},
            "11": {
                "u": 1, "f": {"0": 1}, "Unknown": {"u": 1, "t": 1, "n": 1},
                "8": {"2": {"e": 1, "t": 1, "n": 1, "u": 1},
                      "e": 1, "t": 1, "n": 1, "u": 1, "Unknown": {"t": 1, "n": 1, "u": 1}, "f": {"0": 1}},
                "e": 1, "t": 1, "n": 1},
            "e": 1, "t": 1, "n": 1},
        "meta": {"countries": ["Unknown"], "f-ranges": ["0"]},
    }


# ---- unique users of a returning user at every level ----

NOV8_10H = 1_731_060_000    # Fri 2024-11-08 10:00 UTC, day 313, week 45
NOV11_10H = 1_731_319_200   # Mon 2024-11-11 10:00 UTC, day 316, week 46
DEC2_10H = 1_733_133_600    # Mon 2024-12-02 10:00 UTC, day 337, week 49
JAN2_10H = 1_735_812_000    # Thu 2025-01-02 10:00 UTC, day 2, week 1


async def _session_at(tally: Any, key: str, device: str, now: float) -> None:
    """One 0-second session (begin + end) at `now` (the FakeClock is moved there)."""
    tally.clock.now = now
    await write_ok(tally, app_key=key, device_id=device, begin_session=1)
    await write_ok(tally, app_key=key, device_id=device, end_session=1)


async def test_returning_user_is_unique_once_per_hour_day_week_month_year(tally):
    app_id, key = await new_app(tally)
    dev = "returning"

    # first session (new user), then one an hour later: unique in the new hour only; f "1" (< 24 h)
    await _session_at(tally, key, dev, T0)
    await _session_at(tally, key, dev, T0 + 3600)
    assert await sessions(tally, app_id) == {
        "2024": {
            "u": 1, "f": {"0": 1, "1": 1}, "ds": {"0": 2}, "Unknown": {"u": 1, "t": 2, "n": 1},
            "w45": {"u": 1, "f": {"0": 1, "1": 1}, "ds": {"0": 2}, "Unknown": {"u": 1}},
            "11": {
                "u": 1, "f": {"0": 1, "1": 1}, "ds": {"0": 2}, "Unknown": {"u": 1, "t": 2, "n": 1},
                "7": {"17": {"e": 2, "t": 1, "n": 1, "u": 1}, "18": {"e": 2, "t": 1, "u": 1},
                      "e": 4, "t": 2, "n": 1, "u": 1, "Unknown": {"t": 2, "n": 1, "u": 1},
                      "f": {"0": 1, "1": 1}, "ds": {"0": 2}},
                "e": 4, "t": 2, "n": 1},
            "e": 4, "t": 2, "n": 1},
        "meta": {"countries": ["Unknown"], "f-ranges": ["0", "1"], "d-ranges": ["0"]},
    }

    # next day, same week and month: unique for the hour and the day only; 15 h 40 min → f "1"
    await _session_at(tally, key, dev, NOV8_10H)
    body = await sessions(tally, app_id)
    assert body["2024"]["11"]["8"] == {"10": {"e": 2, "t": 1, "u": 1}, "e": 2, "t": 1, "u": 1,
                                       "Unknown": {"t": 1, "u": 1}, "f": {"1": 1}, "ds": {"0": 1}}
    assert body["2024"]["w45"] == {"u": 1, "f": {"0": 1, "1": 2}, "ds": {"0": 3}, "Unknown": {"u": 1}}
    assert (body["2024"]["u"], body["2024"]["11"]["u"]) == (1, 1)
    assert body["2024"]["Unknown"] == {"u": 1, "t": 3, "n": 1}

    # a new week (72 h later → f "4"): unique for hour, day and week 46
    await _session_at(tally, key, dev, NOV11_10H)
    body = await sessions(tally, app_id)
    assert body["2024"]["11"]["11"] == {"10": {"e": 2, "t": 1, "u": 1}, "e": 2, "t": 1, "u": 1,
                                        "Unknown": {"t": 1, "u": 1}, "f": {"4": 1}, "ds": {"0": 1}}
    assert body["2024"]["w46"] == {"u": 1, "f": {"4": 1}, "ds": {"0": 1}, "Unknown": {"u": 1}}
    assert (body["2024"]["u"], body["2024"]["11"]["u"]) == (1, 1)
    assert body["2024"]["f"] == {"0": 1, "1": 2, "4": 1}

    # a new month (21 days = 504 h later → f "10"): hour, day, week 49 and December
    await _session_at(tally, key, dev, DEC2_10H)
    body = await sessions(tally, app_id)
    assert body["2024"]["12"] == {
        "u": 1, "f": {"10": 1}, "ds": {"0": 1}, "Unknown": {"u": 1, "t": 1},
        "2": {"10": {"e": 2, "t": 1, "u": 1}, "e": 2, "t": 1, "u": 1,
              "Unknown": {"t": 1, "u": 1}, "f": {"10": 1}, "ds": {"0": 1}},
        "e": 2, "t": 1,
    }
    assert body["2024"]["w49"] == {"u": 1, "f": {"10": 1}, "ds": {"0": 1}, "Unknown": {"u": 1}}
    assert body["2024"]["11"]["u"] == 1
    assert (body["2024"]["u"], body["2024"]["t"], body["2024"]["n"], body["2024"]["e"]) == (1, 5, 1, 10)

    # a new year (31 days = 744 h later → f "11"): unique at every level of 2025
    await _session_at(tally, key, dev, JAN2_10H)
    body = await sessions(tally, app_id)
    y2025 = body["2025"]
    week1 = y2025.pop("w1", None)
    assert y2025 == {
        "u": 1, "f": {"11": 1}, "ds": {"0": 1}, "Unknown": {"u": 1, "t": 1},
        "1": {"u": 1, "f": {"11": 1}, "ds": {"0": 1}, "Unknown": {"u": 1, "t": 1},
              "2": {"10": {"e": 2, "t": 1, "u": 1}, "e": 2, "t": 1, "u": 1,
                    "Unknown": {"t": 1, "u": 1}, "f": {"11": 1}, "ds": {"0": 1}},
              "e": 2, "t": 1},
        "e": 2, "t": 1,
    }
    assert body["meta"] == {"countries": ["Unknown"], "f-ranges": ["0", "1", "4", "10", "11"], "d-ranges": ["0"]}
    # The first session of a year is also that week's first: unique in week 1 (Countly skips
    # users last seen in an earlier year here; a unique count must not, see the report).
    assert week1 == {"u": 1, "f": {"11": 1}, "ds": {"0": 1}, "Unknown": {"u": 1}}


@pytest.mark.parametrize(("hours", "bucket"), [
    (0.5, "1"), (23.99, "1"), (24, "2"), (47.5, "2"), (48, "3"), (72, "4"), (96, "5"), (120, "6"),
    (144, "7"), (168, "8"), (191.9, "8"), (192, "9"), (359.9, "9"), (360, "10"), (743.9, "10"), (744, "11"),
    (2000, "11"),
])
async def test_frequency_bucket_of_a_returning_user(tally, hours, bucket):
    app_id, key = await new_app(tally)
    await write_ok(tally, app_key=key, device_id="f", begin_session=1, timestamp=int(T0 - hours * 3600))
    await write_ok(tally, app_key=key, device_id="f", begin_session=1)
    body = await sessions(tally, app_id)
    assert body["2024"]["f"] == {"0": 1, bucket: 1}
    assert body["2024"]["11"]["7"]["f"] == ({"0": 1, bucket: 1} if hours < 17 else {bucket: 1})
    assert body["meta"]["f-ranges"] == ["0", bucket]


@pytest.mark.parametrize(("seconds", "bucket"), [
    (0, "0"), (10, "0"), (11, "1"), (30, "1"), (31, "2"), (60, "2"), (61, "3"), (180, "3"), (181, "4"),
    (600, "4"), (601, "5"), (1800, "5"), (1801, "6"), (3600, "6"), (3601, "7"), (86400, "7"),
])
async def test_duration_bucket_of_a_closed_session(tally, seconds, bucket):
    app_id, key = await new_app(tally)
    await write_ok(tally, app_key=key, device_id="ds", begin_session=1)
    await write_ok(tally, app_key=key, device_id="ds", session_duration=seconds, end_session=1)
    body = await sessions(tally, app_id)
    assert body["2024"]["ds"] == {bucket: 1}
    assert body["2024"]["w45"]["ds"] == {bucket: 1}
    assert body["2024"]["11"]["ds"] == {bucket: 1}
    assert body["2024"]["11"]["7"]["ds"] == {bucket: 1}
    assert body["meta"]["d-ranges"] == [bucket]
    assert body["2024"].get("d", 0) == seconds
    assert body["2024"]["e"] == 2


# ---- session cooldown (session_cooldown=15) ----

async def test_cooldown_ds_appears_only_once_the_cooldown_is_over(tally_factory):
    tally = await tally_factory(session_cooldown=15)
    app_id, key = await new_app(tally)
    await write_ok(tally, app_key=key, device_id="c", begin_session=1)
    tally.clock.now = T0 + 20
    await write_ok(tally, app_key=key, device_id="c", session_duration=20, end_session=1)
    pending = {
        "2024": {
            "u": 1, "f": {"0": 1}, "Unknown": {"u": 1, "t": 1, "n": 1},
            "w45": {"u": 1, "f": {"0": 1}, "Unknown": {"u": 1}},
            "11": {
                "u": 1, "f": {"0": 1}, "Unknown": {"u": 1, "t": 1, "n": 1},
                "7": {"17": {"e": 2, "t": 1, "n": 1, "u": 1, "d": 20},
                      "e": 2, "t": 1, "n": 1, "u": 1, "d": 20, "Unknown": {"t": 1, "n": 1, "u": 1}, "f": {"0": 1}},
                "e": 2, "t": 1, "n": 1, "d": 20},
            "e": 2, "t": 1, "n": 1, "d": 20},
        "meta": {"countries": ["Unknown"], "f-ranges": ["0"]},
    }
    assert await sessions(tally, app_id) == pending          # ended, not closed yet: no ds
    closer = tally.app[keys.CLOSER]
    assert await closer.close_due(T0 + 20 + 14) == 0          # still inside the cooldown
    assert await sessions(tally, app_id) == pending
    assert await closer.close_due(T0 + 20 + 15) == 1
    closed = await sessions(tally, app_id)
    assert closed == {
        "2024": {
            "u": 1, "f": {"0": 1}, "ds": {"1": 1}, "Unknown": {"u": 1, "t": 1, "n": 1},
            "w45": {"u": 1, "f": {"0": 1}, "ds": {"1": 1}, "Unknown": {"u": 1}},
            "11": {
                "u": 1, "f": {"0": 1}, "ds": {"1": 1}, "Unknown": {"u": 1, "t": 1, "n": 1},
                "7": {"17": {"e": 2, "t": 1, "n": 1, "u": 1, "d": 20},
                      "e": 2, "t": 1, "n": 1, "u": 1, "d": 20, "Unknown": {"t": 1, "n": 1, "u": 1},
                      "f": {"0": 1}, "ds": {"1": 1}},
                "e": 2, "t": 1, "n": 1, "d": 20},
            "e": 2, "t": 1, "n": 1, "d": 20},
        "meta": {"countries": ["Unknown"], "f-ranges": ["0"], "d-ranges": ["1"]},
    }
    assert await closer.close_due(T0 + 3600) == 0             # closed once only
    assert await sessions(tally, app_id) == closed


async def test_cooldown_a_begin_after_the_cooldown_closes_the_ended_session(tally_factory):
    tally = await tally_factory(session_cooldown=15)
    app_id, key = await new_app(tally)
    await write_ok(tally, app_key=key, device_id="c", begin_session=1)
    tally.clock.now = T0 + 20
    await write_ok(tally, app_key=key, device_id="c", session_duration=20, end_session=1)
    tally.clock.now = T0 + 40                                  # 20 s after the end: a new session
    await write_ok(tally, app_key=key, device_id="c", begin_session=1)
    assert await sessions(tally, app_id) == {
        "2024": {
            "u": 1, "f": {"0": 1, "1": 1}, "ds": {"1": 1}, "Unknown": {"u": 1, "t": 2, "n": 1},
            "w45": {"u": 1, "f": {"0": 1, "1": 1}, "ds": {"1": 1}, "Unknown": {"u": 1}},
            "11": {
                "u": 1, "f": {"0": 1, "1": 1}, "ds": {"1": 1}, "Unknown": {"u": 1, "t": 2, "n": 1},
                "7": {"17": {"e": 3, "t": 2, "n": 1, "u": 1, "d": 20},
                      "e": 3, "t": 2, "n": 1, "u": 1, "d": 20, "Unknown": {"t": 2, "n": 1, "u": 1},
                      "f": {"0": 1, "1": 1}, "ds": {"1": 1}},
                "e": 3, "t": 2, "n": 1, "d": 20},
            "e": 3, "t": 2, "n": 1, "d": 20},
        "meta": {"countries": ["Unknown"], "f-ranges": ["0", "1"], "d-ranges": ["1"]},
    }


async def test_cooldown_a_begin_within_the_cooldown_is_swallowed(tally_factory):
    tally = await tally_factory(session_cooldown=15)
    app_id, key = await new_app(tally)
    await write_ok(tally, app_key=key, device_id="c", begin_session=1)
    tally.clock.now = T0 + 20
    await write_ok(tally, app_key=key, device_id="c", session_duration=20, end_session=1)
    before = await sessions(tally, app_id)
    tally.clock.now = T0 + 25                                  # 5 s after the end: the session goes on
    await write_ok(tally, app_key=key, device_id="c", begin_session=1)
    assert await sessions(tally, app_id) == before             # no t, n, u, e
    tally.clock.now = T0 + 40
    await write_ok(tally, app_key=key, device_id="c", session_duration=10, end_session=1)
    assert await tally.app[keys.CLOSER].close_due(T0 + 40 + 15) == 1
    body = await sessions(tally, app_id)
    assert body["2024"]["11"]["7"] == {"17": {"e": 3, "t": 1, "n": 1, "u": 1, "d": 30},
                                       "e": 3, "t": 1, "n": 1, "u": 1, "d": 30,
                                       "Unknown": {"t": 1, "n": 1, "u": 1}, "f": {"0": 1}, "ds": {"1": 1}}
    assert body["2024"]["ds"] == {"1": 1}                       # one session of 30 s


async def test_cooldown_ignore_cooldown_starts_a_new_session(tally_factory):
    tally = await tally_factory(session_cooldown=15)
    app_id, key = await new_app(tally)
    await write_ok(tally, app_key=key, device_id="c", begin_session=1)
    await write_ok(tally, app_key=key, device_id="c", end_session=1)
    await write_ok(tally, app_key=key, device_id="c", begin_session=1, ignore_cooldown=1)
    body = await sessions(tally, app_id)
    assert (body["2024"]["t"], body["2024"]["e"], body["2024"]["ds"]) == (2, 3, {"0": 1})


# ---- inactivity ----

async def test_inactive_session_is_closed_after_session_timeout(tally):
    app_id, key = await new_app(tally)
    await write_ok(tally, app_key=key, device_id="idle", begin_session=1)
    tally.clock.now = T0 + 30
    await write_ok(tally, app_key=key, device_id="idle", session_duration=40)
    closer = tally.app[keys.CLOSER]
    assert await closer.close_due(T0 + 30 + 1799) == 0
    assert "ds" not in (await sessions(tally, app_id))["2024"]
    assert await closer.close_due(T0 + 30 + 1800) == 1
    body = await sessions(tally, app_id)
    assert body["2024"]["11"]["7"] == {"17": {"e": 2, "t": 1, "n": 1, "u": 1, "d": 40},
                                       "e": 2, "t": 1, "n": 1, "u": 1, "d": 40,
                                       "Unknown": {"t": 1, "n": 1, "u": 1}, "f": {"0": 1}, "ds": {"2": 1}}
    assert body["2024"]["ds"] == {"2": 1} and body["meta"]["d-ranges"] == ["2"]
    assert await closer.close_due(T0 + 7200) == 0


# ---- session_duration values ----

@pytest.mark.parametrize(("value", "seconds"), [
    ("30", 30), ("86400", 86400), ("100000", 86400), ("-5", 30), ("12.7", 12), ("abc", None), ("0", None),
    ("", None),
])
async def test_session_duration_values(tally, value, seconds):
    app_id, key = await new_app(tally)
    await write_ok(tally, app_key=key, device_id="sd", session_duration=value)
    hour: dict[str, Any] = {"e": 1} if seconds is None else {"e": 1, "d": seconds}
    assert same_timeobj(await sessions(tally, app_id),
                        {"2024": {"11": {"7": {"17": hour, **hour}, **hour}, **hour}, "meta": {}})


async def test_session_duration_limit_setting(tally_factory):
    tally = await tally_factory(session_duration_limit=120)
    app_id, key = await new_app(tally)
    await write_ok(tally, app_key=key, device_id="sd", session_duration=500)
    body = await sessions(tally, app_id)
    assert (body["2024"]["d"], body["2024"]["11"]["7"]["17"]["d"]) == (120, 120)


# ---- timestamps ----

async def test_timestamps_in_seconds_and_ms_future_clamped(tally):
    app_id, key = await new_app(tally)
    await write_ok(tally, app_key=key, device_id="s", begin_session=1, timestamp=T0 - 86400)          # Nov 6
    await write_ok(tally, app_key=key, device_id="ms", begin_session=1, timestamp=(T0 - 2 * 86400) * 1000)  # Nov 5
    await write_ok(tally, app_key=key, device_id="frac", begin_session=1, timestamp=f"{T0 - 3 * 86400}.5")  # Nov 4
    await write_ok(tally, app_key=key, device_id="future", begin_session=1, timestamp=T0 + 5 * 86400)  # → now
    await write_ok(tally, app_key=key, device_id="future-ms", begin_session=1, timestamp=(T0 + 3600) * 1000)
    await write_ok(tally, app_key=key, device_id="junk", begin_session=1, timestamp="yesterday")     # → now

    def one(n: int) -> dict[str, Any]:
        return {"17": {"e": n, "t": n, "n": n, "u": n}, "e": n, "t": n, "n": n, "u": n,
                "Unknown": {"t": n, "n": n, "u": n}, "f": {"0": n}}

    assert await sessions(tally, app_id) == {
        "2024": {
            "u": 6, "f": {"0": 6}, "Unknown": {"u": 6, "t": 6, "n": 6},
            "w45": {"u": 6, "f": {"0": 6}, "Unknown": {"u": 6}},       # Nov 4–7 are days 309–312
            "11": {"u": 6, "f": {"0": 6}, "Unknown": {"u": 6, "t": 6, "n": 6},
                   "4": one(1), "5": one(1), "6": one(1), "7": one(3),
                   "e": 6, "t": 6, "n": 6},
            "e": 6, "t": 6, "n": 6},
        "meta": {"countries": ["Unknown"], "f-ranges": ["0"]},
    }
