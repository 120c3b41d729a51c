"""An app's data: deleting it (app delete, `/i/apps/reset`) and the app-document writes that the
management API needs beyond `AppCache` (key conflicts, unsetting fields).

What belongs to an app:
- time-bucket documents whose `_id` starts with `<appId>_` in `users`, `device_details`,
  `devices`, `carriers`, `cities`;
- one collection per event key (`server.mongo.event_collection_name`), listed by the app's
  registry document in `events` (`_id` ObjectId(appId), `list` of keys);
- `app_users<appId>` (devices) and `metric_changes<appId>`;
- plugin collections: any collection named `plugin_…<appId>`.
"""
from __future__ import annotations

import calendar
import logging
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from server.mongo import AGGREGATE_COLLECTIONS, Database, app_users_name, event_collection_name
from server.storage.apps import App, AppCache, object_id
from server.storage.stats import StoreStats
from server.timebuckets import zone

log = logging.getLogger(__name__)

# Countly's internal events: their collections may exist even if an app's registry lacks them.
INTERNAL_EVENT_KEYS = (
    "[CLY]_session", "[CLY]_view", "[CLY]_crash", "[CLY]_action", "[CLY]_star_rating", "[CLY]_nps",
    "[CLY]_survey", "[CLY]_push_action", "[CLY]_push_sent", "[CLY]_orientation", "[CLY]_consent",
)

# `period` of /i/apps/reset → months of data kept before the current month.
PERIOD_MONTHS = {"1month": 1, "3month": 3, "6month": 6, "1year": 12, "2year": 24}


class KeyInUse(Exception):
    """Another app already has this app key (unique index on `apps.key`)."""


def metric_changes_name(app_id: str) -> str:
    return f"metric_changes{app_id}"


def kept_period(now: float, tz_name: str, months: int) -> tuple[list[str], int]:
    """Pure: the `YYYY:M` and `YYYY:0` bucket ids a partial reset keeps, and the oldest kept instant.

    The current month and the `months` before it are kept (in the app's timezone), with their
    years' zero documents, as Countly's `deletePeriodAppData`; the oldest kept instant is now
    minus `months` calendar months (the day clamped to the shorter month).
    """
    local = datetime.fromtimestamp(now, zone(tz_name))
    year, month = local.year, local.month
    kept: list[str] = []
    for _ in range(months + 1):
        for bucket in (f"{year}:{month}", f"{year}:0"):
            if bucket not in kept:
                kept.append(bucket)
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    back_month = local.month - months
    back_year = local.year + (back_month - 1) // 12
    back_month = (back_month - 1) % 12 + 1
    day = min(local.day, calendar.monthrange(back_year, back_month)[1])
    oldest = local.replace(year=back_year, month=back_month, day=day)
    return kept, int(oldest.timestamp())


