"""Unique users of every statistics endpoint against an independent model of the sent traffic.

Weekly, monthly, rolling-30-day, from/to and cross-app numbers must be exact distinct devices,
never sums of daily numbers; the traffic is built so that those sums would differ.
"""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from plugins._shared.testing import get
from plugins.stats.tests.conftest import Env
from plugins.stats.tests.traffic import dates

FIRST, LAST = date(2024, 9, 1), date(2024, 11, 7)


def window(day: date, n: int = 30) -> tuple[date, date]:
    return day - timedelta(days=n - 1), day


async def test_traffic_repeats_devices(env: Env) -> None:
    """Sanity of the fixture: summing daily users would over-count the range."""
    m = env.model
    daily_sum = sum(m.users_on(("A",), d, d) for d in dates(FIRST, LAST))
    assert daily_sum > m.users_on(("A",), FIRST, LAST) > 0
    both = m.users_on(("A", "B"), FIRST, LAST)
    assert both < m.users_on(("A",), FIRST, LAST) + m.users_on(("B",), FIRST, LAST)


@pytest.mark.parametrize("accumulate", [False, True])
async def test_app_daily_statistics(env: Env, accumulate: bool) -> None:
    m = env.model
    status, rows = await get(env.tally, "/o/stats/app", app_id=env.ids["A"], **{
        "from": FIRST.isoformat(), "to": LAST.isoformat(), "noAccumulate": "false" if accumulate else "true"})
    assert status == 200, rows
    assert [r["date"] for r in rows] == [d.isoformat() for d in dates(FIRST, LAST)]
    running = {"sessions": 0, "requests": 0, "duration": 0, "new_users": 0}
    for r in rows:
        d = date.fromisoformat(r["date"])
        assert r["mau"] == m.users_on(("A",), *window(d)), d
        for what in ("sessions", "requests", "duration"):
            running[what] += m.per_day(("A",), d, what)
        running["new_users"] += m.new_on(("A",), d)
        if accumulate:
            assert r["users"] == m.users_on(("A",), FIRST, d), d
            assert {k: r[k] for k in running} == running, d
        else:
            assert r["users"] == m.users_on(("A",), d, d), d
            assert r["sessions"] == m.per_day(("A",), d, "sessions")
            assert r["requests"] == m.per_day(("A",), d, "requests")
            assert r["duration"] == m.per_day(("A",), d, "duration")
            assert r["new_users"] == m.new_on(("A",), d)


async def test_apps_with_breakdown_and_user_scope(env: Env) -> None:
    m = env.model
    both = ("A", "B")
    q = {"from": FIRST.isoformat(), "to": LAST.isoformat()}
    status, body = await get(env.tally, "/o/stats/apps", app_ids=[env.ids["A"], env.ids["B"]], breakdown="true",
                             noAccumulate="true", **q)
    assert status == 200, body
    assert set(body) == {"total", "apps"} and set(body["apps"]) == {env.ids["A"], env.ids["B"]}
    for k, d in enumerate(dates(FIRST, LAST)):
        total = body["total"][k]
        assert total["users"] == m.users_on(both, d, d)
        assert total["mau"] == m.users_on(both, *window(d))
        assert total["sessions"] == m.per_day(both, d, "sessions")
        assert total["new_users"] == m.new_on(both, d)
        for name in both:
            row = body["apps"][env.ids[name]][k]
            assert (row["users"], row["mau"]) == (m.users_on((name,), d, d), m.users_on((name,), *window(d)))
    # accumulated over both apps: distinct devices from `from`, not a sum
    _, rows = await get(env.tally, "/o/stats/apps", app_ids=f"{env.ids['A']},{env.ids['B']}", **q)
    assert rows[-1]["users"] == m.users_on(both, FIRST, LAST)
    _, everything = await get(env.tally, "/o/stats/user", **q)     # the admin reads both apps
    assert everything == rows


async def test_activity(env: Env) -> None:
    m = env.model
    both = ("A", "B")
    status, body = await get(env.tally, "/o/stats/activity", app_ids=[env.ids["A"], env.ids["B"]],
                             breakdown=1, **{"from": FIRST.isoformat(), "to": LAST.isoformat()})
    assert status == 200, body
    users, per_app = body["users"], body["apps"]
    days = dates(FIRST, LAST)
    assert [(r["year"], r["month"], r["day"]) for r in users["total_users"]] == [(d.year, d.month, d.day) for d in days]
    for k, d in enumerate(days):
        assert users["total_users"][k]["count"] == m.total_until(both, d)
        assert users["daily_active_users"]["per_day"][k]["count"] == m.users_on(both, d, d)
        for name in both:
            assert per_app["total_users"][k][env.ids[name]] == m.total_until((name,), d)
            assert per_app["daily_active_users"]["per_day"][k][env.ids[name]] == m.users_on((name,), d, d)
    weeks: dict[tuple[int, int], list[date]] = {}
    for d in days:
        weeks.setdefault(d.isocalendar()[:2], []).append(d)
    assert [(r["year"], r["week"]) for r in users["daily_active_users"]["per_week"]] == list(weeks)
    for row, (key, week_days) in zip(users["daily_active_users"]["per_week"], weeks.items()):
        assert row["count"] == m.users_on(both, week_days[0], week_days[-1]), key
    month_rows = users["daily_active_users"]["per_month"]
    assert [(r["year"], r["month"]) for r in month_rows] == [(2024, 9), (2024, 10), (2024, 11)]
    ends = [date(2024, 9, 30), date(2024, 10, 31), LAST]
    starts = [FIRST, date(2024, 10, 1), date(2024, 11, 1)]
    for row, first, last in zip(month_rows, starts, ends):
        assert row["count"] == m.users_on(both, first, last)
    for row, last in zip(users["monthly_active_users"], ends):
        assert row["count"] == m.users_on(both, *window(last))
    for row, first, last in zip(per_app["daily_active_users"]["per_month"], starts, ends):
        assert row[env.ids["B"]] == m.users_on(("B",), first, last)


async def test_account_totals(env: Env) -> None:
    m = env.model
    status, body = await get(env.tally, "/o/stats/account")
    assert status == 200, body
    assert (body["code"], body["status"]) == (20, "OK")
    data = body["data"]
    everything = (date(2000, 1, 1), date(2100, 1, 1))
    assert data["users"] == m.users_on(("A", "B"), *everything)
    assert data["apps"] == 2
    for name in ("A", "B"):
        row = data["per_app"][env.ids[name]]
        assert row["name"] == f"app {name}"
        assert row["users"] == row["new_users"] == m.users_on((name,), *everything)
        assert row["sessions"] == sum(1 for s in m.sent if s.app == name and s.kind == "begin")
        assert row["requests"] == sum(1 for s in m.sent if s.app == name)
        assert row["time_spent"] == sum(s.seconds for s in m.sent if s.app == name)
    assert data["sessions"] == sum(1 for s in m.sent if s.kind == "begin")


async def test_chart_users_are_daily_distinct(env: Env) -> None:
    m = env.model
    status, body = await get(env.tally, "/o/stats/chart", app_id=env.ids["B"], metric="users,sessions",
                             **{"from": FIRST.isoformat(), "to": LAST.isoformat()})
    assert status == 200, body
    users, sessions = body["chartData"]
    assert (users["name"], sessions["name"]) == ("Users", "Sessions")
    for point, d in zip(users["data"], dates(FIRST, LAST)):
        assert point["value"] == m.users_on(("B",), d, d)
    assert [p["value"] for p in sessions["data"]] == [m.per_day(("B",), d, "sessions") for d in dates(FIRST, LAST)]
