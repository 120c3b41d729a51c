"""Times of day: slots from the SDK's hour/dow, what counts, and `/o?method=times-of-day`."""
from __future__ import annotations

import json
from typing import Any

import pytest

from plugins._shared.testing import get, new_app, send, send_bulk
from plugins.times_of_day.read import matrix
from plugins.times_of_day.write import derived_slot, slot_of

NOW = 1_731_000_000  # the test clock: Thursday 2024-11-07 17:20 UTC


@pytest.mark.parametrize(("values", "expected"), [
    ({"dow": "1", "hour": "6"}, (1, 6)), ({"dow": 0, "hour": 23}, (0, 23)),
    ({"dow": "7", "hour": "6"}, (9, 9)), ({"dow": "1", "hour": "24"}, (9, 9)), ({"dow": "x", "hour": 1}, (9, 9)),
    ({"hour": 3}, (9, 9)), ({"dow": True, "hour": 3}, (9, 9)), ("not a mapping", (9, 9)),
])
def test_slot_of(values: Any, expected: tuple[int, int]) -> None:
    assert slot_of(values, (9, 9)) == expected


def test_derived_slot() -> None:
    assert derived_slot(NOW, 120, 0, 0) == (4, 19)      # Thursday 19:20 at UTC+2
    assert derived_slot(NOW, -1080, 0, 0) == (3, 23)    # Wednesday 23:20 at UTC-18
    assert derived_slot(NOW, None, 5, 6) == (5, 6)      # no device offset: the app's local time


def test_matrix_sums_and_ignores_junk() -> None:
    docs: list[dict[str, Any]] = [{"d": {"1": {"6": {"count": 2}, "30": {"count": 9}}, "9": {"1": {"count": 1}}}},
            {"d": {"1": {"6": {"count": 3}}, "0": {"0": {"count": 1.5}, "1": "x"}}}]
    out = matrix(docs)
    assert len(out) == 7 and all(len(row) == 24 for row in out)
    assert out[1][6] == 5 and out[0][0] == 1.5 and sum(map(sum, out)) == 6.5


def cell(m: list[list[int]], dow: int, hour: int) -> int:
    return m[dow][hour]


@pytest.mark.hook("tally_write", "tally_readers")
async def test_sdk_traffic(tally) -> None:  # type: ignore[no-untyped-def]
    app_id, key = await new_app(tally)
    # Node SDK (sdk-traffic/nodejs-basic.jsonl): a session and two events at Monday 06:xx local
    common = {"device_id": "node-device-0001", "hour": "6", "dow": "1", "tz": "120"}
    await send(tally, key, begin_session=1, metrics={"_os": "Linux"}, **common)
    await send(tally, key, events=[{"key": "purchase", "count": 3, "sum": 29.97, "hour": 6, "dow": 1},
                                   {"key": "button_click", "count": 1, "hour": 6, "dow": 1}], **common)
    await send(tally, key, session_duration=3, **common)   # no session, no event: nothing
    # an event without its own slot takes the request's; a bad event is skipped like the core does
    await send(tally, key, events=[{"key": "purchase"}, {"count": 2}, {"key": "purchase", "count": "x"}], **common)
    # the web SDK in Chromium: Monday 04:xx
    await send(tally, key, device_id="web", begin_session=1, hour=4, dow=1, tz=0)
    # /i/bulk items with their own hour/dow (sdk-traffic/nodejs-bulk.jsonl)
    await send_bulk(tally, key, [
        {"device_id": "bulk-user-1", "begin_session": 1, "hour": 0, "dow": 3, "tz": 120},
        {"device_id": "bulk-user-1", "hour": 6, "dow": 1,
         "events": [{"key": "purchase", "count": 1, "hour": 0, "dow": 3}, {"key": "level_up", "count": 1}]},
    ])
    await tally.flush()
    status, sessions = await get(tally, "/o", app_id=app_id, method="times-of-day")
    assert status == 200, sessions
    assert (cell(sessions, 1, 6), cell(sessions, 1, 4), cell(sessions, 3, 0)) == (1, 1, 1)
    assert sum(map(sum, sessions)) == 3
    _, purchases = await get(tally, "/o", app_id=app_id, method="times-of-day", tod_type="purchase")
    assert (cell(purchases, 1, 6), cell(purchases, 3, 0)) == (4, 1)
    assert sum(map(sum, purchases)) == 5
    _, level_up = await get(tally, "/o", app_id=app_id, method="times-of-day", tod_type="level_up")
    assert cell(level_up, 1, 6) == 1 and sum(map(sum, level_up)) == 1


