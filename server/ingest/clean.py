"""Escaping of user-supplied names before they become MongoDB field names or ids.

A real MongoDB rejects field names with `.` (they are paths) or a leading `$` (operators), and
NUL characters; the mock accepts them. Every user-supplied key passes through one of these.
"""
from __future__ import annotations

from typing import Any

MAX_EVENT_KEY = 128
CLY_DAY_VALUES = frozenset(str(i) for i in range(1, 32))


def metric_value(value: Any) -> str:
    """Countly's metric/value escaping: stringify, drop leading `$`, `.` → `:`."""
    text = value if isinstance(value, str) else _stringify(value)
    return text.lstrip("$").replace(".", ":").replace("\x00", "")


def segment_key(key: Any) -> str:
    """Segment keys: leading `$`s and every `.` removed."""
    text = key if isinstance(key, str) else _stringify(key)
    return text.lstrip("$").replace(".", "").replace("\x00", "")


def segment_value(value: Any) -> str:
    """Segment values: like metric values, and "1".."31" become "[CLY]1".."[CLY]31"."""
    text = metric_value(value)
    return "[CLY]" + text if text in CLY_DAY_VALUES else text


def event_key(key: Any) -> str | None:
    """Countly's fixEventKey: removes `system.`, `..` and `$`; None when empty or 128+ chars."""
    text = key if isinstance(key, str) else _stringify(key)
    text = text.replace("system.", "").replace("..", "").replace("$", "").replace("\x00", "")
    if not text or len(text) >= MAX_EVENT_KEY:
        return None
    return text


def registry_path(key: str) -> str:
    """An event key used as a field name in the registry's `segments` map: `.` → `:`."""
    return key.replace(".", ":")


def _stringify(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        import orjson

        return orjson.dumps(value).decode()
    return str(value)
