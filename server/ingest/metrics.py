"""Device metrics (`metrics` JSON) into `device_details`, `devices`, `carriers`, `cities`.

Aggregated on a counted begin_session only; on other requests they just update the device's
fields. Values are normalised as Countly's: stringified, leading `$` removed, `.` → `:`;
`_app_version` "1" → "1:0"; `_os_version` gets the OS prefix ("Android" + "4.4" → "a4:4").
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from server.ingest import clean
from server.ingest.buckets import Buckets
from server.ingest.sessions import Levels
from server.ingest.work import Work
from server.timebuckets import TimeParts

State = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Metric:
    param: str        # key in the request's `metrics`
    collection: str
    meta: str         # meta set name in the zero doc
    field: str        # short field on the device document


METRICS: tuple[Metric, ...] = (
    Metric("_carrier", "carriers", "carriers", "c"),
    Metric("_device", "devices", "devices", "d"),
    Metric("_manufacturer", "devices", "manufacturers", "mnf"),
    Metric("_app_version", "device_details", "app_versions", "av"),
    Metric("_os", "device_details", "os", "p"),
    Metric("_device_type", "device_details", "device_type", "dt"),
    Metric("_os_version", "device_details", "os_versions", "pv"),
    Metric("_resolution", "device_details", "resolutions", "r"),
)
CITY = Metric("city", "cities", "cities", "cty")

# The dashboard's top bars (platforms, resolutions, carriers) are sums of sessions per value. So
# that the dashboard reads the users collection only, a counted session also adds
# `d.<day>.top.<set>.<value>` to the users month doc (v1 reads strip `top`: not Countly's).
TOP_SETS = frozenset({"os", "resolutions", "carriers"})
TOP_KEY = "top"

OS_PREFIX = {
    "android": "a", "ios": "i", "ipados": "ip", "windows phone": "w", "wp": "w", "blackberry": "b",
    "windows": "mw", "macos": "o", "mac": "o", "osx": "o", "mac osx": "o", "os x": "o", "linux": "l",
    "tvos": "atv", "apple tv": "atv", "watchos": "wos", "web": "web", "roku": "r", "unity editor": "uty",
    "tizen": "tz", "webos": "wo", "chromeos": "c", "chrome os": "c", "visionos": "vo",
}


APPLE_OS = frozenset({"iOS", "iPadOS", "watchOS", "tvOS", "macOS"})
APPLE_DEVICE_TYPES = (("iOS", ("iPhone", "iPod"), "mobile"), ("iOS", ("iPad",), "tablet"),
                      ("iPadOS", ("iPad",), "tablet"), ("watchOS", ("Watch",), "wearable"),
                      ("tvOS", ("AppleTV",), "smarttv"), ("macOS", ("Mac", "iMac"), "desktop"))


def derive_apple(metrics: dict[str, Any]) -> dict[str, Any]:
    """Countly derives `_device_type` and `_manufacturer` for Apple OSes when they are absent."""
    os_name, device = metrics.get("_os"), metrics.get("_device")
    if os_name not in APPLE_OS:
        return metrics
    out = dict(metrics)
    out.setdefault("_manufacturer", "Apple")
    if "_device_type" not in out and isinstance(device, str):
        for name, prefixes, kind in APPLE_DEVICE_TYPES:
            if os_name == name and device.startswith(prefixes):
                out["_device_type"] = kind
                break
    return out


def normalise(metrics: dict[str, Any]) -> dict[str, str]:
    """param → escaped value for every recognised metric with a usable scalar value."""
    metrics = derive_apple(metrics)
    out: dict[str, str] = {}
    for m in METRICS:
        raw = metrics.get(m.param)
        if raw is None or isinstance(raw, (dict, list)):
            continue
        text = raw if isinstance(raw, str) else clean.metric_value(raw)
        if m.param == "_app_version" and text.replace("-", "", 1).isdigit():
            text += ".0"
        if m.param == "_os_version" and isinstance(metrics.get("_os"), str) and metrics["_os"]:
            os_name = metrics["_os"].strip().lower()
            prefix = OS_PREFIX.get(os_name, os_name[:1])
            if not text.startswith(prefix):
                text = prefix + text
        value = clean.metric_value(text)
        if value:
            out[m.param] = value
    return out


def aggregate(state: State, values: dict[str, str], city: str | None, tp: TimeParts, levels: Levels,
              is_new: bool, work: Work, allows: Callable[[str, str, str, str], bool]) -> None:
    """Count the session's metric values; `allows(collection, zero_id, set, value)` applies the limit."""
    pairs = [(m, values[m.param]) for m in METRICS if m.param in values]
    if city is not None:
        pairs.append((CITY, city))
    zero_id = f"{work.app_id}_{tp.zero_id}"
    users = work.users(tp)
    for metric, value in pairs:
        if not allows(metric.collection, zero_id, metric.meta, value):
            continue
        b = work.buckets(metric.collection, tp)
        b.add_meta(metric.meta, value)
        count_value(b, value, is_new=is_new, changed=state.get(metric.field) != value, levels=levels)
        if metric.meta in TOP_SETS:
            users.day(f"{TOP_KEY}.{metric.meta}.{value}")


def count_value(b: Buckets, value: str, *, is_new: bool, changed: bool, levels: Levels) -> None:
    """One metric value of a counted session: `t` always; `n`/`u` for a new user; `u` at every
    level when the device's value changed; else `u` only at the unique levels the session hit."""
    b.day(f"{value}.t")
    if is_new:
        b.day(f"{value}.n")
        b.day(f"{value}.u")
        b.zero_levels(f"{value}.u")
    elif changed:
        b.day(f"{value}.u")
        b.zero_levels(f"{value}.u")
    else:
        if levels.day:
            b.day(f"{value}.u")
        if levels.week:
            b.week(f"{value}.u")
        if levels.month:
            b.month_level(f"{value}.u")
        if levels.year:
            b.year(f"{value}.u")


def remember(state: State, values: dict[str, str]) -> None:
    for m in METRICS:
        if m.param in values:
            state[m.field] = values[m.param]
