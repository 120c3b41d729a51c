"""Reading and writing time-bucket documents (users, metric collections, event collections)."""
from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from pymongo import UpdateOne
from pymongo.errors import ClientBulkWriteException

from server.mongo import Database
from server.storage.stats import StoreStats

Operations = list[tuple[Any, dict[str, Any]]]  # (_id, update document) pairs of one collection


class AggregateStore:
    """`client_bulk`: write a whole flush with one client-level bulkWrite (MongoDB 8.0+, one round
    trip whatever the number of collections) instead of one bulk_write per collection."""

    def __init__(self, db: Database, stats: StoreStats, *, client_bulk: bool = False) -> None:
        self.db = db
        self.stats = stats
        self.client_bulk = client_bulk

    async def write_all(self, batch: dict[str, Operations]) -> dict[str, Exception]:
        """Upsert every collection's operations (unordered). Returns the collections that were not
        (or not surely) written, with the error; every other collection is written."""
        batch = {c: ops for c, ops in batch.items() if ops}
        if not batch:
            return {}
        if self.client_bulk:
            return await self._write_client(batch)
        colls = list(batch)
        results = await asyncio.gather(*(self.bulk_update(c, batch[c]) for c in colls), return_exceptions=True)
        failed: dict[str, Exception] = {}
        for coll, result in zip(colls, results):
            if isinstance(result, Exception):
                failed[coll] = result
            elif isinstance(result, BaseException):
                raise result
        return failed

    async def bulk_update(self, collection: str, operations: Operations) -> None:
        """One unordered bulk_write of upserts; raises when MongoDB rejects any of them."""
        if not operations:
            return
        requests = [UpdateOne({"_id": _id}, ops, upsert=True) for _id, ops in operations]
        self.stats.round_trips += 1
        self.stats.bulk_writes += 1
        self.stats.docs_written += len(requests)
        await self.db[collection].bulk_write(requests, ordered=False)

    async def _write_client(self, batch: dict[str, Operations]) -> dict[str, Exception]:
        """One client-level bulkWrite. Its per-operation errors name the failed collections; a
        top-level or write-concern error leaves every collection's outcome unknown."""
        models: list[UpdateOne] = []
        owner: list[str] = []
        for coll, operations in batch.items():
            namespace = f"{self.db.name}.{coll}"
            for _id, ops in operations:
                models.append(UpdateOne({"_id": _id}, ops, upsert=True, namespace=namespace))
                owner.append(coll)
        self.stats.round_trips += 1
        self.stats.bulk_writes += 1
        self.stats.docs_written += len(models)
        try:
            await self.db.client.bulk_write(models, ordered=False)
        except ClientBulkWriteException as exc:
            # `idx` is the index in `models` (the driver adds the offset of each server batch).
            errors: list[Any] = list(exc.write_errors or [])  # documents, whatever pymongo's hints say
            indexes = [e.get("idx") for e in errors if isinstance(e, dict)]
            known = [i for i in indexes if isinstance(i, int) and 0 <= i < len(owner)]
            if exc.error is not None or exc.write_concern_errors or not known or len(known) != len(errors):
                return {coll: exc for coll in batch}
            return {owner[i]: exc for i in known}
        except Exception as exc:  # noqa: BLE001 - the driver's errors: none of the flush is known written
            return {coll: exc for coll in batch}
        return {}

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
