"""/o/analytics/dashboard: Countly's modern sessions test, empty app, top bars, changes against
the previous period, windows across a month and a year end, exact vs estimated users, a
timezone 5:45 ahead of UTC, and the number of documents read.

The fake clock stands at Thursday 2024-11-07 17:20 UTC unless a test moves it; apps are in UTC
unless a test says otherwise. So `30days` is 9 Oct - 7 Nov (previous: 9 Sep - 8 Oct), `7days`
is 1 Nov - 7 Nov (previous: 25 - 31 Oct) and `today` is 7 Nov (previous: 6 Nov).
"""
from __future__ import annotations

import json
from typing import Any

import pytest

from bench.countedstore import CountedDatabase
from server.app import create_app
from server.storage.aggregates import AggregateStore
from tests.analytics.helpers import DAY, NOW, App, bar, block, make_app, numbers, top, utc
from tests.conftest import FakeClock, SettingsFactory, Tally

D = "1234567890"
P30, P7, PTODAY = "9 Oct - 7 Nov", "1 Nov - 7 Nov", "00:00 - 17:20"


def three(t: int, u: int, n: int, total_time: str, avg_time: str, avg_requests: str) -> dict[str, Any]:
    """The default reply when all traffic happened today at 17:xx and nothing before."""
    days = [bar("7 Nov", t, 100)] if t else []
    hours = [bar("17:00", t, 100)] if t else []
    estimate = u == 0  # no device started a session in the window: nothing to correct the estimate with
    return {
        "30days": block(numbers(t, u, n, total_time, avg_time, avg_requests, estimate=estimate),
                        top(users=days), P30),
        "7days": block(numbers(t, u, n, total_time, avg_time, avg_requests, estimate=estimate),
                       top(users=days), P7),
        "today": block(numbers(t, u, n, total_time, avg_time, avg_requests), top(users=hours), PTODAY),
    }


# Countly's test/3.api.write/2.write.app.sessions.js, step by step. `e` counts every request
# (Tally's rule), so the last step, an end_session from a device that never began one, gives
# e = 8 and avg_requests 8 / 2 = "4.0" (Countly's sharded store shows 7 / 2 = "3.5").
SESSIONS_TEST = [
    # device, request, (t, u, n, total_time, avg_time, avg_requests)
    (D, {}, (0, 0, 0, "0.0 min", "0.0 min", "0.0")),  # e=1 but no user: 0.0
    (D, {"begin_session": 1}, (1, 1, 1, "0.0 min", "0.0 min", "2.0")),  # e=2, u=1
    (D, {"begin_session": 1}, (2, 1, 1, "0.0 min", "0.0 min", "3.0")),  # e=3, same user
    (D + D, {"begin_session": 1}, (3, 2, 2, "0.0 min", "0.0 min", "2.0")),  # e=4, u=2
    (D, {"session_duration": 30}, (3, 2, 2, "0.5 min", "0.2 min", "2.5")),  # d=30: 0.5 min / 3 = 0.17
    (D, {"end_session": 1}, (3, 2, 2, "0.5 min", "0.2 min", "3.0")),  # e=6
    (D, {"session_duration": 30}, (3, 2, 2, "1.0 min", "0.3 min", "3.5")),  # d=60: 1 min / 3, e=7
    (D + "A", {"end_session": 1}, (3, 2, 2, "1.0 min", "0.3 min", "4.0")),  # e=8
]


async def test_countly_sessions_sequence(app: App) -> None:
    for device, request, expected in SESSIONS_TEST:
        await app.hit(device, **request)
        assert await app.ok("dashboard") == three(*expected), (device, request)


async def bulk(app: App, requests: list[dict[str, Any]]) -> None:
    items = [{"app_key": app.key, **r} for r in requests]
    r = await app.tally.client.get("/i/bulk", params={"requests": json.dumps(items)})
    assert (r.status, await r.json()) == (200, {"result": "Success"})