class AppData:
    def __init__(self, db: Database, stats: StoreStats, *, plugin_buckets: Iterable[str] = (),
                 plugin_collections: Callable[[str], list[str]] = lambda app_id: []) -> None:
        """`plugin_buckets`: plugins' shared time-bucket collections (`<appId>_…` documents);
        `plugin_collections(app_id)`: per-app collections plugins declared besides `plugin_…<appId>`."""
        self.db = db
        self.stats = stats
        self.bucket_collections = (*AGGREGATE_COLLECTIONS, *plugin_buckets)
        self.plugin_collections = plugin_collections

    async def insert_app(self, apps: AppCache, app: App) -> None:
        """Insert through the cache (which invalidates itself); raises KeyInUse for a taken key."""
        try:
            await apps.insert(app)
        except DuplicateKeyError:
            raise KeyInUse() from None

    async def update_app(self, apps: AppCache, app_id: str, changes: dict[str, Any],
                         unset: Iterable[str] = ()) -> None:
        """`$set` changes and `$unset` fields in one write; raises KeyInUse for a taken key."""
        update: dict[str, Any] = {}
        if changes:
            update["$set"] = changes
        removed = {name: "" for name in unset if name not in changes}
        if removed:
            update["$unset"] = removed
        if not update:
            return
        self.stats.round_trips += 1
        try:
            await self.db["apps"].update_one({"_id": object_id(app_id)}, update)
        except DuplicateKeyError:
            raise KeyInUse() from None
        finally:
            apps.invalidate()

    async def event_collections(self, app_id: str) -> list[str]:
        """Names of the app's event collections that exist."""
        self.stats.round_trips += 1
        registry = await self.db["events"].find_one({"_id": object_id(app_id)}, {"list": 1}) or {}
        keys = [k for k in registry.get("list") or [] if isinstance(k, str)]
        wanted = {event_collection_name(app_id, k) for k in (*keys, *INTERNAL_EVENT_KEYS)}
        return [name for name in await self._collection_names() if name in wanted]

    async def _collection_names(self) -> list[str]:
        self.stats.round_trips += 1
        names: list[str] = await self.db.list_collection_names()
        return names

    async def delete_all(self, app_id: str, *, keep_registry: bool) -> None:
        """Remove every piece of the app's data; the event registry survives when `keep_registry`.

        Used by app deletion (registry removed), `reset` (registry removed) and `all` (registry
        kept, so the dashboard still lists the app's event keys).
        """
        prefix = {"_id": {"$regex": f"^{re.escape(app_id)}_"}}
        for collection in self.bucket_collections:
            self.stats.round_trips += 1
            await self.db[collection].delete_many(prefix)
        doomed = set(await self.event_collections(app_id))
        doomed.update(name for name in await self._collection_names()
                      if name.startswith("plugin_") and name.endswith(app_id))
        doomed.update((app_users_name(app_id), metric_changes_name(app_id), *self.plugin_collections(app_id)))
        for name in sorted(doomed):
            self.stats.round_trips += 1
            await self.db.drop_collection(name)
        if not keep_registry:
            self.stats.round_trips += 1
            await self.db["events"].delete_one({"_id": ObjectId(app_id)})
        log.info("app %s: all data removed%s", app_id, "" if keep_registry else " (with event registry)")

    async def delete_before(self, app_id: str, kept: list[str], oldest: int) -> None:
        """Remove the app's time buckets outside `kept` (`YYYY:M`/`YYYY:0` ids, see `kept_period`).

        Devices last seen before `oldest` get `ls` 1 so they count as returning-unique again, and
        older metric changes go, as in Countly's partial reset. Plugins' time-bucket collections are
        trimmed like the core's; their per-app `plugin_…` collections are left alone.
        """
        keep_ids = [f"{app_id}_{bucket}" for bucket in kept]
        query = {"$and": [{"_id": {"$regex": f"^{re.escape(app_id)}_"}}, {"_id": {"$nin": keep_ids}}]}
        for collection in self.bucket_collections:
            self.stats.round_trips += 1
            await self.db[collection].delete_many(query)
        for name in await self.event_collections(app_id):
            self.stats.round_trips += 1
            await self.db[name].delete_many({"m": {"$nin": kept}})
        self.stats.round_trips += 2
        await self.db[app_users_name(app_id)].update_many({"ls": {"$lte": oldest}}, {"$set": {"ls": 1}})
        await self.db[metric_changes_name(app_id)].delete_many({"ts": {"$lte": oldest}})
        log.info("app %s: data outside %s removed", app_id, ",".join(kept))

    async def last_activity(self, app_id: str) -> int:
        """The latest `lac` (last activity) of the app's devices, 0 when it has none."""
        self.stats.round_trips += 1
        docs = await self.db[app_users_name(app_id)].find({}, {"lac": 1, "_id": 0}).sort(
            "lac", -1).limit(1).to_list(length=1)
        value = docs[0].get("lac") if docs else 0
        return int(value) if isinstance(value, (int, float)) else 0
