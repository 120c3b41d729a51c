"""The smaller `/o/analytics/*` reports, purely: sessions, ranges (frequency, durations), events,
tops, and the metric names they accept."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.read.bars import metric_bars, value_totals
from server.read.countries import country_name
from server.read.numbers import to_fixed
from server.read.periods import Window
from server.read.series import Series
from server.read.windows import open_end, points


@dataclass(frozen=True)
class Metric:
    """Where a metric's values live: collection, meta set, and the device field for exact users."""

    collection: str
    meta: str
    field: str


METRICS: dict[str, Metric] = {
    "platforms": Metric("device_details", "os", "p"),
    "os": Metric("device_details", "os", "p"),
    "os_versions": Metric("device_details", "os_versions", "pv"),
    "platform_version": Metric("device_details", "os_versions", "pv"),
    "platform_versions": Metric("device_details", "os_versions", "pv"),
    "resolutions": Metric("device_details", "resolutions", "r"),
    "app_versions": Metric("device_details", "app_versions", "av"),
    "device_type": Metric("device_details", "device_type", "dt"),
    "devices": Metric("devices", "devices", "d"),
    "manufacturers": Metric("devices", "manufacturers", "mnf"),
    "carriers": Metric("carriers", "carriers", "c"),
    "countries": Metric("users", "countries", "cc"),
    "locations": Metric("users", "countries", "cc"),
    "cities": Metric("cities", "cities", "cty"),
}
TOPS = ("platforms", "resolutions", "carriers", "countries")

FREQUENCY_LABELS = ("First session", "1-24 hours", "1 day", "2 days", "3 days", "4 days", "5 days", "6 days",
                    "7 days", "8-14 days", "15-30 days", "30+ days")
DURATION_LABELS = ("0 - 10 seconds", "11 - 30 seconds", "31 - 60 seconds", "1 - 3 minutes", "3 - 10 minutes",
                   "10 - 30 minutes", "30 - 60 minutes", "> 1 hour")
RANGES = {"f": ("f-ranges", FREQUENCY_LABELS), "ds": ("d-ranges", DURATION_LABELS)}


def sessions(users: Series, w: Window) -> list[dict[str, Any]]:
    """`[{_id, t, n, u, d, e}]` per time point (days; hours for hour/yesterday; months for month)."""
    return [{"_id": p.id, **p.values} for p in points(users, w, ("t", "n", "u", "d", "e"))]


def ranges(users: Series, w: Window, key: str) -> list[dict[str, Any]]:
    """Frequency (`f`) or duration (`ds`) buckets of the window, as Countly's `extractRangeData`:
    `[{<key>: bucket, t, percent}]` by t descending, plus a readable `label`."""
    meta, labels = RANGES[key]
    rows: list[dict[str, Any]] = []
    for bucket in users.values(meta):
        t = users.unique(w.start, w.end, key, bucket, open_end=open_end(w))
        if t:
            label = labels[int(bucket)] if bucket.isdigit() and int(bucket) < len(labels) else bucket
            rows.append({key: bucket, "t": t, "label": label})
    total = sum(r["t"] for r in rows)
    for r in rows:
        r["percent"] = to_fixed(r["t"] / total * 100)
    rows.sort(key=lambda r: -r["t"])
    return rows


def event_points(series: Series, w: Window) -> list[dict[str, Any]]:
    """`[{_id, c, s, dur}]` per time point of one event."""
    return [{"_id": p.id, **p.values} for p in points(series, w, ("c", "s", "dur"))]


def event_segments(series: Series, w: Window, segment: str) -> list[dict[str, Any]]:
    """`[{_id: value, c, s, dur}]` of one segment's values, by count descending."""
    days = w.days
    rows = [(v, series.total(days, v, "c"), series.total(days, v, "s"), series.total(days, v, "dur"))
            for v in series.values(segment) if series.has(days, v)]
    rows.sort(key=lambda r: -r[1])
    return [{"_id": v, "c": c, "s": s, "dur": dur} for v, c, s, dur in rows]


def bars_of(series: Series, metric: str, w: Window) -> list[dict[str, Any]]:
    """Top 3 values of a metric by sessions in the window (countries by English name)."""
    spec = METRICS[metric]
    totals = value_totals(series, series.values(spec.meta), w.days)
    if spec.meta == "countries":
        merged: dict[str, int | float] = {}
        for code, value in totals:
            name = country_name(code)
            merged[name] = merged.get(name, 0) + value
        totals = list(merged.items())
    return metric_bars(totals)
