"""server.ingest.clean (key/value escaping) and server.ingest.checksum (salted requests)."""
from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import parse_qsl

import pytest

from server.ingest import checksum, clean
from tests.support.paths import SDK_TRAFFIC

EVENT_KEYS = [
    ("plain", "purchase", "purchase"),
    ("dot-kept", "a.b", "a.b"),
    ("system-prefix-removed", "system.foo", "foo"),
    ("double-dot-removed", "a..b", "ab"),
    ("dollar-removed", "$a$b", "ab"),
    ("number-stringified", 5, "5"),
    ("object-stringified", {"a": 1}, '{"a":1}'),
    ("127-chars-kept", "k" * 127, "k" * 127),
    ("128-chars-dropped", "k" * 128, None),
    ("500-chars-dropped", "k" * 500, None),
    ("empty-dropped", "", None),
    ("only-system-dropped", "system.", None),
    ("only-dollars-dropped", "$$", None),
]


@pytest.mark.parametrize("raw,expected", [c[1:] for c in EVENT_KEYS], ids=[c[0] for c in EVENT_KEYS])
def test_event_key(raw: Any, expected: str | None) -> None:
    assert clean.event_key(raw) == expected


SEGMENT_KEYS = [
    ("plain", "item", "item"), ("dots-removed", "a.b.c", "abc"), ("leading-dollar", "$where", "where"),
    ("leading-dollars", "$$x", "x"), ("inner-dollar-kept", "a$b", "a$b"), ("number", 5, "5"),
    ("only-dots-empty", "..", ""),
]


@pytest.mark.parametrize("raw,expected", [c[1:] for c in SEGMENT_KEYS], ids=[c[0] for c in SEGMENT_KEYS])
def test_segment_key(raw: Any, expected: str) -> None:
    assert clean.segment_key(raw) == expected


SEGMENT_VALUES = [("plain", "book", "book"), ("dots-to-colons", "1.2.3", "1:2:3"), ("leading-dollar", "$5x", "5x"),
                  ("zero-kept", "0", "0"), ("32-kept", "32", "32"), ("padded-kept", "01", "01"),
                  ("negative-kept", "-1", "-1"), ("bool", True, "true"), ("float", 1.5, "1:5")]
SEGMENT_VALUES += [(f"day-{i}", str(i), f"[CLY]{i}") for i in range(1, 32)]
SEGMENT_VALUES += [("int-1", 1, "[CLY]1"), ("int-31", 31, "[CLY]31"), ("whole-float-7", 7.0, "[CLY]7"),
                   ("dollar-then-day", "$5", "[CLY]5")]


@pytest.mark.parametrize("raw,expected", [c[1:] for c in SEGMENT_VALUES], ids=[c[0] for c in SEGMENT_VALUES])
def test_segment_value(raw: Any, expected: str) -> None:
    assert clean.segment_value(raw) == expected


@pytest.mark.parametrize("raw,expected", [("4.4", "4:4"), ("$x", "x"), ("a\x00b", "ab"), (10, "10"),
                                          (2.0, "2"), (False, "false"), ("[CLY]", "[CLY]")],
                         ids=["dots", "dollar", "nul", "int", "whole-float", "bool", "brackets"])
def test_metric_value(raw: Any, expected: str) -> None:
    assert clean.metric_value(raw) == expected


def test_registry_path() -> None:
    assert clean.registry_path("a.b.c") == "a:b:c"


# ---- checksum --------------------------------------------------------------------------------

SALT = "s3cr3t"
# contract §3.10: query `app_key=K&checksum=X&device_id=D` is signed as `app_key=K&device_id=D` + salt
SHA1 = hashlib.sha1(("app_key=K&device_id=D" + SALT).encode()).hexdigest()
SHA256 = hashlib.sha256(("app_key=K&device_id=D" + SALT).encode()).hexdigest()


def _signed(name: str, value: str, order: str = "middle") -> tuple[dict[str, str], list[str]]:
    if order == "middle":
        query = f"app_key=K&{name}={value}&device_id=D"
    else:
        query = f"app_key=K&device_id=D&{name}={value}"
    return dict(parse_qsl(query)), [query]


