"""Pure merging of aggregate updates per document.

`$inc` values are summed, `$set` keeps the last value, `$max`/`$min` are reduced, `$addToSet`
lists are unioned, `$setOnInsert` keeps the first. Paths that MongoDB would reject together in
one update document (`a` with `a.b`, or one path under two operators) go to a second update
document for the same `_id`, so a real MongoDB never sees a conflict the mock would accept.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

OPERATORS = ("$inc", "$set", "$max", "$min", "$addToSet", "$setOnInsert")


@dataclass(slots=True)
class Update:
    """Operations for one document: {"$inc": {"d.4.t": 1}, "$set": {"m": "2024:11"}, …}."""

    collection: str
    id: Any  # a string, or the ObjectId of an app's event registry
    ops: dict[str, dict[str, Any]]


def _combine(op: str, old: Any, new: Any) -> Any:
    if op == "$inc":
        return old + new
    if op == "$set":
        return new
    if op == "$max":
        return max(old, new)
    if op == "$min":
        return min(old, new)
    if op == "$addToSet":
        return _unique([*old, *new])
    if op == "$setOnInsert":
        return old
    raise ValueError(f"unsupported update operator {op}")


@dataclass(slots=True)
class _OpDoc:
    """One conflict-free MongoDB update document."""

    ops: dict[str, dict[str, Any]] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)      # path -> operator
    prefixes: set[str] = field(default_factory=set)          # proper prefixes of every path

    def touches(self, path: str) -> bool:
        """True when `path` (or a path above or below it) is already in this document."""
        if path in self.paths or path in self.prefixes:
            return True
        return any(p in self.paths for p in _prefixes(path))

    def try_add(self, op: str, path: str, value: Any) -> bool:
        owner = self.paths.get(path)
        if owner is not None:
            if owner != op:
                return False
            bucket = self.ops[op]
            bucket[path] = _combine(op, bucket[path], value)
            return True
        if self.touches(path):
            return False
        self.ops.setdefault(op, {})[path] = _unique(value) if op == "$addToSet" else value
        self.paths[path] = op
        self.prefixes.update(_prefixes(path))
        return True


@lru_cache(maxsize=65536)
def _prefixes(path: str) -> tuple[str, ...]:
    """The proper prefixes of a dotted path: "d.7.t" → ("d", "d.7")."""
    pieces = path.split(".")
    return tuple(".".join(pieces[:i]) for i in range(1, len(pieces)))


def _unique(values: Any) -> list[Any]:
    return list(dict.fromkeys(values))


class MergedUpdates:
    """Updates merged per (collection, _id), ready for one unordered bulk_write per collection."""

    def __init__(self) -> None:
        self.docs: dict[tuple[str, Any], list[_OpDoc]] = {}
        self.per_collection: Counter[str] = Counter()  # updates added (before merging)

    @property
    def count(self) -> int:
        """Updates added and not yet written (the batcher's measure of pending work)."""
        return sum(self.per_collection.values())

    def __len__(self) -> int:
        return sum(len(v) for v in self.docs.values())

    def add(self, update: Update) -> None:
        self._merge(update)
        self.per_collection[update.collection] += 1

    def _merge(self, update: Update) -> None:
        docs = self.docs.get((update.collection, update.id))
        if docs is None:
            docs = self.docs[(update.collection, update.id)] = [_OpDoc()]
        for op, fields in update.ops.items():
            if op not in OPERATORS:
                raise ValueError(f"unsupported update operator {op}")
            if len(docs) == 1:
                self._merge_one(docs, op, fields)
            else:
                for path, value in fields.items():
                    self._place(docs, op, path, value)

    def _merge_one(self, docs: list[_OpDoc], op: str, fields: dict[str, Any]) -> None:
        """The usual case, a single document: a path already there under `op` is combined, a path
        nothing above or below touches is added, anything else goes through `_place`."""
        only = docs[0]
        paths, prefixes = only.paths, only.prefixes
        bucket = only.ops.get(op, {})
        split = False
        for path, value in fields.items():
            if split:  # once a second document exists, every later path must respect the order
                self._place(docs, op, path, value)
                continue
            owner = paths.get(path)
            if owner == op:
                bucket[path] = bucket[path] + value if op == "$inc" else _combine(op, bucket[path], value)
                continue
            if owner is None and path not in prefixes:
                above = _prefixes(path)
                if not any(p in paths for p in above):
                    if not bucket:
                        bucket = only.ops.setdefault(op, bucket)
                    bucket[path] = _unique(value) if op == "$addToSet" else value
                    paths[path] = op
                    prefixes.update(above)
                    continue
            self._place(docs, op, path, value)
            split = len(docs) > 1
            bucket = only.ops.get(op, {})

    @staticmethod
    def _place(docs: list[_OpDoc], op: str, path: str, value: Any) -> None:
        """Order matters across documents: an operation may only join the last document that
        already touches its path, or a later one."""
        start = next((i for i in range(len(docs) - 1, -1, -1) if docs[i].touches(path)), 0)
        for doc in docs[start:]:
            if doc.try_add(op, path, value):
                return
        fresh = _OpDoc()
        fresh.try_add(op, path, value)
        docs.append(fresh)

    def add_all(self, updates: Iterable[Update]) -> None:
        for u in updates:
            self.add(u)

    def absorb(self, newer: MergedUpdates) -> None:
        """Merge a newer batch into this (older) one, keeping `$set` order: newer wins."""
        for (coll, _id), docs in newer.docs.items():
            for doc in docs:
                self._merge(Update(coll, _id, doc.ops))
        self.per_collection.update(newer.per_collection)

    def collections(self) -> list[str]:
        return sorted({c for c, _ in self.docs})

    def operations(self, collection: str) -> list[tuple[Any, dict[str, Any]]]:
        """(_id, update document) pairs of one collection, `$addToSet` lists as `$each`."""
        out: list[tuple[Any, dict[str, Any]]] = []
        for (coll, _id), docs in self.docs.items():
            if coll != collection:
                continue
            for doc in docs:
                if not doc.ops:
                    continue
                ops = dict(doc.ops)
                if "$addToSet" in ops:
                    ops["$addToSet"] = {k: {"$each": v} for k, v in ops["$addToSet"].items()}
                out.append((_id, ops))
        return out

    def drop_collection(self, collection: str) -> None:
        """Forget a collection's updates (they were written)."""
        for key in [k for k in self.docs if k[0] == collection]:
            del self.docs[key]
        self.per_collection.pop(collection, None)


def merge(updates: Iterable[Update]) -> MergedUpdates:
    merged = MergedUpdates()
    merged.add_all(updates)
    return merged
