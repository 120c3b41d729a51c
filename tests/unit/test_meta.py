"""The event registry cache: trusted for `registry_ttl` seconds, then read again."""
from __future__ import annotations

from typing import Any

from server.storage.meta import MetaCache

APP = "5f0c5a3b9d1e8a2b3c4d5e6f"


class OneDocStore:
    """Answers every find_one with `doc` and counts the reads."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.reads = 0

    async def find_one(self, collection: str, _id: Any, projection: Any = None) -> dict[str, Any]:
        self.reads += 1
        return self.doc


async def test_registry_is_read_again_after_its_ttl() -> None:
    now = [0.0]
    store = OneDocStore({"list": ["a"], "segments": {"a": ["s"]}})
    cache = MetaCache(store, registry_ttl=60, clock=lambda: now[0])  # type: ignore[arg-type]
    first = await cache.registry(APP)
    assert (first.keys, first.segments) == ({"a"}, {"a": {"s"}})
    first.keys.add("b")  # added by this process's own requests
    store.doc = {}  # meanwhile the app was reset by another worker
    now[0] = 59.0
    assert (await cache.registry(APP)).keys == {"a", "b"}
    assert store.reads == 1
    now[0] = 60.0
    again = await cache.registry(APP)
    assert (again.keys, again.segments) == (set(), {})
    assert store.reads == 2
