"""MongoDB failures, slowness and recovery: nothing acknowledged is lost, nothing counted twice."""
from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from mongomock_motor import AsyncMongoMockClient

from server import keys
from server.app import create_app
from server.ingest.pipeline import device_key
from server.mongo import app_users_name
from tests.conftest import FakeClock, SettingsFactory, Tally
from tests.support.faults import Faults, FaultyDatabase

UNAVAILABLE = {"result": "Database unavailable, please retry later"}
BUSY = {"result": "Server busy, please retry later"}
SUCCESS = {"result": "Success"}
DUPLICATE = {"result": "Success", "info": "Request ignored: Duplicate request"}


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
def faulty_factory(aiohttp_client: Any, make_settings: SettingsFactory, clock: FakeClock,
                   faults: Faults) -> Callable[..., Awaitable[Tally]]:
    async def start(background: bool = False, **overrides: Any) -> Tally:
        db = FaultyDatabase(AsyncMongoMockClient()["t" + secrets.token_hex(4)], faults)
        settings = make_settings(write_timeout=0.05, **overrides)
        app = create_app(settings, clock=clock, database=db, start_background=background)
        return Tally(await aiohttp_client(app), clock)
    return start


@pytest.fixture
async def tally(faulty_factory: Callable[..., Awaitable[Tally]]) -> AsyncIterator[Tally]:
    yield await faulty_factory()


async def sessions_year(tally: Tally, app_id: str) -> dict[str, Any]:
    status, body = await tally.read(app_id=app_id, method="sessions")
    assert status == 200
    return body.get("2024", {})  # type: ignore[no-any-return]


def begin(app_key: str, device: str, ts: int, **extra: Any) -> dict[str, Any]:
    return {"app_key": app_key, "device_id": device, "begin_session": 1, "timestamp": ts, **extra}


async def test_failed_bulk_write_is_kept_and_retries_are_not_counted_twice(tally: Tally, faults: Faults) -> None:
    app = await tally.create_app()
    ts = int(tally.clock.now)
    assert await tally.write(**begin(app["key"], "A", ts)) == (200, SUCCESS)

    faults.fail("bulk_write")
    assert await tally.write(**begin(app["key"], "B", ts)) == (503, UNAVAILABLE)
    # The SDK resends the same request (web SDK: another rr) while MongoDB is still down.
    assert await tally.write(**begin(app["key"], "B", ts, rr=3)) == (503, UNAVAILABLE)
    status, health = await tally.read("/o/health")
    assert status == 200
    assert health["batcher"]["pending_updates"] > 0
    assert health["storage"]["flush_retries"] >= 2
    assert "injected failure of bulk_write" in health["storage"]["last_error"]

    faults.clear()
    assert await tally.write(**begin(app["key"], "B", ts, rr=1)) == (200, DUPLICATE)
    year = await sessions_year(tally, app["_id"])
    assert (year["t"], year["n"], year["u"], year["e"]) == (2, 2, 2, 2)


async def test_failed_device_write_stores_nothing_until_the_retry(tally: Tally, faults: Faults) -> None:
    app = await tally.create_app()
    ts = int(tally.clock.now)
    faults.fail("find_one_and_update")
    assert await tally.write(**begin(app["key"], "A", ts)) == (503, UNAVAILABLE)
    assert await tally.app[keys.DB][app_users_name(app["_id"])].count_documents({}) == 0
    assert await sessions_year(tally, app["_id"]) == {}

    faults.clear()
    assert await tally.write(**begin(app["key"], "A", ts)) == (200, SUCCESS)
    assert await tally.write(**begin(app["key"], "A", ts)) == (200, DUPLICATE)
    year = await sessions_year(tally, app["_id"])
    assert (year["t"], year["n"], year["e"]) == (1, 1, 1)


async def test_device_write_that_landed_before_the_connection_dropped_counts_once(
        tally: Tally, faults: Faults) -> None:
    app = await tally.create_app()
    ts = int(tally.clock.now)
    faults.fail("find_one_and_update", after=True)
    assert await tally.write(**begin(app["key"], "A", ts)) == (200, SUCCESS)
    faults.clear()
    assert await tally.write(**begin(app["key"], "A", ts)) == (200, DUPLICATE)
    year = await sessions_year(tally, app["_id"])
    assert (year["t"], year["n"], year["e"]) == (1, 1, 1)


