"""Pure: the source value of a request (Countly's sources plugin rules).

- `_store` as sent (an app store name such as "com.android.vending", "npm", …);
- a device that has no source yet and sends no `_store` but an `_os` gets its OS as source;
- a URL (web SDKs send the referrer) is shortened: scheme and leading `www.` dropped, `utm_*`
  and `_ga`/`_gac` parameters removed (for search engines only the search terms are kept), a
  lone trailing `/` removed: "https://www.google.com/search?q=tally&utm_source=x" →
  "google.com/search?q=tally";
- then escaped like every metric value (`.` → `:`).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from plugins._shared.metrics import PluginMetric, escaped, scalar

SOURCE = PluginMetric("_store", "sources", "sources", "src")
UTM_TAGS = frozenset({"_ga", "_gac", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"})
SEARCH_ENGINES = ("google", "baidu.com", "bing", "yahoo", "yandex", "aol", "facebook.com/l.php")
SEARCH_KEYS = frozenset({"q", "search", "searchfor", "query", "wd", "p", "text", "u"})
_SCHEME = re.compile(r"^https?://", re.IGNORECASE)


def shorten_url(url: str) -> str:
    path, _, query = url.partition("?")
    query = query.split("#", 1)[0]
    path = _SCHEME.sub("", path.split("#", 1)[0])
    if path.lower().startswith("www."):
        path = path[4:]
    search = any(engine in path for engine in SEARCH_ENGINES)
    kept: list[str] = []
    for pair in query.split("&"):
        name, sep, value = pair.partition("=")
        if not sep or not value:
            continue
        if (search and name in SEARCH_KEYS) or (not search and name not in UTM_TAGS):
            kept.append(pair)
    if path.endswith("/") and path.count("/") == 1:
        path = path[:-1]
    return path + ("?" + "&".join(kept) if kept else "")


def source_value(raw: Any) -> str | None:
    text = scalar(raw)
    if text is None:
        return None
    if _SCHEME.match(text):
        text = shorten_url(text)
    value = escaped(text)
    return value or None


def values(metrics: Mapping[str, Any], before: Mapping[str, Any] | None) -> dict[PluginMetric, str]:
    raw = metrics.get("_store")
    if raw is None and (before is None or SOURCE.field not in before):
        raw = metrics.get("_os")
    value = source_value(raw)
    return {SOURCE: value} if value else {}
