"""The official Node.js SDK (countly-sdk-nodejs 24.10.4) against a real Tally process.

Each test runs a driver scenario (tests/e2e/drivers/node_sdk.js) and checks /o two ways:
fixed numbers the scenario guarantees, and exact numbers derived from the requests the SDK saw
accepted (heartbeat durations and event batching depend on wall-clock timing).
"""
from __future__ import annotations

import re
import time

import pytest

from .checks import check_events, check_metrics, check_sessions, num
from .scenarios import OFFLINE_SHIFT_S, Outcome

YEAR = str(time.gmtime().tm_year)

# numbers fixed by the scenarios (node_sdk.js)
PURCHASE_C, PURCHASE_S, PURCHASE_DUR = 5, 29.97 + 10.5, 12.0
NODE_META = {
    "device_details": {"os": ["Linux"], "os_versions": ["l6:1:0"], "resolutions": ["1920x1080"],
                       "app_versions": ["2:5:1"]},
    "devices": {"devices": ["ci-runner"]},
    "carriers": {"carriers": ["TestTel"]},
}


def sdk_requests(outcome: Outcome, path: str = "/i", runs: slice = slice(None)) -> list[dict]:
    return [e for run in outcome.runs[runs] for e in run.ledger if e["path"] == path]


def assert_all_applied(outcome: Outcome, runs: slice = slice(None)) -> None:
    bad = [(e["method"], sorted(e["params"]), e["status"], e.get("error") or e.get("body"))
           for e in sdk_requests(outcome, runs=runs)
           if not (e["status"] == 200 and '"Success"' in (e.get("body") or ""))]
    assert not bad, f"requests Tally did not answer with 200 Success: {bad}"


def assert_node_meta(tally, app_id: str) -> None:
    for collection, sets in NODE_META.items():
        meta = tally.read(app_id, collection).get("meta", {})
        for name, values in sets.items():
            assert sorted(meta.get(name, [])) == values, f"/o?method={collection} meta.{name}: {meta}"


def year_of(tally, app_id: str, method: str = "sessions", **params) -> dict:
    return tally.read(app_id, method, **params).get(YEAR, {})


# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scenario, method", [
    pytest.param("node_session_get", "GET", marks=pytest.mark.sdk_scenario("node_session_get"), id="GET"),
    pytest.param("node_session_post", "POST", marks=pytest.mark.sdk_scenario("node_session_post"), id="force_post"),
])
def test_node_sdk_session(outcome: Outcome, tally, scenario: str, method: str) -> None:
    """begin_session + metrics + LV/Riga, events with sum/dur/segmentation, a timed event,
    user_details, heartbeats every ~3 s (session_update 2), end_session."""
    reqs = sdk_requests(outcome)
    assert {e["method"] for e in reqs} == {method}, [(e["method"], e["path"]) for e in reqs]
    if method == "POST":
        assert all("x-www-form-urlencoded" in e["content_type"] for e in reqs)
    assert_all_applied(outcome)
    heartbeats = [int(e["params"]["session_duration"]) for e in reqs
                  if "session_duration" in e["params"] and "end_session" not in e["params"]]
    assert len(heartbeats) >= 2 and all(h >= 3 for h in heartbeats), heartbeats

    exp = outcome.expected()
    data = check_sessions(tally, outcome.app_id, exp)
    y = data[YEAR]
    # fixed by the scenario, whatever the timing
    assert (y["t"], y["n"], y["u"]) == (1, 1, 1)
    assert y["e"] == len(reqs), f"one e per accepted request: {len(reqs)} requests, e={y['e']}"
    assert y["d"] >= 6 and y["d"] == sum(int(e["params"].get("session_duration", 0)) for e in reqs)
    assert num(y, "LV", "t") == 1 and data["meta"]["countries"] == ["LV"]
    assert sum(y["ds"].values()) == 1, f"one closed session: {y['ds']}"

    check_events(tally, outcome.app_id, exp)
    purchase = year_of(tally, outcome.app_id, "events", event="purchase")
    assert (purchase["c"], purchase["dur"]) == (PURCHASE_C, PURCHASE_DUR)
    assert purchase["s"] == pytest.approx(PURCHASE_S)
    assert year_of(tally, outcome.app_id, "events", event="level_play")["c"] == 1
    checkout = year_of(tally, outcome.app_id, "events", event="checkout")
    assert checkout["c"] == 1 and checkout["dur"] >= 2, f"timed event over ~2.2 s: {checkout}"
    search = tally.read(outcome.app_id, "events", event="search").get("meta", {})
    assert search.get("url") == ["/search?q=red%20shoes"], f"segment value must arrive unchanged: {search}"
    assert search.get("results") == ["[CLY]12"], "segment values 1..31 are stored as [CLY]<n>"
    items = year_of(tally, outcome.app_id, "events", event="purchase", segmentation="item")
    assert items["sword"]["c"] == 3 and items["shield"]["c"] == 2
    assert items["sword"]["s"] == pytest.approx(29.97) and items["sword"]["dur"] == 12

    check_metrics(tally, outcome.app_id, exp)
    assert_node_meta(tally, outcome.app_id)
    assert "Riga" in tally.read(outcome.app_id, "cities").get("meta", {}).get("cities", [])


@pytest.mark.sdk_scenario("node_session_get")
def test_users_and_locations_are_sessions_aliases(outcome: Outcome, tally) -> None:
    sessions = tally.read(outcome.app_id, "sessions")
    assert tally.read(outcome.app_id, "users") == sessions
    assert tally.read(outcome.app_id, "locations") == sessions


