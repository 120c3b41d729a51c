"""Folding month and zero documents into Countly's v1 time object (contract §6.2), purely.

Zero docs give the unique values (year, months, weeks). Month docs are copied day by day and
their non-unique numbers (`t`, `n`, `e`, `d`, `c`, `s`, `dur`, and those inside segment objects)
are summed into the month and the year. Hours and unique keys are never summed. Keys that
Tally adds for itself (`hidden`, e.g. the users docs' `top` of the dashboard bars) are left out
of the day objects, so the output stays Countly's.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from server.ingest.metrics import TOP_KEY

UNIQUE_USERS = frozenset({"u", "ds", "f", "l", "p", "m"})
UNIQUE_METRICS = frozenset({"u"})
HOURS = frozenset(str(h) for h in range(24))
HIDDEN_USERS = frozenset({TOP_KEY})  # Tally's own day keys in the users docs: not Countly's

Doc = dict[str, Any]


def _copy(obj: Any) -> Any:
    """A copy of nested dicts of numbers (much cheaper than copy.deepcopy)."""
    return {k: _copy(v) for k, v in obj.items()} if isinstance(obj, dict) else obj


def _add(target: dict[str, Any], key: str, value: float) -> None:
    target[key] = target.get(key, 0) + value


def _uniques_only(obj: dict[str, Any], unique: frozenset[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in obj.items():
        if isinstance(v, dict):
            inner = v if k in unique else _uniques_only(v, unique)
            if inner:
                out[k] = _copy(inner)
        elif k in unique:
            out[k] = v
    return out


def merge_meta(meta: dict[str, list[str]], doc: Doc) -> None:
    for name, values in (doc.get("meta_v2") or {}).items():
        if isinstance(values, dict):
            bucket = meta.setdefault(name, [])
            bucket.extend(v for v in values if v not in bucket)
    for name, values in (doc.get("meta") or {}).items():
        if isinstance(values, list):
            bucket = meta.setdefault(name, [])
            bucket.extend(v for v in values if v not in bucket)


def sort_meta(meta: dict[str, list[str]]) -> dict[str, list[str]]:
    """Integer-like value lists come out in ascending numeric order (["0","1","10"])."""
    out: dict[str, list[str]] = {}
    for name, values in meta.items():
        if values and all(v.lstrip("-").isdigit() for v in values):
            out[name] = sorted(values, key=int)
        else:
            out[name] = values
    return out


def fold(docs: Iterable[Doc], unique: frozenset[str], *, refresh_day: tuple[int, int, int] | None = None,
         with_meta: bool = True, hidden: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The time object of `docs` (zero docs have `m` "YYYY:0", month docs "YYYY:M").

    With `refresh_day` (year, month, day) only unique values and that day are returned, without
    month and year sums (Countly's `action=refresh`). `hidden` keys are dropped from day objects.
    """
    out: dict[str, Any] = {}
    meta: dict[str, list[str]] = {}
    found = False
    for doc in docs:
        m = doc.get("m")
        if not isinstance(m, str) or ":" not in m:
            continue
        found = True
        year, month = m.split(":", 1)
        d = doc.get("d") or {}
        y = out.setdefault(year, {})
        if month == "0":
            _deep_merge(y, _uniques_only(d, unique))
            if with_meta:
                merge_meta(meta, doc)
            continue
        ym = y.setdefault(month, {})
        for day, day_obj in d.items():
            if not isinstance(day_obj, dict):
                continue
            if refresh_day is not None and (int(year), int(month), int(day)) != refresh_day:
                continue
            if hidden and not hidden.isdisjoint(day_obj):
                day_obj = {k: v for k, v in day_obj.items() if k not in hidden}
            ym[day] = day_obj  # documents are fresh from the store and day objects are never changed
            if refresh_day is not None:
                continue
            for k, v in day_obj.items():
                if k in HOURS or k in unique:
                    continue
                if isinstance(v, (int, float)):
                    _add(ym, k, v)
                    _add(y, k, v)
                elif isinstance(v, dict):
                    for sk, sv in v.items():
                        if sk not in unique and isinstance(sv, (int, float)):
                            _add(ym.setdefault(k, {}), sk, sv)
                            _add(y.setdefault(k, {}), sk, sv)
    if not found:
        return {}
    if with_meta:
        out["meta"] = sort_meta(meta)
    return out


def _deep_merge(target: dict[str, Any], source: dict[str, Any]) -> None:
    for k, v in source.items():
        if isinstance(v, dict) and isinstance(target.get(k), dict):
            _deep_merge(target[k], v)
        elif isinstance(v, (int, float)) and isinstance(target.get(k), (int, float)):
            target[k] += v
        else:
            target[k] = v


def merge_objects(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """Numeric sum of several time objects (for `events=[…]`), metas concatenated and de-duplicated."""
    out: dict[str, Any] = {}
    meta: dict[str, list[str]] = {}
    for obj in objects:
        for k, v in obj.items():
            if k == "meta":
                for name, values in v.items():
                    bucket = meta.setdefault(name, [])
                    bucket.extend(x for x in values if x not in bucket)
            elif isinstance(v, dict):
                _deep_merge(out.setdefault(k, {}), _copy(v))
    if not out and not meta:
        return {}
    out["meta"] = meta
    return out
