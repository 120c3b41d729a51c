"""Helpers for the management API tests: `Api` wraps the test client (see the `api` fixture)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from server import keys
from tests.conftest import ADMIN_KEY, Tally

PASSWORD = "Passw0rd!"


def encode(params: dict[str, Any]) -> dict[str, str]:
    return {k: json.dumps(v) if isinstance(v, (dict, list, bool)) else str(v) for k, v in params.items()}


@dataclass
class Api:
    tally: Tally

    @property
    def db(self) -> Any:
        return self.tally.app[keys.DB]

    async def get(self, path: str, *, key: str | None = ADMIN_KEY, **params: Any) -> tuple[int, Any]:
        """GET with `api_key` (unless key=None) and params (dicts/lists JSON-encoded)."""
        query = encode(params)
        if key is not None:
            query["api_key"] = key
        r = await self.tally.client.get(path, params=query)
        return r.status, await r.json(content_type=None)

    async def post(self, path: str, *, key: str | None = ADMIN_KEY, **params: Any) -> tuple[int, Any]:
        """POST as a form body."""
        form = encode(params)
        if key is not None:
            form["api_key"] = key
        r = await self.tally.client.post(path, data=form)
        return r.status, await r.json(content_type=None)

    async def user(self, name: str, **args: Any) -> dict[str, Any]:
        """Create a member through /i/users/create; returns the reply (with api_key and _id)."""
        body = {"full_name": name.title(), "username": name, "password": PASSWORD,
                "email": f"{name}@example.com", **args}
        status, reply = await self.get("/i/users/create", args=body)
        assert status == 200, reply
        return reply  # type: ignore[no-any-return]

    async def app(self, name: str = "app", **args: Any) -> dict[str, Any]:
        return await self.tally.create_app(name, **args)

    async def admin_id(self) -> str:
        admin = await self.db["members"].find_one({"api_key": ADMIN_KEY})
        return str(admin["_id"])
