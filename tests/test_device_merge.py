"""`old_device_id`: an SDK's `change_id(new, merge=true)` continues the old device's history."""
from __future__ import annotations

from server import keys
from server.ingest.pipeline import device_key
from server.mongo import app_users_name
from tests.conftest import Tally

OK = (200, {"result": "Success"})


async def test_merged_device_is_a_returning_user_and_the_old_document_goes(tally: Tally) -> None:
    app = await tally.create_app()
    ts = int(tally.clock.now)
    assert await tally.write(app_key=app["key"], device_id="temp-1", begin_session=1, timestamp=ts - 7200,
                             metrics={"_os": "Android"}) == OK
    assert await tally.write(app_key=app["key"], device_id="temp-1", session_duration=30, end_session=1,
                             timestamp=ts - 7000) == OK
    assert await tally.write(app_key=app["key"], device_id="user-42", old_device_id="temp-1",
                             timestamp=ts - 60) == OK
    assert await tally.write(app_key=app["key"], device_id="user-42", begin_session=1, timestamp=ts,
                             metrics={"_os": "Android"}) == OK
    status, body = await tally.read(app_id=app["_id"], method="sessions")
    assert status == 200
    year = body["2024"]
    assert (year["t"], year["n"], year["u"], year["e"]) == (2, 1, 1, 4)
    users = tally.app[keys.DB][app_users_name(app["_id"])]
    assert await users.find_one({"_id": device_key(app["key"], "temp-1")}) is None
    doc = await users.find_one({"_id": device_key(app["key"], "user-42")})
    assert (doc["did"], doc["fs"], doc["ls"], doc["sc"], doc["tsd"]) == ("user-42", ts - 7200, ts, 2, 30)
    # a retry of the merging request changes nothing
    assert await tally.write(app_key=app["key"], device_id="user-42", old_device_id="temp-1",
                             timestamp=ts - 60) == (200, {"result": "Success",
                                                          "info": "Request ignored: Duplicate request"})
    doc = await users.find_one({"_id": device_key(app["key"], "user-42")})
    assert doc["sc"] == 2


async def test_both_ids_with_history_keep_the_earliest_first_seen(tally: Tally) -> None:
    app = await tally.create_app()
    ts = int(tally.clock.now)
    for device, at in (("a", ts - 3600), ("b", ts - 1800)):
        assert await tally.write(app_key=app["key"], device_id=device, begin_session=1, timestamp=at) == OK
    assert await tally.write(app_key=app["key"], device_id="b", old_device_id="a", timestamp=ts) == OK
    users = tally.app[keys.DB][app_users_name(app["_id"])]
    doc = await users.find_one({"_id": device_key(app["key"], "b")})
    assert (doc["fs"], doc["ls"], doc["sc"]) == (ts - 3600, ts - 1800, 2)
    assert await users.count_documents({}) == 1


async def test_unknown_old_id_changes_nothing(tally: Tally) -> None:
    app = await tally.create_app()
    ts = int(tally.clock.now)
    assert await tally.write(app_key=app["key"], device_id="n", old_device_id="never-seen", begin_session=1,
                             timestamp=ts) == OK
    status, body = await tally.read(app_id=app["_id"], method="sessions")
    assert status == 200
    assert (body["2024"]["t"], body["2024"]["n"]) == (1, 1)