async def test_countly_bulk_sessions(app: App) -> None:
    # Countly's test/3.api.write/6.bulk.write.js: the sessions sequence, back-dated in one bulk
    minute = 60
    await bulk(app, [
        {"device_id": D, "timestamp": NOW - 6 * minute},  # 17:14
        {"device_id": D, "begin_session": 1, "timestamp": NOW - 5 * minute},  # 17:15
        {"device_id": D, "begin_session": 1, "timestamp": NOW - 4 * minute},  # 17:16
        {"device_id": D, "session_duration": 60, "timestamp": NOW - 3 * 3600},  # 14:20
        {"device_id": D, "end_session": 1, "timestamp": NOW - 2 * 3600},  # 15:20
        {"device_id": D + "new", "begin_session": 1, "timestamp": NOW - 3600},  # 16:20
    ])
    # 3 sessions, 2 new users, 60 s: "1.0 min", 1 / 3 min per session; 6 requests / 2 users
    # (Countly's sharded store shows 5 / 2 = "2.5")
    dashboard = numbers(3, 2, 2, "1.0 min", "0.3 min", "3.0")
    assert await app.ok("dashboard") == {
        "30days": block(dashboard, top(users=[bar("7 Nov", 3, 100)]), P30),
        "7days": block(dashboard, top(users=[bar("7 Nov", 3, 100)]), P7),
        "today": block(dashboard, top(users=[bar("17:00", 2, 66), bar("16:00", 1, 34)]), PTODAY),
    }


async def test_countly_bulk_metrics(app: App) -> None:
    await bulk(app, [{"device_id": D + str(i), "begin_session": 1, "metrics": m} for i, m in [
        (1, {"_os": "Android"}), (2, {"_os_version": "4.4"}), (4, {"_resolution": "1200x800"}),
        (5, {"_os": "Android", "_os_version": "4.4"}), (6, {"_device": "Nexus 5"}), (7, {"_carrier": "Vodafone"}),
        (8, {"_app_version": "1.0"}),
        (9, {"_os": "IOS", "_os_version": "7.1", "_resolution": "2048x1536", "_device": "iPod",
             "_carrier": "Telecom", "_app_version": "1.2"}),
        (10, {"_os": "IOS", "_os_version": "7.1", "_resolution": "2048x1536", "_device": "iPod",
              "_carrier": "Telecom", "_app_version": "1.2"}),
    ]])
    dashboard = numbers(9, 9, 9, "0.0 min", "0.0 min", "1.0")
    bars = {"platforms": [bar("Android", 2, 50), bar("IOS", 2, 50)],
            "resolutions": [bar("2048x1536", 2, 66.7), bar("1200x800", 1, 33.3)],
            "carriers": [bar("Telecom", 2, 66.7), bar("Vodafone", 1, 33.3)]}
    assert await app.ok("dashboard") == {
        "30days": block(dashboard, {**bars, "users": [bar("7 Nov", 9, 100)]}, P30),
        "7days": block(dashboard, {**bars, "users": [bar("7 Nov", 9, 100)]}, P7),
        "today": block(dashboard, {**bars, "users": [bar("17:00", 9, 100)]}, PTODAY),
    }


async def test_empty_app(app: App) -> None:
    assert await app.ok("dashboard") == three(0, 0, 0, "0.0 min", "0.0 min", "0.0")


@pytest.mark.parametrize("period, text, estimate", [
    ("hour", PTODAY, False),
    ("yesterday", "6 Nov, 00:00 - 6 Nov, 23:59", False),
    ("day", "1 Nov - 7 Nov", False),  # this month so far
    ("month", "Jan - Nov", False),  # this year so far
    ("60days", "9 Sep - 7 Nov", True),
    ("[1727740800000, 1728518400000]", "1 Oct - 10 Oct", True),  # [1 Oct, 10 Oct] 00:00 UTC in ms
])
async def test_one_period_is_keyed_by_its_text(app: App, period: str, text: str, estimate: bool) -> None:
    zero = numbers(0, 0, 0, "0.0 min", "0.0 min", "0.0", estimate=estimate)
    assert await app.ok("dashboard", period=period) == {period: block(zero, top(), text)}


