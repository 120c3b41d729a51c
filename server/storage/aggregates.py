"""Reading and writing time-bucket documents (users, metric collections, event collections)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pymongo import UpdateOne

from server.mongo import Database
from server.storage.stats import StoreStats


class AggregateStore:
    def __init__(self, db: Database, stats: StoreStats) -> None:
        self.db = db
        self.stats = stats

    async def bulk_update(self, collection: str, operations: list[tuple[str, dict[str, Any]]]) -> None:
        """One unordered bulk_write of upserts; raises when MongoDB rejects any of them."""
        if not operations:
            return
        requests = [UpdateOne({"_id": _id}, ops, upsert=True) for _id, ops in operations]
        self.stats.round_trips += 1
        self.stats.bulk_writes += 1
        self.stats.docs_written += len(requests)
        try:
            await self.db[collection].bulk_write(requests, ordered=False)
        except Exception:
            self.stats.failures += 1
            raise

    async def find(self, collection: str, ids: Iterable[str],
                   projection: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The documents with these ids that exist (one round trip)."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        self.stats.round_trips += 1
        cursor = self.db[collection].find({"_id": {"$in": wanted}}, projection)
        docs: list[dict[str, Any]] = await cursor.to_list(length=None)
        order = {i: n for n, i in enumerate(wanted)}
        docs.sort(key=lambda d: order.get(d["_id"], 0))
        return docs

    async def find_one(self, collection: str, _id: Any,
                       projection: dict[str, Any] | None = None) -> dict[str, Any] | None:
        self.stats.round_trips += 1
        doc: dict[str, Any] | None = await self.db[collection].find_one({"_id": _id}, projection)
        return doc
