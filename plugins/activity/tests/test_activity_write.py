"""The activity write hook: one document per device, its active local days, nothing else."""
from __future__ import annotations

import pytest

from plugins._shared.testing import new_app, send
from plugins.activity.days import day_of
from plugins.activity.storage import ActivityStore, collection_name, range_query
from server import keys
from server.ingest.pipeline import device_key

NOW = 1_731_000_000  # Thursday 2024-11-07 17:20 UTC


def local_day(ts: float, tz: str) -> int:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return day_of(datetime.fromtimestamp(ts, ZoneInfo(tz)).date())


@pytest.mark.hook("tally_write")
async def test_active_days_per_device(tally_factory) -> None:  # type: ignore[no-untyped-def]
    tally = await tally_factory(session_cooldown=60)
    tz = "Asia/Tokyo"
    app_id, key = await new_app(tally, timezone=tz)
    times = [NOW - 3 * 86400, NOW - 3 * 86400 + 7200, NOW - 86400, NOW]
    for n, ts in enumerate(times):
        await send(tally, key, device_id="dev-1", begin_session=1, timestamp=ts)
        await send(tally, key, device_id="dev-1", end_session=1, timestamp=ts + 10)
        if n == 3:   # a begin within the cooldown extends the session: not a new active day record
            await send(tally, key, device_id="dev-2", begin_session=1, timestamp=ts - 100)
            await send(tally, key, device_id="dev-2", end_session=1, timestamp=ts - 90)
            await send(tally, key, device_id="dev-2", begin_session=1, timestamp=ts - 80)
    await send(tally, key, device_id="quiet", events=[{"key": "e"}])   # no session: not a user
    await tally.flush()
    docs = await tally.app[keys.DB][collection_name(app_id)].find({}).to_list(length=None)
    by_id = {d["_id"]: d for d in docs}
    assert set(by_id) == {device_key(key, "dev-1"), device_key(key, "dev-2")}
    one = by_id[device_key(key, "dev-1")]
    assert one["i"] == "dev-1"
    assert sorted(one["d"]) == sorted({local_day(ts, tz) for ts in times})
    assert by_id[device_key(key, "dev-2")]["d"] == [local_day(NOW - 100, tz)]


@pytest.mark.hook("tally_write")
async def test_store_merges_device_ids_across_apps(tally) -> None:  # type: ignore[no-untyped-def]
    a_id, a_key = await new_app(tally, "a")
    b_id, b_key = await new_app(tally, "b")
    for app_key, device, ts in ((a_key, "x", NOW - 86400), (b_key, "x", NOW), (a_key, "y", NOW),
                                (b_key, "z", NOW - 40 * 86400)):
        await send(tally, app_key, device_id=device, begin_session=1, timestamp=ts)
    await tally.flush()
    store = ActivityStore.of(tally.app)
    today = local_day(NOW, "UTC")
    found = [f async for f in store.merged([a_id, b_id], today - 10, today)]
    assert sorted(sorted((n, sorted(d)) for n, d in f.items()) for f in found) == [
        [(0, [today - 1]), (1, [today])], [(0, [today])]]
    assert len([f async for f in store.merged([a_id, b_id], None, None)]) == 3
    assert range_query(None, None) == {} and range_query(1, None) == {"d": {"$gte": 1}}
    indexes = await tally.app[keys.DB][collection_name(a_id)].index_information()
    assert {"d_1", "i_1"} <= set(indexes)


@pytest.mark.hook("tally_write")
def test_a_later_session_of_the_same_day_writes_nothing() -> None:
    from types import SimpleNamespace

    from plugins.activity import tally_write
    from server.ingest.sessions import Levels

    same_day = SimpleNamespace(levels=Levels(hour=True, day=False, week=False, month=False, year=False))
    assert tally_write(same_day) == []  # type: ignore[arg-type]
    assert tally_write(SimpleNamespace(levels=None)) == []  # type: ignore[arg-type]
