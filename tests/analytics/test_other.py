"""/o/analytics/sessions, /metric, /tops, /frequency, /durations, /events, and every error path
of /o/analytics (with JSONP, CORS and POST).

The fake clock stands at Thursday 2024-11-07 17:20 UTC; the app is in UTC.
"""
from __future__ import annotations

import json
from typing import Any

import pytest

from tests.analytics.helpers import DAY, NOW, App, bar, make_app, utc
from tests.conftest import ADMIN_KEY, Tally

INVALID_PATH = ("Invalid path, must be one of /dashboard, /countries, /sessions, /metric, /tops, /frequency, "
                "/durations, /events")
NOV5 = utc("2024-11-05T10:00")


def zeros(_id: str, keys: str = "t n u d e") -> dict[str, Any]:
    return {"_id": _id, **{k: 0 for k in keys.split()}}


# ---- sessions ----

async def sessions_traffic(app: App) -> None:
    await app.hit("A", NOV5, begin_session=1)  # 5 Nov: A new
    await app.hit("A", NOV5 + 20, session_duration=20)
    await app.hit("B", begin_session=1)  # today: B new
    await app.hit("B", begin_session=1)  # and again (same hour: no new unique)
    await app.hit("A", begin_session=1)  # A back today


async def test_sessions_by_day(app: App) -> None:
    await sessions_traffic(app)
    expected = [zeros(f"2024-11-{d}") for d in range(1, 8)]
    expected[4] = {"_id": "2024-11-5", "t": 1, "n": 1, "u": 1, "d": 20, "e": 2}
    expected[6] = {"_id": "2024-11-7", "t": 3, "n": 1, "u": 2, "d": 0, "e": 3}
    assert await app.ok("sessions", period="7days") == expected


async def test_sessions_by_hour_today_and_by_month_this_year(app: App) -> None:
    await sessions_traffic(app)
    hours = [zeros(f"2024-11-7 {h}:00") for h in range(24)]
    hours[17] = {"_id": "2024-11-7 17:00", "t": 3, "n": 1, "u": 2, "d": 0, "e": 3}
    assert await app.ok("sessions", period="hour") == hours
    months = [zeros(f"2024-{m}") for m in range(1, 12)]
    # November: days summed (t 4, n 2, d 20, e 5); users from the month bucket: A and B
    months[10] = {"_id": "2024-11", "t": 4, "n": 2, "u": 2, "d": 20, "e": 5}
    assert await app.ok("sessions", period="month") == months


async def test_sessions_default_to_30_days(app: App) -> None:
    reply = await app.ok("sessions")
    assert [r["_id"] for r in reply][:2] == ["2024-10-9", "2024-10-10"] and len(reply) == 30


# ---- metric and tops ----

async def metrics_traffic(app: App) -> None:
    android = {"_os": "Android", "_os_version": "4.4", "_app_version": "1.2", "_resolution": "1200x800"}
    ios = {"_os": "IOS", "_os_version": "7.1", "_app_version": "1.2", "_carrier": "Vodafone"}
    await app.hit("d4", NOW - 3 * DAY, begin_session=1, metrics=android)  # 4 Nov
    await app.hit("d1", begin_session=1, metrics=android)
    await app.hit("d2", begin_session=1, metrics=ios)
    await app.hit("d3", begin_session=1, metrics=android)
    await app.hit("d1", begin_session=1, metrics=android)


@pytest.mark.parametrize("metric, expected", [
    # today's window: users are the devices with that value whose last session is in the window
    ("platforms", [{"_id": "Android", "t": 4, "n": 3, "u": 3}, {"_id": "IOS", "t": 1, "n": 1, "u": 1}]),
    ("os", [{"_id": "Android", "t": 4, "n": 3, "u": 3}, {"_id": "IOS", "t": 1, "n": 1, "u": 1}]),
    ("os_versions", [{"_id": "a4:4", "t": 4, "n": 3, "u": 3}, {"_id": "i7:1", "t": 1, "n": 1, "u": 1}]),
    ("app_versions", [{"_id": "1:2", "t": 5, "n": 4, "u": 4}]),
    ("resolutions", [{"_id": "1200x800", "t": 4, "n": 3, "u": 3}]),
    ("carriers", [{"_id": "Vodafone", "t": 1, "n": 1, "u": 1}]),
    ("countries", [{"_id": "Unknown", "t": 5, "n": 4, "u": 4}]),
    ("devices", []),
    ("nonsense", []),
])
async def test_metric(app: App, metric: str, expected: list[Any]) -> None:
    await metrics_traffic(app)
    assert await app.ok("metric", metric=metric) == expected


