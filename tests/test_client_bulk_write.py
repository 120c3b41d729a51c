"""Group commit with MongoDB 8.0's client-level bulkWrite: one round trip per flush for every
collection, chosen at start-up (`bulk_write` setting), and exact figures after partial failures.

The store is the benchmark's counted stand-in (`bench/countedstore.py`), which implements
`client.bulk_write` and answers `hello` with the wire version it is given (25 = MongoDB 8.0).
"""
from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pymongo.errors import AutoReconnect

from bench.countedstore import CountedClient, CountedDatabase
from server import keys
from server.app import create_app
from server.settings import SettingsError
from tests.conftest import FakeClock, SettingsFactory, Tally

SUCCESS = {"result": "Success"}
UNAVAILABLE = {"result": "Database unavailable, please retry later"}
METRICS = {"_os": "Android", "_os_version": "14", "_carrier": "Vodafone"}


async def start(aiohttp_client: Any, make_settings: SettingsFactory, clock: FakeClock, db: CountedDatabase,
                **overrides: Any) -> Tally:
    settings = make_settings(write_timeout=0.05, **overrides)
    app = create_app(settings, clock=clock, database=db, start_background=False)
    client: TestClient = await aiohttp_client(app)
    return Tally(client, clock)


def writes(db: CountedDatabase) -> tuple[int, set[str]]:
    """(client-level bulk writes, collections that got a per-collection bulk_write)."""
    return db.calls[("client_bulk_write", "")], {c for (op, c), n in db.calls.items() if op == "bulk_write" and n}


async def session(tally: Tally, app_key: str, device: str, **extra: Any) -> tuple[int, Any]:
    return await tally.write(app_key=app_key, device_id=device, begin_session=1, metrics=METRICS,
                             timestamp=int(tally.clock.now), **extra)


async def year_of(tally: Tally, app_id: str, method: str = "sessions") -> dict[str, Any]:
    status, body = await tally.read(app_id=app_id, method=method)
    assert status == 200
    return body.get("2024", {})  # type: ignore[no-any-return]


async def test_mongodb_8_gets_one_client_bulk_write_per_flush(aiohttp_client: Any, make_settings: SettingsFactory,
                                                              clock: FakeClock) -> None:
    db = CountedDatabase(wire_version=25)
    tally = await start(aiohttp_client, make_settings, clock, db)
    app = await tally.create_app()
    before = writes(db)
    events = [{"key": "buy", "count": 2, "sum": 3.5}, {"key": "view", "count": 1}]
    assert await session(tally, app["key"], "A", events=events) == (200, SUCCESS)
    assert await session(tally, app["key"], "B") == (200, SUCCESS)
    client_writes, per_collection = writes(db)
    # two flushes (tests flush per request), each one round trip for users, metrics, events and plugins
    assert client_writes - before[0] == 2
    assert per_collection == before[1] == set()
    assert tally.app[keys.STATS].bulk_writes == 2
    year = await year_of(tally, app["_id"])
    assert (year["t"], year["n"], year["u"]) == (2, 2, 2)
    assert (await year_of(tally, app["_id"], "device_details"))["Android"] == {"t": 2, "n": 2, "u": 2}
    status, buy = await tally.read(app_id=app["_id"], method="events", event="buy")
    assert status == 200
    assert (buy["2024"]["c"], buy["2024"]["s"]) == (2, 3.5)


@pytest.mark.parametrize(("wire_version", "mode"), [(21, "auto"), (25, "collection")])
async def test_older_servers_or_collection_mode_get_one_bulk_write_per_collection(
        aiohttp_client: Any, make_settings: SettingsFactory, clock: FakeClock, wire_version: int, mode: str) -> None:
    db = CountedDatabase(wire_version=wire_version)
    tally = await start(aiohttp_client, make_settings, clock, db, bulk_write=mode)
    app = await tally.create_app()
    assert await session(tally, app["key"], "A") == (200, SUCCESS)
    client_writes, per_collection = writes(db)
    assert client_writes == 0
    assert {"users", "device_details", "carriers"} <= per_collection
    assert (await year_of(tally, app["_id"]))["t"] == 1


