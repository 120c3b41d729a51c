"""The read side: a year of back-dated traffic through Tally's own `/i/bulk`, then timed reads.

Seeding: for every day of the last `days` days, `per_day` devices each send one session
(`begin_session` with metrics and location, two events with segmentation, a heartbeat,
`end_session`) with `timestamp`s inside that day. Days are split over `lanes` connections,
each lane with its own pool of devices and its days in calendar order, so every device's
requests arrive in time order. One `/i/bulk` POST carries one day of one lane.

Reading: each read path is requested over one keep-alive connection, one request at a time,
for `seconds` (at most `max_reads`). Latency p50/p99 and, from the counters read before and
after, round trips and documents fetched per read (documents only where the store counts them:
the counted stand-in).
"""
from __future__ import annotations

import asyncio
import json
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from bench.client import HttpError, connect, get
from bench.loadgen import counters, percentile
from bench.workload import APP_VERSIONS, CARRIERS, LOCATIONS, OSES, RESOLUTIONS

BUCKET_COLLECTIONS = ("users", "device_details", "devices", "carriers", "cities")


def _post(path: str, host: str, params: list[tuple[str, str]]) -> bytes:
    body = urlencode(params, quote_via=quote).encode()
    return (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


def year_requests(app_key: str, *, days: int, per_day: int, lanes: int, now: float, host: str = "127.0.0.1",
                  seed: int = 7) -> list[list[bytes]]:
    """Per lane, its `/i/bulk` requests (one per day) in calendar order."""
    rnd = random.Random(seed)
    pool = max(per_day * 4, 8)
    out: list[list[bytes]] = [[] for _ in range(lanes)]
    today = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    for back in range(days - 1, -1, -1):
        day = today - timedelta(days=back)
        lane = back % lanes
        items: list[dict[str, Any]] = []
        for k in range(per_day):
            dev = f"year-{lane}-{rnd.randrange(pool)}"
            start = day + timedelta(hours=8 + (k * 11) % 12, minutes=rnd.randrange(60))
            os_name, versions, devices = rnd.choice(OSES)
            cc, city = rnd.choice(LOCATIONS)
            base = {"device_id": dev, "country_code": cc, "city": city, "sdk_name": "javascript_native_nodejs_bulk",
                    "sdk_version": "24.10.4"}
            ts = int(start.timestamp() * 1000)
            metrics = {"_os": os_name, "_os_version": rnd.choice(versions), "_device": rnd.choice(devices),
                       "_resolution": rnd.choice(RESOLUTIONS), "_carrier": rnd.choice(CARRIERS),
                       "_app_version": rnd.choice(APP_VERSIONS)}
            items += [
                {**base, "begin_session": 1, "metrics": metrics, "timestamp": ts},
                {**base, "events": [{"key": "purchase", "count": 1, "sum": 9.99,
                                     "segmentation": {"item": "sword", "currency": "EUR"}, "timestamp": ts + 5000},
                                    {"key": "level_play", "count": 1, "segmentation": {"level": "1-1"},
                                     "timestamp": ts + 6000}], "timestamp": ts + 6000},
                {**base, "session_duration": 60, "timestamp": ts + 60000},
                {**base, "end_session": 1, "session_duration": 30, "timestamp": ts + 90000},
            ]
        out[lane].append(_post("/i/bulk", host, [("app_key", app_key),
                                                  ("requests", json.dumps(items, separators=(",", ":")))]))
    return out


async def seed_year(host: str, port: int, app_key: str, *, days: int = 365, per_day: int = 8, lanes: int = 8,
                    timeout: float = 600.0) -> dict[str, Any]:
    now = time.time()
    plan = year_requests(app_key, days=days, per_day=per_day, lanes=lanes, now=now, host=host)
    errors: dict[str, int] = {}
    t0 = time.perf_counter()

    async def lane(requests: list[bytes]) -> None:
        conn = await connect(host, port, keep_body=True)
        try:
            for raw in requests:
                status, body = await conn.send(raw)
                if status != 200 or b"warnings" in (body or b""):
                    key = f"HTTP {status}: {(body or b'')[:120].decode(errors='replace')}"
                    errors[key] = errors.get(key, 0) + 1
        finally:
            conn.close()

    await asyncio.wait_for(asyncio.gather(*(lane(r) for r in plan)), timeout)
    return {"days": days, "devices_per_day": per_day, "lanes": lanes, "bulk_requests": sum(len(r) for r in plan),
            "items": days * per_day * 4, "seconds": round(time.perf_counter() - t0, 2), "errors": errors}


def _delta(before: dict[str, Any] | None, after: dict[str, Any] | None, part: str, key: str) -> float | None:
    if not before or not after or not before.get(part) or not after.get(part):
        return None
    return float(after[part][key] - before[part][key])


async def time_reads(host: str, port: int, paths: dict[str, str], *, seconds: float, max_reads: int = 100000,
                     warm: int = 3) -> dict[str, Any]:
    """Per named path: reads, p50/p99 ms, round trips and documents fetched per read."""
    results: dict[str, Any] = {}
    for name, path in paths.items():
        conn = await connect(host, port, keep_body=True)
        raw = get(path, host)
        try:
            first_status, first_body = await conn.send(raw)
            for _ in range(warm - 1):
                await conn.send(raw)
            before = await counters(host, port)
            lat: list[float] = []
            end = time.perf_counter() + seconds
            statuses: dict[int, int] = {}
            for _ in range(max_reads):
                t = time.perf_counter()
                if t >= end:
                    break
                status, _body = await conn.send(raw)
                lat.append(time.perf_counter() - t)
                statuses[status] = statuses.get(status, 0) + 1
            after = await counters(host, port)
        except HttpError as exc:
            results[name] = {"path": path, "error": str(exc)}
            continue
        finally:
            conn.close()
        lat.sort()
        n = len(lat)
        entry: dict[str, Any] = {
            "path": path, "reads": n, "statuses": statuses, "first_status": first_status,
            "response_bytes": len(first_body or b""),
            "p50_ms": round(percentile(lat, 50) * 1000, 3), "p99_ms": round(percentile(lat, 99) * 1000, 3),
        }
        if first_status != 200:
            entry["first_body"] = (first_body or b"")[:300].decode(errors="replace")
        rt = _delta(before, after, "tally", "round_trips")
        entry["round_trips_per_read"] = round(rt / n, 2) if rt is not None and n else None
        fetched = _delta(before, after, "store", "docs_fetched")
        entry["docs_fetched_per_read"] = round(fetched / n, 2) if fetched is not None and n else None
        if before and after and before.get("store") and after.get("store"):
            b, a = before["store"]["fetched_by_collection"], after["store"]["fetched_by_collection"]
            by = {c: round((a.get(c, 0) - b.get(c, 0)) / n, 2) for c in sorted(a) if a.get(c, 0) - b.get(c, 0)}
            entry["docs_fetched_by_collection_per_read"] = by
            entry["bucket_docs_fetched_per_read"] = round(sum(
                v for c, v in by.items() if c in BUCKET_COLLECTIONS or c.startswith("events")), 2)
            entry["bucket_collections_read"] = sum(1 for c in by if c in BUCKET_COLLECTIONS or c.startswith("events"))
        results[name] = entry
    return results


def months_in_window(days: int, now: float) -> int:
    """Calendar months touched by the last `days` days (UTC), as Tally's `Ndays` window does."""
    today = datetime.fromtimestamp(now, UTC).date()
    start = today - timedelta(days=days - 1)
    return (today.year - start.year) * 12 + today.month - start.month + 1
