"""The density plugin: value normalisation, Countly's unique rules, `/o?method=densities`."""
from __future__ import annotations

import pytest

from plugins._shared.testing import get, new_app, send
from plugins.density.values import density_value
from server import keys
from server.mongo import app_users_name

DAY = 86400
# The Node SDK's begin_session metrics (sdk-traffic/nodejs-basic.jsonl) and the web SDK's.
NODE_METRICS = {"_os": "Linux", "_os_version": "6.1.0", "_device": "ci-runner", "_resolution": "1920x1080",
                "_carrier": "none", "_density": "1.0", "_locale": "en_US", "_store": "npm", "_app_version": "1.2.3"}
WEB_METRICS = {"_app_version": "7.8.9", "_resolution": "800x600", "_density": 1, "_locale": "en-US",
               "_os": "Linux", "_device_type": "desktop", "_browser": "HeadlessChrome",
               "_browser_version": "156.0.8078.79"}


@pytest.mark.parametrize(("raw", "os_name", "expected"), [
    ("1.0", "Linux", "l1:00"),          # Node SDK
    (1, "Linux", "l1:00"),              # web SDK: same bucket
    ("2.75", None, "2:75"),
    ("3", "Android", "a3:00"),
    ("a3.00", "Android", "a3:00"),      # already prefixed: not twice
    ("xhdpi", "Android", "axhdpi"),
    ("1.5", "Plan9", "[Plan9]1:50"),    # an OS without a code
    ("$2", None, "[CLY]2"),              # not a number: escaped, and a day-like value is prefixed
    (None, "Linux", None), ("", None, None), ({"x": 1}, None, None), (True, None, None),
])
def test_density_value(raw: object, os_name: object, expected: str | None) -> None:
    assert density_value(raw, os_name) == expected


@pytest.mark.hook("tally_write", "tally_device_fields", "tally_readers")
async def test_sessions_counted_like_core_metrics(tally) -> None:  # type: ignore[no-untyped-def]
    app_id, key = await new_app(tally)
    t0 = tally.clock.now - 3 * DAY
    await send(tally, key, device_id="a", begin_session=1, metrics=NODE_METRICS, timestamp=int(t0))
    await send(tally, key, device_id="b", begin_session=1, metrics=WEB_METRICS, timestamp=int(t0) + 60)
    # same device, same value, same day: a session, no new unique
    await send(tally, key, device_id="a", begin_session=1, metrics=NODE_METRICS, timestamp=int(t0) + 120)
    await tally.flush()
    status, body = await get(tally, "/o", app_id=app_id, method="densities")
    assert status == 200, body
    year = body[_year(t0)]
    assert year["l1:00"] == {"u": 2, "t": 3, "n": 2}
    assert body["meta"] == {"densities": ["l1:00"]}
    device = await tally.app[keys.DB][app_users_name(app_id)].find_one({"did": "a"})
    assert device["dnst"] == "l1:00"
    status, alias = await get(tally, "/o", app_id=app_id, method="density")
    assert alias == body


@pytest.mark.hook("tally_write", "tally_device_fields")
async def test_changed_value_counts_a_new_unique(tally) -> None:  # type: ignore[no-untyped-def]
    app_id, key = await new_app(tally)
    t0 = tally.clock.now - 2 * DAY
    await send(tally, key, device_id="a", begin_session=1, metrics={"_density": "2.0"}, timestamp=int(t0))
    # next session minutes later with another density: unique for the new value at every level
    await send(tally, key, device_id="a", begin_session=1, metrics={"_density": "3.0"}, timestamp=int(t0) + 600)
    # and back to the first value: already counted this day, week, month and year
    await send(tally, key, device_id="a", begin_session=1, metrics={"_density": "2.0"}, timestamp=int(t0) + 900)
    await tally.flush()
    _, body = await get(tally, "/o", app_id=app_id, method="densities")
    year = body[_year(t0)]
    assert year["3:00"] == {"u": 1, "t": 1}
    # Countly's rule: a changed value counts again (the device was on 2.00, then 3.00, then 2.00)
    assert year["2:00"] == {"u": 2, "t": 2, "n": 1}


@pytest.mark.hook("tally_write")
async def test_only_counted_sessions_aggregate(tally) -> None:  # type: ignore[no-untyped-def]
    app_id, key = await new_app(tally)
    await send(tally, key, device_id="a", metrics={"_density": "2.0"})  # no session: nothing counted
    await tally.flush()
    _, body = await get(tally, "/o", app_id=app_id, method="densities")
    assert body == {}
    device = await tally.app[keys.DB][app_users_name(app_id)].find_one({"did": "a"})
    assert device["dnst"] == "2:00"  # but remembered, like the core's metrics


@pytest.mark.hook("tally_bucket_collections")
def test_declares_its_collection() -> None:
    import plugins.density as plugin

    assert plugin.tally_bucket_collections() == ["densities"]


def _year(ts: float) -> str:
    import datetime

    return str(datetime.datetime.fromtimestamp(ts, datetime.UTC).year)


@pytest.mark.hook("tally_write")
async def test_metric_limit_applies(tally_factory) -> None:  # type: ignore[no-untyped-def]
    tally = await tally_factory(metric_limit=1)
    app_id, key = await new_app(tally)
    await send(tally, key, device_id="a", begin_session=1, metrics={"_density": "2.0"})
    await send(tally, key, device_id="b", begin_session=1, metrics={"_density": "3.0"})   # a 2nd value: dropped
    await send(tally, key, device_id="c", begin_session=1, metrics={"_density": "2.0"})   # known: counted
    await tally.flush()
    _, body = await get(tally, "/o", app_id=app_id, method="densities")
    assert body["meta"] == {"densities": ["2:00"]}
    assert body["2024"]["2:00"] == {"u": 2, "t": 2, "n": 2} and "3:00" not in body["2024"]