async def test_explicit_30days_is_the_default_reply(app: App) -> None:
    assert await app.ok("dashboard", period="30days") == await app.ok("dashboard")


async def test_top_bars(app: App) -> None:
    metrics = [
        ("d1", {"_os": "Android", "_resolution": "1200x800", "_carrier": "Vodafone"}),
        ("d2", {"_os": "IOS", "_resolution": "2048x1536", "_carrier": "Telecom"}),
        ("d3", {"_os": "Android", "_resolution": "640x480", "_carrier": "Vodafone"}),
    ]
    for device, m in metrics:
        await app.hit(device, begin_session=1, metrics=m)
    reply = await app.ok("dashboard", period="7days")
    # Android 2 of 3 sessions: 66.7 %, IOS 33.3 %. Three resolutions of 1: 33.3 each sums to 99.9,
    # the first (ties by name) takes the missing 0.1.
    assert reply["7days"]["top"] == top(
        platforms=[bar("Android", 2, 66.7), bar("IOS", 1, 33.3)],
        resolutions=[bar("1200x800", 1, 33.4), bar("2048x1536", 1, 33.3), bar("640x480", 1, 33.3)],
        carriers=[bar("Vodafone", 2, 66.7), bar("Telecom", 1, 33.3)],
        users=[bar("7 Nov", 3, 100)])

    await app.hit("d4", begin_session=1, metrics={"_os": "IOS", "_resolution": "2048x1536", "_carrier": "Telecom"})
    reply = await app.ok("dashboard", period="7days")
    # ties in ascending name order: Android before IOS, Telecom before Vodafone
    assert reply["7days"]["top"] == top(
        platforms=[bar("Android", 2, 50), bar("IOS", 2, 50)],
        resolutions=[bar("2048x1536", 2, 50), bar("1200x800", 1, 25), bar("640x480", 1, 25)],
        carriers=[bar("Telecom", 2, 50), bar("Vodafone", 2, 50)],
        users=[bar("7 Nov", 4, 100)])


async def test_top_bars_over_days_and_months_with_refused_values(tally_factory: Any) -> None:
    tally = await tally_factory(plugins=(), metric_limit=2)
    app = await make_app(tally)
    sessions = [  # in time order, so the metric limit (2 values per set and year) refuses the 3rd value
        ("d5", "2024-10-01T10:00", {"_os": "IOS", "_resolution": "750x1334", "_carrier": "B"}),  # before 30 days
        ("d1", "2024-10-20T10:00", {"_os": "Android", "_resolution": "1080x1920", "_carrier": "A"}),
        ("d2", "2024-10-31T10:00", {"_os": "IOS", "_resolution": "750x1334", "_carrier": "B"}),
        ("d1", "2024-11-01T10:00", {"_os": "Android", "_resolution": "1080x1920", "_carrier": "A"}),
        ("d3", "2024-11-07T09:00", {"_os": "Symbian", "_resolution": "1080x1920", "_carrier": "C"}),  # 3rd os, carrier
        ("d4", "2024-11-07T17:20", {"_os": "Android", "_resolution": "640x480", "_carrier": "B"}),  # 3rd resolution
    ]
    for device, at, metrics in sessions:
        await app.hit(device, utc(at), begin_session=1, metrics=metrics)
    reply = await app.ok("dashboard")
    # 30 days (9 Oct - 7 Nov): Android d1, d1, d4; IOS d2; 1080x1920 d1, d1, d3; 750x1334 d2; A d1, d1; B d2, d4
    assert reply["30days"]["top"] == top(
        platforms=[bar("Android", 3, 75), bar("IOS", 1, 25)],
        resolutions=[bar("1080x1920", 3, 75), bar("750x1334", 1, 25)],
        carriers=[bar("A", 2, 50), bar("B", 2, 50)],
        users=[bar("7 Nov", 2, 50), bar("20 Oct", 1, 25), bar("31 Oct", 1, 25)])
    # 7 days (1 - 7 Nov): d1 on 1 Nov, d3 and d4 today
    assert reply["7days"]["top"] == top(
        platforms=[bar("Android", 2, 100)], resolutions=[bar("1080x1920", 2, 100)],
        carriers=[bar("A", 1, 50), bar("B", 1, 50)], users=[bar("7 Nov", 2, 66), bar("1 Nov", 1, 34)])
    assert reply["today"]["top"] == top(
        platforms=[bar("Android", 1, 100)], resolutions=[bar("1080x1920", 1, 100)], carriers=[bar("B", 1, 100)],
        users=[bar("09:00", 1, 50), bar("17:00", 1, 50)])
    # the same bars as the metric collections give (`/o/analytics/tops` reads device_details, carriers)
    for key, period in (("30days", "30days"), ("7days", "7days"), ("today", "hour")):
        tops = await app.ok("tops", period=period)
        assert {k: tops[k] for k in ("platforms", "resolutions", "carriers")} == {
            k: reply[key]["top"][k] for k in ("platforms", "resolutions", "carriers")}, key


