"""Tally's own cost per SDK request, in-process: no sockets, no HTTP parsing, no load generator.

    python -m bench.hotpath [--requests 40000] [--devices 10000] [--concurrency 32] [--profile]

The benchmark's SDK mix (`workload.py`) is replayed through the `/i` and `/i/bulk` handlers with
`make_mocked_request` (POST bodies are sent as query strings), on the counted stand-in store,
with the real write batcher running. Prints microseconds per HTTP request and per SDK request;
`--profile` adds a cProfile table (the top functions by cumulative and by own time). Use it to
see what a change to the write path costs before running the full benchmark (`bench/run.py`).
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import pstats
import time
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from multidict import CIMultiDict

from bench.countedstore import CountedDatabase
from bench.workload import Workload
from server.app import create_app, tune_gc
from server.ingest.routes import bulk, write
from server.settings import load_settings

ADMIN_KEY = "hotpath-admin-key-0000000000000000"


def _target(raw: bytes) -> str:
    """A workload request (bytes of HTTP/1.1) as one GET path with every parameter in its query."""
    head, _, body = raw.partition(b"\r\n\r\n")
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    method, target, _ = line.split(" ")
    if method == "POST":
        return f"{target}?{body.decode('latin-1')}"
    return target


class _Request(dict[Any, Any]):
    """What the write handlers read of an `aiohttp.web.Request` (aiohttp's `make_mocked_request`
    builds mocks and costs more than the handler itself)."""

    method = "GET"
    can_read_body = False
    content_type = "application/octet-stream"
    remote = "127.0.0.1"
    headers: CIMultiDict[str] = CIMultiDict()

    def __init__(self, app: web.Application, raw_path: str) -> None:
        super().__init__()
        self.app = app
        self.raw_path = raw_path
        self.path = raw_path.partition("?")[0]


async def _app(settings_env: dict[str, str]) -> tuple[TestClient[Any, Any], str]:
    settings = load_settings(None, settings_env)
    app = create_app(settings, database=CountedDatabase(strict=False))  # as the benchmark server
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    resp = await client.post("/i/apps/create", params={"api_key": ADMIN_KEY, "args": '{"name":"hot"}'})
    created = await resp.json()
    return client, created["key"]


async def run(requests: int, devices: int, concurrency: int, profile: bool, repeat: int) -> None:
    env = {"TALLY_MONGO_URL": "memory://", "TALLY_ADMIN_API_KEY": ADMIN_KEY, "TALLY_SESSION_COOLDOWN": "0",
           "TALLY_LOG_LEVEL": "WARNING"}
    client, app_key = await _app(env)
    app = client.server.app
    workload = Workload(app_key, devices)
    per_lane = max(requests // concurrency, 1)
    sdk_requests = 0
    ts = int(time.time() * 1000) - 3_600_000

    async def lane(index: int, count: int) -> None:
        nonlocal sdk_requests, ts
        device = index
        for _ in range(count):
            ts += 1
            target = _target(workload.next_request(device % devices, ts))
            handler = bulk if target.startswith("/i/bulk") else write
            await handler(_Request(app, target))  # type: ignore[arg-type]
            sdk_requests += Workload.STEPS if handler is bulk else 1
            device += concurrency

    await asyncio.gather(*(lane(i, min(per_lane, 2000)) for i in range(concurrency)))  # warm-up
    tune_gc()
    best = float("inf")
    profiler = cProfile.Profile() if profile else None
    for round_ in range(repeat):
        sdk_requests = 0
        start = time.perf_counter()
        cpu = time.process_time()
        if profiler:
            profiler.enable()
        await asyncio.gather(*(lane(i + concurrency * (3 + round_), per_lane) for i in range(concurrency)))
        if profiler:
            profiler.disable()
        wall = time.perf_counter() - start
        cpu = time.process_time() - cpu
        http = per_lane * concurrency
        best = min(best, cpu / http * 1e6)
        print(f"{http} HTTP requests ({sdk_requests} SDK requests) in {wall:.2f} s wall, {cpu:.2f} s CPU: "
              f"{cpu / http * 1e6:.0f} µs CPU per HTTP request, {cpu / sdk_requests * 1e6:.0f} µs per SDK "
              f"request; gc counts {gc.get_count()}")
    print(f"best: {best:.0f} µs CPU per HTTP request")
    await client.close()
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(35)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=40000)
    parser.add_argument("--devices", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes (the best is printed last)")
    args = parser.parse_args()
    asyncio.run(run(args.requests, args.devices, args.concurrency, args.profile, args.repeat))


if __name__ == "__main__":
    main()


__all__ = ["main", "web"]
