"""server.ingest.request: identity, session_duration, events, warnings and the fingerprint."""
from __future__ import annotations

import json
from typing import Any

import pytest

from server.errors import BadRequest
from server.ingest.request import Event, fingerprint, identity, parse, parse_duration, parse_events

NOW = 1_731_600_000.0  # 2024-11-14 16:00:00 UTC
MISSING = 'Missing parameter "app_key" or "device_id"'
NO_APP = "App does not exist"

IDENTITY_ERRORS = [
    ("nothing", {}, MISSING),
    ("no-device-id", {"app_key": "k"}, MISSING),
    ("no-app-key", {"device_id": "d"}, MISSING),
    ("empty-app-key", {"app_key": "", "device_id": "d"}, MISSING),
    ("empty-device-id", {"app_key": "k", "device_id": ""}, MISSING),
    ("regex-app-key", {"app_key[$regex]": "^a", "device_id": "d"}, NO_APP),
    ("regex-app-key-no-device", {"app_key[$regex]": "^a"}, NO_APP),
    ("dict-app-key", {"app_key": {"$regex": "^a"}, "device_id": "d"}, NO_APP),
    ("dict-app-key-ne", {"app_key": {"$ne": None}, "device_id": "d"}, NO_APP),
    ("list-app-key", {"app_key": ["a", "b"], "device_id": "d"}, NO_APP),
]


@pytest.mark.parametrize("values,message", [c[1:] for c in IDENTITY_ERRORS], ids=[c[0] for c in IDENTITY_ERRORS])
def test_identity_errors(values: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequest) as info:
        identity(values)
    assert info.value.result == message
    assert info.value.status == 400


@pytest.mark.parametrize("values,fallback,expected", [
    ({"app_key": "k", "device_id": "d"}, None, ("k", "d")),
    ({"app_key": "k", "device_id": 123}, None, ("k", "123")),
    ({"app_key": 42, "device_id": "d"}, None, ("42", "d")),
    ({"device_id": "d"}, "top", ("top", "d")),
    ({"app_key": "own", "device_id": "d"}, "top", ("own", "d")),
], ids=["strings", "numeric-device-id", "numeric-app-key", "bulk-fallback-app-key", "own-app-key-wins"])
def test_identity(values: dict[str, Any], fallback: Any, expected: tuple[str, str]) -> None:
    assert identity(values, fallback) == expected


DURATIONS = [
    ("absent", None, None), ("nan", "abc", None), ("empty", "", None), ("zero", "0", None), ("zero-int", 0, None),
    ("bool", True, None), ("plain", "60", 60), ("int", 60, 60), ("decimal-truncated", "60.9", 60),
    ("at-limit", "86400", 86400), ("above-limit", "100000", 86400), ("negative", "-5", 30),
    ("negative-int", -100, 30), ("infinite", "inf", None),
]


@pytest.mark.parametrize("raw,expected", [c[1:] for c in DURATIONS], ids=[c[0] for c in DURATIONS])
def test_parse_duration(raw: Any, expected: int | None) -> None:
    assert parse_duration(raw, 86400) == expected


def test_parse_duration_small_limit() -> None:
    assert parse_duration("121", 120) == 120


