"""Shared fixtures: Tally built by the real factory on the embedded mongomock-motor store.

Background loops are off: tests call `flush()` (batcher) and `close_due()` (session closer)
instead of sleeping. `clock` is a settable fake time.
"""
from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server import keys
from server.app import create_app
from server.settings import Settings, load_settings

ADMIN_KEY = "a" * 32


class FakeClock:
    """A settable clock (epoch seconds)."""

    def __init__(self, now: float = 1_731_000_000.0) -> None:  # 2024-11-07 17:20 UTC
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Tally:
    """A test client plus helpers for the common steps."""

    client: TestClient
    clock: FakeClock
    admin_key: str = ADMIN_KEY

    @property
    def app(self) -> Any:
        return self.client.server.app

    async def flush(self) -> None:
        await self.app[keys.BATCHER].flush()

    async def create_app(self, name: str = "test", **args: Any) -> dict[str, Any]:
        r = await self.client.get("/i/apps/create", params={
            "api_key": self.admin_key, "args": json.dumps({"name": name, **args})})
        assert r.status == 200, await r.text()
        return await r.json()  # type: ignore[no-any-return]

    async def write(self, **params: Any) -> tuple[int, Any]:
        """GET /i with params (dicts/lists JSON-encoded); returns (status, json)."""
        q = {k: json.dumps(v) if isinstance(v, (dict, list)) else str(v) for k, v in params.items()}
        r = await self.client.get("/i", params=q)
        return r.status, await r.json()

    async def read(self, path: str = "/o", **params: Any) -> tuple[int, Any]:
        q = {"api_key": self.admin_key, **{k: json.dumps(v) if isinstance(v, (dict, list)) else str(v)
                                           for k, v in params.items()}}
        r = await self.client.get(path, params=q)
        return r.status, await r.json(content_type=None)


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def make_settings() -> SettingsFactory:
    def make(**overrides: Any) -> Settings:
        base: dict[str, Any] = {"mongo_url": "memory://", "admin_api_key": ADMIN_KEY, "session_cooldown": 0,
                                "mongo_database": "t" + secrets.token_hex(4)}
        base.update(overrides)
        return load_settings(env={}, **base)
    return make


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def tally_factory(aiohttp_client: Any, make_settings: SettingsFactory,
                  clock: FakeClock) -> Callable[..., Awaitable[Tally]]:
    async def start(**overrides: Any) -> Tally:
        app = create_app(make_settings(**overrides), clock=clock, start_background=False)
        client = await aiohttp_client(app)
        return Tally(client, clock)
    return start


@pytest.fixture
async def tally(tally_factory: Callable[..., Awaitable[Tally]]) -> AsyncIterator[Tally]:
    yield await tally_factory()
