"""Pure builders of time-bucket updates (Countly's month and zero documents).

Month doc `<prefix><YYYY>:<M>`: `d.<day>.<key>` and, for plain keys, `d.<day>.<hour>.<key>`.
Zero doc `<prefix><YYYY>:0`: unique keys at year `d.<key>`, month `d.<M>.<key>` and week
`d.w<week>.<key>` levels, plus `meta_v2.<set>.<value>: true`. Dotted keys (`Unknown.t`, `f.0`)
are written at day level only, never hourly.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from server.storage.merge import Update
from server.timebuckets import TimeParts


class Buckets:
    """Increments for one collection at one point in time, turned into (at most) two Updates."""

    def __init__(self, collection: str, prefix: str, tp: TimeParts, extra: dict[str, Any] | None = None,
                 app_id: str | None = None) -> None:
        self.collection = collection
        self.prefix = prefix
        self.tp = tp
        self.extra = extra or {}
        self.app_id = app_id
        self.month: dict[str, float] = defaultdict(int)
        self.zero: dict[str, float] = defaultdict(int)
        self.meta: dict[str, bool] = {}

    def day_hour(self, key: str, n: float = 1) -> None:
        """`key` at day and hour level of the month doc (dotted keys: day only)."""
        d = self.tp.day
        self.month[f"d.{d}.{key}"] += n
        if "." not in key:
            self.month[f"d.{d}.{self.tp.hour}.{key}"] += n

    def day(self, key: str, n: float = 1) -> None:
        self.month[f"d.{self.tp.day}.{key}"] += n

    def hour(self, key: str, n: float = 1) -> None:
        self.month[f"d.{self.tp.day}.{self.tp.hour}.{key}"] += n

    def year(self, key: str, n: float = 1) -> None:
        self.zero[f"d.{key}"] += n

    def month_level(self, key: str, n: float = 1) -> None:
        self.zero[f"d.{self.tp.month}.{key}"] += n

    def week(self, key: str, n: float = 1) -> None:
        self.zero[f"d.w{self.tp.week}.{key}"] += n

    def zero_levels(self, key: str, n: float = 1) -> None:
        """A unique key at year, month and week level of the zero doc."""
        self.year(key, n)
        self.month_level(key, n)
        self.week(key, n)

    def add_meta(self, set_name: str, value: str) -> None:
        self.meta[f"meta_v2.{set_name}.{value}"] = True

    def updates(self) -> list[Update]:
        out: list[Update] = []
        tp = self.tp
        base = {"a": self.app_id} if self.app_id else {}
        if self.month:
            out.append(Update(self.collection, f"{self.prefix}{tp.month_id}",
                              {"$inc": dict(self.month), "$set": {"m": tp.month_id, **base, **self.extra}}))
        if self.zero or self.meta:
            ops: dict[str, dict[str, Any]] = {"$set": {"m": tp.zero_id, **base, **self.extra, **self.meta}}
            if self.zero:
                ops["$inc"] = dict(self.zero)
            out.append(Update(self.collection, f"{self.prefix}{tp.zero_id}", ops))
        return out
