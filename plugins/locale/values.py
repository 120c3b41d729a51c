"""Pure: the language of an SDK's `_locale`, as Countly's locale plugin derives it.

The locale is split at `-`/`_` and lower-cased; the first part is the language ("en_US" → "en",
"pt-BR" → "pt"). Chinese keeps its script: "zh_CN"/"zh_Hans" → "zh_hans", "zh_TW"/"zh_HK"/
"zh_Hant" → "zh_hant"; a bare "zh" or another "zh_…" form has no language (not counted).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from plugins._shared.metrics import PluginMetric, escaped, scalar

LANG = PluginMetric("_locale", "langs", "langs", "la")
_SEPARATORS = re.compile(r"[-_]+")


def language_from_locale(locale: str) -> str | None:
    parts = _SEPARATORS.split(locale.strip().lower())
    lang = parts[0]
    if lang != "zh":
        return lang or None
    if len(parts) != 2:
        return None
    if parts[1] in ("hans", "cn"):
        return "zh_hans"
    if parts[1] in ("hant", "tw", "hk"):
        return "zh_hant"
    return None


def locale_of(metrics: Mapping[str, Any]) -> str | None:
    return scalar(metrics.get("_locale"))


def values(metrics: Mapping[str, Any]) -> dict[PluginMetric, str]:
    locale = locale_of(metrics)
    lang = language_from_locale(locale) if locale else None
    value = escaped(lang) if lang else ""
    return {LANG: value} if value else {}
