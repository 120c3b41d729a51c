"""The locale plugin: language from `_locale`, `/o?method=langs`."""
from __future__ import annotations

import pytest

from plugins._shared.testing import get, new_app, send
from plugins.locale.values import language_from_locale
from server import keys
from server.mongo import app_users_name


@pytest.mark.parametrize(("locale", "lang"), [
    ("en_US", "en"), ("en-US", "en"), ("EN", "en"), ("pt--BR", "pt"), ("lv_LV", "lv"),
    ("zh_CN", "zh_hans"), ("zh-Hans", "zh_hans"), ("zh_TW", "zh_hant"), ("zh-HK", "zh_hant"),
    ("zh", None), ("zh_Hans_CN", None), ("zh_SG", None), ("", None), ("-", None),
])
def test_language_from_locale(locale: str, lang: str | None) -> None:
    assert language_from_locale(locale) == lang


@pytest.mark.hook("tally_write", "tally_device_fields", "tally_readers")
async def test_langs_time_object(tally) -> None:  # type: ignore[no-untyped-def]
    app_id, key = await new_app(tally)
    # the Node SDK sends en_US, the web SDK en-US: one language
    await send(tally, key, device_id="node", begin_session=1, metrics={"_locale": "en_US", "_os": "Linux"})
    await send(tally, key, device_id="web", begin_session=1, metrics={"_locale": "en-US", "_os": "Linux"})
    await send(tally, key, device_id="riga", begin_session=1, metrics={"_locale": "lv_LV"})
    await send(tally, key, device_id="bare", begin_session=1)  # no locale: not counted
    await tally.flush()
    status, body = await get(tally, "/o", app_id=app_id, method="langs")
    assert status == 200, body
    year = body["2024"]
    assert year["en"] == {"u": 2, "t": 2, "n": 2}
    assert year["lv"] == {"u": 1, "t": 1, "n": 1}
    assert body["meta"] == {"langs": ["en", "lv"]}
    assert year["11"]["7"]["en"] == {"t": 2, "n": 2, "u": 2}
    device = await tally.app[keys.DB][app_users_name(app_id)].find_one({"did": "riga"})
    assert (device["la"], device["lo"]) == ("lv", "lv_LV")


@pytest.mark.hook("tally_readers")
async def test_empty_app_reads_empty_object(tally) -> None:  # type: ignore[no-untyped-def]
    app_id, _ = await new_app(tally)
    assert await get(tally, "/o", app_id=app_id, method="langs") == (200, {})


@pytest.mark.hook("tally_bucket_collections")
def test_declares_its_collection() -> None:
    import plugins.locale as plugin

    assert plugin.tally_bucket_collections() == ["langs"]