EVENTS = [
    ("count-default-1", [{"key": "a"}], [Event("a", 1, None, None, {}, -1.0)], []),
    ("count-numeric-string", [{"key": "a", "count": "5"}], [Event("a", 5, None, None, {}, -1.0)], []),
    ("count-float-truncated", [{"key": "a", "count": 2.7}], [Event("a", 2, None, None, {}, -1.0)], []),
    ("count-null-is-1", [{"key": "a", "count": None}], [Event("a", 1, None, None, {}, -1.0)], []),
    ("sum-rounded-5-decimals", [{"key": "a", "sum": 1.234567891}], [Event("a", 1, 1.23457, None, {}, -1.0)], []),
    ("sum-numeric-string", [{"key": "a", "sum": "2.5"}], [Event("a", 1, 2.5, None, {}, -1.0)], []),
    ("dur", [{"key": "a", "dur": 12}], [Event("a", 1, None, 12.0, {}, -1.0)], []),
    ("segmentation", [{"key": "a", "segmentation": {"x": "y"}}], [Event("a", 1, None, None, {"x": "y"}, -1.0)], []),
    ("own-timestamp-seconds", [{"key": "a", "timestamp": 1_700_000_000}],
     [Event("a", 1, None, None, {}, 1_700_000_000.0)], []),
    ("own-timestamp-ms", [{"key": "a", "timestamp": "1700000000500"}],
     [Event("a", 1, None, None, {}, 1_700_000_000.5)], []),
    ("own-timestamp-future-clamped", [{"key": "a", "timestamp": 1_800_000_000}],
     [Event("a", 1, None, None, {}, NOW)], []),
    ("numeric-key-stringified", [{"key": 5}], [Event("5", 1, None, None, {}, -1.0)], []),
    ("key-127-chars", [{"key": "k" * 127}], [Event("k" * 127, 1, None, None, {}, -1.0)], []),
    ("missing-key-skipped", [{"count": 1}, {"key": "b"}], [Event("b", 1, None, None, {}, -1.0)],
     ['events[0]: missing or invalid "key", skipped']),
    ("empty-key-skipped", [{"key": ""}], [], ['events[0]: missing or invalid "key", skipped']),
    ("key-128-chars-skipped", [{"key": "k" * 128}], [], ['events[0]: missing or invalid "key", skipped']),
    ("non-numeric-count-skipped", [{"key": "a", "count": "x"}, {"key": "b", "count": 2}],
     [Event("b", 2, None, None, {}, -1.0)], ['events[0] (a): "count" is not a number, skipped']),
    ("non-numeric-sum-ignored", [{"key": "a", "sum": "x"}], [Event("a", 1, None, None, {}, -1.0)],
     ['events[0] (a): "sum" is not a number, ignored']),
    ("non-numeric-dur-ignored", [{"key": "a", "dur": "x"}], [Event("a", 1, None, None, {}, -1.0)],
     ['events[0] (a): "dur" is not a number, ignored']),
    ("bad-segmentation-ignored", [{"key": "a", "segmentation": "x"}], [Event("a", 1, None, None, {}, -1.0)],
     ['events[0] (a): "segmentation" is not an object, ignored']),
    ("not-an-object", ["a", {"key": "b"}], [Event("b", 1, None, None, {}, -1.0)],
     ["events[0]: not an object, skipped"]),
]


@pytest.mark.parametrize("items,expected,warnings", [c[1:] for c in EVENTS], ids=[c[0] for c in EVENTS])
def test_parse_events(items: list[Any], expected: list[Event], warnings: list[str]) -> None:
    got: list[str] = []
    assert parse_events(json.dumps(items), NOW, got) == expected
    assert got == warnings
    got_decoded: list[str] = []
    assert parse_events(items, NOW, got_decoded) == expected  # already decoded (JSON body / bulk)
    assert got_decoded == warnings


@pytest.mark.parametrize("raw", ["[", '{"key":"a"}', "null1", 5], ids=["truncated", "object", "garbage", "number"])
def test_parse_events_bad_json(raw: Any) -> None:
    warnings: list[str] = []
    assert parse_events(raw, NOW, warnings) == []
    assert warnings == ['"events" is not a valid JSON array: skipped']


def _parse(**values: Any) -> Any:
    base = {"app_key": "k", "device_id": "d"}
    return parse({**base, **values}, NOW, duration_limit=86400, client_ip="203.0.113.5")


def test_parse_minimal_request() -> None:
    req = _parse()
    assert (req.app_key, req.device_id, req.ts) == ("k", "d", NOW)
    assert (req.begin, req.end, req.duration, req.ignore_cooldown) == (False, False, None, False)
    assert (req.metrics, req.events, req.user_details, req.warnings) == ({}, [], None, [])
    assert (req.ip, req.tz, req.fingerprint) == ("203.0.113.5", None, None)


@pytest.mark.parametrize("raw,expected", [("1", True), ("true", True), ("", False), (1, True), (True, True)],
                         ids=["1", "true", "empty", "int-1", "bool-true"])
def test_parse_begin_flag(raw: Any, expected: bool) -> None:
    assert _parse(begin_session=raw).begin is expected


