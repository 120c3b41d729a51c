"""Device metrics: `/o?method=device_details|app_versions|devices|carriers`, exact JSON.

Countly's modern metrics test (`test/3.api.write/4.write.app.metrics.js`) replayed: one new device
per step, all at the FakeClock's 2024-11-07 17:20 UTC (day 7, week 45). Values are normalised as
Countly's (`.` → `:`, one leading `$` dropped, OS prefix on `_os_version`, "1" → "1:0").
"""
from __future__ import annotations

from typing import Any

from server import keys
from tests.http.util_http import T0, field_names, metric_obj, new_app, read_ok, sessions, write_ok

DEVICE = "1234567890"


async def _begin(tally: Any, key: str, device: str, metrics: dict[str, Any] | None = None, **extra: Any) -> None:
    params: dict[str, Any] = {"app_key": key, "device_id": device, "begin_session": 1, **extra}
    if metrics is not None:
        params["metrics"] = metrics
    await write_ok(tally, **params)


async def test_countly_metrics_sequence(tally):
    app_id, key = await new_app(tally)
    for method in ("devices", "device_details", "carriers", "app_versions"):
        r = await tally.client.get("/o", params={"api_key": tally.admin_key, "app_id": app_id, "method": method})
        assert (r.status, await r.text()) == (200, "{}")

    # OS
    await _begin(tally, key, DEVICE + "1", {"_os": "Android"})
    assert await sessions(tally, app_id, "device_details") == {
        "2024": {
            "Android": {"u": 1, "t": 1, "n": 1},
            "w45": {"Android": {"u": 1}},
            "11": {"Android": {"u": 1, "t": 1, "n": 1}, "7": {"Android": {"t": 1, "n": 1, "u": 1}}},
        },
        "meta": {"os": ["Android"]},
    }

    # OS version: "4.4" with Android → "a4:4"
    await _begin(tally, key, DEVICE + "2", {"_os": "Android", "_os_version": "4.4"})
    assert await sessions(tally, app_id, "device_details") == metric_obj(
        {"Android": 2, "a4:4": 1}, {"os": ["Android"], "os_versions": ["a4:4"]})

    # resolution
    await _begin(tally, key, DEVICE + "4", {"_resolution": "1200x800"})
    assert await sessions(tally, app_id, "device_details") == metric_obj(
        {"Android": 2, "a4:4": 1, "1200x800": 1},
        {"os": ["Android"], "os_versions": ["a4:4"], "resolutions": ["1200x800"]})

    # device
    await _begin(tally, key, DEVICE + "6", {"_device": "Nexus 5"})
    assert await sessions(tally, app_id, "devices") == metric_obj({"Nexus 5": 1}, {"devices": ["Nexus 5"]})

    # a session without metrics changes no metric collection
    await _begin(tally, key, DEVICE + "test")
    assert await sessions(tally, app_id, "devices") == metric_obj({"Nexus 5": 1}, {"devices": ["Nexus 5"]})
    r = await tally.client.get("/o", params={"api_key": tally.admin_key, "app_id": app_id, "method": "carriers"})
    assert await r.text() == "{}"

    # carrier
    await _begin(tally, key, DEVICE, {"_carrier": "Vodafone"})
    assert await sessions(tally, app_id, "carriers") == metric_obj({"Vodafone": 1}, {"carriers": ["Vodafone"]})

    # app version "1.0" → "1:0" (read through app_versions: the device_details time object)
    await _begin(tally, key, DEVICE + "8", {"_app_version": "1.0"})
    details = metric_obj({"Android": 2, "a4:4": 1, "1200x800": 1, "1:0": 1},
                         {"os": ["Android"], "os_versions": ["a4:4"], "resolutions": ["1200x800"],
                          "app_versions": ["1:0"]})
    assert await sessions(tally, app_id, "app_versions") == details
    assert await sessions(tally, app_id, "device_details") == details

    # all metrics at once, then the same metrics from another new user
    everything = {"_os": "IOS", "_os_version": "7.1", "_resolution": "2048x1536", "_device": "iPod",
                  "_carrier": "Telecom", "_app_version": "1.2"}
    await _begin(tally, key, DEVICE + "9", everything)
    await _begin(tally, key, DEVICE + "10", everything)
    details = metric_obj(
        {"Android": 2, "a4:4": 1, "1200x800": 1, "1:0": 1, "IOS": 2, "i7:1": 2, "2048x1536": 2, "1:2": 2},
        {"os": ["Android", "IOS"], "os_versions": ["a4:4", "i7:1"], "resolutions": ["1200x800", "2048x1536"],
         "app_versions": ["1:0", "1:2"]})
    assert await sessions(tally, app_id, "device_details") == details
    assert await sessions(tally, app_id, "app_versions") == details
    assert await sessions(tally, app_id, "devices") == metric_obj({"Nexus 5": 1, "iPod": 2},
                                                                  {"devices": ["Nexus 5", "iPod"]})
    assert await sessions(tally, app_id, "carriers") == metric_obj({"Vodafone": 1, "Telecom": 2},
                                                                   {"carriers": ["Vodafone", "Telecom"]})
    users = await sessions(tally, app_id)
    assert (users["2024"]["t"], users["2024"]["n"], users["2024"]["u"]) == (9, 9, 9)


