"""The write batcher: group commit of every aggregate update.

Requests hand their updates to `submit`, which merges them into the open batch and waits until
that batch is written. A flush happens `batch_interval_ms` after the first pending update, or at
once when `batch_max_updates` are pending; it sends one unordered `bulk_write` per collection, or
one client-level bulkWrite for all of them (MongoDB 8.0+, see `AggregateStore.write_all`).

When MongoDB fails, the batch is kept (only the collections that failed) and retried with
back-off; newer updates are merged into it. Waiting requests get a 503 after `write_timeout`
but their updates stay queued and are written when MongoDB is back, so an SDK retry must not
count them again (see `pending_for`). `has_room` bounds memory: /i answers 503 before touching
any state once `max_pending_updates` are unwritten.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from server.errors import ServiceUnavailable
from server.storage.merge import MergedUpdates, Update
from server.storage.stats import StoreStats

log = logging.getLogger(__name__)

# Writes a flush {collection: [(_id, update document), …]}; returns the collections not written.
BulkWriter = Callable[[dict[str, list[tuple[Any, dict[str, Any]]]]], Awaitable[dict[str, Exception]]]


@dataclass
class _Batch:
    updates: MergedUpdates = field(default_factory=MergedUpdates)
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    tokens: set[Hashable] = field(default_factory=set)
    answer: asyncio.Future[bool] | None = None  # what requests await: True written, False timed out

    def answer_within(self, timeout: float) -> asyncio.Future[bool]:
        """One deadline per batch, from its first request on (cheaper than a timeout per request):
        True once the batch is written, False if `timeout` passes first. A request that comes after
        the deadline passed (an SDK retry of a request still unwritten) gets a deadline of its own."""
        expired = self.answer is not None and self.answer.done() and not self.answer.result()
        if self.answer is None or (expired and not self.done.done()):
            loop = asyncio.get_running_loop()
            answer: asyncio.Future[bool] = loop.create_future()
            timer = loop.call_later(timeout, _settle, answer, False)

            def written(_: asyncio.Future[None]) -> None:
                timer.cancel()
                _settle(answer, True)

            self.done.add_done_callback(written)
            self.answer = answer
        return self.answer


def _settle(answer: asyncio.Future[bool], written: bool) -> None:
    if not answer.done():
        answer.set_result(written)


class WriteBatcher:
    def __init__(self, write: BulkWriter, stats: StoreStats, *, interval_ms: float, max_updates: int,
                 max_pending: int, timeout: float, backoff_max: float = 5.0) -> None:
        self._write = write
        self.stats = stats
        self.interval = interval_ms / 1000.0
        self.max_updates = max_updates
        self.max_pending = max_pending
        self.timeout = timeout
        self.backoff_max = backoff_max
        self._open = _Batch()
        self._retrying: _Batch | None = None
        self._wake = asyncio.Event()
        self._full = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    # ---- producer side -------------------------------------------------------------------------
    def has_room(self) -> bool:
        return self.pending() < self.max_pending and not self._closing

    def pending(self) -> int:
        retrying = self._retrying.updates.count if self._retrying else 0
        return self._open.updates.count + retrying

    def pending_for(self, token: Hashable) -> asyncio.Future[bool] | None:
        """The write a request with this fingerprint is still waiting for, if any."""
        for batch in (self._retrying, self._open):
            if batch is not None and token in batch.tokens:
                return batch.answer_within(self.timeout)
        return None

    def enqueue(self, updates: Iterable[Update], token: Hashable | None = None) -> asyncio.Future[bool]:
        """Merge updates into the open batch (no await: atomic with the caller's state change)."""
        batch = self._open
        batch.updates.add_all(updates)
        if token is not None:
            batch.tokens.add(token)
        self.stats.pending_updates = self.pending()
        self._wake.set()
        if batch.updates.count >= self.max_updates:
            self._full.set()
        return batch.answer_within(self.timeout)

    async def wait(self, answer: asyncio.Future[bool]) -> None:
        """Wait for a batch to be written; 503 after `write_timeout` (the updates stay queued)."""
        if self._task is None:  # no background loop (tests): write now
            await self.flush()
        # shield: a request cancelled while waiting must not cancel the answer others wait for
        if not await asyncio.shield(answer):
            raise ServiceUnavailable("Database unavailable, please retry later")

    async def submit(self, updates: Iterable[Update], token: Hashable | None = None) -> None:
        await self.wait(self.enqueue(updates, token))

    # ---- consumer side -------------------------------------------------------------------------
    async def flush(self) -> bool:
        """Write everything pending now. True when nothing is left unwritten."""
        async with self._lock:
            if self._retrying is not None:
                batch = self._retrying
                newer, self._open = self._open, _Batch()
                batch.updates.absorb(newer.updates)
                batch.tokens |= newer.tokens
                _chain(newer.done, batch.done)
            else:
                batch, self._open = self._open, _Batch()
            self._full.clear()
            if batch.updates.count == 0:
                self._retrying = None
                if not batch.done.done():
                    batch.done.set_result(None)
                return True
            ok = await self._write_batch(batch)
            self._retrying = None if ok else batch
            self.stats.pending_updates = self.pending()
            if ok and not batch.done.done():
                batch.done.set_result(None)
            return ok

    async def _write_batch(self, batch: _Batch) -> bool:
        operations = {c: batch.updates.operations(c) for c in batch.updates.collections()}
        failed = await self._write(operations)
        for coll in operations:
            error = failed.get(coll)
            if error is None:
                batch.updates.drop_collection(coll)
            else:
                self.stats.failures += 1
                self.stats.last_error = f"{type(error).__name__}: {error}"
                log.warning("bulk write to %s failed, will retry: %s", coll, error)
        if failed:
            self.stats.flush_retries += 1
            return False
        self.stats.flushes += 1
        return True

    async def run(self) -> None:
        """Background loop: flush after the interval, at once when full, retry with back-off."""
        backoff = 0.05
        while not self._closing:
            await self._wake.wait()
            self._wake.clear()
            if self._retrying is None and self.interval > 0 and not self._full.is_set():
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation
                # that arrives as the event fires, and the loop would never end.
                try:
                    async with asyncio.timeout(self.interval):
                        await self._full.wait()
                except TimeoutError:
                    pass
            ok = await self.flush()
            if ok:
                backoff = 0.05
                if self._open.updates.count:
                    self._wake.set()
            else:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.backoff_max)
                self._wake.set()

    def drain(self) -> None:
        """Shutdown has begun: write every new update at once instead of waiting the interval."""
        self.interval = 0.0
        self._full.set()
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run(), name="tally-batcher")

    async def close(self, deadline: float = 30.0) -> None:
        """Stop taking work, write what is pending (retrying until `deadline` seconds), stop."""
        self._closing = True
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline
        while self.pending() and loop.time() < end:
            if not await self.flush():
                await asyncio.sleep(0.1)
        if self.pending():
            log.error("shutdown: %d updates could not be written", self.pending())
        if self._task is not None:
            self._task.cancel()
            done, _ = await asyncio.wait({self._task}, timeout=5)
            if not done:
                log.error("shutdown: the batcher loop did not stop")
            self._task = None


def _chain(src: asyncio.Future[None], dst: asyncio.Future[None]) -> None:
    """Resolve `src` when `dst` resolves (requests of a merged batch wait for the merged write)."""
    def relay(f: asyncio.Future[None]) -> None:
        if not src.done():
            src.set_result(None)
    dst.add_done_callback(relay)
