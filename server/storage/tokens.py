"""The `auth_tokens` collection: tokens that stand in for a member's api_key.

A token document is Countly's: `{_id: token, owner: <member id>, ttl, ends, multi, app,
endpoint, purpose, temporary}`. `ttl` 0 never expires; otherwise the token is valid while
`ends >= now`. `app` and `endpoint` are "" (no restriction) or lists.
"""
from __future__ import annotations

import secrets
from typing import Any

from server.mongo import Database
from server.storage.stats import StoreStats

Token = dict[str, Any]


def new_token() -> str:
    """40 hex characters (Countly's tokens are sha1 hex digests)."""
    return secrets.token_hex(20)


class TokenStore:
    def __init__(self, db: Database, stats: StoreStats) -> None:
        self.db = db
        self.stats = stats

    async def insert(self, token: Token) -> None:
        self.stats.round_trips += 1
        await self.db["auth_tokens"].insert_one(token)

    async def get(self, token_id: str) -> Token | None:
        self.stats.round_trips += 1
        token: Token | None = await self.db["auth_tokens"].find_one({"_id": token_id})
        return token

    async def consume(self, token_id: str) -> bool:
        """Delete a token; True only for the one caller that actually removed it.

        Single-use tokens are consumed this way, so two concurrent requests cannot both use one.
        """
        self.stats.round_trips += 1
        removed = await self.db["auth_tokens"].find_one_and_delete({"_id": token_id})
        return removed is not None

    async def owned_by(self, owner: str) -> list[Token]:
        self.stats.round_trips += 1
        tokens: list[Token] = await self.db["auth_tokens"].find({"owner": owner}).sort("ends", 1).to_list(
            length=None)
        return tokens

    async def delete(self, token_id: str, owner: str) -> bool:
        """Delete one of the owner's tokens; False when the owner has no token with this id."""
        self.stats.round_trips += 1
        result = await self.db["auth_tokens"].delete_one({"_id": token_id, "owner": owner})
        return bool(result.deleted_count)

    async def delete_owned_by(self, owner: str) -> None:
        self.stats.round_trips += 1
        await self.db["auth_tokens"].delete_many({"owner": owner})

    async def delete_expired(self, now: int) -> None:
        self.stats.round_trips += 1
        await self.db["auth_tokens"].delete_many({"ttl": {"$gt": 0}, "ends": {"$lt": now}})