async def test_value_normalisation(tally):
    app_id, key = await new_app(tally)
    await _begin(tally, key, "n1", {"_os_version": "4.4", "_app_version": "1"})          # no _os: no prefix
    await _begin(tally, key, "n2", {"_os": "$Android", "_os_version": "a5.0", "_app_version": 2})
    await _begin(tally, key, "n3", {"_os": "Linux", "_os_version": "6.1.0", "_app_version": "3.0.0-beta.1"})
    await _begin(tally, key, "n4", {"_device": "$Galaxy.S10", "_carrier": "Tele.2", "_resolution": "$800x600"})
    assert await sessions(tally, app_id, "device_details") == metric_obj(
        {"4:4": 1, "1:0": 1, "Android": 1, "a5:0": 1, "2:0": 1, "Linux": 1, "l6:1:0": 1, "3:0:0-beta:1": 1,
         "800x600": 1},
        {"os_versions": ["4:4", "a5:0", "l6:1:0"], "app_versions": ["1:0", "2:0", "3:0:0-beta:1"],
         "os": ["Android", "Linux"], "resolutions": ["800x600"]})
    assert await sessions(tally, app_id, "devices") == metric_obj({"Galaxy:S10": 1}, {"devices": ["Galaxy:S10"]})
    assert await sessions(tally, app_id, "carriers") == metric_obj({"Tele:2": 1}, {"carriers": ["Tele:2"]})


async def test_os_version_prefixes(tally):
    app_id, key = await new_app(tally)
    cases = [("Android", "14", "a14"), ("BlackBerry", "10.3", "b10:3"), ("iOS", "17.1", "i17:1"),
             ("Linux", "5", "l5"), ("macOS", "14.2", "o14:2"), ("Windows Phone", "8.1", "w8:1"),
             ("Haiku", "1", "h1")]  # no map entry: the first letter of _os, lower-cased
    for i, (os_name, version, _) in enumerate(cases):
        await _begin(tally, key, f"p{i}", {"_os": os_name, "_os_version": version})
    body = await sessions(tally, app_id, "device_details")
    assert body["meta"]["os_versions"] == [expected for _, _, expected in cases]
    for _, _, expected in cases:
        assert body["2024"][expected] == {"u": 1, "t": 1, "n": 1}


async def test_every_predefined_metric_lands_in_its_collection(tally):
    app_id, key = await new_app(tally)
    await _begin(tally, key, "all", {"_carrier": "Orange", "_device": "Pixel 8", "_manufacturer": "Google",
                                     "_app_version": "2.1", "_os": "Android", "_device_type": "mobile",
                                     "_os_version": "14", "_resolution": "1080x2400", "_unknown": "ignored"})
    assert await sessions(tally, app_id, "carriers") == metric_obj({"Orange": 1}, {"carriers": ["Orange"]})
    assert await sessions(tally, app_id, "devices") == metric_obj(
        {"Pixel 8": 1, "Google": 1}, {"devices": ["Pixel 8"], "manufacturers": ["Google"]})
    assert await sessions(tally, app_id, "device_details") == metric_obj(
        {"2:1": 1, "Android": 1, "mobile": 1, "a14": 1, "1080x2400": 1},
        {"app_versions": ["2:1"], "os": ["Android"], "device_type": ["mobile"], "os_versions": ["a14"],
         "resolutions": ["1080x2400"]})