async def test_cities_count_only_devices_in_the_apps_country(tally: Tally) -> None:
    app = await make_app(tally, country="DE")
    await app.hit("c1", begin_session=1, country_code="DE", city="Berlin")
    await app.hit("c1", begin_session=1, country_code="DE", city="Berlin")
    await app.hit("c2", begin_session=1, country_code="DE", city="Munich")
    await app.hit("c3", begin_session=1, country_code="FR", city="Berlin")  # not a German city: not counted
    assert await app.ok("metric", metric="cities") == [
        {"_id": "Berlin", "t": 2, "n": 1, "u": 1}, {"_id": "Munich", "t": 1, "n": 1, "u": 1}]


async def test_metric_of_a_past_window_is_estimated(app: App) -> None:
    await metrics_traffic(app)
    period = json.dumps([utc("2024-11-01T00:00") * 1000, utc("2024-11-06T00:00") * 1000])
    assert await app.ok("metric", metric="platforms", period=period) == [
        {"_id": "Android", "t": 1, "n": 1, "u": 1}]


async def test_tops(app: App) -> None:
    await metrics_traffic(app)
    # 30 days: Android 4 sessions, IOS 1 → 80 / 20
    assert await app.ok("tops") == {
        "platforms": [bar("Android", 4, 80), bar("IOS", 1, 20)],
        "resolutions": [bar("1200x800", 4, 100)],
        "carriers": [bar("Vodafone", 1, 100)],
        "countries": [bar("Unknown", 5, 100)],
    }
    assert await app.ok("tops", metric="os_versions", period="hour") == [bar("a4:4", 3, 75), bar("i7:1", 1, 25)]
    assert await app.ok("tops", metrics=["carriers", "nonsense"]) == {"carriers": [bar("Vodafone", 1, 100)]}
    assert await app.ok("tops", metric="nonsense") == []


# ---- frequency and durations ----

async def test_frequency_and_durations(app: App) -> None:
    assert await app.ok("frequency") == [] and await app.ok("durations") == []
    d = "1234567890"
    await app.hit(d, begin_session=1)
    await app.hit(d, begin_session=1)  # 2nd session within a day: frequency "1"; the 1st closes with 0 s
    await app.hit(d + d, begin_session=1)
    await app.hit(d, session_duration=30)
    await app.hit(d, end_session=1)  # closes the 2nd session: 30 s → duration bucket "1"
    assert await app.ok("frequency") == [
        {"f": "0", "t": 2, "label": "First session", "percent": "66.7"},
        {"f": "1", "t": 1, "label": "1-24 hours", "percent": "33.3"},
    ]
    assert await app.ok("durations") == [
        {"ds": "0", "t": 1, "label": "0 - 10 seconds", "percent": "50.0"},
        {"ds": "1", "t": 1, "label": "11 - 30 seconds", "percent": "50.0"},
    ]


# ---- events ----

async def events_traffic(app: App) -> None:
    await app.hit("e1", NOV5, events=[{"key": "buy", "count": 2, "sum": 10.5, "dur": 3,
                                       "segmentation": {"color": "red"}}])
    await app.hit("e1", events=[{"key": "buy", "count": 1, "sum": 2, "segmentation": {"color": "blue"}},
                                {"key": "view", "count": 5}])


def event_days(**values: dict[str, float]) -> list[dict[str, Any]]:
    """7 days 1 - 7 Nov of c/s/dur, with `values` by day of month (d5=…)."""
    out = []
    for day in range(1, 8):
        v = values.get(f"d{day}", {})
        out.append({"_id": f"2024-11-{day}", "c": v.get("c", 0), "s": v.get("s", 0), "dur": v.get("dur", 0)})
    return out


async def test_one_event_by_day(app: App) -> None:
    await events_traffic(app)
    assert await app.ok("events", event="buy", period="7days") == event_days(
        d5={"c": 2, "s": 10.5, "dur": 3}, d7={"c": 1, "s": 2})
    assert await app.ok("events", event="never", period="7days") == event_days()


async def test_one_event_by_segment(app: App) -> None:
    await events_traffic(app)
    assert await app.ok("events", event="buy", segmentation="color") == [
        {"_id": "red", "c": 2, "s": 10.5, "dur": 3}, {"_id": "blue", "c": 1, "s": 2, "dur": 0}]


async def test_several_events(app: App) -> None:
    await events_traffic(app)
    assert await app.ok("events", events=["buy", "view"], period="7days") == {
        "buy": event_days(d5={"c": 2, "s": 10.5, "dur": 3}, d7={"c": 1, "s": 2}),
        "view": event_days(d7={"c": 5}),
    }
    assert await app.ok("events", events='"view"', period="7days") == {"view": event_days(d7={"c": 5})}
    assert await app.ok("events", events="[]") == {}


