"""In-memory view of the value sets that the limits apply to.

`metric_limit` and `event_segmentation_value_limit` cap the distinct values recorded in a zero
(year) document's `meta_v2`; `event_limit` and `event_segmentation_limit` cap the app's event
registry. Each set is read from MongoDB once per process (then kept current as this process adds
to it), so checking a limit costs no round trip on the hot path. Several worker processes may
each admit a new value at the same moment: the limits are then exceeded by at most one value
per worker, which is acceptable for caps meant to stop unbounded cardinality.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from server.storage.aggregates import AggregateStore
from server.storage.apps import object_id


@dataclass
class Registry:
    """An app's event registry: event keys and segment keys per event."""

    keys: set[str] = field(default_factory=set)
    segments: dict[str, set[str]] = field(default_factory=dict)


REGISTRY_TTL = 60.0  # seconds an app's event registry is trusted before it is read again


class MetaCache:
    """`registry_ttl`: the write path sends the registry document only the event and segment keys
    this process does not know yet, so a registry emptied meanwhile (an app reset handled by
    another worker) is read again after that many seconds and then refilled by new events."""

    def __init__(self, store: AggregateStore, *, registry_ttl: float = REGISTRY_TTL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.registry_ttl = registry_ttl
        self.clock = clock
        self._sets: dict[tuple[str, str], dict[str, set[str]]] = {}
        self._registries: dict[str, tuple[Registry, float]] = {}

    async def load(self, collection: str, doc_id: str) -> None:
        if (collection, doc_id) in self._sets:
            return
        doc = await self.store.find_one(collection, doc_id, {"meta_v2": 1})
        meta = (doc or {}).get("meta_v2") or {}
        self._sets[(collection, doc_id)] = {name: set(values) for name, values in meta.items()
                                            if isinstance(values, dict)}

    def allows(self, collection: str, doc_id: str, set_name: str, value: str, limit: int) -> bool:
        """True when `value` is known or the set has room; records it as known when admitted."""
        sets = self._sets.setdefault((collection, doc_id), {})
        values = sets.setdefault(set_name, set())
        if value in values:
            return True
        if len(values) >= limit:
            return False
        values.add(value)
        return True

    async def registry(self, app_id: str) -> Registry:
        cached = self._registries.get(app_id)
        now = self.clock()
        if cached is not None and now - cached[1] < self.registry_ttl:
            return cached[0]
        doc = await self.store.find_one("events", object_id(app_id)) or {}
        reg = Registry(set(doc.get("list") or []), {k: set(v) for k, v in (doc.get("segments") or {}).items()})
        self._registries[app_id] = (reg, now)
        return reg

    def forget_app(self, app_id: str) -> None:
        self._registries.pop(app_id, None)
        for key in [k for k in self._sets if k[1].startswith(app_id) or k[0].startswith("events")]:
            del self._sets[key]