async def test_apple_device_type_and_manufacturer_are_derived(tally):
    # contract §3.6: `_device_type`/`_manufacturer` are derived for Apple OS names when absent
    app_id, key = await new_app(tally)
    await _begin(tally, key, "iphone", {"_os": "iOS", "_device": "iPhone14,2"})
    details = await sessions(tally, app_id, "device_details")
    assert details["meta"].get("device_type") == ["mobile"]
    assert details["2024"].get("mobile") == {"u": 1, "t": 1, "n": 1}
    devices = await sessions(tally, app_id, "devices")
    assert devices["meta"] == {"devices": ["iPhone14,2"], "manufacturers": ["Apple"]}


async def test_metrics_only_count_on_a_new_session(tally):
    app_id, key = await new_app(tally)
    # metrics on a request without begin_session update the device only
    await write_ok(tally, app_key=key, device_id="m", metrics={"_os": "Android"})
    r = await tally.client.get("/o", params={"api_key": tally.admin_key, "app_id": app_id, "method": "device_details"})
    assert await r.text() == "{}"
    # … and the device's stored value is then "the same value" on its first session: still a new user
    await _begin(tally, key, "m", {"_os": "Android"})
    assert await sessions(tally, app_id, "device_details") == metric_obj({"Android": 1}, {"os": ["Android"]})


async def test_returning_user_with_changed_and_unchanged_values(tally):
    app_id, key = await new_app(tally)
    await _begin(tally, key, "r", {"_os": "Android", "_app_version": "1.0"})
    tally.clock.now = T0 + 60
    # same hour: the unchanged OS counts a session only; the changed version is a (non-new) unique user
    await _begin(tally, key, "r", {"_os": "Android", "_app_version": "1.1"})
    assert await sessions(tally, app_id, "device_details") == {
        "2024": {
            "Android": {"u": 1, "t": 2, "n": 1}, "1:0": {"u": 1, "t": 1, "n": 1}, "1:1": {"u": 1, "t": 1},
            "w45": {"Android": {"u": 1}, "1:0": {"u": 1}, "1:1": {"u": 1}},
            "11": {
                "Android": {"u": 1, "t": 2, "n": 1}, "1:0": {"u": 1, "t": 1, "n": 1}, "1:1": {"u": 1, "t": 1},
                "7": {"Android": {"t": 2, "n": 1, "u": 1}, "1:0": {"t": 1, "n": 1, "u": 1}, "1:1": {"t": 1, "u": 1}},
            },
        },
        "meta": {"os": ["Android"], "app_versions": ["1:0", "1:1"]},
    }
    # next day, same values: unique for that day only (same week, month and year)
    tally.clock.now = T0 + 86400
    await _begin(tally, key, "r", {"_os": "Android", "_app_version": "1.1"})
    body = await sessions(tally, app_id, "device_details")
    assert body["2024"]["11"]["8"] == {"Android": {"t": 1, "u": 1}, "1:1": {"t": 1, "u": 1}}
    assert body["2024"]["Android"] == {"u": 1, "t": 3, "n": 1}
    assert body["2024"]["1:1"] == {"u": 1, "t": 2}
    assert body["2024"]["w45"] == {"Android": {"u": 1}, "1:0": {"u": 1}, "1:1": {"u": 1}}
    assert body["2024"]["11"]["Android"] == {"u": 1, "t": 3, "n": 1}
    # back to the old value: it changed again, so 1:0 gets a unique user (zero levels as well)
    tally.clock.now = T0 + 86400 + 60
    await _begin(tally, key, "r", {"_os": "Android", "_app_version": "1.0"})
    body = await sessions(tally, app_id, "device_details")
    assert body["2024"]["11"]["8"]["1:0"] == {"t": 1, "u": 1}
    assert body["2024"]["1:0"] == {"u": 2, "t": 2, "n": 1}
    assert body["2024"]["w45"]["1:0"] == {"u": 2}


