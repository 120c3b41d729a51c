"""The official Web SDK (countly-sdk-web 26.1.1) in plain Node, in jsdom and in headless Chromium.

jsdom and Chromium load the SDK into a page whose origin differs from the Tally port, so every
request is cross-origin: the browser only hands the reply to the SDK when Tally sends
Access-Control-Allow-Origin (otherwise the SDK sees status 0 and retries forever).
"""
from __future__ import annotations

import re
import time

import pytest

from .checks import check_events, check_metrics, check_sessions, num
from .scenarios import WEB_COMMON, Outcome

YEAR = str(time.gmtime().tm_year)


def sdk_requests(outcome: Outcome, path: str = "/i") -> list[dict]:
    return [e for run in outcome.runs for e in run.ledger if e["path"] == path]


def assert_all_applied(outcome: Outcome) -> None:
    bad = [(e["method"], sorted(e["params"]), e["status"], e.get("error") or e.get("body"))
           for e in sdk_requests(outcome) if not (e["status"] == 200 and '"Success"' in (e.get("body") or ""))]
    assert not bad, f"/i requests Tally did not answer with 200 Success (status 0 = CORS or network): {bad}"


def year_of(tally, app_id: str, method: str = "sessions", **params) -> dict:
    return tally.read(app_id, method, **params).get(YEAR, {})


@pytest.mark.parametrize("mode", [
    pytest.param("web_node", marks=pytest.mark.sdk_scenario("web_node_session"), id="node-worker"),
    pytest.param("web_jsdom", marks=pytest.mark.sdk_scenario("web_jsdom_session"), id="jsdom"),
    pytest.param("web_chromium", marks=pytest.mark.sdk_scenario("web_chromium_session"), id="chromium"),
])
def test_web_sdk_session(outcome: Outcome, tally, mode: str) -> None:
    """begin_session, events (one without count), a timed event, user_details, heartbeats
    (session_update 2), a forced end_session; health check and cross-origin POST form bodies."""
    run = outcome.runs[0]
    reqs = sdk_requests(outcome)
    assert reqs and all(e["method"] == "POST" for e in reqs), [(e["method"], e["path"]) for e in reqs]
    assert all("x-www-form-urlencoded" in e["content_type"].lower() for e in reqs)
    if mode != "web_node":
        origin = run.result.get("page_origin", "")
        assert origin.startswith("http://127.0.0.1:") and origin != outcome.runs[0].scenario["url"], origin
    assert_all_applied(outcome)
    hc = [e for e in reqs if "hc" in e["params"]]
    assert len(hc) == 1, "one health-check request per init"
    beats = [e for e in reqs if "session_duration" in e["params"] and "end_session" not in e["params"]]
    ends = [e for e in reqs if e["params"].get("end_session") == "1"]
    assert len(beats) >= 2 and len(ends) == 1, (len(beats), len(ends))

    exp = outcome.expected()
    data = check_sessions(tally, outcome.app_id, exp)
    y = data[YEAR]
    assert (y["t"], y["n"], y["u"]) == (1, 1, 1), "one session (the session cookie prevents a second begin)"
    assert y["e"] == len(reqs), f"one e per /i request (health check included): {len(reqs)} vs e={y['e']}"
    assert y["d"] >= 6 and sum(y["ds"].values()) == 1
    cc = WEB_COMMON[mode]["country_code"]
    assert data["meta"]["countries"] == [cc] and num(y, cc, "t") == 1

    check_events(tally, outcome.app_id, exp)
    purchase = year_of(tally, outcome.app_id, "events", event="purchase")
    assert (purchase["c"], purchase["dur"]) == (3, 2.5) and purchase["s"] == pytest.approx(24.98)
    assert year_of(tally, outcome.app_id, "events", event="signup")["c"] == 1, "an event without count counts 1"
    assert year_of(tally, outcome.app_id, "events", event="read_article")["dur"] >= 2
    keys = tally.read(outcome.app_id, "get_events").get("list", [])
    assert not [k for k in keys if k.startswith("[CLY]_")], keys

    check_metrics(tally, outcome.app_id, exp)
    meta = tally.read(outcome.app_id, "device_details").get("meta", {})
    assert meta.get("app_versions") == ["3:1:0"]
    if mode != "web_chromium":
        assert meta.get("os") == ["Linux"] and meta.get("os_versions") == ["l6:1"]
    city = WEB_COMMON[mode]["city"]
    assert city in tally.read(outcome.app_id, "cities").get("meta", {}).get("cities", [])


@pytest.mark.sdk_scenario("web_node_salt")
def test_web_sdk_salted_app_checksum256(outcome: Outcome, tally) -> None:
    """The web SDK signs the parameters sorted by key with an upper-case SHA-256 (salt appended)."""
    reqs = sdk_requests(outcome) + sdk_requests(outcome, "/o/sdk")
    assert all(re.fullmatch(r"[0-9A-F]{64}", e["params"].get("checksum256", "")) for e in reqs), \
        [e["params"].get("checksum256") for e in reqs]
    assert_all_applied(outcome)
    exp = outcome.expected()
    data = check_sessions(tally, outcome.app_id, exp)
    assert (data[YEAR]["t"], data[YEAR]["e"]) == (1, len(sdk_requests(outcome)))
    check_events(tally, outcome.app_id, exp)


@pytest.mark.sdk_scenario("web_node_offline")
def test_web_sdk_offline_mode_flushes_under_the_real_device_id(outcome: Outcome, tally) -> None:
    """offline_mode queues under the temporary id "[CLY]_temp_id"; disable_offline_mode(id)
    rewrites the queue to the real id before sending, so one user and one session are counted."""
    reqs = sdk_requests(outcome)
    assert outcome.runs[0].result.get("held_offline", 0) >= 3
    assert {e["params"].get("device_id") for e in reqs} == {"web-node-offline-device"}
    assert_all_applied(outcome)
    exp = outcome.expected()
    data = check_sessions(tally, outcome.app_id, exp)
    y = data[YEAR]
    assert (y["t"], y["n"], y["u"], y["d"]) == (1, 1, 1, 6 + 3)
    check_events(tally, outcome.app_id, exp)
    purchase = year_of(tally, outcome.app_id, "events", event="purchase")
    assert (purchase["c"], purchase["s"]) == (4, 8)
