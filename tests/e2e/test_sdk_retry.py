"""SDK retries after lost replies must not be counted twice (issue 4).

A proxy between the SDK and Tally forwards every request and, at random (seeded), closes the
connection after Tally answered instead of passing the reply on. The SDK then resends the same
request after `fail_timeout`. The final /o numbers must equal those of the same scenario run
without drops.
"""
from __future__ import annotations

import time

import pytest

from .checks import check_events, check_sessions, year_view
from .scenarios import Outcome

YEAR = str(time.gmtime().tm_year)


def assert_retried(drops: Outcome) -> None:
    records = drops.proxy_records or []
    dropped = [r for r in records if r["dropped"]]
    assert dropped, "the seeded proxy dropped no reply: the test proved nothing"
    for d in dropped:
        later = [r for r in records if r["at"] > d["at"] and r["path"] == d["path"]
                 and r["params"].get("timestamp") == d["params"].get("timestamp")
                 and r["params"].get("device_id") == d["params"].get("device_id")]
        assert later and not later[-1]["dropped"], f"the SDK did not resend {sorted(d['params'])}"
    sdk_failures = [e for e in drops.runs[0].ledger if e["status"] == 0]
    assert len(sdk_failures) == len(dropped), "every dropped reply is a failed attempt for the SDK"


@pytest.mark.sdk_scenario("node_retry_drops", "node_retry_clean")
def test_node_sdk_retries_after_dropped_replies_count_once(outcome: dict[str, Outcome], tally) -> None:
    drops, clean = outcome["node_retry_drops"], outcome["node_retry_clean"]
    assert_retried(drops)
    dropped_kinds = {k for r in drops.proxy_records or [] if r["dropped"] for k in r["params"]}
    assert {"begin_session", "end_session"} <= dropped_kinds
    # against what the SDK delivered, each distinct request once
    exp = drops.expected()
    data = check_sessions(tally, drops.app_id, exp)
    y = data[YEAR]
    assert {k: y.get(k) for k in ("t", "n", "u", "e", "d")} == {"t": 1, "n": 1, "u": 1, "e": 7, "d": 16}
    check_events(tally, drops.app_id, exp)
    # and identical to the run without drops
    assert year_view(tally, drops.app_id) == year_view(tally, clean.app_id)


@pytest.mark.sdk_scenario("web_node_retry_drops", "web_node_retry_clean")
def test_web_sdk_retries_after_dropped_replies_count_once(outcome: dict[str, Outcome], tally) -> None:
    """The web SDK recomputes `rr` (remaining requests) on every attempt, so its retry of
    begin_session is not byte-identical to the first attempt; it must still count once."""
    drops, clean = outcome["web_node_retry_drops"], outcome["web_node_retry_clean"]
    assert_retried(drops)
    begins = [r for r in drops.proxy_records or [] if "begin_session" in r["params"]]
    assert len(begins) == 2 and begins[0]["dropped"], [(r["dropped"], r["params"].get("rr")) for r in begins]
    assert begins[0]["params"].get("rr") != begins[1]["params"].get("rr"), \
        f"the scenario should make the retry differ in rr: {[r['params'].get('rr') for r in begins]}"
    exp = drops.expected()
    data = check_sessions(tally, drops.app_id, exp)
    assert (data[YEAR]["t"], data[YEAR]["n"], data[YEAR]["d"]) == (1, 1, 9)
    check_events(tally, drops.app_id, exp)
    assert year_view(tally, drops.app_id) == year_view(tally, clean.app_id)
