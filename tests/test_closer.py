"""The session closer: due sessions closed from memory, pending closes surviving a restart."""
from __future__ import annotations

from typing import Any

from mongomock_motor import AsyncMongoMockClient

from server import keys
from server.app import create_app
from tests.conftest import FakeClock, SettingsFactory, Tally

OK = (200, {"result": "Success"})


async def ds_of(tally: Tally, app_id: str) -> dict[str, Any]:
    status, body = await tally.read(app_id=app_id, method="sessions")
    assert status == 200
    return body.get("2024", {}).get("ds", {})  # type: ignore[no-any-return]


async def test_ended_session_is_closed_after_the_cooldown_without_a_database_scan(
        tally_factory: Any) -> None:
    tally = await tally_factory(session_cooldown=15)
    app = await tally.create_app()
    ts = int(tally.clock.now) - 3600  # requests from the past (a future timestamp is clamped to now)
    closer = tally.app[keys.CLOSER]
    assert await closer.close_due(ts) == 0  # the start-up scan: nothing to close yet
    assert await tally.write(app_key=app["key"], device_id="d", begin_session=1, timestamp=ts) == OK
    assert await tally.write(app_key=app["key"], device_id="d", session_duration=40, end_session=1,
                             timestamp=ts + 40) == OK
    stats = tally.app[keys.STATS]
    before = stats.round_trips
    assert await closer.close_due(ts + 40 + 14) == 0  # still inside the cooldown
    assert stats.round_trips == before  # nothing due: not a single database call
    assert await closer.close_due(ts + 40 + 15) == 1
    assert await ds_of(tally, app["_id"]) == {"2": 1}
    assert await closer.close_due(ts + 40 + 16) == 0


async def test_quiet_session_is_closed_after_the_timeout(tally_factory: Any) -> None:
    tally = await tally_factory(session_timeout=600)
    app = await tally.create_app()
    ts = int(tally.clock.now) - 3600  # requests from the past (a future timestamp is clamped to now)
    assert await tally.write(app_key=app["key"], device_id="w", begin_session=1, timestamp=ts) == OK
    assert await tally.write(app_key=app["key"], device_id="w", session_duration=60, timestamp=ts + 60) == OK
    closer = tally.app[keys.CLOSER]
    assert await closer.close_due(ts + 60 + 599) == 0
    assert await closer.close_due(ts + 60 + 600) == 1
    assert await ds_of(tally, app["_id"]) == {"2": 1}


async def test_pending_close_survives_a_restart(aiohttp_client: Any, make_settings: SettingsFactory,
                                                clock: FakeClock) -> None:
    db = AsyncMongoMockClient()["restart"]
    settings = make_settings(session_cooldown=15)
    first = Tally(await aiohttp_client(create_app(settings, clock=clock, database=db, start_background=False)),
                  clock)
    app = await first.create_app()
    ts = int(clock.now) - 3600
    assert await first.write(app_key=app["key"], device_id="d", begin_session=1, timestamp=ts) == OK
    assert await first.write(app_key=app["key"], device_id="d", session_duration=5, end_session=1,
                             timestamp=ts + 5) == OK
    await first.client.close()  # the process stops before the cooldown is over

    second = Tally(await aiohttp_client(create_app(settings, clock=clock, database=db, start_background=False)),
                   clock)
    assert await second.app[keys.CLOSER].close_due(ts + 30) == 1  # found by the start-up scan
    assert await ds_of(second, app["_id"]) == {"0": 1}


async def test_the_due_heap_stays_proportional_to_open_sessions(tally: Tally) -> None:
    """Every request moves its device's close time; superseded heap entries must not pile up."""
    closer = tally.app[keys.CLOSER]
    for i in range(5000):
        closer.track("app", f"d{i % 10}", 1000.0 + i)
    assert len(closer._due) == 10
    assert len(closer._heap) <= 2 * 10 + 1024 + 1
    assert await closer.close_due(1000.0 + 4999) == 0  # all due, but "app" does not exist: nothing to apply
    assert len(closer._due) == 0