async def test_metric_limit(tally_factory):
    tally = await tally_factory(metric_limit=2)
    app_id, key = await new_app(tally)
    await _begin(tally, key, "l1", {"_os": "Android"})
    await _begin(tally, key, "l2", {"_os": "IOS"})
    await _begin(tally, key, "l3", {"_os": "Symbian", "_resolution": "800x600"})  # a third os: dropped
    await _begin(tally, key, "l4", {"_os": "Android"})                             # known values still count
    assert await sessions(tally, app_id, "device_details") == metric_obj(
        {"Android": 2, "IOS": 1, "800x600": 1}, {"os": ["Android", "IOS"], "resolutions": ["800x600"]})
    users = await read_ok(tally, app_id, method="sessions")
    assert users["2024"]["t"] == 4                                                 # the sessions are all counted


# ---- the users docs' `top` (Tally's own: the dashboard's bars), never in v1 output ----

async def _top_traffic(tally: Any, key: str) -> None:
    """Sessions with top-bar metrics on 7 Nov (and one on 6 Nov), plus traffic that counts none."""
    full = {"_os": "Android", "_resolution": "1080x1920", "_carrier": "Telecom", "_device": "Pixel"}
    await _begin(tally, key, "a", full)
    await _begin(tally, key, "b", {"_os": "Android", "_resolution": "720x1280", "_carrier": "$Tele.com"})
    await _begin(tally, key, "a", full)                                 # a returning session counts again
    await _begin(tally, key, "c", {"_os_version": "4.4", "_app_version": "1"})  # no top-bar metric
    await write_ok(tally, app_key=key, device_id="b", metrics={"_os": "IOS"})  # not a session: no count
    await _begin(tally, key, "e", {"_os": "IOS"}, timestamp=T0 - 86400)      # 6 Nov


async def test_users_month_doc_holds_the_top_counts(tally):
    app_id, key = await new_app(tally)
    await _top_traffic(tally, key)
    await tally.flush()
    doc = await tally.app[keys.DB]["users"].find_one({"_id": f"{app_id}_2024:11"})
    assert doc["d"]["7"]["top"] == {"os": {"Android": 3},
                                    "resolutions": {"1080x1920": 2, "720x1280": 1},
                                    "carriers": {"Telecom": 2, "Tele:com": 1}}
    assert doc["d"]["6"]["top"] == {"os": {"IOS": 1}}
    # day level only: no hour object and no zero doc holds `top`
    zero = await tally.app[keys.DB]["users"].find_one({"_id": f"{app_id}_2024:0"})
    tops = [path for path, name in [*field_names(doc), *field_names(zero)] if name == "top"]
    assert sorted(tops) == ["d.6", "d.7"]


async def test_metric_limit_applies_to_the_top_counts(tally_factory):
    tally = await tally_factory(metric_limit=2)
    app_id, key = await new_app(tally)
    await _begin(tally, key, "l1", {"_os": "Android", "_carrier": "A"})
    await _begin(tally, key, "l2", {"_os": "IOS", "_carrier": "B"})
    await _begin(tally, key, "l3", {"_os": "Symbian", "_carrier": "C"})  # a third value of each: refused
    await _begin(tally, key, "l4", {"_os": "Android", "_carrier": "A"})
    await tally.flush()
    doc = await tally.app[keys.DB]["users"].find_one({"_id": f"{app_id}_2024:11"})
    assert doc["d"]["7"]["top"] == {"os": {"Android": 2, "IOS": 1}, "carriers": {"A": 2, "B": 1}}
    assert doc["d"]["7"]["t"] == 4


async def test_v1_users_reads_have_no_top(tally):
    app_id, key = await new_app(tally)
    await _top_traffic(tally, key)
    day7 = {"t": 4, "n": 3, "u": 3, "e": 5, "17": {"t": 4, "n": 3, "u": 3, "e": 5}}  # a, b, a, c; b again
    for method in ("sessions", "users", "locations", "countries"):
        body = await sessions(tally, app_id, method, period="30days")
        assert not [path for path, name in field_names(body) if name == "top"], method
        assert {k: v for k, v in body["2024"]["11"]["7"].items() if k in day7} == day7, method
        assert body["2024"]["11"]["6"]["t"] == 1, method
    for period in ("hour", "30days"):  # action=refresh: today's day object alone
        body = await sessions(tally, app_id, "sessions", action="refresh", period=period)
        assert not [path for path, name in field_names(body) if name == "top"], period