async def test_changes_against_the_previous_period(app: App) -> None:
    a_day = NOW - 35 * 86400  # 3 Oct 17:20: inside the previous 30 days (9 Sep - 8 Oct)
    await app.hit("A", a_day, begin_session=1)
    await app.hit("A", a_day + 10, session_duration=120)
    await app.hit("B", begin_session=1)
    await app.hit("B", session_duration=30)
    await app.hit("C", begin_session=1)
    reply = await app.ok("dashboard")
    # 30 days: t 1 → 2, n 1 → 2, u 1 → 2 (+100 %); d 120 s → 30 s (-75 %) = "0.5 min";
    # minutes per session 2.0 → 0.25 (-87.5 %), shown "0.3 min" (JavaScript rounds 0.25 up);
    # requests per user 2 / 1 → 3 / 2 = 1.5 (-25 %).
    up = ("100%", "u")
    assert reply["30days"] == block(
        numbers(2, 2, 2, "0.5 min", "0.3 min", "1.5", changes={
            "total_sessions": up, "new_users": up, "total_users": up, "total_time": ("-75%", "d"),
            "avg_time": ("-87.5%", "d"), "avg_requests": ("-25%", "d")}),
        top(users=[bar("7 Nov", 2, 100)]), P30)
    assert reply["7days"] == block(numbers(2, 2, 2, "0.5 min", "0.3 min", "1.5"),
                                   top(users=[bar("7 Nov", 2, 100)]), P7)
    assert reply["today"] == block(numbers(2, 2, 2, "0.5 min", "0.3 min", "1.5"),
                                   top(users=[bar("17:00", 2, 100)]), PTODAY)

    # [20 Sep, 5 Oct] holds only A's day; it does not contain today, so users are estimated
    period = "[1726790400000, 1728086400000]"
    assert await app.ok("dashboard", period=period) == {period: block(
        numbers(1, 1, 1, "2.0 min", "2.0 min", "2.0", estimate=True),
        top(users=[bar("3 Oct", 1, 100)]), "20 Sep - 5 Oct")}


