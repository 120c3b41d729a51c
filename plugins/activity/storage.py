"""Driver calls of the activity data (`plugin_activity_<appId>`): the only I/O of the plugin.

Documents: `{_id: sha1(app_key + device_id), i: device_id, d: [day numbers]}`, with indexes on
`d` (multikey: finds the devices active in a day range) and `i` (device order for merging).
"""
from __future__ import annotations

import heapq
from collections.abc import AsyncIterator, Sequence
from typing import Any

from aiohttp import web

from server import keys
from server.mongo import Database
from server.storage.stats import StoreStats

PLUGIN = "activity"


def collection_name(app_id: str) -> str:
    return f"plugin_activity_{app_id}"


def range_query(lo: int | None, hi: int | None) -> dict[str, Any]:
    """Devices with at least one active day in lo…hi (either bound may be open)."""
    if lo is None and hi is None:
        return {}
    if lo is None:
        return {"d": {"$lte": hi}}
    if hi is None:
        return {"d": {"$gte": lo}}
    return {"d": {"$elemMatch": {"$gte": lo, "$lte": hi}}}


class ActivityStore:
    def __init__(self, db: Database, stats: StoreStats, indexed: set[str]) -> None:
        self.db = db
        self.stats = stats
        self._indexed = indexed   # apps whose indexes this process already ensured

    @classmethod
    def of(cls, app: web.Application) -> ActivityStore:
        state = app[keys.PLUGINS].state.setdefault(PLUGIN, {"indexed": set()})
        return cls(app[keys.DB], app[keys.STATS], state["indexed"])

    async def ensure_indexes(self, app_id: str) -> None:
        if app_id in self._indexed:
            return
        coll = self.db[collection_name(app_id)]
        self.stats.round_trips += 2
        await coll.create_index("d")
        await coll.create_index("i")
        self._indexed.add(app_id)

    async def devices(self, app_id: str, lo: int | None, hi: int | None) -> AsyncIterator[tuple[str, list[int]]]:
        """(device_id, days) of the app's devices active in lo…hi, in device_id order."""
        await self.ensure_indexes(app_id)
        self.stats.round_trips += 1
        cursor = self.db[collection_name(app_id)].find(range_query(lo, hi), {"_id": 0, "i": 1, "d": 1}).sort("i", 1)
        # the planner may filter with the `d` index and sort in memory: let big sorts spill to disk
        cursor = cursor.allow_disk_use(True)
        async for doc in cursor:
            days = doc.get("d")
            yield str(doc.get("i", "")), [x for x in days if isinstance(x, int)] if isinstance(days, list) else []

    async def merged(self, app_ids: Sequence[str], lo: int | None,
                     hi: int | None) -> AsyncIterator[dict[int, list[int]]]:
        """One item per distinct device_id active in lo…hi in any of the apps: {app index: days}.

        The apps' cursors are sorted by device_id and merged like a k-way merge sort, so a
        device_id known to several apps (or to one app under two app keys) is one device, and
        memory stays O(number of apps). The union of an item's values is the device's activity
        across the apps.
        """
        streams = [self.devices(a, lo, hi) for a in app_ids]
        heap: list[tuple[str, int, list[int]]] = []
        for n, stream in enumerate(streams):
            head = await anext(stream, None)
            if head is not None:
                heapq.heappush(heap, (head[0], n, head[1]))
        current: str | None = None
        found: dict[int, list[int]] = {}
        while heap:
            device, n, days = heapq.heappop(heap)
            if device != current:
                if current is not None:
                    yield found
                current, found = device, {}
            found.setdefault(n, []).extend(days)
            head = await anext(streams[n], None)
            if head is not None:
                heapq.heappush(heap, (head[0], n, head[1]))
        if current is not None:
            yield found
