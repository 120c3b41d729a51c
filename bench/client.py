"""A lean HTTP/1.1 client over raw keep-alive sockets (asyncio Protocol, no HTTP library).

One request at a time per connection (no pipelining, as SDKs do). Requests are complete byte
strings built in advance; responses are parsed just enough to find their end (Content-Length or
chunked) and their status. The body is kept only when asked for.
"""
from __future__ import annotations

import asyncio
from typing import Any

import orjson


class HttpError(Exception):
    pass


class Connection(asyncio.Protocol):
    """One keep-alive connection. `await conn.send(raw)` returns (status, body or None)."""

    def __init__(self, keep_body: bool = False) -> None:
        self.buf = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes | None]] | None = None
        self.transport: asyncio.Transport | None = None
        self.keep_body = keep_body
        self.closed = False

    # ---- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        waiter = self.waiter
        if waiter is None:
            return
        result = self._parse()
        if result is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(result)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self.waiter
        self.waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_exception(HttpError(f"connection closed by server: {exc}"))

    # ---- parsing
    def _parse(self) -> tuple[int, bytes | None] | None:
        buf = self.buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        status = int(buf[9:12])
        head = bytes(buf[:end]).lower()
        start = end + 4
        i = head.find(b"\r\ncontent-length:")
        if i >= 0:
            j = head.find(b"\r\n", i + 2)
            total = start + int(head[i + 17:j if j >= 0 else len(head)])
            if len(buf) < total:
                return None
            body = bytes(buf[start:total]) if self.keep_body else None
            del buf[:total]
        elif b"\r\ntransfer-encoding: chunked" in head:
            parts = []
            pos = start
            while True:
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    return None
                size = int(bytes(buf[pos:eol]).split(b";")[0], 16)
                if len(buf) < eol + 2 + size + 2:
                    return None
                if size == 0:
                    # no trailers expected from aiohttp
                    pos = eol + 4
                    break
                parts.append(bytes(buf[eol + 2:eol + 2 + size]))
                pos = eol + 2 + size + 2
            body = b"".join(parts) if self.keep_body else None
            del buf[:pos]
        else:
            body = b"" if self.keep_body else None
            del buf[:start]
        return status, body

    # ---- use
    def send(self, raw: bytes) -> asyncio.Future[tuple[int, bytes | None]]:
        if self.closed or self.transport is None:
            raise HttpError("connection is closed")
        fut: asyncio.Future[tuple[int, bytes | None]] = asyncio.get_running_loop().create_future()
        self.waiter = fut
        self.transport.write(raw)
        return fut

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def connect(host: str, port: int, keep_body: bool = False) -> Connection:
    loop = asyncio.get_running_loop()
    _t, proto = await loop.create_connection(lambda: Connection(keep_body), host, port)
    return proto


def get(path: str, host: str = "127.0.0.1") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\n\r\n".encode()


async def fetch(host: str, port: int, path: str, timeout: float = 30.0) -> tuple[int, Any]:
    """One GET on a fresh connection; (status, decoded JSON or text)."""
    conn = await asyncio.wait_for(connect(host, port, keep_body=True), timeout)
    try:
        status, body = await asyncio.wait_for(conn.send(get(path, host)), timeout)
    finally:
        conn.close()
    try:
        return status, orjson.loads(body or b"null")
    except orjson.JSONDecodeError:
        return status, (body or b"").decode(errors="replace")