@pytest.mark.hook("tally_write")
async def test_without_hour_and_dow_the_device_offset_decides(tally) -> None:  # type: ignore[no-untyped-def]
    app_id, key = await new_app(tally)
    await send(tally, key, device_id="a", begin_session=1, tz=120)
    await send(tally, key, device_id="b", begin_session=1)
    await tally.flush()
    _, m = await get(tally, "/o", app_id=app_id, method="times-of-day")
    assert (cell(m, 4, 19), cell(m, 4, 17)) == (1, 1)   # a: UTC+2; b: the app's timezone (UTC)


@pytest.mark.hook("tally_write")
async def test_only_what_the_core_counted(tally_factory) -> None:  # type: ignore[no-untyped-def]
    tally = await tally_factory(session_cooldown=60, event_limit=1)
    app_id, key = await new_app(tally)
    slot = {"hour": 10, "dow": 2}
    await send(tally, key, device_id="a", begin_session=1, **slot)
    await send(tally, key, device_id="a", end_session=1, **slot)
    tally.clock.advance(10)
    await send(tally, key, device_id="a", begin_session=1, **slot)    # within the cooldown: extended
    await send(tally, key, device_id="a", events=[{"key": "first"}, {"key": "second"}], **slot)  # 2nd over limit
    await send(tally, key, device_id="a", events=[{"key": "[CLY]_unknown"}], **slot)             # not stored
    await tally.flush()
    _, sessions = await get(tally, "/o", app_id=app_id, method="times-of-day")
    assert sum(map(sum, sessions)) == 1
    _, first = await get(tally, "/o", app_id=app_id, method="times-of-day", tod_type="first")
    _, second = await get(tally, "/o", app_id=app_id, method="times-of-day", tod_type="second")
    assert (cell(first, 2, 10), sum(map(sum, second))) == (1, 0)


@pytest.mark.hook("tally_readers")
async def test_months_and_bad_ranges(tally) -> None:  # type: ignore[no-untyped-def]
    app_id, key = await new_app(tally)
    await send(tally, key, device_id="a", begin_session=1, hour=1, dow=1, timestamp=NOW - 40 * 86400)  # Sept
    await send(tally, key, device_id="b", begin_session=1, hour=2, dow=2)                              # Nov
    await tally.flush()
    _, default = await get(tally, "/o", app_id=app_id, method="times-of-day")         # 30days: Oct+Nov
    assert sum(map(sum, default)) == 1
    _, both = await get(tally, "/o", app_id=app_id, method="times-of-day", date_range="2024:9,2024:11")
    assert sum(map(sum, both)) == 2
    _, longer = await get(tally, "/o", app_id=app_id, method="times-of-day", period="60days")
    assert longer == both
    for bad in ("2024-09", "2024:13", "2024:9,x", ","):
        status, body = await get(tally, "/o", app_id=app_id, method="times-of-day", date_range=bad)
        assert (status, body) == (400, {"result": 'Invalid parameter "date_range"'}), bad
    status, body = await get(tally, "/o", app_id=app_id, method="times-of-day", api_key="f" * 32)
    assert (status, body) == (401, {"result": "User does not exist"})
    assert json.dumps(default)
