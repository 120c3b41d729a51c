"""`Countly.Bulk` (countly-sdk-nodejs 24.10.4) importing back-dated data through /i/bulk."""
from __future__ import annotations

import json
import time

import pytest

from .checks import check_events, check_metrics, check_sessions, num
from .scenarios import Outcome

YEAR = str(time.gmtime().tm_year)


@pytest.mark.sdk_scenario("bulk_import")
def test_bulk_import_back_dated_sessions_and_events(outcome: Outcome, tally) -> None:
    """Four devices: A (150 s session three hours ago, an event, user details, end_session),
    B (45 s session), C (raw items: metrics and events as JSON strings, an event without count,
    ms timestamps), D (a session now, in a second, small bulk). Items are applied in order with
    the device state carried from item to item."""
    bulks = [e for e in outcome.runs[0].ledger if e["path"] == "/i/bulk"]
    assert [e["method"] for e in bulks] == ["POST", "GET"], "first bulk is over 2000 characters, the second is small"
    assert all(e["status"] == 200 and json.loads(e["body"]).get("result") == "Success" for e in bulks), \
        [(e["status"], e["body"]) for e in bulks]
    items = [i for e in bulks for i in json.loads(e["params"]["requests"])]
    assert len(items) == 15

    exp = outcome.expected()
    # B's session (45 s → ds "2") is never ended; Tally may close it for inactivity (its last
    # request was ~3 h ago) when B's later event item arrives: allowed, not required.
    data = check_sessions(tally, outcome.app_id, exp, optional_ds={"2": 1})
    years = [y for y in data if y.isdigit()]
    total = {k: sum(num(data, y, k) for y in years) for k in ("t", "n", "e", "d")}
    assert total == {"t": 4, "n": 4, "e": 15, "d": 150 + 45 + 20}
    if len(years) == 1:
        y = data[YEAR]
        assert y["u"] == 4
        assert (num(y, "LV", "t"), num(y, "US", "t"), num(y, "Unknown", "t")) == (2, 1, 1)
        assert {k: v for k, v in y["ds"].items() if v and k != "2"} == {"3": 1, "1": 1}
    # A's begin_session is in the hour three hours ago, not now
    base = time.gmtime(outcome.extra["base_ts"])
    assert num(data, base.tm_year, base.tm_mon, base.tm_mday, base.tm_hour, "t") >= 1

    check_events(tally, outcome.app_id, exp)
    purchase = tally.read(outcome.app_id, "events", event="purchase")
    assert sum(num(purchase, y, "c") for y in purchase if y.isdigit()) == 3, "2 (A) + 1 (C, no count)"
    assert sum(num(purchase, y, "s") for y in purchase if y.isdigit()) == pytest.approx(7.0)

    check_metrics(tally, outcome.app_id, exp)
    meta = tally.read(outcome.app_id, "device_details").get("meta", {})
    assert sorted(meta.get("os", [])) == ["Android", "Linux", "iOS"]
    assert sorted(meta.get("app_versions", [])) == ["1:2", "1:3"]
    assert sorted(meta.get("os_versions", [])) == ["a14", "i17:2"]
