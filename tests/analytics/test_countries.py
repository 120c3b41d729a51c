"""/o/analytics/countries: `30days`, `7days` and `today`, each the top 10 countries by users,
then ordered by new users; English names; exact users from the devices' current country.

The fake clock stands at 2024-11-07 17:20 UTC; the app is in UTC. Requests from the test client
come from 127.0.0.1, which has no country: without `country_code` a device is "Unknown".
"""
from __future__ import annotations

from typing import Any

from tests.analytics.helpers import DAY, NOW, App


def row(country: str, code: str, t: int, u: int, n: int) -> dict[str, Any]:
    return {"country": country, "code": code, "t": t, "u": u, "n": n}


async def test_empty_app(app: App) -> None:
    assert await app.ok("countries") == {"30days": [], "7days": [], "today": []}


async def test_countly_sessions_sequence(app: App) -> None:
    d = "1234567890"
    for device, request in [(d, {}), (d, {"begin_session": 1}), (d, {"begin_session": 1}),
                            (d + d, {"begin_session": 1}), (d, {"session_duration": 30}), (d, {"end_session": 1}),
                            (d, {"session_duration": 30}), (d + "A", {"end_session": 1})]:
        await app.hit(device, **request)
    unknown = [row("Unknown", "unknown", 3, 2, 2)]  # 3 sessions of 2 devices, both new today
    assert await app.ok("countries") == {"30days": unknown, "7days": unknown, "today": unknown}


async def test_top_by_users_then_by_new_users(app: App) -> None:
    for i in range(3):  # three French devices first seen 40 days ago, back today: returning
        await app.hit(f"fr{i}", NOW - 40 * DAY, begin_session=1, country_code="FR")
        await app.hit(f"fr{i}", begin_session=1, country_code="FR")
    for i in range(2):
        await app.hit(f"it{i}", begin_session=1, country_code="IT")
    await app.hit("es", begin_session=1, country_code="ES")
    await app.hit("de", NOW - 10 * DAY, begin_session=1, country_code="DE")  # 28 Oct: 30 days only
    # by users: France 3, Italy 2, Germany 1, Spain 1 (ties by name); then by new users
    assert await app.ok("countries") == {
        "30days": [row("Italy", "it", 2, 2, 2), row("Germany", "de", 1, 1, 1), row("Spain", "es", 1, 1, 1),
                   row("France", "fr", 3, 3, 0)],
        "7days": [row("Italy", "it", 2, 2, 2), row("Spain", "es", 1, 1, 1), row("France", "fr", 3, 3, 0)],
        "today": [row("Italy", "it", 2, 2, 2), row("Spain", "es", 1, 1, 1), row("France", "fr", 3, 3, 0)],
    }


async def test_only_the_top_10_by_users(app: App) -> None:
    codes = ["AT", "BE", "CH", "CZ", "DE", "DK", "FI", "GR", "HU", "IE"]
    for code in codes:
        for i in range(2):
            await app.hit(f"{code}{i}", begin_session=1, country_code=code)
    await app.hit("ad", begin_session=1, country_code="AD")  # Andorra: 1 user, 11th
    names = ["Austria", "Belgium", "Czechia", "Denmark", "Finland", "Germany", "Greece", "Hungary", "Ireland",
             "Switzerland"]
    code_of = {"Austria": "at", "Belgium": "be", "Czechia": "cz", "Denmark": "dk", "Finland": "fi",
               "Germany": "de", "Greece": "gr", "Hungary": "hu", "Ireland": "ie", "Switzerland": "ch"}
    expected = [row(name, code_of[name], 2, 2, 2) for name in names]
    assert await app.ok("countries") == {"30days": expected, "7days": expected, "today": expected}


async def test_a_device_that_moved(app: App) -> None:
    await app.hit("K", NOW - 3 * DAY, begin_session=1, country_code="TR")  # 4 Nov in Türkiye
    await app.hit("K", begin_session=1, country_code="US")  # today in the United States
    # K's device now says US: the US count is exact (1); Türkiye falls back to its buckets
    # (week 45 holds K once) and stays within [n, t] = [1, 1]
    both = [row("Türkiye", "tr", 1, 1, 1), row("United States", "us", 1, 1, 0)]
    assert await app.ok("countries") == {"30days": both, "7days": both,
                                         "today": [row("United States", "us", 1, 1, 0)]}


async def test_users_never_exceed_sessions(app: App) -> None:
    await app.hit("us", begin_session=1, country_code="US")
    await app.hit("tr", begin_session=1, country_code="TR")
    await app.hit("tr", country_code="US")  # no new session: the device now says US
    # two devices say US and were active today, but the US had one session: u is kept at t
    both = [row("Türkiye", "tr", 1, 1, 1), row("United States", "us", 1, 1, 1)]
    assert await app.ok("countries") == {"30days": both, "7days": both, "today": both}


async def test_names_are_html_escaped_like_all_output(app: App) -> None:
    await app.hit("ci", begin_session=1, country_code="CI")
    reply = await app.ok("countries")
    assert reply["today"] == [row("Côte d&#39;Ivoire", "ci", 1, 1, 1)]