async def test_exact_users_replace_the_estimate_when_the_window_has_today(app: App) -> None:
    # R comes back every 10 days: 18 Oct (week 42), 28 Oct (week 44), 7 Nov (week 45)
    await app.hit("R", NOW - 20 * 86400, begin_session=1)
    await app.hit("R", NOW - 10 * 86400, begin_session=1)
    await app.hit("R", begin_session=1)
    reply = await app.ok("dashboard", period="30days")
    # the buckets would say 3 (one per week, as many as sessions); the device count says 1
    assert reply["30days"]["dashboard"] == numbers(3, 1, 1, "0.0 min", "0.0 min", "3.0")
    # 9 Oct - 6 Nov does not contain today: estimated from weeks 42 and 44 (R counted twice)
    period = "[1728432000000, 1730851200000]"
    assert (await app.ok("dashboard", period=period))[period]["dashboard"] == numbers(
        2, 2, 1, "0.0 min", "0.0 min", "1.0", estimate=True)


async def test_estimate_takes_the_smaller_of_days_and_covering_buckets(app: App) -> None:
    for day in ("2024-10-10", "2024-10-11", "2024-10-12"):  # the same device three days running
        await app.hit("S", utc(f"{day}T09:00"), begin_session=1)
    period = "[1728518400000, 1728691200000]"  # [10 Oct, 12 Oct]
    # days: 1 + 1 + 1 = 3; the covering week 41 (7 - 13 Oct): 1
    assert (await app.ok("dashboard", period=period))[period]["dashboard"] == numbers(
        3, 1, 1, "0.0 min", "0.0 min", "3.0", estimate=True)


async def test_month_and_year_end(tally: Tally) -> None:
    tally.clock.now = utc("2025-01-03T12:00")
    app = await make_app(tally)
    await app.hit("X", utc("2024-12-20T10:00"), begin_session=1)
    await app.hit("Y", utc("2025-01-02T10:00"), begin_session=1)
    await app.hit("X", begin_session=1)
    reply = await app.ok("dashboard")
    # 30 days = 5 Dec - 3 Jan: 3 sessions, X and Y new, both last seen inside → 2 users, e 3 / 2
    assert reply["30days"] == block(
        numbers(3, 2, 2, "0.0 min", "0.0 min", "1.5"),
        top(users=[bar("20 Dec", 1, 33), bar("2 Jan", 1, 33), bar("3 Jan", 1, 34)]), "5 Dec - 3 Jan")
    # 7 days = 28 Dec - 3 Jan: Y (new) and X (returning)
    assert reply["7days"] == block(numbers(2, 2, 1, "0.0 min", "0.0 min", "1.0"),
                                   top(users=[bar("2 Jan", 1, 50), bar("3 Jan", 1, 50)]), "28 Dec - 3 Jan")
    # today (3 Jan): X only; yesterday had Y's new session: t 1 → 1, n 1 → 0, u 1 → 1
    assert reply["today"] == block(
        numbers(1, 1, 0, "0.0 min", "0.0 min", "1.0", changes={
            "total_sessions": ("0%", "u"), "new_users": ("∞", "d"), "total_users": ("0%", "u"),
            "avg_requests": ("0%", "u")}),
        top(users=[bar("12:00", 1, 100)]), "00:00 - 12:00")

    # [20 Dec, 2 Jan] crosses the year without today: estimated from 20 Dec's and 2 Jan's days
    # (2), not from the covering December + week 1 of 2025 (1 + 2 = 3)
    period = "[1734652800000, 1735776000000]"
    assert await app.ok("dashboard", period=period) == {period: block(
        numbers(2, 2, 2, "0.0 min", "0.0 min", "1.0", estimate=True),
        top(users=[bar("20 Dec", 1, 50), bar("2 Jan", 1, 50)]), "20 Dec - 2 Jan")}


async def test_one_bucket_query_two_documents_per_month_at_most(
        tally: Tally, monkeypatch: pytest.MonkeyPatch) -> None:
    tally.clock.now = utc("2025-01-03T12:00")
    app = await make_app(tally)
    calls: list[tuple[str, list[str]]] = []
    original = AggregateStore.find

    async def find(self: AggregateStore, collection: str, ids: Any, projection: Any = None) -> Any:
        calls.append((collection, list(ids)))
        return await original(self, collection, ids, projection)

    monkeypatch.setattr(AggregateStore, "find", find)
    await app.ok("dashboard")
    ids = {c: [i.removeprefix(app.id + "_") for i in found] for c, found in calls}
    assert len(calls) == 1  # the top bars come from the users docs too
    # the users windows and their previous windows: 5 Nov 2024 - 3 Jan 2025
    assert ids == {"users": ["2024:0", "2025:0", "2024:11", "2024:12", "2025:1"]}


