"""The application factory: synchronous, no I/O. Resources live in cleanup contexts."""
from __future__ import annotations

import gc
import logging
import time
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from server import keys, mongo
from server.output import error_middleware, message
from server.settings import Settings
from server.storage.aggregates import AggregateStore
from server.storage.apps import AppCache
from server.storage.batcher import WriteBatcher
from server.storage.devices import DeviceStore
from server.storage.members import MemberStore
from server.storage.meta import MetaCache
from server.storage.stats import StoreStats

log = logging.getLogger(__name__)


def create_app(settings: Settings, *, clock: Callable[[], float] = time.time,
               database: mongo.Database | None = None, start_background: bool = True) -> web.Application:
    """Build Tally. `database` replaces the configured store (tests, fault injection, benchmark);
    `start_background=False` leaves the batcher and closer loops off so tests drive them."""
    from server.ingest.routes import routes as ingest_routes
    from server.manage.routes import routes as manage_routes
    from server.plugin_manager import setup_plugins
    from server.read.analytics_routes import routes as analytics_routes
    from server.read.routes import routes as read_routes
    from server.widget.routes import routes as widget_routes

    app = web.Application(middlewares=[error_middleware], client_max_size=8 * 1024 * 1024)
    app[keys.SETTINGS] = settings
    app[keys.CLOCK] = clock
    app[keys.STATS] = StoreStats()
    app.router.add_get("/o/ping", ping)
    app.router.add_routes(ingest_routes)
    app.router.add_routes(manage_routes)
    app.router.add_routes(read_routes)
    app.router.add_routes(analytics_routes)
    app.router.add_routes(widget_routes)
    app.cleanup_ctx.append(_store_ctx(database))
    app.cleanup_ctx.append(_batcher_ctx(start_background))
    app.cleanup_ctx.append(_closer_ctx(start_background))
    app.on_shutdown.append(_drain)
    setup_plugins(app)
    return app


def _store_ctx(database: mongo.Database | None) -> Callable[[web.Application], AsyncIterator[None]]:
    async def store(app: web.Application) -> AsyncIterator[None]:
        settings, stats = app[keys.SETTINGS], app[keys.STATS]
        client = None
        if database is None:
            client, db = mongo.open_client(settings)
        else:
            db = database
        await mongo.ping(db)
        await mongo.create_indexes(db)
        app[keys.DB] = db
        app[keys.APPS] = AppCache(db, stats, settings.app_cache_ttl)
        app[keys.DEVICES] = DeviceStore(db, stats, settings.device_cache_size)
        app[keys.META] = MetaCache(AggregateStore(db, stats))
        if settings.admin_api_key:
            await MemberStore(db, stats).ensure_global_admin(settings.admin_api_key)
        yield
        if client is not None:
            mongo.close_client(client)

    return store


def _batcher_ctx(start: bool) -> Callable[[web.Application], AsyncIterator[None]]:
    async def batcher(app: web.Application) -> AsyncIterator[None]:
        s = app[keys.SETTINGS]
        client_bulk = await mongo.client_bulk_write(app[keys.DB], s.bulk_write)
        log.info("group commit: %s per flush", "one client-level bulkWrite" if client_bulk
                 else "one bulk_write per collection")
        store = AggregateStore(app[keys.DB], app[keys.STATS], client_bulk=client_bulk)
        b = WriteBatcher(store.write_all, app[keys.STATS], interval_ms=s.batch_interval_ms,
                         max_updates=s.batch_max_updates, max_pending=s.max_pending_updates,
                         timeout=s.write_timeout, backoff_max=s.retry_backoff_max)
        app[keys.BATCHER] = b
        if start:
            b.start()
        yield
        await b.close()

    return batcher


def _closer_ctx(start: bool) -> Callable[[web.Application], AsyncIterator[None]]:
    async def closer(app: web.Application) -> AsyncIterator[None]:
        from server.ingest.closer import SessionCloser

        c = SessionCloser(app)
        app[keys.CLOSER] = c
        if start:
            c.start()
        yield
        await c.stop()

    return closer


def tune_gc() -> None:
    """For a serving process: start-up objects never die, so freeze them out of the collector,
    and collect less often (each request allocates many short-lived containers; the device cache
    makes every full collection long)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


async def _drain(app: web.Application) -> None:
    """SIGTERM/SIGINT: new connections are refused already; write in-flight requests' data now."""
    if keys.BATCHER in app:
        app[keys.BATCHER].drain()


async def ping(request: web.Request) -> web.Response:
    try:
        await mongo.ping(request.app[keys.DB])
    except Exception:  # noqa: BLE001 - any driver failure means "not ready"
        return message(request, "DB Error", 404)
    return message(request, "Success")