# ---------------------------------------------------------------------------------------------
QUICK = {"t": 1, "n": 1, "u": 1, "e": 7, "d": 5 + 7 + 4}


def assert_quick_numbers(tally, outcome: Outcome) -> None:
    """The deterministic 'quick' scenario: begin, 5 s, events, user_details, 7 s, event, end 4 s."""
    exp = outcome.expected()
    data = check_sessions(tally, outcome.app_id, exp)
    y = data[YEAR]
    assert {k: y.get(k) for k in QUICK} == QUICK
    assert {k: v for k, v in y["ds"].items() if v} == {"1": 1}, "one session of 16 s → ds bucket 1 (11–30 s)"
    check_events(tally, outcome.app_id, exp)
    purchase = year_of(tally, outcome.app_id, "events", event="purchase")
    assert (purchase["c"], purchase["dur"]) == (PURCHASE_C, PURCHASE_DUR)
    assert purchase["s"] == pytest.approx(PURCHASE_S)
    assert year_of(tally, outcome.app_id, "events", event="checkout")["dur"] == 3
    check_metrics(tally, outcome.app_id, exp)
    assert_node_meta(tally, outcome.app_id)


@pytest.mark.parametrize("scenario", [
    pytest.param("node_salt_get", marks=pytest.mark.sdk_scenario("node_salt_get"), id="GET"),
    pytest.param("node_salt_post", marks=pytest.mark.sdk_scenario("node_salt_post"), id="force_post"),
])
def test_node_sdk_salted_app_checksum256(outcome: Outcome, tally, scenario: str) -> None:
    """A salted app: the SDK appends checksum256 (lower-case SHA-256 of the parameters + salt)."""
    reqs = sdk_requests(outcome)
    assert len(reqs) == 7
    assert all(re.fullmatch(r"[0-9a-f]{64}", e["params"].get("checksum256", "")) for e in reqs), \
        [e["params"].get("checksum256") for e in reqs]
    assert_all_applied(outcome)
    assert_quick_numbers(tally, outcome)


@pytest.mark.sdk_scenario("node_salt_wrong")
def test_node_sdk_wrong_salt_is_rejected_without_blocking_the_queue(outcome: Outcome, tally) -> None:
    """A checksum mismatch is answered 200 {"result": "Request does not match checksum"}: the SDK
    drops the request (no endless retry) and nothing is stored."""
    reqs = sdk_requests(outcome)
    assert len(reqs) == 7, "each request was sent exactly once (the SDK took the reply as final)"
    for e in reqs:
        assert e["status"] == 200 and "does not match checksum" in e["body"], (e["status"], e["body"])
    sessions = tally.read(outcome.app_id, "sessions")
    assert not num(sessions, YEAR, "t") and not num(sessions, YEAR, "e"), sessions
    assert tally.read(outcome.app_id, "get_events").get("list", []) == []


# ---------------------------------------------------------------------------------------------
@pytest.mark.sdk_scenario("node_offline")
def test_node_sdk_offline_queue_flushed_later_with_old_timestamps(outcome: Outcome, tally) -> None:
    """A session recorded while Tally was unreachable, three hours "ago", stays in the SDK's
    storage and is sent by the next process: it must land in the hour it happened, not now."""
    offline, online = outcome.runs
    assert offline.ledger and all(e["status"] == 0 for e in offline.ledger), "offline attempts must fail"
    assert online.result.get("flushed_from_storage") == 7
    assert_all_applied(outcome, runs=slice(1, None))
    flushed = sdk_requests(outcome, runs=slice(1, None))[:7]
    sent_at = flushed[-1]["at"] / 1000
    for e in flushed:
        age = sent_at - int(e["params"]["timestamp"]) / 1000
        assert age > -OFFLINE_SHIFT_S - 120, f"the stored request should be ~3 h old, is {age:.0f} s"

    exp = outcome.expected()
    data = check_sessions(tally, outcome.app_id, exp)
    total_t = sum(num(data, y, "t") for y in data if y.isdigit())
    assert total_t == 2 and exp.new_users == 1
    assert sum(num(data, y, "d") for y in data if y.isdigit()) == 16 + 2
    assert sum(num(data, y, "e") for y in data if y.isdigit()) == 7 + 3
    # the back-dated session is in its own (earlier) hour bucket
    old = time.gmtime(int(flushed[0]["params"]["timestamp"]) / 1000)
    assert num(data, old.tm_year, old.tm_mon, old.tm_mday, old.tm_hour, "t") == 1
    assert num(data, old.tm_year, old.tm_mon, old.tm_mday, old.tm_hour, "d") == 16
    years = [y for y in data if y.isdigit()]
    ds: dict[str, int] = {}
    for y in years:
        for k, v in (data[y].get("ds") or {}).items():
            ds[k] = ds.get(k, 0) + v
    assert {k: v for k, v in ds.items() if v} == {"1": 1, "0": 1}, ds
    if len(years) == 1:
        assert data[YEAR]["f"] == {"0": 1, "1": 1}, "second session ~3 h after the first: frequency bucket 1"
    check_events(tally, outcome.app_id, exp)
    purchase = tally.read(outcome.app_id, "events", event="purchase")
    assert sum(num(purchase, y, "c") for y in purchase if y.isdigit()) == PURCHASE_C + 1
