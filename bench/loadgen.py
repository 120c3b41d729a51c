"""Drive a workload over C keep-alive connections and measure it.

Two modes:

* closed loop (`rate=None`): every connection sends its next request as soon as the previous
  answer is in. This finds the peak request rate.
* open loop (`rate=R`): request k is due at `start + k/R` whatever happened before; connections
  take the next due slot, and latency is measured from the due time when the request goes out
  late (no "coordinated omission": a stalled server shows up in the latency, not as fewer
  requests). Sleeps are rounded to the event loop's ~1 ms timer resolution.

Devices are split over the connections (device d always uses connection d mod C), so one
device's requests are sent in session order, and a connection cycles through its devices, which
spreads each device's session over the run.

While a phase runs, a sampler reads the server processes' VmRSS/VmHWM and CPU time from /proc
every second, and the client's own CPU time, so a saturated client is visible in the results.
Only the measurement window (after `warmup`) counts; Tally's counters are read over HTTP at the
start and end of that window.
"""
from __future__ import annotations

import asyncio
import os
import resource
import time
from array import array
from dataclasses import dataclass, field
from typing import Any

from bench.client import Connection, HttpError, connect, fetch
from bench.workload import Workload

CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---- /proc readings ------------------------------------------------------------------------------
def proc_children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def proc_tree(pid: int) -> list[int]:
    """The process and its descendants (pre-forked workers)."""
    out, todo = [], [pid]
    for _ in range(64):
        if not todo:
            break
        p = todo.pop()
        out.append(p)
        todo.extend(proc_children(p))
    return out


def proc_mem_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in kB of one process; (0, 0) when it is gone."""
    rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except OSError:
        pass
    return rss, hwm


def proc_cpu_s(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def machine_busy_s() -> float:
    """CPU seconds spent by everything on the machine (all CPUs, /proc/stat, not idle/iowait)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    busy = sum(fields[:8]) - idle  # user nice system idle iowait irq softirq steal
    return busy / CLK_TCK


def other_load(server_pid: int | None, seconds: float = 0.5) -> float:
    """CPUs' worth of work by other processes over `seconds` (blocking; call outside a phase)."""
    def own() -> float:
        return client_cpu_s() + (sum(proc_cpu_s(p) for p in proc_tree(server_pid)) if server_pid else 0.0)
    b0, o0, t0 = machine_busy_s(), own(), time.perf_counter()
    time.sleep(seconds)
    b1, o1, t1 = machine_busy_s(), own(), time.perf_counter()
    return max(0.0, ((b1 - b0) - (o1 - o0)) / (t1 - t0))


def client_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


@dataclass
class Sample:
    t: float
    rss_kb: int
    hwm_kb: int
    server_cpu_s: float
    client_cpu_s: float
    completed: int


class Sampler:
    """Every `interval` seconds: server RSS (summed over workers), HWM (max), CPU; client CPU."""

    def __init__(self, pid: int | None, interval: float = 1.0) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[Sample] = []
        self.completed = 0  # updated by the load loop
        self._task: asyncio.Task[None] | None = None

    def read(self, t0: float) -> Sample:
        rss = hwm = 0
        cpu = 0.0
        if self.pid is not None:
            for p in proc_tree(self.pid):
                r, h = proc_mem_kb(p)
                rss += r
                hwm = max(hwm, h)
                cpu += proc_cpu_s(p)
        return Sample(round(time.perf_counter() - t0, 3), rss, hwm, cpu, client_cpu_s(), self.completed)

    async def _run(self, t0: float, limit_s: float) -> None:
        for _ in range(int(limit_s / self.interval) + 2):
            self.samples.append(self.read(t0))
            await asyncio.sleep(self.interval)

    def start(self, t0: float, limit_s: float) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(t0, limit_s))

    async def stop(self, t0: float) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self.samples.append(self.read(t0))


# ---- results -------------------------------------------------------------------------------------
def percentile(sorted_values: Any, q: float) -> float:
    if not len(sorted_values):
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q / 100.0 * (len(sorted_values) - 1))))
    return float(sorted_values[k])


@dataclass
class PhaseResult:
    name: str
    mode: str
    connections: int
    seconds: float
    target_rate: float | None
    requests: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    rps: float = 0.0
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    late_sends: int = 0
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    other_cpu: float = 0.0  # CPUs' worth of work by other processes on the machine during the window
    counters_before: dict[str, Any] | None = None
    counters_after: dict[str, Any] | None = None
    samples: list[dict[str, Any]] = field(default_factory=list)
    per_second: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


class _State:
    def __init__(self, t_start: float, t_end: float, rate: float | None, t_sched0: float) -> None:
        self.t_start = t_start
        self.t_end = t_end
        self.rate = rate
        self.interval = 1.0 / rate if rate else 0.0
        self.t_sched0 = t_sched0
        self.next_slot = 0
        self.latencies = array("d")
        self.errors: dict[str, int] = {}
        self.completed = 0
        self.measured = 0
        self.late = 0
        self.stop = False
        self.per_second: list[int] = []


