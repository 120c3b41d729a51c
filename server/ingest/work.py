"""The updates one request produces, grouped by collection and time (pure, no I/O)."""
from __future__ import annotations

from typing import Any

from server.ingest.buckets import Buckets
from server.storage.merge import Update
from server.timebuckets import TimeParts, parts


class Work:
    def __init__(self, app_id: str, tz: str) -> None:
        self.app_id = app_id
        self.tz = tz
        self._buckets: dict[tuple[str, str, float], Buckets] = {}
        self._times: dict[float, TimeParts] = {}
        self.extra: list[Update] = []
        self.events: set[str] = set()  # keys of the events this request counted (plugins read it)

    def time(self, ts: float) -> TimeParts:
        tp = self._times.get(ts)
        if tp is None:
            tp = self._times[ts] = parts(ts, self.tz)
        return tp

    def buckets(self, collection: str, tp: TimeParts, prefix: str | None = None,
                extra: dict[str, Any] | None = None) -> Buckets:
        """The builder for `collection` at time `tp`; ids are `<appId>_…` unless `prefix` is given."""
        own_prefix = f"{self.app_id}_" if prefix is None else prefix
        key = (collection, own_prefix, tp.ts)
        b = self._buckets.get(key)
        if b is None:
            b = self._buckets[key] = Buckets(collection, own_prefix, tp, extra,
                                             self.app_id if prefix is None else None)
        return b

    def users(self, tp: TimeParts) -> Buckets:
        return self.buckets("users", tp)

    def add(self, update: Update) -> None:
        self.extra.append(update)

    def updates(self) -> list[Update]:
        out: list[Update] = []
        for b in self._buckets.values():
            out.extend(b.updates())
        out.extend(self.extra)
        return out
