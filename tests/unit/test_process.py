"""server.ingest.process.transition: duplicates and the `e` (requests) counter."""
from __future__ import annotations

from typing import Any

import pytest

from server.ingest.process import Context, close_due, transition
from server.ingest.request import SdkRequest, parse
from server.settings import load_settings
from server.storage.meta import Registry

APP = "5f0c5a3b9d1e8a2b3c4d5e6f"
NOW = 1_731_598_200.0  # 2024-11-14 15:30:00 UTC: day 14, hour 15


def ctx(**overrides: Any) -> Context:
    return Context(app_id=APP, tz="UTC", app_country="", settings=load_settings(env={}, **overrides),
                   registry=Registry(), allows=lambda *_: True)


def req(now: float = NOW, **values: Any) -> SdkRequest:
    return parse({"app_key": "k", "device_id": "d", **values}, now, duration_limit=86400, client_ip=None)


def e_count(updates: list[Any]) -> int:
    day = sum(v for u in updates if u.collection == "users" for k, v in u.ops.get("$inc", {}).items()
              if k == "d.14.e")
    hour = sum(v for u in updates if u.collection == "users" for k, v in u.ops.get("$inc", {}).items()
               if k == "d.14.15.e")
    assert day == hour
    return day


NEW_DEVICE_E = [
    ("bare-request", {}, 1),
    ("events-only", {"events": '[{"key":"a"}]'}, 1),
    ("begin", {"begin_session": "1"}, 1),
    ("begin-and-duration", {"begin_session": "1", "session_duration": "30"}, 2),
    ("duration-only", {"session_duration": "30"}, 1),
    ("zero-duration-is-a-bare-request", {"session_duration": "0"}, 1),
    ("end-without-session", {"end_session": "1"}, 1),
    ("end-and-duration", {"end_session": "1", "session_duration": "30"}, 1),
    ("begin-duration-end", {"begin_session": "1", "session_duration": "30", "end_session": "1"}, 2),
    ("bad-json-still-counted", {"metrics": "{", "events": "["}, 1),
]


@pytest.mark.parametrize("values,expected", [c[1:] for c in NEW_DEVICE_E], ids=[c[0] for c in NEW_DEVICE_E])
def test_e_counter_for_a_new_device(values: dict[str, Any], expected: int) -> None:
    state, outcome = transition(None, req(**values), ctx())
    assert state is not None and not outcome.duplicate
    assert e_count(outcome.updates) == expected


def test_begin_swallowed_by_cooldown_counts_no_e() -> None:
    old = {"did": "d", "fs": NOW - 600, "ls": NOW - 600, "sc": 1, "cc": "Unknown", "lest": NOW - 5,
           "pc": NOW + 10, "sd": 20, "lac": NOW - 5}
    state, outcome = transition(old, req(begin_session="1"), ctx(session_cooldown=15))
    assert outcome.updates == []
    assert state is not None and state["sc"] == 1 and state["hos"] is True and "pc" not in state


def test_begin_swallowed_by_cooldown_with_duration_counts_one_e() -> None:
    old = {"did": "d", "fs": NOW - 600, "ls": NOW - 600, "sc": 1, "cc": "Unknown", "lest": NOW - 5,
           "pc": NOW + 10, "sd": 20, "lac": NOW - 5}
    _, outcome = transition(old, req(begin_session="1", session_duration="7"), ctx(session_cooldown=15))
    assert e_count(outcome.updates) == 1
    assert [u.ops for u in outcome.updates] == [{"$inc": {"d.14.d": 7, "d.14.15.d": 7, "d.14.e": 1, "d.14.15.e": 1},
                                                "$set": {"m": "2024:11", "a": APP}}]


def test_end_session_without_session_stores_e_and_nothing_else() -> None:
    state, outcome = transition(None, req(end_session="1"), ctx())
    assert [(u.collection, u.id, u.ops) for u in outcome.updates] == [
        ("users", f"{APP}_2024:11", {"$inc": {"d.14.e": 1, "d.14.15.e": 1}, "$set": {"m": "2024:11", "a": APP}})]
    assert outcome.warnings == []
    assert state is not None
    assert "hos" not in state and "pc" not in state and "lest" not in state and "fs" not in state


def test_end_session_of_a_returning_device_without_open_session_adds_no_ds() -> None:
    old = {"did": "d", "fs": NOW - 9000, "ls": NOW - 9000, "sc": 1, "cc": "LV", "sd": 0, "lac": NOW - 7000}
    _, outcome = transition(old, req(end_session="1"), ctx(session_cooldown=0))
    assert [u.ops for u in outcome.updates] == [{"$inc": {"d.14.e": 1, "d.14.15.e": 1},
                                                "$set": {"m": "2024:11", "a": APP}}]


def test_duplicate_fingerprint() -> None:
    first = req(begin_session="1", timestamp=str(int(NOW)))
    state, _ = transition(None, first, ctx())
    assert state is not None and state["rq"] == [first.fingerprint]
    retry = req(begin_session="1", timestamp=str(int(NOW)), rr="2")
    assert retry.fingerprint == first.fingerprint
    again, dup = transition(state, retry, ctx())
    assert again is None
    assert dup.duplicate is True and dup.updates == [] and dup.warnings == []


