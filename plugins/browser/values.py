"""Pure: browser name and version values (escaped like every metric value: `.` → `:`).

The web SDK sends `_browser` ("HeadlessChrome") and `_browser_version` ("156.0.8078.79" →
"156:0:8078:79"); a browser it could not detect arrives as null and is not counted.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plugins._shared.metrics import PluginMetric, escaped, scalar

COLLECTION = "browser"
BROWSER = PluginMetric("_browser", COLLECTION, "browser", "brw")
BROWSER_VERSION = PluginMetric("_browser_version", COLLECTION, "browser_version", "brwv")


def values(metrics: Mapping[str, Any]) -> dict[PluginMetric, str]:
    out: dict[PluginMetric, str] = {}
    for metric in (BROWSER, BROWSER_VERSION):
        text = scalar(metrics.get(metric.param))
        value = escaped(text) if text else ""
        if value:
            out[metric] = value
    return out
