"""A small HTTP proxy between an SDK and Tally that loses replies on purpose.

Every request is forwarded to Tally and Tally's full reply is read. Then, at random (seeded),
the proxy closes the client connection instead of passing the reply on: Tally has applied the
request but the SDK sees a dropped connection and sends the same request again after its
`fail_timeout`. Each exchange is recorded with what Tally answered, in the same shape as a
driver ledger entry, so the expected numbers can be computed from what Tally really applied.
"""
from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
import urllib.parse
from typing import Any

import aiohttp
from aiohttp import web

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "host", "content-length"}


class DroppedReply(ConnectionResetError):
    """Raised by the handler after it aborted the connection on purpose."""


class _HideDroppedReplies(logging.Filter):
    """aiohttp logs an "Error handling request" traceback for every dropped reply: hide those."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DroppedReply))


logging.getLogger("aiohttp.server").addFilter(_HideDroppedReplies())


def _params(path_qs: str, body: bytes, content_type: str) -> dict[str, str]:
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(path_qs).query, keep_blank_values=True))
    if body and "multipart" not in content_type:
        params.update(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return params


class DroppingProxy:
    """Forward to `upstream`; drop a reply with probability `drop_rate` (seeded).

    The same request (same method, path and parameters apart from `rr`/`checksum256`, which the
    web SDK recomputes per attempt) is dropped at most `max_drops_per_request` times, so a run
    always finishes. Requests whose parameters contain a key from `never_drop` pass untouched
    (e.g. `hc`, which the web SDK never retries); the first attempt of a request with a key from
    `drop_first` is always dropped (so begin_session, which decides t/n/u, is surely retried).
    """

    def __init__(self, upstream: str, *, seed: int, drop_rate: float = 0.5, max_drops_per_request: int = 1,
                 never_drop: tuple[str, ...] = (), drop_first: tuple[str, ...] = ()) -> None:
        self.upstream = upstream.rstrip("/")
        self.rng = random.Random(seed)
        self.drop_rate = drop_rate
        self.max_drops = max_drops_per_request
        self.never_drop = never_drop
        self.drop_first = drop_first
        self.records: list[dict[str, Any]] = []
        self._drops: dict[tuple[str, ...], int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def dropped(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r["dropped"]]

    # -------------------------------------------------------------- lifecycle
    def start(self, timeout: float = 10.0) -> DroppingProxy:
        ready = threading.Event()
        errors: list[BaseException] = []

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._start())
            except BaseException as e:  # noqa: BLE001 - reported to the starting thread
                errors.append(e)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._stop())
            loop.close()

        self._thread = threading.Thread(target=main, name="dropping-proxy", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise RuntimeError("the dropping proxy did not start")
        if errors:
            raise errors[0]
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)

    async def _start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    # -------------------------------------------------------------- forwarding
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        async with self._session.request(request.method, self.upstream + request.path_qs, data=body or None,
                                         headers=headers, allow_redirects=False) as up:
            status = up.status
            payload = await up.read()
            up_headers = {k: v for k, v in up.headers.items() if k.lower() not in HOP_BY_HOP}
        content_type = request.headers.get("Content-Type", "")
        params = _params(request.path_qs, body, content_type)
        ident = (request.method, request.path,
                 *sorted(f"{k}={v}" for k, v in params.items() if k not in ("rr", "checksum256", "checksum")))
        drop = False
        if not any(k in params for k in self.never_drop) and self._drops.get(ident, 0) < self.max_drops:
            drop = self.rng.random() < self.drop_rate
            if any(k in params for k in self.drop_first) and ident not in self._drops:
                drop = True
        if drop:
            self._drops[ident] = self._drops.get(ident, 0) + 1
        self.records.append({"via": "proxy", "method": request.method, "path": request.path,
                             "content_type": content_type, "params": params, "status": status,
                             "body": payload.decode("utf-8", "replace"), "dropped": drop,
                             "at": time.time() * 1000})
        if drop:
            # Tally has answered; the client never sees it.
            assert request.transport is not None
            request.transport.abort()
            raise DroppedReply("reply dropped on purpose by the test proxy")
        return web.Response(status=status, body=payload, headers=up_headers)
