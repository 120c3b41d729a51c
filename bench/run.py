"""The benchmark's one entry point.

    python -m bench.run [--devices 10000 --seconds 20 --connections 32 --store memory|counted|both --smoke]

Starts every server as a subprocess on 127.0.0.1 (pinned to the last CPU; this process, the
load generator, pinned to the first), runs the phases, prints a Markdown table and writes
`bench/results/<timestamp>.json`. See bench/README.md for what the figures mean.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.client import fetch
from bench.loadgen import PhaseResult, counters, other_load, proc_mem_kb, proc_tree, run_phase
from bench.readside import months_in_window, seed_year, time_reads
from bench.workload import Workload

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
HOST = "127.0.0.1"  # the benchmark never sends traffic anywhere else


# ---- processes -----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


ALL_CPUS: set[int] = set(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else set()


def cpu_plan() -> tuple[set[int] | None, set[int] | None]:
    """(client CPUs, server CPUs): first CPU for the client, the others for the server."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:
        return None, None
    if len(cpus) < 2:
        return None, None
    return {cpus[0]}, set(cpus[1:])


class Server:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], cpus: set[int] | None, log: Path,
                 port: int) -> None:
        self.name, self.port, self.log_path = name, port, log
        self.log = open(log, "wb")  # noqa: SIM115 - open for the server's whole life, closed in stop()
        self.started = time.perf_counter()

        def pin() -> None:
            # children inherit the runner's own pinning: always set the server's CPUs explicitly
            if cpus or ALL_CPUS:
                os.sched_setaffinity(0, cpus or ALL_CPUS)

        self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     preexec_fn=pin)  # noqa: PLW1509 - the runner starts no threads
        self.startup_s = 0.0
        self.peak_rss_kb = 0
        self.shutdown = ""

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def ready(self, timeout: float = 60.0) -> None:
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name}: server exited with {self.proc.returncode}; see {self.log_path}:\n"
                                   + self.log_path.read_text(errors="replace")[-2000:])
            try:
                status, _ = await fetch(HOST, self.port, "/o/ping", timeout=5)
                if status == 200:
                    self.startup_s = round(time.perf_counter() - self.started, 2)
                    return
            except (TimeoutError, OSError):
                pass
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name}: /o/ping did not answer within {timeout} s; see {self.log_path}")

    def hwm_kb(self) -> int:
        """Peak RSS: the largest VmHWM of the server process and its workers (read while alive)."""
        return max((proc_mem_kb(p)[1] for p in proc_tree(self.pid)), default=0)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGINT (graceful shutdown), SIGKILL after `timeout` s. The pause before the signal keeps
        clear of a shutdown hang in Tally's batcher when a stop arrives mid-interval (see README)."""
        self.peak_rss_kb = max(self.peak_rss_kb, self.hwm_kb())
        if self.proc.poll() is None:
            time.sleep(0.3)
            self.proc.send_signal(signal.SIGINT)
            t = time.perf_counter()
            try:
                self.proc.wait(timeout)
                self.shutdown = f"clean in {time.perf_counter() - t:.1f} s"
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                self.shutdown = f"hung: killed after {timeout:g} s"
                log(f"{self.name}: graceful shutdown did not finish in {timeout:g} s; killed")
        self.log.close()


def wait_quiet(a: argparse.Namespace, server_pid: int | None, what: str) -> float:
    """Before a phase: wait (at most --wait-quiet s) until other processes use < 0.25 CPU."""
    load = other_load(server_pid, 0.5)
    end = time.perf_counter() + a.wait_quiet
    if load >= 0.25 and a.wait_quiet > 0:
        log(f"{what}: other processes use {load:.2f} CPUs; waiting up to {a.wait_quiet:g} s for a quiet machine")
    while load >= 0.25 and time.perf_counter() < end:
        load = other_load(server_pid, 1.0)
    return round(load, 2)


