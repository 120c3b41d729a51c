"""Every object stored on the aiohttp application, as typed keys (no string keys, no globals)."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from server.ingest.closer import SessionCloser
    from server.mongo import Database
    from server.plugin_manager import Plugins
    from server.settings import Settings
    from server.storage.apps import AppCache
    from server.storage.batcher import WriteBatcher
    from server.storage.devices import DeviceStore
    from server.storage.meta import MetaCache
    from server.storage.stats import StoreStats

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
CLOCK: web.AppKey[Callable[[], float]] = web.AppKey("clock")
DB: web.AppKey[Database] = web.AppKey("db")
STATS: web.AppKey[StoreStats] = web.AppKey("stats")
APPS: web.AppKey[AppCache] = web.AppKey("apps")
BATCHER: web.AppKey[WriteBatcher] = web.AppKey("batcher")
DEVICES: web.AppKey[DeviceStore] = web.AppKey("devices")
META: web.AppKey[MetaCache] = web.AppKey("meta")
CLOSER: web.AppKey[SessionCloser] = web.AppKey("closer")
PLUGINS: web.AppKey[Plugins] = web.AppKey("plugins")