async def test_back_pressure_refuses_before_touching_state(
        faulty_factory: Callable[..., Awaitable[Tally]], faults: Faults) -> None:
    tally = await faulty_factory(max_pending_updates=3)
    app = await tally.create_app()
    ts = int(tally.clock.now)
    faults.fail("bulk_write")
    assert await tally.write(**begin(app["key"], "A", ts)) == (503, UNAVAILABLE)
    assert await tally.write(**begin(app["key"], "B", ts)) == (503, BUSY)
    users = tally.app[keys.DB][app_users_name(app["_id"])]
    assert await users.find_one({"_id": device_key(app["key"], "B")}) is None

    faults.clear()
    await tally.flush()  # what the batcher's loop does once MongoDB answers again
    assert await tally.write(**begin(app["key"], "B", ts)) == (200, SUCCESS)
    assert await tally.write(**begin(app["key"], "A", ts)) == (200, DUPLICATE)
    year = await sessions_year(tally, app["_id"])
    assert (year["t"], year["n"], year["u"], year["e"]) == (2, 2, 2, 2)


async def test_partial_failure_retries_only_the_failed_collection(tally: Tally, faults: Faults) -> None:
    app = await tally.create_app()
    ts = int(tally.clock.now)
    faults.fail("bulk_write", collections={"device_details"})
    metrics = {"_os": "Android", "_os_version": "14"}
    assert await tally.write(**begin(app["key"], "A", ts, metrics=metrics)) == (503, UNAVAILABLE)
    # only device_details' two documents (month and year) are still pending; users was written
    assert tally.app[keys.BATCHER].pending() == 2
    faults.clear()
    await tally.flush()
    year = await sessions_year(tally, app["_id"])
    assert (year["t"], year["n"], year["e"]) == (1, 1, 1)
    status, details = await tally.read(app_id=app["_id"], method="device_details")
    assert status == 200
    assert details["2024"]["Android"] == {"u": 1, "t": 1, "n": 1}
    assert details["meta"]["os_versions"] == ["a14"]


async def test_slow_store_answers_503_then_writes_once(
        faulty_factory: Callable[..., Awaitable[Tally]], faults: Faults) -> None:
    tally = await faulty_factory(background=True, batch_interval_ms=1.0)
    app = await tally.create_app()
    ts = int(tally.clock.now)
    faults.delay = 0.2  # every store call now takes longer than write_timeout (0.05 s)
    assert await tally.write(**begin(app["key"], "A", ts)) == (503, UNAVAILABLE)
    faults.clear()
    await tally.flush()  # waits for the slow write in progress, then writes anything left
    assert await tally.write(**begin(app["key"], "A", ts)) == (200, DUPLICATE)
    year = await sessions_year(tally, app["_id"])
    assert (year["t"], year["n"], year["e"]) == (1, 1, 1)


async def test_shutdown_writes_in_flight_requests_before_closing(
        aiohttp_client: Any, make_settings: SettingsFactory, clock: FakeClock) -> None:
    """Graceful stop: requests waiting for their group commit are answered after it is written."""
    db = AsyncMongoMockClient()["shutdown"]
    settings = make_settings(batch_interval_ms=60_000.0, write_timeout=30.0)
    client = await aiohttp_client(create_app(settings, clock=clock, database=db))
    tally = Tally(client, clock)
    app = await tally.create_app()
    ts = int(clock.now)
    writes = [asyncio.ensure_future(tally.write(**begin(app["key"], f"d{i}", ts))) for i in range(5)]
    batcher = client.server.app[keys.BATCHER]
    for _ in range(10_000):  # until all five wait in the open batch (bounded, no timed sleep)
        if batcher.pending() >= 5 * 3:
            break
        await asyncio.sleep(0)
    assert not any(w.done() for w in writes)
    await client.server.close()  # what SIGTERM does: stop accepting, drain, flush, close
    assert [await w for w in writes] == [(200, SUCCESS)] * 5
    doc = await db["users"].find_one({"_id": f"{app['_id']}_2024:11"})
    assert doc["d"]["7"]["t"] == 5
