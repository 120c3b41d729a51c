"""Run Tally for the benchmark, on the counted stand-in store or on the embedded store.

    python -m bench.serve_counted --host 127.0.0.1 --port N [--store counted|memory]
                                  [--workers N] [--counters-dir DIR] [--cprofile FILE]

Settings come from `TALLY_*` variables as for `python -m server`. The app is built by Tally's own
factory and served the way `python -m server` serves it (`web.run_app`, access log off unless
configured); the only additions are:

* `--store counted` (default): `create_app(settings, database=CountedDatabase())`, the minimal
  in-memory stand-in of `bench/countedstore.py` that counts every call. `--store memory`: no
  database argument, so Tally opens its embedded mongomock-motor store exactly as
  `TALLY_MONGO_URL=memory://` does for a trial user.
* `GET /bench/counters`: Tally's own `StoreStats` (`tally`), the stand-in's counters (`store`,
  null on the embedded store) and the process id. Routes are added before start-up; nothing
  inside Tally is changed.
* `--workers N` (counted store only): N pre-forked processes sharing the port, like
  `python -m server --workers`. Each worker has its OWN counted store. So that every worker
  knows the benchmark's app, the parent builds the store, creates the app through Tally's own
  `/i/apps/create` (in-process test server) and only then forks: each worker starts from a copy
  of that store, and the app's `_id`/`key` go to `DIR/app.json`. A device that always uses one
  keep-alive connection always reaches one worker, so its state stays right; the aggregate
  documents are split between the workers' stores (a real deployment shares one MongoDB). With
  `--counters-dir`, every worker writes its counters to `DIR/counters-<pid>.json` each second
  and at shutdown, so the runner can add them up.
* `--cprofile FILE`: profile the (single) worker with cProfile and write FILE at shutdown.
* garbage-collector pauses (count, total and longest per generation) in `/bench/counters`.
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import logging
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from bench.countedstore import CountedDatabase
from server import keys
from server.__main__ import supervise
from server.app import create_app, tune_gc
from server.settings import Settings, SettingsError, load_settings

log = logging.getLogger("bench.serve")
COUNTED: web.AppKey[CountedDatabase | None] = web.AppKey("bench_counted")


class GcPauses:
    """Garbage-collector pauses of this process, per generation (via `gc.callbacks`)."""

    def __init__(self) -> None:
        self.count = [0, 0, 0]
        self.total_ms = [0.0, 0.0, 0.0]
        self.max_ms = [0.0, 0.0, 0.0]
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
            return
        g = info.get("generation", 0)
        ms = (time.perf_counter() - self._start) * 1000
        self.count[g] += 1
        self.total_ms[g] += ms
        self.max_ms[g] = max(self.max_ms[g], ms)

    def snapshot(self) -> dict[str, Any]:
        return {"count": list(self.count), "total_ms": [round(x, 1) for x in self.total_ms],
                "max_ms": [round(x, 1) for x in self.max_ms]}


GC = GcPauses()


def counters_of(app: web.Application) -> dict[str, Any]:
    db = app[COUNTED]
    stats = app.get(keys.STATS)
    return {"pid": os.getpid(), "store": db.snapshot() if db is not None else None,
            "tally": stats.snapshot() if stats is not None else None, "gc": GC.snapshot()}


async def counters(request: web.Request) -> web.Response:
    """`?data=1` adds the counted store's data size (BSON bytes) and Python heap (stops the server
    for a moment: never read inside a timed window)."""
    body = counters_of(request.app)
    db = request.app[COUNTED]
    if request.query.get("data") and db is not None:
        body["store_data_bytes"] = db.data_bytes()
        body["store_heap_bytes"] = db.heap_bytes()
    return web.Response(body=orjson.dumps(body), content_type="application/json")


def _dump_ctx(directory: Path | None) -> Any:
    async def dump(app: web.Application) -> AsyncIterator[None]:
        if directory is None:
            yield
            return
        path = directory / f"counters-{os.getpid()}.json"

        def write() -> None:
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(orjson.dumps(counters_of(app)))
            tmp.replace(path)

        async def loop() -> None:
            for _ in range(24 * 3600):  # bounded: one day of one-second ticks
                write()
                await asyncio.sleep(1.0)

        task = asyncio.get_running_loop().create_task(loop())
        yield
        task.cancel()
        write()

    return dump


def build(settings: Settings, store: str, counters_dir: Path | None,
          db: CountedDatabase | None = None, strict: bool = False) -> web.Application:
    if db is None and store == "counted":
        db = CountedDatabase(settings.mongo_database, strict=strict)
    app = create_app(settings, database=db)
    app[COUNTED] = db
    app.router.add_get("/bench/counters", counters)
    app.cleanup_ctx.append(_dump_ctx(counters_dir))
    return app


async def _prepare(settings: Settings, db: CountedDatabase, name: str) -> dict[str, Any]:
    """Create an app in `db` through Tally itself (admin bootstrap + /i/apps/create)."""
    from aiohttp.test_utils import TestClient, TestServer

    app = create_app(settings, database=db, start_background=False)
    async with TestClient(TestServer(app)) as client:
        r = await client.get("/i/apps/create", params={
            "api_key": settings.admin_api_key, "args": orjson.dumps({"name": name, "timezone": "UTC"}).decode()})
        body = await r.json()
        if r.status != 200:
            raise RuntimeError(f"app creation failed: {r.status} {body}")
    return {"_id": str(body["_id"]), "key": str(body["key"])}


def _run(app: web.Application, settings: Settings, **where: Any) -> None:
    tune_gc()  # as `python -m server` does
    web.run_app(app, access_log=logging.getLogger("server") if settings.access_log else None, print=None,
                shutdown_timeout=settings.write_timeout + 5, **where)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.serve_counted")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8082)
    p.add_argument("--store", choices=["counted", "memory"], default="counted")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--counters-dir", type=Path, default=None)
    p.add_argument("--app-name", default="bench", help="--workers: the app created before forking")
    p.add_argument("--cprofile", type=Path, default=None, help="write a cProfile of the server here at exit")
    p.add_argument("--strict", action="store_true",
                   help="counted store: also reject the update paths MongoDB rejects (as the tests do); "
                        "off by default: that check is MongoDB's work, not Tally's")
    args = p.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"bench.serve_counted: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    gc.callbacks.append(GC)
    if args.workers > 1 and args.store == "memory":
        print("bench.serve_counted: --workers needs --store counted (memory:// lives in one process)",
              file=sys.stderr)
        return 2
    if args.workers == 1:
        profiler = cProfile.Profile() if args.cprofile else None
        if profiler is not None:
            profiler.enable()
        try:
            _run(build(settings, args.store, args.counters_dir, strict=args.strict), settings, host=args.host, port=args.port)
        finally:
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(str(args.cprofile))
        return 0
    if args.counters_dir is None:
        print("bench.serve_counted: --workers needs --counters-dir", file=sys.stderr)
        return 2
    shared = CountedDatabase(settings.mongo_database, strict=args.strict)
    created = asyncio.run(_prepare(settings, shared, args.app_name))
    (args.counters_dir / "app.json").write_bytes(orjson.dumps(created))
    children = []
    for _ in range(args.workers):  # one SO_REUSEPORT socket per worker, as `python -m server`
        pid = os.fork()
        if pid == 0:
            _run(build(settings, args.store, args.counters_dir, shared), settings, host=args.host, port=args.port,
                 reuse_port=True)
            os._exit(0)
        children.append(pid)

    supervise(children)
    return 0


if __name__ == "__main__":
    sys.exit(main())