def test_duplicate_detection_can_be_disabled() -> None:
    first = req(begin_session="1", timestamp=str(int(NOW)))
    state, _ = transition(None, first, ctx(prevent_duplicate_requests=False))
    assert state is not None and "rq" not in state
    again, outcome = transition(state, first, ctx(prevent_duplicate_requests=False))
    assert again is not None and not outcome.duplicate


def test_without_timestamp_nothing_is_a_duplicate() -> None:
    state, _ = transition(None, req(begin_session="1"), ctx())
    again, outcome = transition(state, req(begin_session="1"), ctx())
    assert again is not None and not outcome.duplicate


def test_duplicate_window_keeps_the_latest_fingerprints() -> None:
    state: dict[str, Any] | None = None
    prints = []
    for i in range(4):
        r = req(timestamp=str(int(NOW) - 100 + i))
        prints.append(r.fingerprint)
        state, _ = transition(state, r, ctx(duplicate_window=3))
    assert state is not None and state["rq"] == prints[1:]


def test_new_device_begin_session_state() -> None:
    state, outcome = transition(None, req(begin_session="1", country_code="LV", metrics='{"_os":"Android"}'), ctx())
    assert state is not None
    assert {k: state[k] for k in ("did", "fs", "ls", "sc", "hos", "lbst", "cc", "p", "lac")} == {
        "did": "d", "fs": NOW, "ls": NOW, "sc": 1, "hos": True, "lbst": NOW, "cc": "LV", "p": "Android", "lac": NOW}
    assert sorted({u.collection for u in outcome.updates}) == ["cities", "device_details", "users"]


def test_request_after_cooldown_closes_the_ended_session_first() -> None:
    old = {"did": "d", "fs": NOW - 600, "ls": NOW - 600, "sc": 1, "cc": "LV", "lest": NOW - 100, "pc": NOW - 85,
           "sd": 40, "lac": NOW - 100}
    state, outcome = transition(old, req(), ctx())
    assert sorted((u.id, tuple(sorted(u.ops.get("$inc", {}).items()))) for u in outcome.updates) == [
        (f"{APP}_2024:0", (("d.11.ds.2", 1), ("d.ds.2", 1), ("d.w46.ds.2", 1))),
        (f"{APP}_2024:11", (("d.14.15.e", 1), ("d.14.e", 1))),
        (f"{APP}_2024:11", (("d.14.ds.2", 1),)),
    ]
    assert state is not None and "pc" not in state and state["sd"] == 0


def test_close_due() -> None:
    assert close_due(None, NOW, ctx())[0] is None
    old = {"did": "d", "hos": True, "sd": 5, "lac": NOW - 1800}
    state, outcome = close_due(old, NOW, ctx())
    assert state == {"did": "d", "sd": 0, "lac": NOW - 1800}
    assert sum(u.ops.get("$inc", {}).get("d.14.ds.0", 0) for u in outcome.updates) == 1
    assert old == {"did": "d", "hos": True, "sd": 5, "lac": NOW - 1800}  # the input is not mutated


def test_begin_duration_end_in_one_request_with_cooldown_zero_buckets_the_duration() -> None:
    state, outcome = transition(None, req(begin_session="1", session_duration="45", end_session="1"),
                                ctx(session_cooldown=0))
    assert state is not None and state["sd"] == 0 and state["tsd"] == 45 and "hos" not in state
    inc: dict[str, int] = {}
    for u in outcome.updates:
        if u.collection == "users":
            for k, v in u.ops.get("$inc", {}).items():
                inc[k] = inc.get(k, 0) + v
    assert {k: v for k, v in inc.items() if ".ds." in k or k.startswith("d.ds")} == {
        "d.14.ds.2": 1, "d.ds.2": 1, "d.11.ds.2": 1, "d.w46.ds.2": 1}
    assert (inc["d.14.e"], inc["d.14.t"], inc["d.14.n"], inc["d.14.d"]) == (2, 1, 1, 45)


def test_second_session_in_the_same_hour_is_not_a_new_unique_user() -> None:
    state, _ = transition(None, req(begin_session="1", end_session="1"), ctx(session_cooldown=0))
    state, second = transition(state, req(NOW + 60, begin_session="1"), ctx(session_cooldown=0))
    incs = [k for u in second.updates if u.collection == "users" for k in u.ops.get("$inc", {})]
    assert sorted(incs) == sorted(["d.14.e", "d.14.15.e", "d.14.t", "d.14.15.t", "d.14.Unknown.t", "d.14.f.1",
                                   "d.f.1", "d.11.f.1", "d.w46.f.1"])
    assert state is not None and state["sc"] == 2
    cities = sorted((u.id, u.ops.get("$inc", {})) for u in second.updates if u.collection == "cities")
    assert cities == [(f"{APP}_2024:0", {}), (f"{APP}_2024:11", {"d.14.Unknown.t": 1})]