async def _connection_loop(host: str, port: int, workload: Workload, devices: list[int], st: _State,
                           sampler: Sampler, last_ts: list[int], delay: float) -> None:
    conn: Connection | None = None
    n = len(devices)
    if n == 0:
        return
    if delay > 0:
        # connections open one after another, as clients arrive: with pre-forked workers sharing
        # one listening socket, a burst of connects is all accepted by whichever worker wakes first
        await asyncio.sleep(delay)
    i = 0
    perf = time.perf_counter
    reconnects = 0
    while not st.stop:
        if conn is None or conn.closed:
            if reconnects > 100:
                st.errors["gave up after 100 reconnects"] = 1
                return
            reconnects += conn is not None
            try:
                conn = await asyncio.wait_for(connect(host, port), 10)
            except (TimeoutError, OSError) as exc:
                st.errors[f"connect: {type(exc).__name__}"] = st.errors.get(f"connect: {type(exc).__name__}", 0) + 1
                await asyncio.sleep(0.1)
                conn = None
                continue
        due = 0.0
        if st.rate:
            slot = st.next_slot
            st.next_slot += 1
            due = st.t_sched0 + slot * st.interval
            if due >= st.t_end:
                return
            delay = due - perf()
            if delay > 0.0015:
                await asyncio.sleep(delay - 0.001)
        now_ms = int(time.time() * 1000)
        ts = last_ts[0] + 1 if now_ms <= last_ts[0] else now_ms
        last_ts[0] = ts
        device = devices[i]
        i = i + 1 if i + 1 < n else 0
        raw = workload.next_request(device, ts)
        sent = perf()
        try:
            status, _ = await conn.send(raw)
        except HttpError as exc:
            st.errors[str(exc)[:60]] = st.errors.get(str(exc)[:60], 0) + 1
            conn = None
            continue
        done = perf()
        st.completed += 1
        sampler.completed = st.completed
        if st.t_start <= done < st.t_end:
            start = min(sent, due) if st.rate else sent
            st.latencies.append(done - start)
            st.measured += 1
            if st.rate and sent - due > 0.002:
                st.late += 1
            if status != 200:
                key = f"HTTP {status}"
                st.errors[key] = st.errors.get(key, 0) + 1
        if done >= st.t_end:
            break
    if conn is not None:
        conn.close()


async def counters(host: str, port: int, query: str = "") -> dict[str, Any] | None:
    try:
        status, body = await fetch(host, port, "/bench/counters" + query, timeout=30)
    except (TimeoutError, OSError, HttpError):
        return None
    return body if status == 200 and isinstance(body, dict) else None


async def run_phase(name: str, host: str, port: int, workload: Workload, *, connections: int, seconds: float,
                    warmup: float, rate: float | None = None, server_pid: int | None = None,
                    read_counters: bool = True) -> PhaseResult:
    """One load phase; bounded by `warmup + seconds` plus a 15 s grace for in-flight requests."""
    result = PhaseResult(name, "open" if rate else "closed", connections, seconds, rate)
    t0 = time.perf_counter()
    st = _State(t0 + warmup, t0 + warmup + seconds, rate, t0)
    sampler = Sampler(server_pid)
    sampler.start(t0, warmup + seconds + 20)
    per_conn: list[list[int]] = [[] for _ in range(connections)]
    for d in range(workload.devices):
        per_conn[d % connections].append(d)
    last_ts = [0]
    stagger = min(0.01, warmup / max(connections, 1) / 2) if warmup > 0 else 0.0
    tasks = [asyncio.ensure_future(_connection_loop(host, port, workload, devs, st, sampler, last_ts, i * stagger))
             for i, devs in enumerate(per_conn)]

    async def mark_window() -> None:
        await asyncio.sleep(max(0.0, st.t_start - time.perf_counter()))
        if read_counters:
            result.counters_before = await counters(host, port)
        cpu0 = (client_cpu_s(), sampler.read(t0).server_cpu_s, time.perf_counter(), machine_busy_s())
        await asyncio.sleep(max(0.0, st.t_end - time.perf_counter()))
        cpu1 = (client_cpu_s(), sampler.read(t0).server_cpu_s, time.perf_counter(), machine_busy_s())
        wall = cpu1[2] - cpu0[2]
        if wall > 0:
            result.client_cpu = round((cpu1[0] - cpu0[0]) / wall, 3)
            result.server_cpu = round((cpu1[1] - cpu0[1]) / wall, 3)
            others = (cpu1[3] - cpu0[3]) - (cpu1[0] - cpu0[0]) - (cpu1[1] - cpu0[1])
            result.other_cpu = round(max(0.0, others / wall), 2)
        if read_counters:
            result.counters_after = await counters(host, port)

    marker = asyncio.ensure_future(mark_window())
    done, pending = await asyncio.wait(tasks, timeout=warmup + seconds + 15)
    st.stop = True
    for t in pending:
        t.cancel()
    if pending:
        st.errors["cancelled (no answer within 15 s after the end)"] = len(pending)
        await asyncio.gather(*pending, return_exceptions=True)
    for t in done:
        if t.exception() is not None:
            key = f"client: {type(t.exception()).__name__}: {t.exception()}"[:80]
            st.errors[key] = st.errors.get(key, 0) + 1
    try:
        await asyncio.wait_for(marker, 40)
    except TimeoutError:
        st.errors["counters not read"] = 1
    await sampler.stop(t0)
    lat = sorted(st.latencies)
    result.requests = st.measured
    result.rps = round(st.measured / seconds, 1) if seconds else 0.0
    result.p50_ms = round(percentile(lat, 50) * 1000, 3)
    result.p90_ms = round(percentile(lat, 90) * 1000, 3)
    result.p99_ms = round(percentile(lat, 99) * 1000, 3)
    result.max_ms = round((lat[-1] if lat else float("nan")) * 1000, 3)
    result.late_sends = st.late
    result.errors = st.errors
    result.samples = [s.__dict__ for s in sampler.samples]
    prev = None
    for s in sampler.samples:
        if prev is not None:
            result.per_second.append(s.completed - prev)
        prev = s.completed
    return result
