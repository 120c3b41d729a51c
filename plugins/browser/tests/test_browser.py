"""The browser plugin: `_browser` and `_browser_version` into `browser`, `/o?method=browser`."""
from __future__ import annotations

import pytest

from plugins._shared.testing import get, new_app, send
from plugins.browser.values import values

# the begin_session metrics of the web SDK in Chromium and in jsdom (sdk-traffic/web-*-basic.jsonl)
CHROMIUM = {"_app_version": "7.8.9", "_resolution": "800x600", "_density": 1, "_locale": "en-US", "_os": "Linux",
            "_device_type": "desktop", "_browser": "HeadlessChrome", "_browser_version": "156.0.8078.79"}
JSDOM = {"_app_version": "5.6.7", "_locale": "en-US", "_browser": None, "_browser_version": None}


def test_values() -> None:
    assert sorted(values(CHROMIUM).values()) == ["156:0:8078:79", "HeadlessChrome"]
    assert values(JSDOM) == {}


@pytest.mark.hook("tally_write", "tally_device_fields", "tally_readers")
async def test_browser_time_object(tally) -> None:  # type: ignore[no-untyped-def]
    app_id, key = await new_app(tally, type="web")
    await send(tally, key, device_id="chromium", begin_session=1, metrics=CHROMIUM)
    await send(tally, key, device_id="jsdom", begin_session=1, metrics=JSDOM)
    await tally.flush()
    status, body = await get(tally, "/o", app_id=app_id, method="browser")
    assert status == 200, body
    year = body["2024"]
    assert year["HeadlessChrome"] == {"u": 1, "t": 1, "n": 1}
    assert year["156:0:8078:79"] == {"u": 1, "t": 1, "n": 1}
    assert body["meta"] == {"browser": ["HeadlessChrome"], "browser_version": ["156:0:8078:79"]}
    status, devices = await get(tally, "/o", app_id=app_id, method="total_users")
    assert devices == [{"_id": "users", "u": 2}]


@pytest.mark.hook("tally_bucket_collections")
def test_declares_its_collection() -> None:
    import plugins.browser as plugin

    assert plugin.tally_bucket_collections() == ["browser"]
