"""Custom events into per-event collections (`events` + sha1(key + appId)) and the app registry.

Month doc `no-segment_<YYYY>:<M>`: `d.<day>.c|s|dur` and hourly. Segment month docs
`<segKey>_<YYYY>:<M>`: `d.<day>.<segValue>.c|s|dur` (no hours). Zero doc `no-segment_<YYYY>:0`:
`meta_v2.segments.<segKey>` and `meta_v2.<segKey>.<segValue>`. Registry: collection `events`,
`_id` ObjectId(appId), `list` of keys and `segments.<key>` lists.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bson import ObjectId

from server.ingest import clean
from server.ingest.request import Event
from server.ingest.work import Work
from server.mongo import event_collection_name
from server.settings import Settings
from server.storage.merge import Update
from server.storage.meta import Registry

INTERNAL_EVENTS = frozenset({
    "[CLY]_session", "[CLY]_view", "[CLY]_crash", "[CLY]_action", "[CLY]_star_rating", "[CLY]_nps",
    "[CLY]_survey", "[CLY]_push_action", "[CLY]_push_sent", "[CLY]_orientation", "[CLY]_consent",
})


def is_internal(key: str) -> bool:
    return key.startswith("[CLY]_")


def clean_segmentation(seg: dict[str, Any], known: set[str], settings: Settings,
                       omitted: set[str]) -> dict[str, str]:
    """Escaped segment key → escaped value; applies `event_segmentation_limit` to new keys."""
    out: dict[str, str] = {}
    for raw_key, raw_value in seg.items():
        key = clean.segment_key(raw_key)
        if not key or key in omitted or raw_value is None or isinstance(raw_value, (list, dict)):
            continue
        value = clean.segment_value(raw_value)
        if not value:
            continue
        if key not in known and len(known.union(out)) >= settings.event_segmentation_limit:
            continue
        out[key] = value
    return out


def record(events: list[Event], work: Work, registry: Registry, settings: Settings,
           allows: Callable[[str, str, str, str], bool], warnings: list[str],
           omitted: set[str] | None = None) -> tuple[int, str | None]:
    """Add the events' updates to `work`. Returns (custom events counted, last orientation mode)."""
    custom = 0
    orientation: str | None = None
    registry_ops: dict[str, Any] = {}
    for ev in events:
        if is_internal(ev.key) and ev.key not in INTERNAL_EVENTS:
            warnings.append(f"event {ev.key!r}: unknown internal event, skipped")
            continue
        # The registry document gets only what this process has not known yet: a key known here was
        # loaded from it or written (or is still queued) by an earlier request.
        if ev.key not in registry.keys:
            if len(registry.keys) >= settings.event_limit:
                warnings.append(f"event {ev.key!r}: event_limit ({settings.event_limit}) reached, skipped")
                continue
            registry.keys.add(ev.key)
            registry_ops.setdefault("list", []).append(ev.key)
        known = registry.segments.setdefault(ev.key, set())
        seg = clean_segmentation(ev.segmentation, known, settings, omitted or set())
        work.events.add(ev.key)
        coll = event_collection_name(work.app_id, ev.key)
        tp = work.time(ev.ts)
        zero_id = f"no-segment_{tp.zero_id}"
        main = work.buckets(coll, tp, "no-segment_", {"s": "no-segment"})
        main.day_hour("c", ev.count)
        if ev.sum is not None:
            main.day_hour("s", ev.sum)
        if ev.dur is not None:
            main.day_hour("dur", ev.dur)
        for seg_key, seg_value in seg.items():
            if not allows(coll, zero_id, seg_key, seg_value):
                continue
            if seg_key not in known:
                known.add(seg_key)
                registry_ops.setdefault(f"segments.{clean.registry_path(ev.key)}", []).append(seg_key)
            main.add_meta("segments", seg_key)
            main.add_meta(seg_key, seg_value)
            sb = work.buckets(coll, tp, f"{seg_key}_", {"s": seg_key})
            sb.day(f"{seg_value}.c", ev.count)
            if ev.sum is not None:
                sb.day(f"{seg_value}.s", ev.sum)
            if ev.dur is not None:
                sb.day(f"{seg_value}.dur", ev.dur)
        if not is_internal(ev.key):
            custom += 1
        if ev.key == "[CLY]_orientation" and isinstance(ev.segmentation.get("mode"), str):
            orientation = ev.segmentation["mode"]
    if registry_ops:
        work.add(Update("events", ObjectId(work.app_id), {"$addToSet": registry_ops}))  # type: ignore[arg-type]
    return custom, orientation
