"""Pure normalisation of `_density` (Countly's density plugin rules, Tally's escaping).

A numeric density gets two decimals ("1.0", 1 and "1" all become "1.00"); when `_os` is sent
too, the value is prefixed with the OS code the core uses for `_os_version` ("l" for Linux,
"a" for Android…) or with `[<os>]` for an OS without a code, so densities of different
platforms stay apart. The result is escaped like every metric value (`.` → `:`): "l1:00".
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from plugins._shared.metrics import PluginMetric, escaped, scalar
from server.ingest.metrics import OS_PREFIX

DENSITY = PluginMetric("_density", "densities", "densities", "dnst")


def density_value(raw: Any, os_name: Any = None) -> str | None:
    text = scalar(raw)
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is not None and math.isfinite(number):
        text = f"{number:.2f}"
    os_text = scalar(os_name)
    if os_text:
        prefix = OS_PREFIX.get(os_text.lower(), f"[{os_text}]")
        if not text.startswith(prefix):
            text = prefix + text
    value = escaped(text)
    return value or None


def values(metrics: Mapping[str, Any]) -> dict[PluginMetric, str]:
    value = density_value(metrics.get("_density"), metrics.get("_os"))
    return {DENSITY: value} if value else {}
