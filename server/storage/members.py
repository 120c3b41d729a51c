"""The `members` collection (dashboard users and their api keys).

Lookups by api key, username and e-mail go through MongoDB's unique indexes (`mongo.create_indexes`),
so a duplicate that slips past the check before an insert is still refused (`DuplicateMember`).
"""
from __future__ import annotations

import secrets
import time
from typing import Any

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from server.mongo import Database
from server.storage.stats import StoreStats

Member = dict[str, Any]

# Fields of a member that identify people in app details and user lists.
NAME_FIELDS = {"full_name": 1, "username": 1}


class DuplicateMember(Exception):
    """Another member already has this e-mail, username or api key."""


def new_api_key() -> str:
    """32 hex characters, as Countly's (md5-sized)."""
    return secrets.token_hex(16)


def empty_permission() -> dict[str, Any]:
    return {"c": {}, "r": {}, "u": {}, "d": {}, "_": {"a": [], "u": []}}


def without_app(member: Member, app_id: str) -> dict[str, Any] | None:
    """The member's rights fields with `app_id` removed, or None when the member has none on it.

    Pure: used when an app is deleted (Countly pulls the app from `permission._.a`, from every
    group in `permission._.u` (dropping groups left empty), from `permission.c|r|u|d` and from the
    legacy `admin_of`/`user_of`).
    """
    changes: dict[str, Any] = {}
    perm = member.get("permission")
    if isinstance(perm, dict):
        new_perm = dict(perm)
        for access in ("c", "r", "u", "d"):
            rights = perm.get(access)
            if isinstance(rights, dict) and app_id in rights:
                new_perm[access] = {k: v for k, v in rights.items() if k != app_id}
        groups = perm.get("_")
        if isinstance(groups, dict):
            new_groups = dict(groups)
            admin = groups.get("a")
            if isinstance(admin, list) and app_id in admin:
                new_groups["a"] = [a for a in admin if a != app_id]
            users = groups.get("u")
            if isinstance(users, list) and any(isinstance(g, list) and app_id in g for g in users):
                pruned = [[a for a in g if a != app_id] if isinstance(g, list) else g for g in users]
                new_groups["u"] = [g for g in pruned if not (isinstance(g, list) and not g)]
            new_perm["_"] = new_groups
        if new_perm != perm:
            changes["permission"] = new_perm
    for legacy in ("admin_of", "user_of"):
        apps = member.get(legacy)
        if isinstance(apps, list) and app_id in apps:
            changes[legacy] = [a for a in apps if a != app_id]
    return changes or None


class MemberStore:
    def __init__(self, db: Database, stats: StoreStats) -> None:
        self.db = db
        self.stats = stats

    async def by_api_key(self, api_key: str) -> Member | None:
        self.stats.round_trips += 1
        member: Member | None = await self.db["members"].find_one({"api_key": api_key})
        return member

    async def by_id(self, member_id: ObjectId) -> Member | None:
        self.stats.round_trips += 1
        member: Member | None = await self.db["members"].find_one({"_id": member_id})
        return member

    async def by_email_or_username(self, email: str, username: str) -> Member | None:
        self.stats.round_trips += 1
        member: Member | None = await self.db["members"].find_one(
            {"$or": [{"email": email}, {"username": username}]}, {"_id": 1})
        return member

    async def all(self, projection: dict[str, Any] | None = None) -> list[Member]:
        self.stats.round_trips += 1
        members: list[Member] = await self.db["members"].find({}, projection).sort("_id", 1).to_list(length=None)
        return members

    async def insert(self, member: Member) -> None:
        """Insert a new member; raises DuplicateMember when a unique index refuses it."""
        self.stats.round_trips += 1
        try:
            await self.db["members"].insert_one(member)
        except DuplicateKeyError:
            raise DuplicateMember() from None

    async def update(self, member_id: ObjectId, changes: dict[str, Any]) -> bool:
        """`$set` changes; False when no such member. Raises DuplicateMember on a taken e-mail/username."""
        self.stats.round_trips += 1
        try:
            result = await self.db["members"].update_one({"_id": member_id}, {"$set": changes})
        except DuplicateKeyError:
            raise DuplicateMember() from None
        return bool(result.matched_count)

    async def delete(self, member_id: ObjectId) -> bool:
        self.stats.round_trips += 1
        result = await self.db["members"].delete_one({"_id": member_id})
        return bool(result.deleted_count)

    async def forget_app(self, app_id: str) -> int:
        """Remove a deleted app from every member's rights; returns how many members changed.

        Members are few (dashboard users), so this reads them all and rewrites the changed ones,
        which works the same on MongoDB and on the embedded store (no nested positional operators).
        """
        fields = {"permission": 1, "admin_of": 1, "user_of": 1}
        changed = 0
        for member in await self.all(fields):
            changes = without_app(member, app_id)
            if changes:
                await self.update(member["_id"], changes)
                changed += 1
        return changed

    async def ensure_global_admin(self, api_key: str) -> Member:
        """The bootstrap admin of TALLY_ADMIN_API_KEY: created when no member has this key."""
        existing = await self.by_api_key(api_key)
        if existing is not None:
            return existing
        member: Member = {
            "_id": ObjectId(), "full_name": "Administrator", "username": "admin-" + api_key[:8],
            "email": f"admin-{api_key[:8]}@localhost", "api_key": api_key, "global_admin": True,
            "locked": False, "created_at": int(time.time()), "password_changed": 0,
            "permission": empty_permission(),
        }
        try:
            await self.insert(member)
        except DuplicateMember:
            # another worker process created it at the same moment
            again = await self.by_api_key(api_key)
            if again is None:
                raise
            return again
        return member
