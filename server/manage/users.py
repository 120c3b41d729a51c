"""Dashboard members: `/i/users/create|update|delete` (global admins) and `/o/users/me|all`."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

from aiohttp import web
from argon2 import PasswordHasher
from bson import ObjectId

from server.auth import check_id_params, validate_global_admin, validate_user
from server.errors import BadRequest, NotFound
from server.manage.common import bad_field_names, jsonable, members, now, read_args, tokens
from server.manage.validation import Arg, joined, validate_args
from server.output import message, output
from server.params import read_params
from server.storage.apps import object_id
from server.storage.members import DuplicateMember, Member, MemberStore, new_api_key

log = logging.getLogger(__name__)

DUPLICATE = "Email or username already exists"
ACCESS_TYPES = ("c", "r", "u", "d")
# Countly's default `security` settings: at least 8 characters, a digit, an upper-case letter, a symbol.
PASSWORD = Arg("password", min_length=8, has_number=True, has_upchar=True, has_special=True)

CREATE_ARGS = (
    Arg("full_name", required=True), Arg("username", required=True),
    replace(PASSWORD, required=True), Arg("email", required=True), Arg("lang"),
    Arg("permission", "Object"), Arg("admin_of", "Array"), Arg("user_of", "Array"),
    Arg("global_admin", "Boolean"),
)
UPDATE_ARGS = (
    Arg("user_id", required=True, exclude=True), Arg("full_name"), Arg("username"),
    PASSWORD, Arg("email"), Arg("lang"), Arg("admin_of", "Array"),
    Arg("user_of", "Array"), Arg("global_admin", "Boolean"), Arg("locked", "Boolean"),
    Arg("send_notification", "Boolean", exclude=True), Arg("permission", "Object"),
    Arg("subscribe_newsletter", "Boolean"),
)
DELETE_ARGS = (Arg("user_ids", "Array", required=True),)

_hasher = PasswordHasher()


async def hash_password(password: str) -> str:
    """argon2id, off the event loop (a hash costs tens of milliseconds of CPU)."""
    return await asyncio.get_running_loop().run_in_executor(None, _hasher.hash, password)


def _rights_errors(obj: dict[str, Any]) -> list[str]:
    errors = [f"Invalid type for {name}" for name in ("admin_of", "user_of")
              if name in obj and not all(isinstance(a, str) for a in obj[name])]
    if obj.get("permission") is not None and bad_field_names(obj["permission"]):
        errors.append("Invalid type for permission")
    return errors


def apply_legacy_rights(obj: dict[str, Any], *, creating: bool) -> None:
    """Turn `admin_of`/`user_of` into `permission`, as Countly does (in place).

    Admin apps get full c/r/u/d rights and go to `permission._.a`; user apps get read rights and
    become one group in `permission._.u`.
    """
    admin_of: list[str] = obj.pop("admin_of", None) or []
    user_of: list[str] = obj.pop("user_of", None) or []
    if not creating and not admin_of and not user_of:
        return
    perm: dict[str, Any] = obj.get("permission") or {}
    groups = perm.setdefault("_", {"a": list(admin_of), "u": [list(user_of)] if user_of else []})
    if not creating:
        if admin_of:
            groups["a"] = list(admin_of)
        if user_of:
            groups["u"] = [list(user_of)]
    if isinstance(groups, dict):
        groups.setdefault("a", [])
        groups.setdefault("u", [])
    for app_id in admin_of:
        for access in ACCESS_TYPES:
            perm.setdefault(access, {}).setdefault(app_id, {"all": True, "allowed": {}})
    for app_id in user_of:
        perm.setdefault("r", {}).setdefault(app_id, {"all": True, "allowed": {}})
    for access in ACCESS_TYPES:
        perm.setdefault(access, {})
    obj["permission"] = perm


def public(member: Member) -> dict[str, Any]:
    """A member as replies show it: never the password hash."""
    return jsonable({k: v for k, v in member.items() if k != "password"})


async def create_member(store: MemberStore, args: dict[str, Any] | None, created_at: int) -> Member:
    """Validate `args` as `/i/users/create` does and insert the member; raises BadRequest([messages])."""
    obj, errors = validate_args(args, CREATE_ARGS)
    if obj is None:
        raise BadRequest(errors)
    errors = _rights_errors(obj)
    if errors:
        raise BadRequest(errors)
    apply_legacy_rights(obj, creating=True)
    obj["username"] = obj["username"].strip()
    obj["email"] = obj["email"].strip().lower()
    if await store.by_email_or_username(obj["email"], obj["username"]) is not None:
        raise BadRequest([DUPLICATE])
    member: Member = {
        **obj, "password": await hash_password(obj["password"]), "password_changed": 0,
        "created_at": created_at, "locked": False, "api_key": new_api_key(), "_id": ObjectId(),
    }
    try:
        await store.insert(member)
    except DuplicateMember:
        raise BadRequest([DUPLICATE]) from None
    log.info("member %s (%s) created", member["_id"], member["username"])
    return member


async def create_user(request: web.Request) -> web.Response:
    params = await read_params(request)
    check_id_params(params)
    await validate_global_admin(request, params)
    member = await create_member(members(request), read_args(params), now(request))
    return output(request, public(member))


async def update_user(request: web.Request) -> web.Response:
    params = await read_params(request)
    check_id_params(params)
    me = await validate_global_admin(request, params)
    args = read_args(params)
    obj, errors = validate_args(args, UPDATE_ARGS)
    if obj is None:
        raise BadRequest(errors)
    errors = _rights_errors(obj)
    if errors:
        raise BadRequest(errors)
    user_id: str = (args or {})["user_id"]
    oid = object_id(user_id)
    if oid is None:
        raise NotFound("User not found")
    if "password" in obj:
        obj["password"] = await hash_password(obj["password"])
        if str(me["_id"]) != user_id:
            obj["password_changed"] = 0  # an admin set it: the member should change it
    if "username" in obj:
        obj["username"] = obj["username"].strip()
    if "email" in obj:
        obj["email"] = obj["email"].strip().lower()
    apply_legacy_rights(obj, creating=False)
    store = members(request)
    try:
        found = await store.update(oid, obj) if obj else await store.by_id(oid) is not None
    except DuplicateMember:
        raise BadRequest([DUPLICATE]) from None
    if not found:
        raise NotFound("User not found")
    return message(request, "Success")


async def delete_user(request: web.Request) -> web.Response:
    params = await read_params(request)
    check_id_params(params)
    me = await validate_global_admin(request, params)
    obj, errors = validate_args(read_args(params), DELETE_ARGS)
    if obj is None:
        raise BadRequest(joined(errors))
    store, token_store = members(request), tokens(request)
    for user_id in obj["user_ids"]:
        oid = object_id(user_id) if isinstance(user_id, str) else None
        if oid is None or user_id == str(me["_id"]):
            continue  # nobody deletes their own account here
        await token_store.delete_owned_by(user_id)
        if await store.delete(oid):
            log.info("member %s deleted", user_id)
    return message(request, "Success")


async def me(request: web.Request) -> web.Response:
    params = await read_params(request)
    check_id_params(params)
    member = await validate_user(request, params)
    return output(request, public(member))


async def all_users(request: web.Request) -> web.Response:
    params = await read_params(request)
    check_id_params(params)
    current = await validate_global_admin(request, params)
    result: dict[str, Any] = {}
    for member in await members(request).all({"password": 0, "appSortList": 0}):
        entry = public(member)
        entry["global_admin"] = member.get("global_admin") is True
        entry["locked"] = member.get("locked") is True
        entry["created_at"] = member.get("created_at") or 0
        entry["last_login"] = member.get("last_login") or 0
        entry["is_current_user"] = member["_id"] == current["_id"]
        entry["blocked"] = False  # Tally has no dashboard logins to rate-limit
        result[str(member["_id"])] = entry
    return output(request, result)