def test_parse_full_request() -> None:
    req = _parse(begin_session="1", end_session="1", session_duration="30", ignore_cooldown="1",
                 timestamp="1700000000", metrics='{"_os":"Android"}', user_details='{"name":"Ada"}',
                 events='[{"key":"a"},{"key":"b","timestamp":1699999000}]', country_code="lv", city="Riga",
                 region="RIX", location="56.9,24.1", ip_address="192.0.2.1", tz="120")
    assert (req.ts, req.begin, req.end, req.duration, req.ignore_cooldown) == (1_700_000_000.0, True, True, 30, True)
    assert req.metrics == {"_os": "Android"}
    assert req.user_details == {"name": "Ada"}
    assert req.events == [Event("a", 1, None, None, {}, 1_700_000_000.0),
                          Event("b", 1, None, None, {}, 1_699_999_000.0)]
    assert (req.country_code, req.city, req.region, req.location) == ("lv", "Riga", "RIX", "56.9,24.1")
    assert (req.ip, req.tz) == ("192.0.2.1", 120)
    assert req.warnings == []
    assert isinstance(req.fingerprint, int) and 0 <= req.fingerprint < 2**60


@pytest.mark.parametrize("name,message", [
    ("metrics", '"metrics" is not a valid JSON object: skipped'),
    ("events", '"events" is not a valid JSON array: skipped'),
    ("user_details", '"user_details" is not a valid JSON object: skipped'),
], ids=["metrics", "events", "user_details"])
def test_parse_bad_json_is_a_warning_not_an_error(name: str, message: str) -> None:
    req = _parse(begin_session="1", **{name: "{not json"})
    assert req.warnings == [message]
    assert req.begin is True
    assert (req.metrics, req.events) == ({}, [])


def test_parse_metrics_of_wrong_kind_is_a_warning() -> None:
    req = _parse(metrics="[1,2]")
    assert req.warnings == ['"metrics" is not a valid JSON object: skipped']
    assert req.metrics == {}


def test_parse_warnings_keep_request_order() -> None:
    req = _parse(metrics="x", events='[{"count":1},{"key":"ok","count":"many"}]')
    assert req.warnings == ['"metrics" is not a valid JSON object: skipped',
                            'events[0]: missing or invalid "key", skipped',
                            'events[1] (ok): "count" is not a number, skipped']


def test_parse_future_timestamp_is_clamped() -> None:
    assert _parse(timestamp="1900000000000").ts == NOW


def test_parse_identity_errors_propagate() -> None:
    with pytest.raises(BadRequest) as info:
        parse({"app_key[$regex]": "^a", "device_id": "d"}, NOW, duration_limit=86400, client_ip=None)
    assert info.value.result == NO_APP


# ---- fingerprint ---------------------------------------------------------------------------

BASE = {"app_key": "k", "device_id": "d", "timestamp": "1700000000000", "begin_session": "1"}


@pytest.mark.parametrize("extra", [
    {"rr": "3"}, {"checksum": "ABC"}, {"checksum256": "abc"}, {"rr": "1", "checksum256": "f00"},
], ids=["rr", "checksum", "checksum256", "rr-and-checksum256"])
def test_fingerprint_ignores_retry_and_checksum_fields(extra: dict[str, str]) -> None:
    assert fingerprint({**BASE, **extra}) == fingerprint(BASE)


@pytest.mark.parametrize("change", [
    {"timestamp": "1700000000001"}, {"begin_session": "0"}, {"device_id": "e"}, {"events": "[]"},
], ids=["timestamp", "begin_session", "device_id", "extra-param"])
def test_fingerprint_changes_with_content(change: dict[str, str]) -> None:
    assert fingerprint({**BASE, **change}) != fingerprint(BASE)


def test_fingerprint_ignores_parameter_order() -> None:
    assert fingerprint(dict(reversed(list(BASE.items())))) == fingerprint(BASE)


@pytest.mark.parametrize("values", [{"app_key": "k", "device_id": "d"}, {**BASE, "timestamp": ""}],
                         ids=["no-timestamp", "empty-timestamp"])
def test_fingerprint_none_without_timestamp(values: dict[str, str]) -> None:
    assert fingerprint(values) is None
