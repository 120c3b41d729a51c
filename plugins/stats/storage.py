"""Driver calls of the statistics plugin beyond the core's stores: whole-history reads."""
from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from server import keys
from server.mongo import event_collection_name
from server.storage.apps import object_id


class HistoryStore:
    """All month documents of an app (account totals need every month ever written)."""

    def __init__(self, app: web.Application) -> None:
        self.db = app[keys.DB]
        self.stats = app[keys.STATS]

    async def _month_docs(self, collection: str, prefix: str) -> list[dict[str, Any]]:
        self.stats.round_trips += 1
        cursor = self.db[collection].find({"_id": {"$regex": f"^{re.escape(prefix)}[0-9]+:"}})
        docs: list[dict[str, Any]] = await cursor.to_list(length=None)
        return [d for d in docs if not str(d.get("m", "")).endswith(":0")]

    async def users_months(self, app_id: str) -> list[dict[str, Any]]:
        return await self._month_docs("users", f"{app_id}_")

    async def event_keys(self, app_id: str) -> list[str]:
        """The app's custom event keys (its registry's `list`, without Countly's `[CLY]_` events)."""
        self.stats.round_trips += 1
        reg = await self.db["events"].find_one({"_id": object_id(app_id)}, {"list": 1}) or {}
        return [k for k in reg.get("list") or [] if isinstance(k, str) and not k.startswith("[CLY]_")]

    async def event_months(self, app_id: str, key: str) -> list[dict[str, Any]]:
        return await self._month_docs(event_collection_name(app_id, key), "no-segment_")
