"""Pure parsing of one SDK request (an /i query, or one /i/bulk item) into `SdkRequest`.

Malformed parts (bad JSON in `metrics`/`events`/`user_details`, an event without a key, a
non-numeric count) are dropped and named in `warnings`; the rest of the request is kept.
"""
from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from server.errors import BadRequest
from server.ingest import clean
from server.params import json_param
from server.timebuckets import parse_timestamp

# Parameters that change between retries of the same request (web SDK's `rr`) or that carry a
# hash of the rest: left out of the duplicate-detection fingerprint.
FINGERPRINT_SKIP = frozenset({"rr", "checksum", "checksum256", "callback"})
LEADING_INT = re.compile(r"^\s*[+-]?\d+")
FALSY = frozenset({"", "0", "false", "null", "undefined"})


@dataclass(slots=True)
class Event:
    key: str
    count: int
    sum: float | None
    dur: float | None
    segmentation: dict[str, Any]
    ts: float
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # the item as sent (plugins)


@dataclass(slots=True)
class SdkRequest:
    app_key: str
    device_id: str
    ts: float
    begin: bool = False
    end: bool = False
    duration: int | None = None
    ignore_cooldown: bool = False
    metrics: dict[str, Any] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    country_code: str | None = None
    city: str | None = None
    region: str | None = None
    location: str | None = None     # None: not sent; "": opt-out; "lat,lon"
    ip: str | None = None
    tz: int | None = None
    user_details: dict[str, Any] | None = None
    old_device_id: str | None = None  # the device's previous id (SDK `change_id` with merge)
    fingerprint: int | None = None  # only requests carrying a `timestamp` (SDK traffic)
    params: Mapping[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def truthy(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    return str(value).strip().lower() not in FALSY


def identity(values: Mapping[str, Any], fallback_app_key: Any = None) -> tuple[str, str]:
    """(app_key, device_id) or Countly's 400s. A non-string app_key never matches an app."""
    app_key = values.get("app_key", fallback_app_key)
    device_id = values.get("device_id")
    if app_key is None and any(k.startswith("app_key[") for k in values):
        raise BadRequest("App does not exist")
    if isinstance(app_key, (dict, list)):
        raise BadRequest("App does not exist")
    if app_key is None or device_id is None or str(app_key) == "" or str(device_id) == "":
        raise BadRequest('Missing parameter "app_key" or "device_id"')
    if isinstance(device_id, (dict, list)):
        device_id = orjson.dumps(device_id).decode()
    return str(app_key), str(device_id)


def fingerprint(values: Mapping[str, Any]) -> int | None:
    """60 bits of SHA-1 of the request minus retry/checksum fields (fits MongoDB's int64, small in
    memory); None for requests without a `timestamp`, which SDKs always send."""
    if values.get("timestamp") in (None, ""):
        return None
    kept = values if FINGERPRINT_SKIP.isdisjoint(values) else {k: v for k, v in values.items()
                                                                  if k not in FINGERPRINT_SKIP}
    digest = hashlib.sha1(orjson.dumps(kept, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)).digest()
    return int.from_bytes(digest[:8], "big") >> 4


def parse_duration(raw: Any, limit: int) -> int | None:
    """`session_duration`: parseInt; NaN/0 ignored, above the limit → limit, negative → 30."""
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        value = int(raw) if math.isfinite(raw) else 0
    else:
        match = LEADING_INT.match(str(raw))  # JavaScript's parseInt: "12abc" → 12
        if match is None:
            return None
        value = int(match.group(0))
    if value == 0:
        return None
    if value < 0:
        return 30
    return min(value, limit)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def parse_events(raw: Any, now: float, warnings: list[str]) -> list[Event]:
    decoded, ok = json_param(raw, list)
    if not ok:
        warnings.append('"events" is not a valid JSON array: skipped')
        return []
    events: list[Event] = []
    for i, item in enumerate(decoded or []):
        if not isinstance(item, dict):
            warnings.append(f"events[{i}]: not an object, skipped")
            continue
        raw_key = item.get("key")
        key = clean.event_key(raw_key) if raw_key not in (None, "") else None
        if key is None:
            warnings.append(f"events[{i}]: missing or invalid \"key\", skipped")
            continue
        count = 1
        if item.get("count") is not None:
            number = _number(item["count"])
            if number is None:
                warnings.append(f"events[{i}] ({key}): \"count\" is not a number, skipped")
                continue
            count = int(number)
        total = _number(item.get("sum"))
        if item.get("sum") is not None and total is None:
            warnings.append(f"events[{i}] ({key}): \"sum\" is not a number, ignored")
        dur = _number(item.get("dur"))
        if item.get("dur") is not None and dur is None:
            warnings.append(f"events[{i}] ({key}): \"dur\" is not a number, ignored")
        seg = item.get("segmentation")
        if seg is not None and not isinstance(seg, dict):
            warnings.append(f"events[{i}] ({key}): \"segmentation\" is not an object, ignored")
            seg = None
        ts = parse_timestamp(item.get("timestamp"), now) if item.get("timestamp") is not None else None
        events.append(Event(key, count, round(total, 5) if total is not None else None, dur, seg or {},
                            ts if ts is not None else -1.0, item))
    return events


def parse(values: Mapping[str, Any], now: float, *, duration_limit: int, client_ip: str | None,
          fallback_app_key: Any = None) -> SdkRequest:
    app_key, device_id = identity(values, fallback_app_key)
    ts = parse_timestamp(values.get("timestamp"), now)
    req = SdkRequest(app_key=app_key, device_id=device_id, ts=ts, params=values)
    req.begin = truthy(values.get("begin_session"))
    req.end = truthy(values.get("end_session"))
    req.ignore_cooldown = truthy(values.get("ignore_cooldown"))
    req.duration = parse_duration(values.get("session_duration"), duration_limit)
    metrics, ok = json_param(values.get("metrics"), dict)
    if not ok:
        req.warnings.append('"metrics" is not a valid JSON object: skipped')
    req.metrics = metrics or {}
    if "events" in values:
        req.events = parse_events(values["events"], now, req.warnings)
        for ev in req.events:
            if ev.ts < 0:
                ev.ts = ts
    if "user_details" in values:
        details, ok = json_param(values.get("user_details"), dict)
        if not ok:
            req.warnings.append('"user_details" is not a valid JSON object: skipped')
        req.user_details = details
    for name in ("country_code", "city", "region", "location"):
        value = values.get(name)
        if value is not None and not isinstance(value, (dict, list)):
            setattr(req, name, str(value).strip())
    ip = values.get("ip_address")
    req.ip = str(ip) if isinstance(ip, (str, int)) and str(ip) else client_ip
    tz = _number(values.get("tz"))
    req.tz = int(tz) if tz is not None else None
    old = values.get("old_device_id")
    if isinstance(old, (str, int)) and str(old) and str(old) != device_id:
        req.old_device_id = str(old)
    req.fingerprint = fingerprint(values)
    return req
