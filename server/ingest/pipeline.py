"""Orchestration of one SDK request: app, checksum, device state, batcher (the only I/O here).

The order is Countly's: identity (400), app (400), paused (400), checksum (200 with a message),
then the request is applied to the device state in one atomic operation and its aggregate updates
are handed to the write batcher. The reply waits until those updates are written.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Hashable, Mapping
from functools import partial
from typing import Any

from aiohttp import web

from server import keys
from server.errors import BadRequest, ServiceUnavailable
from server.ingest import checksum
from server.ingest.process import Context, Outcome, WriteHook, merge_device, transition
from server.ingest.request import SdkRequest, parse
from server.mongo import event_collection_name
from server.storage.apps import App, AppCache, app_id_of
from server.timebuckets import parts

log = logging.getLogger(__name__)

SUCCESS = "Success"
DUPLICATE_INFO = "Request ignored: Duplicate request"
METRIC_COLLECTIONS = ("device_details", "devices", "carriers", "cities")


def client_ip(request: web.Request) -> str | None:
    forwarded = request.headers.get("X-Forwarded-For")
    if forwarded:
        return forwarded.split(",")[0].strip()
    real = request.headers.get("X-Real-IP")
    if real:
        return real.strip()
    return request.remote


def device_key(app_key: str, device_id: str) -> str:
    """The `_id` of a device document: sha1(app_key + device_id), as Countly's."""
    return hashlib.sha1((app_key + device_id).encode()).hexdigest()


class Ingestor:
    """Applies SDK requests; one per application (reads its resources from the app keys)."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.settings = app[keys.SETTINGS]

    @property
    def apps(self) -> AppCache:
        return self.app[keys.APPS]

    def check_room(self) -> None:
        if not self.app[keys.BATCHER].has_room():
            raise ServiceUnavailable("Server busy, please retry later")

    async def app_for(self, app_key: str) -> App:
        found = await self.apps.by_key(app_key)
        if found is None:
            raise BadRequest("App does not exist")
        if found.get("paused"):
            raise BadRequest("App is currently not accepting data")
        return found

    def parse(self, values: Mapping[str, Any], ip: str | None, fallback_app_key: Any = None) -> SdkRequest:
        return parse(values, self.app[keys.CLOCK](), duration_limit=self.settings.session_duration_limit,
                     client_ip=ip, fallback_app_key=fallback_app_key)

    async def apply(self, req: SdkRequest, app: App) -> tuple[Outcome, asyncio.Future[bool] | None]:
        """Apply the request to its device; returns its outcome and the write to wait for."""
        app_id = app_id_of(app)
        meta = self.app[keys.META]
        registry = await meta.registry(app_id)
        tz = app.get("timezone") or self.settings.default_timezone
        await self._preload(req, app_id, tz)
        ctx = Context(app_id=app_id, tz=tz, app_country=str(app.get("country") or ""), settings=self.settings,
                      registry=registry, allows=self._allows, write_hook=self._write_hook(),
                      omitted_segments=frozenset(app.get("omitted_segments") or ()))
        key = device_key(req.app_key, req.device_id)
        if req.old_device_id is not None:
            await self._merge(app_id, req, key)
        outcome: Outcome = await self.app[keys.DEVICES].apply(app_id, key, lambda old: transition(old, req, ctx))
        batcher = self.app[keys.BATCHER]
        stats = self.app[keys.STATS]
        token: Hashable | None = (app_id, key, req.fingerprint) if req.fingerprint is not None else None
        if outcome.duplicate:
            stats.duplicates += 1
            return outcome, batcher.pending_for(token) if token else None
        stats.requests += 1
        self.app[keys.CLOSER].track(app_id, key, outcome.close_at)
        return outcome, batcher.enqueue(outcome.updates, token)

    async def _merge(self, app_id: str, req: SdkRequest, key: str) -> None:
        """Move the history of `old_device_id` to the request's device (then drop the old one)."""
        assert req.old_device_id is not None
        devices = self.app[keys.DEVICES]
        old_key = device_key(req.app_key, req.old_device_id)
        previous = await devices.find(app_id, old_key)
        if previous is None:
            return
        await devices.apply(app_id, key, partial(merge_device, previous, old_key, device_id=req.device_id),
                            existing=True)
        await devices.delete(app_id, old_key)

    def _allows(self, collection: str, zero_id: str, set_name: str, value: str) -> bool:
        s = self.settings
        limit = s.event_segmentation_value_limit if collection.startswith("events") else s.metric_limit
        return self.app[keys.META].allows(collection, zero_id, set_name, value, limit)

    async def _preload(self, req: SdkRequest, app_id: str, tz: str) -> None:
        """Load (once per process) the value sets the limits need, so processing stays pure."""
        meta = self.app[keys.META]
        if req.begin:
            year = parts(req.ts, tz).year
            plugins = self.app.get(keys.PLUGINS)
            extra = plugins.bucket_collections() if plugins is not None else ()
            for coll in (*METRIC_COLLECTIONS, *extra):
                await meta.load(coll, f"{app_id}_{year}:0")
        for ev in req.events:
            await meta.load(event_collection_name(app_id, ev.key), f"no-segment_{parts(ev.ts, tz).year}:0")

    def _write_hook(self) -> WriteHook | None:
        plugins = self.app.get(keys.PLUGINS)
        return plugins.write_hook if plugins is not None else None

    async def verify_checksum(self, app: App, values: Mapping[str, Any], payloads: list[str]) -> str | None:
        salt = checksum.app_salt(app)
        if not salt:
            return None
        return checksum.verify(salt, values, payloads)

    async def wait(self, pending: list[asyncio.Future[bool]]) -> None:
        batcher = self.app[keys.BATCHER]
        for done in pending:
            await batcher.wait(done)


def reply(outcome: Outcome | None = None, warnings: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"result": SUCCESS}
    if outcome is not None and outcome.duplicate:
        body["info"] = DUPLICATE_INFO
    all_warnings = (outcome.warnings if outcome else []) + (warnings or [])
    if all_warnings:
        body["warnings"] = all_warnings
    return body
