"""Closes sessions that ended without a later begin_session, or that went quiet.

Browsers rarely send end_session, and an ended session is only counted (duration bucket `ds`)
once its cooldown is over. When a request leaves a device with a session to close later, the
write path tells the closer when (`track`); the closer keeps those times in a heap and closes
what is due every `closer_interval` seconds without touching the database otherwise.

The state that says "close me" (`pc`, or `hos` with `lac`) lives in the device document, so
pending closes survive a restart and sessions touched by other worker processes are not lost:
at start-up and every `closer_scan_interval` seconds the closer also queries every app's
devices (indexed on `pc` and `lac`). Closing is a versioned device transition, so two
processes closing one session count it once.
"""
from __future__ import annotations

import asyncio
import heapq
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
Device = tuple[str, str]  # (app id, device key)


class SessionCloser:
    def __init__(self, app: web.Application) -> None:
        self.app = app
        self._task: asyncio.Task[None] | None = None
        self._due: dict[Device, float] = {}
        self._heap: list[tuple[float, str, str]] = []
        self._scanned_at: float | None = None

    def track(self, app_id: str, device_key: str, close_at: float | None) -> None:
        """The device's session is to be closed at `close_at` (None: nothing to close)."""
        device = (app_id, device_key)
        if close_at is None:
            self._due.pop(device, None)
        elif self._due.get(device) != close_at:
            self._due[device] = close_at
            heapq.heappush(self._heap, (close_at, app_id, device_key))
            if len(self._heap) > 2 * len(self._due) + 1024:  # drop superseded entries (amortised)
                self._heap = [(at, a, k) for (a, k), at in self._due.items()]
                heapq.heapify(self._heap)

    def _due_now(self, now: float) -> list[Device]:
        found: list[Device] = []
        while self._heap and self._heap[0][0] <= now:
            at, app_id, key = heapq.heappop(self._heap)
            if self._due.get((app_id, key)) == at:  # else superseded by a later track()
                del self._due[(app_id, key)]
                found.append((app_id, key))
        return found

    async def _scan(self, now: float) -> list[Device]:
        settings = self.app[keys.SETTINGS]
        query: dict[str, Any] = {"$or": [{"pc": {"$lte": now}},
                                         {"hos": True, "lac": {"$lte": now - settings.session_timeout}}]}
        found: list[Device] = []
        for doc in await self.app[keys.APPS].all():
            app_id = app_id_of(doc)
            found += [(app_id, d["_id"]) for d in await self.app[keys.DEVICES].scan(app_id, query, BATCH)]
        self._scanned_at = now
        return found

    async def close_due(self, now: float | None = None) -> int:
        """Close every due session now; returns how many were closed. Tests call this directly."""
        app = self.app
        settings = app[keys.SETTINGS]
        now = app[keys.CLOCK]() if now is None else now
        devices = self._due_now(now)
        if self._scanned_at is None or now - self._scanned_at >= settings.closer_scan_interval:
            devices += await self._scan(now)
        closed = 0
        pending = []
        contexts: dict[str, Context | None] = {}
        for app_id, key in dict.fromkeys(devices):
            if app_id not in contexts:
                contexts[app_id] = await self._context(app_id)
            ctx = contexts[app_id]
            if ctx is None:
                continue
            outcome = await app[keys.DEVICES].apply(app_id, key, partial(close_due, now=now, ctx=ctx), existing=True)
            self.track(app_id, key, outcome.close_at)
            if outcome.updates:
                closed += 1
                pending.append(app[keys.BATCHER].enqueue(outcome.updates))
        for done in pending:
            await app[keys.BATCHER].wait(done)
        return closed

    async def _context(self, app_id: str) -> Context | None:
        settings = self.app[keys.SETTINGS]
        doc = await self.app[keys.APPS].by_id(app_id)
        if doc is None:  # the app was deleted
            return None
        return Context(app_id=app_id, tz=doc.get("timezone") or settings.default_timezone, app_country="",
                       settings=settings, registry=Registry(), allows=lambda *a: True)

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
            await asyncio.wait({self._task}, timeout=5)
            self._task = None
