"""Closes sessions that ended without a later begin_session, or that went quiet.

Browsers rarely send end_session, and an ended session is only counted (duration bucket `ds`)
once its cooldown is over. The state that says "close me" (`pc`, or `hos` with an old `lac`)
lives in the device document, so pending closes survive a restart: this loop finds them with an
indexed query on every app's devices.
"""
from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

from aiohttp import web

from server import keys
from server.ingest.process import Context, close_due
from server.storage.apps import app_id_of
from server.storage.meta import Registry

log = logging.getLogger(__name__)
BATCH = 1000


class SessionCloser:
    def __init__(self, app: web.Application) -> None:
        self.app = app
        self._task: asyncio.Task[None] | None = None

    async def close_due(self, now: float | None = None) -> int:
        """Close every due session now; returns how many were closed. Tests call this directly."""
        app = self.app
        settings = app[keys.SETTINGS]
        now = app[keys.CLOCK]() if now is None else now
        closed = 0
        pending = []
        query: dict[str, Any] = {"$or": [{"pc": {"$lte": now}},
                                         {"hos": True, "lac": {"$lte": now - settings.session_timeout}}]}
        for doc in await app[keys.APPS].all():
            app_id = app_id_of(doc)
            ctx = Context(app_id=app_id, tz=doc.get("timezone") or settings.default_timezone, app_country="",
                          settings=settings, registry=Registry(), allows=lambda *a: True)
            for device in await app[keys.DEVICES].scan(app_id, query, BATCH):
                outcome = await app[keys.DEVICES].apply(app_id, device["_id"], partial(close_due, now=now, ctx=ctx))
                if outcome.updates:
                    closed += 1
                    pending.append(app[keys.BATCHER].enqueue(outcome.updates))
        for done in pending:
            await app[keys.BATCHER].wait(done)
        return closed

    async def _run(self) -> None:
        interval = self.app[keys.SETTINGS].closer_interval
        while True:
            await asyncio.sleep(interval)
            try:
                n = await self.close_due()
                if n:
                    log.debug("closed %d sessions", n)
            except Exception:
                log.exception("session closer failed")

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="tally-closer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
