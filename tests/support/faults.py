"""A fault-injecting wrapper around the embedded store: errors, slowness, unknown outcomes.

`Faults.fail("bulk_write")` makes every bulk write raise `AutoReconnect` before it reaches the
store; `fail_after=True` applies the write and then raises (the outcome a client sees when the
connection drops after the server acted); `delay` slows operations down; `clear()` recovers.
Reads through cursors are not wrapped.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from pymongo.errors import AutoReconnect

WRAPPED = frozenset({"find_one", "find_one_and_update", "bulk_write", "insert_one", "update_one",
                     "delete_one", "delete_many", "count_documents"})


@dataclass
class Faults:
    failing: set[str] = field(default_factory=set)       # operation names that fail
    collections: set[str] | None = None                   # only these collections (None: all)
    fail_after: bool = False                              # apply, then raise
    delay: float = 0.0                                    # seconds added to every wrapped call
    calls: int = 0
    injected: int = 0

    def fail(self, *ops: str, collections: set[str] | None = None, after: bool = False) -> None:
        self.failing = set(ops)
        self.collections = collections
        self.fail_after = after

    def clear(self) -> None:
        self.failing = set()
        self.collections = None
        self.fail_after = False
        self.delay = 0.0

    def hits(self, op: str, collection: str) -> bool:
        return op in self.failing and (self.collections is None or collection in self.collections)


class FaultyCollection:
    def __init__(self, inner: Any, name: str, faults: Faults) -> None:
        self._inner = inner
        self._name = name
        self._faults = faults

    def __getattr__(self, op: str) -> Any:
        target = getattr(self._inner, op)
        if op not in WRAPPED:
            return target
        faults, name = self._faults, self._name

        async def call(*args: Any, **kwargs: Any) -> Any:
            faults.calls += 1
            if faults.delay:
                await asyncio.sleep(faults.delay)
            if faults.hits(op, name) and not faults.fail_after:
                faults.injected += 1
                raise AutoReconnect(f"injected failure of {op} on {name}")
            result = await target(*args, **kwargs)
            if faults.hits(op, name):
                faults.injected += 1
                raise AutoReconnect(f"injected failure after {op} on {name}")
            return result

        return call


class FaultyDatabase:
    def __init__(self, inner: Any, faults: Faults) -> None:
        self._inner = inner
        self.faults = faults

    def __getitem__(self, name: str) -> FaultyCollection:
        return FaultyCollection(self._inner[name], name, self.faults)

    def __getattr__(self, name: str) -> Any:
        if name in ("command", "list_collection_names", "drop_collection", "name", "client"):
            return getattr(self._inner, name)
        return self[name]
