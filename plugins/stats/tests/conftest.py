"""A populated environment for the statistics tests: two apps, seeded traffic, its model."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from plugins._shared.testing import new_app, send
from plugins.stats.tests.traffic import Model, generate
from tests.conftest import Tally

TIMEZONES = {"A": "America/New_York", "B": "Asia/Tokyo"}


@dataclass
class Env:
    tally: Tally
    model: Model
    ids: dict[str, str]     # model app name → app_id
    keys: dict[str, str]    # model app name → app_key


async def populate(tally: Tally, seed: int = 7) -> Env:
    model = generate(seed, TIMEZONES)
    ids, app_keys = {}, {}
    for name, tz in TIMEZONES.items():
        ids[name], app_keys[name] = await new_app(tally, f"app {name}", timezone=tz)
    for s in model.sent:
        params: dict[str, Any] = {"device_id": s.device, "timestamp": s.ts}
        if s.kind == "begin":
            params.update(begin_session=1, metrics={"_app_version": s.version})
        else:
            params["session_duration"] = s.seconds
        await send(tally, app_keys[s.app], **params)
    await tally.flush()
    return Env(tally, model, ids, app_keys)


@pytest.fixture
async def env(tally: Tally) -> Env:
    return await populate(tally)