def tally_env(admin: str, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALLY_")}
    env.update({"TALLY_MONGO_URL": "memory://", "TALLY_ADMIN_API_KEY": admin, "TALLY_SESSION_COOLDOWN": "0",
                "TALLY_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


async def create_tally_app(port: int, admin: str, name: str) -> tuple[str, str]:
    args = json.dumps({"name": name, "timezone": "UTC"})
    from urllib.parse import quote
    status, body = await fetch(HOST, port, f"/i/apps/create?api_key={admin}&args={quote(args)}")
    if status != 200 or not isinstance(body, dict) or "key" not in body:
        raise RuntimeError(f"app creation failed: HTTP {status} {str(body)[:300]}")
    return str(body["_id"]), str(body["key"])


# ---- derived figures -----------------------------------------------------------------------------
def _d(r: PhaseResult, part: str, key: str) -> float | None:
    b, a = r.counters_before, r.counters_after
    if not b or not a or not b.get(part) or not a.get(part) or key not in a[part]:
        return None
    return float(a[part][key] - b[part][key])


def _ratio(x: float | None, y: float | None, nd: int = 3) -> float | None:
    if x is None or not y:
        return None
    return round(x / y, nd)


def derive(r: PhaseResult) -> dict[str, Any]:
    items = _d(r, "tally", "requests")
    out: dict[str, Any] = {
        "tally_requests": items,
        "sdk_requests_per_http": _ratio(items, r.requests),
        "round_trips_per_request": _ratio(_d(r, "tally", "round_trips"), items),
        "round_trips_per_http_request": _ratio(_d(r, "tally", "round_trips"), r.requests),
        "device_ops_per_request": _ratio(_d(r, "tally", "device_ops"), items),
        "device_conflicts": _d(r, "tally", "device_conflicts"),
        "agg_docs_written_per_request": _ratio(_d(r, "tally", "docs_written"), items),
        "bulk_writes_per_flush": _ratio(_d(r, "tally", "bulk_writes"), _d(r, "tally", "flushes")),
        "flushes_per_s": _ratio(_d(r, "tally", "flushes"), r.seconds, 1),
        "requests_per_flush": _ratio(items, _d(r, "tally", "flushes"), 1),
        "failures": _d(r, "tally", "failures"),
        "duplicates": _d(r, "tally", "duplicates"),
    }
    gb, ga = (r.counters_before or {}).get("gc"), (r.counters_after or {}).get("gc")
    if gb and ga:
        out["gc_collections_in_window"] = [a - b for a, b in zip(ga["count"], gb["count"], strict=True)]
        out["gc_ms_in_window"] = round(sum(ga["total_ms"]) - sum(gb["total_ms"]), 1)
        out["gc_share_of_window"] = round(out["gc_ms_in_window"] / 1000 / r.seconds, 3) if r.seconds else None
        out["gc_longest_pause_ms_so_far"] = max(ga["max_ms"])
    if r.counters_after and r.counters_after.get("store"):
        out.update({
            "store_round_trips_per_request": _ratio(_d(r, "store", "round_trips"), items),
            "store_docs_written_per_request": _ratio(_d(r, "store", "docs_written"), items),
            "store_docs_fetched_per_request": _ratio(_d(r, "store", "docs_fetched"), items),
            "bulk_groups": _d(r, "store", "bulk_groups"),
            "bulk_writes_per_group": _ratio(_d(r, "store", "bulk_writes"), _d(r, "store", "bulk_groups")),
            "bulk_same_collection_in_group": _d(r, "store", "bulk_same_collection"),
            "ops_per_bulk_write": _ratio(_d(r, "store", "bulk_ops"), _d(r, "store", "bulk_writes"), 1),
            "bulk_errors": _d(r, "store", "bulk_errors"),
        })
        b = (r.counters_before or {}).get("store", {}).get("calls_by_operation", {})
        a = r.counters_after["store"]["calls_by_operation"]
        out["calls_by_operation_per_request"] = {op: _ratio(a[op] - b.get(op, 0), items)
                                                 for op in sorted(a) if a[op] - b.get(op, 0)}
    return out


def rss_curve(r: PhaseResult) -> dict[str, Any]:
    pts = [(s["t"], s["rss_kb"]) for s in r.samples if s["rss_kb"]]
    if len(pts) < 2:
        return {"points": pts}
    half = pts[len(pts) // 2:]
    slope = (half[-1][1] - half[0][1]) / max(half[-1][0] - half[0][0], 1e-9) * 60 / 1024
    return {"start_mb": round(pts[0][1] / 1024, 1), "end_mb": round(pts[-1][1] / 1024, 1),
            "max_mb": round(max(p[1] for p in pts) / 1024, 1),
            "second_half_growth_mb_per_min": round(slope, 1), "points": pts}


def open_loop_connections(connections: int, rate: float) -> int:
    """Connections for an open-loop pass. Each sends one request at a time (as one SDK does), so
    C connections cannot keep `rate` going once latency passes C ÷ rate: with 32 connections at
    1,700 req/s that is 19 ms, and the pass would then measure the load generator's queue. Enough
    connections to keep the rate with 100 ms of latency (SDKs are many independent clients)."""
    return max(connections, math.ceil(rate * 0.1))


# ---- phases --------------------------------------------------------------------------------------
async def bench_bare(a: argparse.Namespace, cpus: set[int] | None, stamp: str) -> dict[str, Any]:
    port = free_port()
    srv = Server("bare", [sys.executable, "-m", "bench.serve_bare", "--host", HOST, "--port", str(port)],
                 dict(os.environ), cpus, RESULTS / f"{stamp}-bare.log", port)
    try:
        await srv.ready()
        wl = Workload("0" * 40, a.devices, prefix="bare", bulk_share=a.bulk_share)
        quiet = wait_quiet(a, srv.pid, "bare")
        peak = await run_phase("bare peak", HOST, port, wl, connections=a.connections, seconds=a.seconds,
                               warmup=a.warmup, server_pid=srv.pid)
        log(f"bare: {peak.rps:.0f} req/s p50 {peak.p50_ms} ms p99 {peak.p99_ms} ms "
            f"(client CPU {peak.client_cpu:.0%}, server CPU {peak.server_cpu:.0%}, other processes {peak.other_cpu:.2f} CPUs)")
    finally:
        srv.stop()
    return {"peak": peak.as_dict(), "other_cpu_before": quiet, "peak_rss_kb": srv.peak_rss_kb, "startup_s": srv.startup_s,
            "shutdown": srv.shutdown}


async def bench_ratio(a: argparse.Namespace, cpus: set[int] | None, stamp: str) -> dict[str, Any]:
    """Tally (counted store) ÷ bare, measured in alternating closed-loop rounds on one CPU.

    This machine's CPU speed drifts by tens of percent from one second to the next (a fixed loop
    takes 0.21–0.36 s), so the two peaks measured minutes apart do not give a fair ratio. Both
    servers run at once here (the idle one costs nothing), Tally is warmed up, then rounds go
    bare, Tally, bare, Tally, …; each Tally round is divided by the mean of the bare rounds around
    it and the median of those ratios is reported."""
    admin = secrets.token_hex(16)
    bare_port, tally_port = free_port(), free_port()
    bare = Server("bare-ratio", [sys.executable, "-m", "bench.serve_bare", "--host", HOST, "--port", str(bare_port)],
                  dict(os.environ), cpus, RESULTS / f"{stamp}-bare-ratio.log", bare_port)
    tally = Server("tally-ratio", [sys.executable, "-m", "bench.serve_counted", "--host", HOST, "--port",
                                   str(tally_port), "--store", "counted"],
                   tally_env(admin, a.tally_env), cpus, RESULTS / f"{stamp}-tally-ratio.log", tally_port)
    bare_rps: list[float] = []
    tally_rps: list[float] = []
    try:
        await bare.ready()
        await tally.ready()
        _app_id, app_key = await create_tally_app(tally_port, admin, "ratio")
        bare_wl = Workload("0" * 40, a.devices, prefix="rbar", bulk_share=a.bulk_share)
        tally_wl = Workload(app_key, a.devices, prefix="rtal", bulk_share=a.bulk_share)
        wait_quiet(a, tally.pid, "ratio rounds")
        await run_phase("ratio warm-up", HOST, tally_port, tally_wl, connections=a.connections,
                        seconds=a.ratio_seconds, warmup=a.warmup, server_pid=tally.pid, read_counters=False)
        for i in range(a.ratio_rounds):
            for name, port, wl, pid, out in (("bare", bare_port, bare_wl, bare.pid, bare_rps),
                                             ("tally", tally_port, tally_wl, tally.pid, tally_rps)):
                r = await run_phase(f"ratio {name} {i + 1}", HOST, port, wl, connections=a.connections,
                                    seconds=a.ratio_seconds, warmup=0.5, server_pid=pid, read_counters=False)
                out.append(r.rps)
        r = await run_phase("ratio bare last", HOST, bare_port, bare_wl, connections=a.connections,
                            seconds=a.ratio_seconds, warmup=0.5, server_pid=bare.pid, read_counters=False)
        bare_rps.append(r.rps)
    finally:
        bare.stop()
        tally.stop()
    ratios = [t / ((bare_rps[i] + bare_rps[i + 1]) / 2) for i, t in enumerate(tally_rps)]
    median = sorted(ratios)[len(ratios) // 2]
    log(f"ratio rounds: bare {[round(x) for x in bare_rps]}, tally {[round(x) for x in tally_rps]} → "
        f"Tally ÷ bare {[f'{x:.0%}' for x in ratios]}, median {median:.0%}")
    return {"bare_rps": bare_rps, "tally_rps": tally_rps, "ratios": [round(x, 3) for x in ratios],
            "median_ratio": round(median, 3), "seconds_per_round": a.ratio_seconds}


async def bench_tally(store: str, a: argparse.Namespace, cpus: set[int] | None, stamp: str) -> dict[str, Any]:
    out: dict[str, Any] = {"store": store}
    admin = secrets.token_hex(16)
    port = free_port()
    argv = [sys.executable, "-m", "bench.serve_counted", "--host", HOST, "--port", str(port), "--store", store]
    env = tally_env(admin, a.tally_env)
    srv = Server(f"tally-{store}", argv, env, cpus, RESULTS / f"{stamp}-tally-{store}.log", port)
    try:
        await srv.ready()
        out["startup_s"] = srv.startup_s
        _app_id, app_key = await create_tally_app(port, admin, "bench")
        wl = Workload(app_key, a.devices, prefix=store[:1] + "d", bulk_share=a.bulk_share)
        out["workload"] = {"devices": a.devices, **wl.shares(), "sdk_requests_per_http": round(wl.items_per_request(), 3)}
        out["other_cpu_before_peak"] = wait_quiet(a, srv.pid, f"{store} peak")
        peak = await run_phase(f"{store} peak", HOST, port, wl, connections=a.connections, seconds=a.seconds,
                               warmup=a.warmup, server_pid=srv.pid)
        out["peak"] = peak.as_dict()
        out["peak_derived"] = derive(peak)
        log(f"{store}: {peak.rps:.0f} req/s p50 {peak.p50_ms} ms p99 {peak.p99_ms} ms errors {peak.errors} "
            f"(client CPU {peak.client_cpu:.0%}, server CPU {peak.server_cpu:.0%}, other processes {peak.other_cpu:.2f} CPUs) "
            f"{out['peak_derived']}")
        rate = round(peak.rps * a.rate_fraction, 1)
        if rate > 0:
            out["other_cpu_before_partial"] = wait_quiet(a, srv.pid, f"{store} partial")
            part = await run_phase(f"{store} {a.rate_fraction:.0%}", HOST, port, wl,
                                   connections=open_loop_connections(a.connections, rate),
                                   seconds=a.seconds, warmup=a.warmup, rate=rate, server_pid=srv.pid)
            out["partial"] = part.as_dict()
            out["partial_derived"] = derive(part)
            log(f"{store} at {rate:.0f} req/s: p50 {part.p50_ms} ms p99 {part.p99_ms} ms, "
                f"achieved {part.rps:.0f} req/s, late sends {part.late_sends}, errors {part.errors}")
        if a.read_seconds > 0:
            out["read"] = await read_side(port, admin, a, store)
        out["peak_rss_kb"] = srv.hwm_kb()
    finally:
        srv.stop()
    out["peak_rss_kb"] = max(out.get("peak_rss_kb", 0), srv.peak_rss_kb)
    out["shutdown"] = srv.shutdown
    if a.memory_seconds > 0:
        out["memory_run"] = await memory_run(store, a, cpus, stamp)
    return out


async def read_side(port: int, admin: str, a: argparse.Namespace, store: str) -> dict[str, Any]:
    app_id, app_key = await create_tally_app(port, admin, "year")
    seeded = await seed_year(HOST, port, app_key, days=a.year_days, per_day=a.year_devices_per_day,
                             lanes=a.year_lanes)
    log(f"{store}: seeded {seeded['days']} days ({seeded['items']} SDK requests) in {seeded['seconds']} s "
        f"{seeded['errors'] or ''}")
    base = f"api_key={admin}&app_id={app_id}"
    period = f"{a.year_days}days"
    paths = {
        f"sessions {period}": f"/o?{base}&method=sessions&period={period}",
        f"dashboard {period}": f"/o/analytics/dashboard?{base}&period={period}",
        "dashboard default (30days+7days+today)": f"/o/analytics/dashboard?{base}",
        "sessions default (30days)": f"/o?{base}&method=sessions",
    }
    reads = await time_reads(HOST, port, paths, seconds=a.read_seconds)
    months = months_in_window(a.year_days, time.time())
    for name, r in reads.items():
        if r.get("bucket_docs_fetched_per_read") is not None and period in name:
            r["months_in_window"] = months
            r["bucket_docs_per_month_in_window"] = round(r["bucket_docs_fetched_per_read"] / months, 2)
            if r.get("bucket_collections_read"):
                r["bucket_docs_per_month_per_collection"] = round(
                    r["bucket_docs_per_month_in_window"] / r["bucket_collections_read"], 2)
    for name, r in reads.items():
        log(f"{store} read {name}: p50 {r.get('p50_ms')} ms p99 {r.get('p99_ms')} ms, "
            f"{r.get('docs_fetched_per_read')} docs/read, {r.get('round_trips_per_read')} round trips/read "
            f"(HTTP {r.get('first_status')})")
    return {"seed": seeded, "reads": reads}


async def memory_run(store: str, a: argparse.Namespace, cpus: set[int] | None, stamp: str) -> dict[str, Any]:
    admin = secrets.token_hex(16)
    port = free_port()
    argv = [sys.executable, "-m", "bench.serve_counted", "--host", HOST, "--port", str(port), "--store", store]
    srv = Server(f"tally-{store}-memory", argv, tally_env(admin, a.tally_env), cpus,
                 RESULTS / f"{stamp}-tally-{store}-memory.log", port)
    try:
        await srv.ready()
        _app_id, app_key = await create_tally_app(port, admin, "memory")
        wl = Workload(app_key, a.devices, prefix=store[:1] + "m", bulk_share=a.bulk_share)
        wait_quiet(a, srv.pid, f"{store} memory run")
        warm = await run_phase(f"{store} memory warm-up", HOST, port, wl, connections=a.connections,
                               seconds=a.memory_warmup, warmup=0.0, server_pid=srv.pid, read_counters=False)
        before = await counters(HOST, port, "?data=1")  # outside the windows: computing it stalls the server
        r = await run_phase(f"{store} memory", HOST, port, wl, connections=a.connections, seconds=a.memory_seconds,
                            warmup=0.0, server_pid=srv.pid)
        after = await counters(HOST, port, "?data=1")
        curve = rss_curve(r)
        curve["warmup_s"] = a.memory_warmup
        curve["warmup_points"] = [(s["t"], s["rss_kb"]) for s in warm.samples if s["rss_kb"]]
        curve["warmup_start_mb"] = round(curve["warmup_points"][0][1] / 1024, 1) if curve["warmup_points"] else None
        for name, found in (("start", before), ("end", after)):
            if found and "store_heap_bytes" in found:
                curve[f"store_heap_mb_at_{name}"] = round(found["store_heap_bytes"] / 2**20, 1)
                curve[f"store_data_mb_at_{name}"] = round(found["store_data_bytes"] / 2**20, 1)
        log(f"{store} {a.memory_seconds:.0f} s at peak: {r.rps:.0f} req/s, RSS {curve.get('start_mb')} -> "
            f"{curve.get('end_mb')} MB, 2nd-half growth {curve.get('second_half_growth_mb_per_min')} MB/min; "
            f"counted store heap {curve.get('store_heap_mb_at_start')} -> {curve.get('store_heap_mb_at_end')} MB")
        hwm = srv.hwm_kb()
    finally:
        srv.stop()
    return {"phase": r.as_dict(), "rss": curve, "derived": derive(r), "peak_rss_kb": max(hwm, srv.peak_rss_kb),
            "shutdown": srv.shutdown}


def _sum_counters(cdir: Path) -> dict[str, Any] | None:
    """Add up the per-worker counter files (numbers only)."""
    files = sorted(cdir.glob("counters-*.json"))
    if not files:
        return None
    total: dict[str, Any] = {"tally": {}, "store": {}, "workers": len(files), "requests_by_worker": {}}
    for f in files:
        data = json.loads(f.read_text())
        total["requests_by_worker"][str(data.get("pid"))] = (data.get("tally") or {}).get("requests")
        for part in ("tally", "store"):
            for k, v in (data.get(part) or {}).items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    total[part][k] = total[part].get(k, 0) + v
    return total


async def bench_workers(a: argparse.Namespace, stamp: str) -> dict[str, Any]:
    """Counted store, 1 vs N pre-forked workers; server processes free to use every CPU (see README)."""
    out: dict[str, Any] = {"note": ("each worker has its own counted store (app created before forking; a device "
                                    "always reaches the same worker over its keep-alive connection); the server "
                                    "processes may use every CPU, so the load generator shares a CPU with a worker")}
    for n in (1, a.workers):
        admin = secrets.token_hex(16)
        port = free_port()
        cdir = RESULTS / f"{stamp}-workers{n}"
        cdir.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "bench.serve_counted", "--host", HOST, "--port", str(port), "--store",
                "counted", "--workers", str(n), "--counters-dir", str(cdir)]
        srv = Server(f"tally-counted-w{n}", argv, tally_env(admin, a.tally_env), None,
                     RESULTS / f"{stamp}-tally-counted-w{n}.log", port)
        try:
            await srv.ready()
            if n == 1:
                _app_id, app_key = await create_tally_app(port, admin, "bench")
            else:
                app_key = json.loads((cdir / "app.json").read_text())["key"]
            wl = Workload(app_key, a.devices, prefix=f"w{n}", bulk_share=a.bulk_share)
            wait_quiet(a, srv.pid, f"{n} workers")
            await asyncio.sleep(1.2)
            before = _sum_counters(cdir)
            r = await run_phase(f"counted {n} workers", HOST, port, wl, connections=a.connections,
                                seconds=a.seconds, warmup=a.warmup, server_pid=srv.pid, read_counters=False)
            await asyncio.sleep(1.2)
            after = _sum_counters(cdir)
        finally:
            srv.stop()
        entry = {"rps": r.rps, "p50_ms": r.p50_ms, "p99_ms": r.p99_ms, "errors": r.errors,
                 "client_cpu": r.client_cpu, "server_cpu": r.server_cpu}
        if before and after:
            items = after["tally"].get("requests", 0) - before["tally"].get("requests", 0)
            entry["workers_reporting"] = after["workers"]
            entry["requests_by_worker"] = {pid: (n or 0) - (before["requests_by_worker"].get(pid) or 0)
                                           for pid, n in after["requests_by_worker"].items()}
            entry["round_trips_per_request"] = _ratio(after["tally"].get("round_trips", 0)
                                                      - before["tally"].get("round_trips", 0), items)
        out[str(n)] = entry
        log(f"counted, {n} worker(s): {r.rps:.0f} req/s p99 {r.p99_ms} ms errors {r.errors} "
            f"(server CPU {r.server_cpu:.0%}, client CPU {r.client_cpu:.0%})")
        shutil.rmtree(cdir, ignore_errors=True)
    return out


async def profile_run(a: argparse.Namespace, cpus: set[int] | None, stamp: str) -> dict[str, Any]:
    """A peak pass on the counted store under py-spy (or cProfile when py-spy is missing)."""
    admin = secrets.token_hex(16)
    port = free_port()
    pyspy = shutil.which("py-spy") or (str(Path(sys.executable).parent / "py-spy")
                                        if (Path(sys.executable).parent / "py-spy").exists() else None)
    prof = RESULTS / f"{stamp}-profile"
    argv = [sys.executable, "-m", "bench.serve_counted", "--host", HOST, "--port", str(port), "--store", "counted"]
    if pyspy is None:
        argv += ["--cprofile", str(prof) + ".prof"]
    srv = Server("tally-counted-profile", argv, tally_env(admin, a.tally_env), cpus,
                 RESULTS / f"{stamp}-tally-profile.log", port)
    spy = None
    spy_log = open(RESULTS / f"{stamp}-py-spy.log", "wb")  # noqa: SIM115, ASYNC230 - closed below
    try:
        await srv.ready()
        _app_id, app_key = await create_tally_app(port, admin, "profile")
        wl = Workload(app_key, a.devices, prefix="pr", bulk_share=a.bulk_share)
        if pyspy is not None:
            spy_argv = [pyspy, "record", "--pid", str(srv.pid), "--duration", str(int(a.seconds)),
                        "--rate", "200", "--format", "raw", "--output", str(prof) + ".txt"]
            spy = subprocess.Popen(spy_argv, stdout=spy_log, stderr=subprocess.STDOUT)  # noqa: ASYNC220
        r = await run_phase("counted profile", HOST, port, wl, connections=a.connections, seconds=a.seconds,
                            warmup=0.0, server_pid=srv.pid)
        if spy is not None:
            spy.wait(60)
    finally:
        srv.stop()
        if spy is not None and spy.poll() is None:
            spy.kill()
        spy_log.close()
    out: dict[str, Any] = {"rps_under_profiler": r.rps, "tool": "py-spy" if pyspy else "cProfile",
                           "file": str(prof) + (".txt" if pyspy else ".prof")}
    if pyspy is not None and Path(out["file"]).exists():
        from bench.profile_summary import summarise

        out["summary"] = summarise(Path(out["file"]), top=25)
    log(f"profile written to {out['file']}")
    return out


# ---- report --------------------------------------------------------------------------------------
def fmt(v: Any, nd: int = 2) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:,.{nd}f}"
    return str(v)


def markdown(res: dict[str, Any]) -> str:
    lines = []
    cfg = res["config"]
    lines.append(f"## Tally benchmark {res['stamp']}  ")
    lines.append(f"{cfg['devices']} devices, {cfg['seconds']} s (+{cfg['warmup']} s warm-up), {cfg['connections']} "
                 f"connections; client CPU {cfg['client_cpus']}, server CPU {cfg['server_cpus']}; "
                 f"group-commit interval {cfg['batch_interval_ms']} ms\n")
    bare = res.get("bare", {}).get("peak")
    lines.append("| set-up | req/s | p50 ms | p99 ms | ÷ bare | RT/req | RT/HTTP req | agg docs written/req "
                 "| store docs written/req | bulk writes/flush | 2nd write to a coll. in a flush | errors "
                 "| client CPU | server CPU | other procs CPU | peak RSS MB |")
    lines.append("|" + "---|" * 16)
    if bare:
        lines.append(f"| bare aiohttp handler (ceiling) | {bare['rps']:,.0f} | {bare['p50_ms']} | {bare['p99_ms']} | 1 "
                     f"| – | – | – | – | – | – | {sum(bare['errors'].values())} | {bare['client_cpu']:.0%} "
                     f"| {bare['server_cpu']:.0%} | {bare['other_cpu']:.2f} | {res['bare']['peak_rss_kb'] / 1024:.0f} |")
    for store, t in res.get("tally", {}).items():
        label = {"memory": "Tally, embedded memory:// (mongomock)", "counted": "Tally, counted stand-in store"}[store]
        p, d = t["peak"], t["peak_derived"]
        ratio = f"{p['rps'] / bare['rps']:.0%}" if bare and bare["rps"] else "n/a"
        lines.append(f"| {label} | {p['rps']:,.0f} | {p['p50_ms']} | {p['p99_ms']} | {ratio} "
                     f"| {fmt(d.get('round_trips_per_request'))} | {fmt(d.get('round_trips_per_http_request'))} "
                     f"| {fmt(d.get('agg_docs_written_per_request'))} | {fmt(d.get('store_docs_written_per_request'))} "
                     f"| {fmt(d.get('bulk_writes_per_flush'))} | {fmt(d.get('bulk_same_collection_in_group'), 0)} "
                     f"| {sum(p['errors'].values())} | {p['client_cpu']:.0%} | {p['server_cpu']:.0%} "
                     f"| {p['other_cpu']:.2f} | {t['peak_rss_kb'] / 1024:.0f} |")
    lines.append("")
    gcs = [(st, t["peak_derived"]) for st, t in res.get("tally", {}).items() if "gc_ms_in_window" in t["peak_derived"]]
    for st, d in gcs:
        lines.append(f"GC in the {st} peak window: collections per generation {d['gc_collections_in_window']}, "
                     f"{d['gc_ms_in_window']} ms ({d['gc_share_of_window']:.1%} of the window), longest pause so far "
                     f"{d['gc_longest_pause_ms_so_far']} ms.  ")
    lines.append("")
    ratio = res.get("ratio")
    if ratio:
        lines.append(f"Tally (counted store) ÷ bare in alternating {ratio['seconds_per_round']:g}-s rounds: "
                     f"{', '.join(f'{x:.0%}' for x in ratio['ratios'])} → median **{ratio['median_ratio']:.0%}** "
                     f"(bare {', '.join(f'{x:,.0f}' for x in ratio['bare_rps'])} req/s; "
                     f"Tally {', '.join(f'{x:,.0f}' for x in ratio['tally_rps'])} req/s).  ")
        lines.append("")
    lines.append("| set-up | target rate req/s | connections | achieved | p50 ms | p99 ms | p99 target ms | late sends "
                 "| errors | server CPU | other procs CPU | GC time in window | longest GC pause so far ms |")
    lines.append("|" + "---|" * 13)
    target = cfg["batch_interval_ms"] + 10
    for store, t in res.get("tally", {}).items():
        q = t.get("partial")
        if q:
            lines.append(f"| {store} at {cfg['rate_fraction']:.0%} of peak | {q['target_rate']:,.0f} | {q['connections']} "
                         f"| {q['rps']:,.0f} | {q['p50_ms']} | {q['p99_ms']} | {target:g} | {q['late_sends']} "
                         f"| {sum(q['errors'].values())} | {q['server_cpu']:.0%} | {q['other_cpu']:.2f} "
                         f"| {fmt(t['partial_derived'].get('gc_share_of_window'), 3)} "
                         f"| {fmt(t['partial_derived'].get('gc_longest_pause_ms_so_far'), 1)} |")
    lines.append("")
    mem = [(s, t["memory_run"]) for s, t in res.get("tally", {}).items() if t.get("memory_run")]
    if mem:
        lines.append("| set-up | warm-up s (RSS at start MB) | seconds at peak | req/s | RSS start MB | RSS end MB "
                     "| RSS max MB | growth in 2nd half MB/min | peak RSS (VmHWM) MB "
                     "| counted store's objects MB (start → end) | its data as BSON MB (start → end) |")
        lines.append("|" + "---|" * 11)
        for store, m in mem:
            c = m["rss"]
            lines.append(f"| {store} | {c.get('warmup_s', 0):g} ({c.get('warmup_start_mb')}) "
                         f"| {cfg['memory_seconds']:g} | {m['phase']['rps']:,.0f} | {c.get('start_mb')} "
                         f"| {c.get('end_mb')} | {c.get('max_mb')} | {c.get('second_half_growth_mb_per_min')} "
                         f"| {m['peak_rss_kb'] / 1024:.0f} "
                         f"| {fmt(c.get('store_heap_mb_at_start'), 1)} → {fmt(c.get('store_heap_mb_at_end'), 1)} "
                         f"| {fmt(c.get('store_data_mb_at_start'), 1)} → {fmt(c.get('store_data_mb_at_end'), 1)} |")
        lines.append("")
    reads = [(s, t["read"]) for s, t in res.get("tally", {}).items() if t.get("read")]
    if reads:
        lines.append("| set-up | read | p50 ms | p99 ms | reads | round trips/read | docs fetched/read (all) "
                     "| bucket docs/read | bucket docs/month in window | … per collection | HTTP |")
        lines.append("|" + "---|" * 11)
        for store, r in reads:
            for name, x in r["reads"].items():
                lines.append(f"| {store} | {name} | {x.get('p50_ms')} | {x.get('p99_ms')} | {x.get('reads')} "
                             f"| {fmt(x.get('round_trips_per_read'))} | {fmt(x.get('docs_fetched_per_read'))} "
                             f"| {fmt(x.get('bucket_docs_fetched_per_read'))} "
                             f"| {fmt(x.get('bucket_docs_per_month_in_window'))} "
                             f"| {fmt(x.get('bucket_docs_per_month_per_collection'))} | {x.get('first_status')} |")
        seed = reads[0][1]["seed"]
        lines.append(f"\nRead app: {seed['days']} days of back-dated traffic, {seed['devices_per_day']} sessions a day "
                     f"({seed['items']} SDK requests through /i/bulk); documents are counted by the counted store "
                     "only (n/a on the embedded store).")
        lines.append("")
    if res.get("workers"):
        w = res["workers"]
        lines.append("| counted store | req/s | p99 ms | server CPU | client CPU | requests by worker |")
        lines.append("|---|---|---|---|---|---|")
        for n, x in w.items():
            if n != "note":
                lines.append(f"| {n} worker(s) | {x['rps']:,.0f} | {x['p99_ms']} | {x['server_cpu']:.0%} "
                             f"| {x['client_cpu']:.0%} | {list((x.get('requests_by_worker') or {}).values())} |")
        lines.append(f"\n{w['note']}\n")
    prof = res.get("profile", {}).get("summary")
    if prof:
        lines.append(f"Profile of the counted-store peak pass ({prof['samples']} py-spy samples; "
                     f"{res['profile']['rps_under_profiler']:,.0f} req/s under the profiler), Tally functions, "
                     "inclusive:\n")
        lines.append("| % of samples | function |")
        lines.append("|---|---|")
        for name, pct in prof["inclusive_tally"][:20]:
            lines.append(f"| {pct} | `{name}` |")
        lines.append("")
    return "\n".join(lines)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---- main ----------------------------------------------------------------------------------------
def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--devices", type=int, default=10000)
    p.add_argument("--seconds", type=float, default=20.0, help="measured seconds per load phase")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--store", choices=["memory", "counted", "both"], default="both")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of load before measuring")
    p.add_argument("--rate-fraction", type=float, default=0.7, help="open-loop pass at this share of the peak")
    p.add_argument("--bulk-share", type=float, default=0.05, help="share of devices sending through /i/bulk")
    p.add_argument("--memory-seconds", type=float, default=60.0, help="bounded-memory run at peak (0: skip)")
    p.add_argument("--memory-warmup", type=float, default=60.0,
                   help="seconds of the same load before the bounded-memory window (caches fill up)")
    p.add_argument("--read-seconds", type=float, default=5.0, help="seconds per read path (0: skip read side)")
    p.add_argument("--year-days", type=int, default=365)
    p.add_argument("--year-devices-per-day", type=int, default=8)
    p.add_argument("--year-lanes", type=int, default=8)
    p.add_argument("--workers", type=int, default=0, help="also compare 1 and N workers on the counted store")
    p.add_argument("--profile", action="store_true", help="also profile a peak pass on the counted store")
    p.add_argument("--no-bare", action="store_true", help="skip the bare-handler ceiling")
    p.add_argument("--ratio-rounds", type=int, default=3,
                   help="alternating bare/Tally rounds for the ÷ bare ratio (counted store; 0: skip)")
    p.add_argument("--ratio-seconds", type=float, default=5.0, help="seconds per ratio round")
    p.add_argument("--set", action="append", default=[], metavar="TALLY_X=V", help="extra Tally setting (repeatable)")
    p.add_argument("--wait-quiet", type=float, default=60.0,
                   help="before each phase, wait up to this many seconds for other processes to go quiet")
    p.add_argument("--smoke", action="store_true", help="tiny run (< 60 s) that exercises every part")
    a = p.parse_args(argv)
    if a.smoke:
        a.devices, a.seconds, a.connections, a.warmup = min(a.devices, 200), 1.5, min(a.connections, 8), 0.5
        a.memory_seconds, a.read_seconds, a.year_devices_per_day, a.year_lanes = 2.0, 0.5, 1, 4
        a.memory_warmup = 1.0
        a.ratio_rounds, a.ratio_seconds = 1, 1.0
        a.wait_quiet = 0.0
    a.tally_env = dict(s.split("=", 1) for s in a.set)
    return a


async def main_async(a: argparse.Namespace) -> dict[str, Any]:
    from server.settings import load_settings

    client_cpus, server_cpus = cpu_plan()
    if client_cpus:
        os.sched_setaffinity(0, client_cpus)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    RESULTS.mkdir(parents=True, exist_ok=True)
    settings = load_settings(env=tally_env("0" * 32, a.tally_env))
    res: dict[str, Any] = {
        "stamp": stamp,
        "config": {"devices": a.devices, "seconds": a.seconds, "connections": a.connections, "warmup": a.warmup,
                   "rate_fraction": a.rate_fraction, "memory_seconds": a.memory_seconds,
                   "memory_warmup": a.memory_warmup,
                   "read_seconds": a.read_seconds, "year_days": a.year_days,
                   "year_devices_per_day": a.year_devices_per_day, "smoke": a.smoke, "store": a.store,
                   "client_cpus": sorted(client_cpus) if client_cpus else "unpinned",
                   "server_cpus": sorted(server_cpus) if server_cpus else "unpinned",
                   "cpu_count": os.cpu_count(), "python": sys.version.split()[0],
                   "batch_interval_ms": settings.batch_interval_ms, "batch_max_updates": settings.batch_max_updates,
                   "tally_env": a.tally_env, "argv": sys.argv[1:]},
        "tally": {},
    }
    t0 = time.perf_counter()
    if not a.no_bare:
        res["bare"] = await bench_bare(a, server_cpus, stamp)
    for store in (["memory", "counted"] if a.store == "both" else [a.store]):
        res["tally"][store] = await bench_tally(store, a, server_cpus, stamp)
    if not a.no_bare and a.ratio_rounds > 0 and a.store in ("counted", "both"):
        res["ratio"] = await bench_ratio(a, server_cpus, stamp)
    if a.workers > 1:
        res["workers"] = await bench_workers(a, stamp)
    if a.profile:
        res["profile"] = await profile_run(a, server_cpus, stamp)
    res["elapsed_s"] = round(time.perf_counter() - t0, 1)
    return res


def main(argv: list[str] | None = None) -> int:
    a = parse(argv)
    res = asyncio.run(main_async(a))
    path = RESULTS / f"{res['stamp']}.json"
    path.write_text(json.dumps(res, indent=1, default=str))
    print(markdown(res))
    print(f"\nelapsed {res['elapsed_s']} s; full results: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