# ---- errors, JSONP, CORS, POST ----

@pytest.mark.parametrize("path", ["/o/analytics", "/o/analytics/", "/o/analytics/loyalty", "/o/analytics/x/dashboard"])
async def test_unknown_sub_path_is_named_first(tally: Tally, path: str) -> None:
    r = await tally.client.get(path)
    assert (r.status, await r.json()) == (400, {"result": INVALID_PATH})


async def raw(tally: Tally, path: str, **params: Any) -> tuple[int, Any]:
    r = await tally.client.get(path, params={k: str(v) for k, v in params.items()})
    return r.status, await r.json(content_type=None)


async def test_error_order(tally: Tally, app: App) -> None:
    path = "/o/analytics/dashboard"
    assert await raw(tally, "/o/analytics/nope", app_id="123") == (400, {"result": 'Invalid parameter "app_id"'})
    assert await raw(tally, path, api_key=ADMIN_KEY) == (400, {"result": 'Missing parameter "app_id"'})
    assert await raw(tally, path, app_id=app.id) == (400, {"result": 'Missing parameter "api_key" or "auth_token"'})
    assert await raw(tally, path, app_id=app.id, api_key="b" * 32) == (401, {"result": "User does not exist"})
    assert await raw(tally, path, app_id="0" * 24, api_key=ADMIN_KEY) == (401, {"result": "App does not exist"})
    assert await raw(tally, path, app_id=app.id, api_key=ADMIN_KEY, period="lately") == (
        400, {"result": 'Invalid parameter "period"'})


async def test_a_member_without_rights(tally: Tally, app: App) -> None:
    args = {"full_name": "Reader", "username": "reader", "password": "Passw0rd!", "email": "reader@example.com"}
    r = await tally.client.get("/i/users/create", params={"api_key": ADMIN_KEY, "args": json.dumps(args)})
    member = await r.json()
    assert r.status == 200, member
    for path in ("dashboard", "countries", "metric"):
        assert await raw(tally, f"/o/analytics/{path}", app_id=app.id, api_key=member["api_key"]) == (
            401, {"result": "User does not have right"})


@pytest.mark.parametrize("path, params, message", [
    ("metric", {}, "Must provide metric"),
    ("events", {}, "Must provide event or events"),
    ("events", {"event": ""}, "Must provide event or events"),
    ("events", {"events": "not json"}, "Must provide valid array with event keys as events param."),
    ("events", {"events": '{"a": 1}'}, "Must provide valid array with event keys as events param."),
])
async def test_report_parameters(app: App, path: str, params: dict[str, str], message: str) -> None:
    assert await app.read(path, **params) == (400, {"result": message})


async def test_jsonp_cors_and_post(tally: Tally, app: App) -> None:
    r = await tally.client.get("/o/analytics/countries", params={"api_key": ADMIN_KEY, "app_id": app.id,
                                                                  "callback": "show"})
    assert r.status == 200 and r.headers["Access-Control-Allow-Origin"] == "*"
    assert await r.text() == 'show({"30days":[],"7days":[],"today":[]});'
    r = await tally.client.get("/o/analytics/metric", params={"api_key": ADMIN_KEY, "app_id": app.id,
                                                               "callback": "show"})
    assert (r.status, await r.text()) == (400, 'show({"result":"Must provide metric"});')
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    r = await tally.client.post("/o/analytics/countries", data={"api_key": ADMIN_KEY, "app_id": app.id})
    assert (r.status, await r.json()) == (200, {"30days": [], "7days": [], "today": []})


async def test_auth_token_restricted_to_analytics(tally: Tally, app: App) -> None:
    r = await tally.client.get("/i/token/create", params={
        "api_key": ADMIN_KEY, "ttl": "0", "multi": "true", "apps": app.id, "endpoint": "^/o/analytics/"})
    token = (await r.json())["result"]
    empty = {"30days": [], "7days": [], "today": []}
    assert await raw(tally, "/o/analytics/countries", app_id=app.id, auth_token=token) == (200, empty)
    r = await tally.client.get("/o/analytics/countries", params={"app_id": app.id},
                               headers={"countly-token": token})
    assert (r.status, await r.json()) == (200, empty)
    other = await tally.create_app("other")
    assert await raw(tally, "/o/analytics/countries", app_id=other["_id"], auth_token=token) == (
        400, {"result": "Token not valid"})
