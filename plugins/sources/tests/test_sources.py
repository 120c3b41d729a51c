"""The sources plugin: `_store` values, the `_os` fallback, referrer URLs, `/o?method=sources`."""
from __future__ import annotations

import pytest

from plugins._shared.testing import get, new_app, send
from plugins.sources.values import source_value, values


@pytest.mark.parametrize(("raw", "expected"), [
    ("npm", "npm"),
    ("com.android.vending", "com:android:vending"),
    ("https://www.google.com/search?q=tally&utm_source=x&hl=en", "google:com/search?q=tally"),
    ("https://news.example.org/a/b?id=7&utm_medium=email#top", "news:example:org/a/b?id=7"),
    ("http://example.com/", "example:com"),
    ("$weird", "weird"),
    ("12", "[CLY]12"), ("32", "32"),    # "1"…"31" would read as a day or a month
    (None, None), ("", None), ({"a": 1}, None),
])
def test_source_value(raw: object, expected: str | None) -> None:
    assert source_value(raw) == expected


def test_os_is_the_source_of_a_device_without_one() -> None:
    (value,) = values({"_os": "Android"}, None).values()
    assert value == "Android"
    assert values({"_os": "Android"}, {"src": "npm"}) == {}   # keeps the source it has
    assert list(values({"_os": "Android", "_store": "npm"}, None).values()) == ["npm"]


@pytest.mark.hook("tally_write", "tally_device_fields", "tally_readers")
async def test_sources_time_object(tally) -> None:  # type: ignore[no-untyped-def]
    app_id, key = await new_app(tally)
    await send(tally, key, device_id="node", begin_session=1, metrics={"_store": "npm", "_os": "Linux"})
    await send(tally, key, device_id="phone", begin_session=1, metrics={"_os": "Android"})
    await tally.flush()
    tally.clock.advance(3600)
    # a returning device without `_store` keeps its source (no `_os` fallback any more); as for
    # every metric, a session that does not send the value does not count it
    await send(tally, key, device_id="phone", begin_session=1, metrics={"_os": "Android"})
    await tally.flush()
    status, body = await get(tally, "/o", app_id=app_id, method="sources")
    assert status == 200, body
    year = body["2024"]
    assert year["npm"] == {"u": 1, "t": 1, "n": 1}
    assert year["Android"] == {"u": 1, "t": 1, "n": 1}
    assert body["meta"] == {"sources": ["npm", "Android"]}


@pytest.mark.hook("tally_bucket_collections")
def test_declares_its_collection() -> None:
    import plugins.sources as plugin

    assert plugin.tally_bucket_collections() == ["sources"]