BUCKET_COLLECTIONS = ("users", "device_details", "devices", "carriers", "cities")


async def test_a_year_of_dashboard_reads_only_users_documents(aiohttp_client: Any, make_settings: SettingsFactory,
                                                              clock: FakeClock) -> None:
    """Counted on the benchmark's stand-in store: which documents a dashboard read fetches."""
    db = CountedDatabase()
    client = await aiohttp_client(create_app(make_settings(plugins=()), clock=clock, database=db,
                                             start_background=False))
    app = await make_app(Tally(client, clock))
    # a session every third day of the 365-day window (9 Nov 2023 - 7 Nov 2024), with top-bar metrics
    items = [{"app_key": app.key, "device_id": f"y{n % 5}", "begin_session": 1, "timestamp": NOW - n * DAY,
              "metrics": {"_os": "Android", "_resolution": "1080x1920", "_carrier": "A"}}
             for n in range(363, -1, -3)]
    r = await client.post("/i/bulk", data={"requests": json.dumps(items)})
    assert (r.status, await r.json()) == (200, {"result": "Success"})
    await app.tally.flush()

    async def fetched(**params: Any) -> dict[str, int]:
        before = dict(db.fetched_by_collection)
        calls = dict(db.calls)
        await app.ok("dashboard", **params)
        queried = {c for (op, c), n in db.calls.items() if n != calls.get((op, c), 0) and c in BUCKET_COLLECTIONS}
        assert queried == {"users"}, params
        assert [db.calls[("find", "users")] - calls.get(("find", "users"), 0)] == [1], params
        return {c: n - before.get(c, 0) for c, n in db.fetched_by_collection.items()
                if c in BUCKET_COLLECTIONS and n != before.get(c, 0)}

    # 365 days and the 365 before: Nov 2022 - Nov 2024 asked for; the 13 months of Nov 2023 - Nov 2024
    # exist, with the zero docs of 2023 and 2024: 15 documents, 15 / 13 per month of the window
    assert await fetched(period="365days") == {"users": 15}
    # the default windows and their previous ones: 9 Sep - 7 Nov 2024, 3 month docs + 1 zero doc
    assert await fetched() == {"users": 4}


async def test_timezone_with_a_45_minute_offset(tally: Tally) -> None:
    tally.clock.now = utc("2024-11-07T18:30")  # 00:15 on 8 Nov in Kathmandu (UTC+5:45)
    app = await make_app(tally, timezone="Asia/Kathmandu")
    await app.hit("P", utc("2024-11-07T18:00"), begin_session=1)  # 23:45 on 7 Nov local
    await app.hit("Q", begin_session=1)  # 00:15 on 8 Nov local
    reply = await app.ok("dashboard")
    same = ("0%", "u")
    assert reply["today"] == block(
        numbers(1, 1, 1, "0.0 min", "0.0 min", "1.0", changes={
            "total_sessions": same, "new_users": same, "total_users": same, "avg_requests": same}),
        top(users=[bar("00:00", 1, 100)]), "00:00 - 00:15")
    days = [bar("7 Nov", 1, 50), bar("8 Nov", 1, 50)]
    assert reply["7days"] == block(numbers(2, 2, 2, "0.0 min", "0.0 min", "1.0"), top(users=days), "2 Nov - 8 Nov")
    assert reply["30days"] == block(numbers(2, 2, 2, "0.0 min", "0.0 min", "1.0"), top(users=days),
                                    "10 Oct - 8 Nov")
