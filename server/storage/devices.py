"""Per-device state (`app_users<appId>`): one atomic, versioned `find_one_and_update` a request.

The state change of a request is computed by a pure function of the state before. The write is
conditioned on the version `v` the function saw, so two processes (or two concurrent first
requests of one device) can never both apply a change computed from the same state: the loser
re-reads and recomputes. A first request inserts with an upsert filtered on "no version yet";
when the document already exists that upsert fails with a duplicate key and the request is
recomputed from the stored state. Within one process, requests of one device are serialised by
a lock and the last known state is cached, so the usual cost is one round trip.
"""
from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError, PyMongoError

from server.errors import ServiceUnavailable
from server.mongo import Database, app_users_name
from server.storage.stats import StoreStats

log = logging.getLogger(__name__)

R = TypeVar("R")
State = dict[str, Any]
Transition = Callable[[State | None], tuple[State | None, R]]
MAX_ATTEMPTS = 8


class _Lock:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class DeviceStore(Generic[R]):
    def __init__(self, db: Database, stats: StoreStats, cache_size: int) -> None:
        self.db = db
        self.stats = stats
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, str], State] = OrderedDict()
        self._locks: dict[tuple[str, str], _Lock] = {}

    def forget_app(self, app_id: str) -> None:
        for key in [k for k in self._cache if k[0] == app_id]:
            del self._cache[key]

    def _remember(self, key: tuple[str, str], state: State) -> None:
        self._cache[key] = state
        self._cache.move_to_end(key)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    async def apply(self, app_id: str, device_key: str, transition: Transition[R], *, existing: bool = False) -> R:
        """Apply `transition` to the device's state atomically; returns the transition's result.

        A device not in the cache is first assumed new (saving a read for first requests); with
        `existing` its stored state is read first (for transitions that need the real state).
        """
        key = (app_id, device_key)
        holder = self._locks.get(key)
        if holder is None:
            holder = self._locks[key] = _Lock()
        holder.users += 1
        try:
            async with holder.lock:
                if existing and key not in self._cache:
                    await self._reload(self.db[app_users_name(app_id)], key)
                return await self._apply_locked(key, transition)
        finally:
            holder.users -= 1
            if holder.users == 0:
                del self._locks[key]

    async def _apply_locked(self, key: tuple[str, str], transition: Transition[R]) -> R:
        coll = self.db[app_users_name(key[0])]
        for _ in range(MAX_ATTEMPTS):
            old = self._cache.get(key)
            # Transitions copy the state they change (see process.transition); nested values are
            # replaced, never mutated, so a shallow copy protects the cached state.
            new, result = transition(dict(old) if old is not None else None)
            if new is None or new == old:
                return result
            new = dict(new, _id=key[1])
            version = int(old.get("v", 0)) if old is not None else 0
            new["v"] = version + 1
            if old is None:
                filt: dict[str, Any] = {"_id": key[1], "v": {"$exists": False}}
                update: dict[str, Any] = {"$set": {k: v for k, v in new.items() if k != "_id"}}
            else:
                filt = {"_id": key[1], "v": version}
                update = _diff(old, new)
            try:
                self.stats.round_trips += 1
                self.stats.device_ops += 1
                # Only whether a document matched matters: MongoDB sends back just its _id.
                before = await coll.find_one_and_update(filt, update, projection={"_id": 1}, upsert=old is None,
                                                        return_document=ReturnDocument.BEFORE)
            except DuplicateKeyError:
                before = "conflict"
            except PyMongoError as exc:
                self._cache.pop(key, None)
                if await self._applied_anyway(coll, key, new):
                    return result
                self.stats.failures += 1
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                raise ServiceUnavailable("Database unavailable, please retry later") from exc
            if (old is None and before is None) or (old is not None and before is not None
                                                    and before != "conflict"):
                self._remember(key, new)
                return result
            self.stats.device_conflicts += 1
            await self._reload(coll, key)
        raise ServiceUnavailable("Cannot process request. Too many retries")

    async def _reload(self, coll: Any, key: tuple[str, str]) -> None:
        try:
            self.stats.round_trips += 1
            doc = await coll.find_one({"_id": key[1]})
        except PyMongoError as exc:
            raise ServiceUnavailable("Database unavailable, please retry later") from exc
        if doc is None:
            self._cache.pop(key, None)
        else:
            self._remember(key, doc)

    async def _applied_anyway(self, coll: Any, key: tuple[str, str], new: State) -> bool:
        """After an error of unknown outcome: did our write land? (then the request succeeded)."""
        try:
            self.stats.round_trips += 1
            doc = await coll.find_one({"_id": key[1]})
        except PyMongoError:
            return False
        if doc is not None and doc == new:
            self._remember(key, doc)
            return True
        return False

    async def delete(self, app_id: str, device_key: str) -> None:
        self._cache.pop((app_id, device_key), None)
        self.stats.round_trips += 1
        try:
            await self.db[app_users_name(app_id)].delete_one({"_id": device_key})
        except PyMongoError as exc:
            raise ServiceUnavailable("Database unavailable, please retry later") from exc

    async def find(self, app_id: str, device_key: str) -> State | None:
        cached = self._cache.get((app_id, device_key))
        if cached is not None:
            return dict(cached)
        self.stats.round_trips += 1
        doc: State | None = await self.db[app_users_name(app_id)].find_one({"_id": device_key})
        return doc

    async def count(self, app_id: str, query: dict[str, Any]) -> int:
        self.stats.round_trips += 1
        return int(await self.db[app_users_name(app_id)].count_documents(query))

    async def group_count(self, app_id: str, query: dict[str, Any], field: str) -> list[dict[str, Any]]:
        """[{"_id": value, "u": n}] of devices matching `query`, grouped by `field`."""
        self.stats.round_trips += 1
        pipeline = [{"$match": query}, {"$group": {"_id": f"${field}", "u": {"$sum": 1}}}]
        cursor = self.db[app_users_name(app_id)].aggregate(pipeline)
        return [d async for d in cursor]

    async def scan(self, app_id: str, query: dict[str, Any], limit: int = 1000) -> list[State]:
        self.stats.round_trips += 1
        cursor = self.db[app_users_name(app_id)].find(query).limit(limit)
        docs: list[State] = await cursor.to_list(length=limit)
        return docs


def _diff(old: State, new: State) -> dict[str, Any]:
    changed = {k: v for k, v in new.items() if k != "_id" and old.get(k) != v}
    removed = {k: "" for k in old if k not in new and k != "_id"}
    update: dict[str, Any] = {"$set": changed}
    if removed:
        update["$unset"] = removed
    return update
