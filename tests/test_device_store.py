"""The versioned device store: two workers never both count from one state."""
from __future__ import annotations

import asyncio
from typing import Any

from mongomock_motor import AsyncMongoMockClient

from server.ingest.process import Context, Outcome, transition
from server.ingest.request import parse
from server.settings import load_settings
from server.storage.devices import DeviceStore
from server.storage.meta import Registry
from server.storage.stats import StoreStats

APP_ID = "0" * 24
NOW = 1_731_000_000.0
SETTINGS = load_settings(env={}, session_cooldown=0)
CTX = Context(app_id=APP_ID, tz="UTC", app_country="", settings=SETTINGS, registry=Registry(),
              allows=lambda *a: True)


def begin(ts: float) -> Any:
    req = parse({"app_key": "k", "device_id": "d", "begin_session": "1", "timestamp": str(int(ts))}, NOW + 86400,
                duration_limit=86400, client_ip=None)
    return lambda old: transition(old, req, CTX)


def counts(outcomes: list[Outcome]) -> dict[str, int]:
    """Summed month-doc day increments of `t` and `n` over the outcomes' users updates."""
    total = {"t": 0, "n": 0}
    for o in outcomes:
        for u in o.updates:
            if u.collection == "users" and u.id.endswith(":11"):
                for key in total:
                    total[key] += u.ops.get("$inc", {}).get(f"d.7.{key}", 0)
    return total


async def test_two_workers_first_requests_of_one_device_make_one_new_user() -> None:
    db = AsyncMongoMockClient()["devices"]
    worker1, worker2 = DeviceStore(db, StoreStats(), 100), DeviceStore(db, StoreStats(), 100)
    outcomes = await asyncio.gather(worker1.apply(APP_ID, "dev", begin(NOW)),
                                    worker2.apply(APP_ID, "dev", begin(NOW + 60)))
    assert counts(list(outcomes)) == {"t": 2, "n": 1}
    assert worker1.stats.device_conflicts + worker2.stats.device_conflicts == 1
    doc = await db[f"app_users{APP_ID}"].find_one({"_id": "dev"})
    assert (doc["sc"], doc["v"], doc["fs"]) == (2, 2, NOW)


async def test_a_stale_cached_state_is_detected_and_recomputed() -> None:
    db = AsyncMongoMockClient()["devices"]
    worker1, worker2 = DeviceStore(db, StoreStats(), 100), DeviceStore(db, StoreStats(), 100)
    first = await worker1.apply(APP_ID, "dev", begin(NOW))            # worker1 caches v1
    second = await worker2.apply(APP_ID, "dev", begin(NOW + 3600))    # v2, written by worker2
    third = await worker1.apply(APP_ID, "dev", begin(NOW + 7200))     # worker1's cache is stale
    assert counts([first, second, third]) == {"t": 3, "n": 1}
    assert worker1.stats.device_conflicts == 1
    doc = await db[f"app_users{APP_ID}"].find_one({"_id": "dev"})
    assert (doc["sc"], doc["v"], doc["ls"]) == (3, 3, NOW + 7200)


async def test_one_worker_serialises_concurrent_requests_of_a_device() -> None:
    db = AsyncMongoMockClient()["devices"]
    store = DeviceStore(db, StoreStats(), 100)
    outcomes = await asyncio.gather(*(store.apply(APP_ID, "dev", begin(NOW + i * 3600)) for i in range(5)))
    assert counts(list(outcomes)) == {"t": 5, "n": 1}
    assert store.stats.device_conflicts == 0
    assert store.stats.round_trips == 5