CHECKS = [
    ("sha1-upper", "checksum", SHA1.upper(), "middle", None),
    ("sha1-lower", "checksum", SHA1.lower(), "middle", None),
    ("sha1-last-param", "checksum", SHA1.upper(), "last", None),
    ("sha256-upper", "checksum256", SHA256.upper(), "middle", None),
    ("sha256-lower", "checksum256", SHA256.lower(), "last", None),
    ("sha1-wrong", "checksum", "0" * 40, "middle", checksum.MISMATCH),
    ("sha256-wrong", "checksum256", "0" * 64, "middle", checksum.MISMATCH),
    ("sha1-value-under-sha256-name", "checksum256", SHA1, "middle", checksum.MISMATCH),
    ("sha256-value-under-sha1-name", "checksum", SHA256, "middle", checksum.MISMATCH),
    ("empty-value-is-missing", "checksum", "", "middle", checksum.MISSING),
]


@pytest.mark.parametrize("name,value,order,result", [c[1:] for c in CHECKS], ids=[c[0] for c in CHECKS])
def test_verify(name: str, value: str, order: str, result: str | None) -> None:
    values, payloads = _signed(name, value, order)
    assert checksum.verify(SALT, values, payloads) == result


def test_verify_missing() -> None:
    assert checksum.verify(SALT, {"app_key": "K", "device_id": "D"}, ["app_key=K&device_id=D"]) == \
        "Request does not have checksum"


def test_verify_wrong_salt() -> None:
    values, payloads = _signed("checksum", SHA1)
    assert checksum.verify("other", values, payloads) == "Request does not match checksum"


def test_verify_any_payload_may_match() -> None:
    values = {"app_key": "K", "device_id": "D", "checksum": SHA1}
    assert checksum.verify(SALT, values, ["app_key=K&device_id=X", f"app_key=K&checksum={SHA1}&device_id=D"]) is None


@pytest.mark.parametrize("app,salt", [({"salt": "a"}, "a"), ({"checksum_salt": "b"}, "b"),
                                      ({"salt": "", "checksum_salt": "b"}, "b"), ({}, "")],
                         ids=["salt", "legacy-checksum_salt", "empty-salt-falls-back", "none"])
def test_app_salt(app: dict[str, str], salt: str) -> None:
    assert checksum.app_salt(app) == salt


TRAFFIC = SDK_TRAFFIC / "nodejs-salt.jsonl"
REAL_SALT = "capture-test-salt"


def _records() -> list[dict[str, Any]]:
    return [json.loads(line) for line in TRAFFIC.read_text().splitlines() if line.strip()]


def _payloads(record: dict[str, Any]) -> list[str]:
    return [p for p in (record["query_string"], record["body_raw"]) if p]


REAL = [1, 2, 19]  # begin_session, events, end_session


@pytest.mark.parametrize("seq", REAL, ids=[f"seq-{s}" for s in REAL])
def test_real_node_sdk_requests_verify(seq: int) -> None:
    record = next(r for r in _records() if r["seq"] == seq)
    assert record["checksum_check"]["valid"] is True
    values = dict(parse_qsl(record["query_string"], keep_blank_values=True))
    assert checksum.verify(REAL_SALT, values, _payloads(record)) is None
    assert checksum.verify("wrong-salt", values, _payloads(record)) == checksum.MISMATCH


@pytest.mark.parametrize("seq", REAL, ids=[f"seq-{s}" for s in REAL])
def test_real_node_sdk_requests_tampered_do_not_verify(seq: int) -> None:
    record = next(r for r in _records() if r["seq"] == seq)
    tampered = record["query_string"].replace("device_id=node-device-0001", "device_id=node-device-0002")
    assert tampered != record["query_string"]
    values = dict(parse_qsl(tampered, keep_blank_values=True))
    assert checksum.verify(REAL_SALT, values, [tampered]) == checksum.MISMATCH


def test_real_node_sdk_request_without_its_checksum_is_missing() -> None:
    record = next(r for r in _records() if r["seq"] == 1)
    values = {k: v for k, v in parse_qsl(record["query_string"]) if k != "checksum256"}
    assert checksum.verify(REAL_SALT, values, _payloads(record)) == checksum.MISSING
