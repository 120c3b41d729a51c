"""The `apps` collection and a small cache of apps by key and by id.

Every /i request needs its app; the cache saves that round trip. Entries live `app_cache_ttl`
seconds, so an app changed by another worker process is seen within that time; changes made
through this process invalidate at once.
"""
from __future__ import annotations

import time
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId

from server.mongo import Database
from server.storage.stats import StoreStats

App = dict[str, Any]


def app_id_of(app: App) -> str:
    return str(app["_id"])


def object_id(text: str) -> ObjectId | None:
    try:
        return ObjectId(text)
    except (InvalidId, TypeError):
        return None


class AppCache:
    def __init__(self, db: Database, stats: StoreStats, ttl: float) -> None:
        self.db = db
        self.stats = stats
        self.ttl = ttl
        self._by_key: dict[str, tuple[float, App | None]] = {}
        self._by_id: dict[str, tuple[float, App | None]] = {}

    def invalidate(self) -> None:
        self._by_key.clear()
        self._by_id.clear()

    async def by_key(self, key: str) -> App | None:
        hit = self._by_key.get(key)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        self.stats.round_trips += 1
        app = await self.db["apps"].find_one({"key": key})
        self._by_key[key] = (now + self.ttl, app)
        if len(self._by_key) > 100000:
            self._by_key.clear()
        return app

    async def by_id(self, app_id: str) -> App | None:
        hit = self._by_id.get(app_id)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        oid = object_id(app_id)
        if oid is None:
            return None
        self.stats.round_trips += 1
        app = await self.db["apps"].find_one({"_id": oid})
        self._by_id[app_id] = (now + self.ttl, app)
        if len(self._by_id) > 100000:
            self._by_id.clear()
        return app

    async def all(self) -> list[App]:
        self.stats.round_trips += 1
        apps: list[App] = await self.db["apps"].find({}).sort("_id", 1).to_list(length=None)
        return apps

    async def by_ids(self, ids: list[str]) -> list[App]:
        oids = [o for o in (object_id(i) for i in ids) if o is not None]
        self.stats.round_trips += 1
        apps: list[App] = await self.db["apps"].find({"_id": {"$in": oids}}).sort("_id", 1).to_list(length=None)
        return apps

    async def insert(self, app: App) -> App:
        self.stats.round_trips += 1
        await self.db["apps"].insert_one(app)
        self.invalidate()
        return app

    async def update(self, app_id: str, changes: dict[str, Any]) -> None:
        self.stats.round_trips += 1
        await self.db["apps"].update_one({"_id": object_id(app_id)}, {"$set": changes})
        self.invalidate()

    async def delete(self, app_id: str) -> None:
        self.stats.round_trips += 1
        await self.db["apps"].delete_one({"_id": object_id(app_id)})
        self.invalidate()