async def test_client_mode_on_a_server_without_it_stops_start_up(aiohttp_client: Any, make_settings: SettingsFactory,
                                                                 clock: FakeClock) -> None:
    db = CountedDatabase(wire_version=21)
    with pytest.raises(SettingsError, match="setting 'bulk_write': invalid value 'client'"):
        await start(aiohttp_client, make_settings, clock, db, bulk_write="client")


class FailingClient(CountedClient):
    """Fails the operations on `collections` (per-operation write errors), or every operation
    with a connection error before anything is applied (`drop`)."""

    def __init__(self, db: CountedDatabase) -> None:
        super().__init__(db)
        self.collections: set[str] = set()
        self.drop = False

    async def bulk_write(self, models: list[Any], ordered: bool = True, *args: Any, **kwargs: Any) -> Any:
        if self.drop:
            raise AutoReconnect("injected: connection closed")
        for model in models:
            if model._namespace.partition(".")[2] in self.collections:
                model._doc = {"$inc": {"": 1}}  # an update a real MongoDB rejects: that operation fails
        return await super().bulk_write(models, ordered, *args, **kwargs)


async def failing_tally(aiohttp_client: Any, make_settings: SettingsFactory,
                        clock: FakeClock) -> tuple[Tally, FailingClient, dict[str, Any]]:
    """Tally on a MongoDB 8.0 stand-in whose client bulk writes fail on demand, and an app."""
    db = CountedDatabase(wire_version=25)
    failing = db.client = FailingClient(db)
    tally = await start(aiohttp_client, make_settings, clock, db)
    return tally, failing, await tally.create_app()


async def test_a_failed_operation_keeps_only_its_collection_and_counts_once(
        aiohttp_client: Any, make_settings: SettingsFactory, clock: FakeClock) -> None:
    tally, failing, app = await failing_tally(aiohttp_client, make_settings, clock)
    failing.collections = {"device_details"}
    assert await session(tally, app["key"], "A") == (503, UNAVAILABLE)
    # users, carriers and the plugins' collections were written; device_details' month and year docs wait
    assert tally.app[keys.BATCHER].pending() == 2
    assert tally.app[keys.STATS].last_error.startswith("ClientBulkWriteException")
    assert (await year_of(tally, app["_id"]))["t"] == 1
    assert await year_of(tally, app["_id"], "device_details") == {}
    failing.collections = set()
    await tally.flush()
    assert tally.app[keys.BATCHER].pending() == 0
    year = await year_of(tally, app["_id"])
    assert (year["t"], year["n"], year["u"]) == (1, 1, 1)
    assert (await year_of(tally, app["_id"], "device_details"))["Android"] == {"t": 1, "n": 1, "u": 1}
    assert (await year_of(tally, app["_id"], "carriers"))["Vodafone"] == {"t": 1, "n": 1, "u": 1}


async def test_a_connection_error_keeps_the_whole_flush_and_writes_it_once(
        aiohttp_client: Any, make_settings: SettingsFactory, clock: FakeClock) -> None:
    tally, failing, app = await failing_tally(aiohttp_client, make_settings, clock)
    failing.drop = True
    assert await session(tally, app["key"], "A") == (503, UNAVAILABLE)
    assert "AutoReconnect" in tally.app[keys.STATS].last_error
    assert await year_of(tally, app["_id"]) == {}
    failing.drop = False
    await tally.flush()
    assert await session(tally, app["key"], "A") == (200, {"result": "Success",
                                                           "info": "Request ignored: Duplicate request"})
    year = await year_of(tally, app["_id"])
    assert (year["t"], year["n"], year["u"]) == (1, 1, 1)
