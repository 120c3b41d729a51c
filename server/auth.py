"""Dashboard authentication and rights, with Countly's messages in Countly's order (`rights.js`).

Every validator starts with `authenticate`: a token (`auth_token` parameter or `countly-token`
header) is tried first; when there is none, or it is unknown, expired, restricted to other
endpoints or apps, or already used, the `api_key` parameter is used instead. Then the validator's
own checks follow, always rights before `locked`, and rights before app existence (so a member
without rights cannot probe which app ids exist).

Rights ("user apps", "admin apps") come from `permission` (`_.a` admin apps, `_.u` groups of
user apps, `r.<appId>` read rights) or, for members without `permission`, from the legacy
`admin_of`/`user_of` lists. Global admins have every right.
"""
from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from aiohttp import web

from server import keys
from server.errors import BadRequest, Unauthorized
from server.params import Params
from server.storage.apps import App, app_id_of, object_id
from server.storage.members import Member, MemberStore
from server.storage.tokens import Token, TokenStore

log = logging.getLogger(__name__)

MISSING_CREDENTIALS = 'Missing parameter "api_key" or "auth_token"'
TOKEN_NOT_VALID = "Token not valid"
NO_MEMBER = "User does not exist"
NO_RIGHT = "User does not have right"
LOCKED = "User is locked"
NO_APP_ID = "No app_id provided"
NO_APP = "App does not exist"

MEMBER: web.RequestKey[Member] = web.RequestKey("member", dict)
ID_PARAMS = ("app_id", "user_id")


def check_id_params(params: Params) -> None:
    """Countly's early global check: `app_id`/`user_id`, when given, must be 24 characters."""
    for name in ID_PARAMS:
        value = params.get(name)
        if value is None or (not isinstance(value, (list, dict)) and value in ("", 0)):
            continue  # absent or empty (JavaScript-falsy): not checked, as in Countly
        if not isinstance(value, str) or len(value) != 24:
            raise BadRequest(f'Invalid parameter "{name}"')


# ---- rights (pure) ----

def is_global_admin(member: Mapping[str, Any]) -> bool:
    return member.get("global_admin") is True


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _permission(member: Mapping[str, Any]) -> dict[str, Any] | None:
    perm = member.get("permission")
    return perm if isinstance(perm, dict) else None


def admin_app_ids(member: Mapping[str, Any]) -> list[str]:
    """Apps the member administers: `permission._.a` (legacy: `admin_of`)."""
    perm = _permission(member)
    if perm is None:
        return _strings(member.get("admin_of"))
    groups = perm.get("_")
    return _strings(groups.get("a")) if isinstance(groups, dict) else []


def user_app_ids(member: Mapping[str, Any]) -> list[str]:
    """Apps the member uses: flatten(`permission._.u`) + `permission._.a` (legacy: `user_of` + `admin_of`)."""
    perm = _permission(member)
    if perm is None:
        found = _strings(member.get("user_of")) + _strings(member.get("admin_of"))
    else:
        groups = perm.get("_")
        found = []
        user_groups = groups.get("u") if isinstance(groups, dict) else None
        for group in user_groups if isinstance(user_groups, list) else []:
            found.extend(_strings(group) if isinstance(group, list) else _strings([group]))
        found.extend(admin_app_ids(member))
    return list(dict.fromkeys(found))


def can_read(member: Mapping[str, Any], app_id: str, feature: str = "core") -> bool:
    """Global admin, a user or admin of the app, or `permission.r[app_id]` allowing the feature."""
    if is_global_admin(member) or app_id in user_app_ids(member):
        return True
    perm = _permission(member)
    reads = perm.get("r") if perm is not None else None
    right = reads.get(app_id) if isinstance(reads, dict) else None
    if not isinstance(right, dict):
        return False
    allowed = right.get("allowed")
    return right.get("all") is True or (isinstance(allowed, dict) and allowed.get(feature) is True)


def can_admin(member: Mapping[str, Any], app_id: str) -> bool:
    return is_global_admin(member) or app_id in admin_app_ids(member)


def readable_app_ids(member: Mapping[str, Any], all_apps: Iterable[App | str]) -> list[str]:
    """The ids among `all_apps` (app documents or id strings) that the member may read."""
    ids = [a if isinstance(a, str) else app_id_of(a) for a in all_apps]
    return [i for i in ids if can_read(member, i)]


# ---- tokens (pure) ----

@lru_cache(maxsize=256)
def _pattern(text: str) -> re.Pattern[str] | None:
    try:
        return re.compile(text)
    except re.error:
        log.warning("auth token with an invalid pattern %r: it matches nothing", text)
        return None


def _search(pattern: Any, text: str) -> bool:
    compiled = _pattern(pattern) if isinstance(pattern, str) else None
    return compiled is not None and compiled.search(text) is not None


def _listed(value: Any) -> list[Any]:
    if value is None or value == "" or value == []:
        return []
    return value if isinstance(value, list) else [value]


def token_matches(token: Mapping[str, Any], path: str, values: Mapping[str, Any]) -> bool:
    """A token's endpoint and app restrictions allow this request.

    `endpoint` entries are regular expressions searched in the path, or `{"endpoint": re,
    "params": {name: re}}` objects that also require each named parameter to match. `app`
    restricts requests that name an `app_id` to those apps.
    """
    endpoints = _listed(token.get("endpoint"))
    if endpoints:
        ok = False
        for entry in endpoints:
            if isinstance(entry, dict) and entry.get("endpoint"):
                wanted = entry.get("params")
                if not isinstance(wanted, dict):
                    wanted = {}
                params_ok = all(values.get(k) not in (None, "") and _search(p, str(values.get(k)))
                                for k, p in wanted.items())
                ok = ok or (params_ok and _search(entry["endpoint"], path))
            else:
                ok = ok or _search(entry, path)
        if not ok:
            return False
    apps = _listed(token.get("app"))
    app_id = values.get("app_id")
    return not (apps and app_id and app_id not in apps)


def token_alive(token: Mapping[str, Any], now: int) -> bool:
    ttl, ends = token.get("ttl"), token.get("ends")
    if ttl == 0:
        return True
    return isinstance(ends, (int, float)) and ends >= now


def token_seconds_left(token: Mapping[str, Any] | None, now: int) -> tuple[bool, int]:
    """(valid, seconds until expiry) as `/o/token/check` reports them: -1 never expires, 0 invalid."""
    if token is None or not token_alive(token, now):
        return False, 0
    if token.get("ttl") == 0:
        return True, -1
    return True, int(token["ends"]) - now


# ---- authentication ----

def _now(request: web.Request) -> int:
    return round(request.app[keys.CLOCK]())


async def _token_owner(request: web.Request, params: Params, token_id: str) -> str | None:
    """The owner of a usable token, or None. Single-use and expired tokens are deleted when used."""
    store = TokenStore(request.app[keys.DB], request.app[keys.STATS])
    token: Token | None = await store.get(token_id)
    if token is None or not token_matches(token, request.path, params.values):
        return None
    alive = token_alive(token, _now(request))
    if not alive or not token.get("multi"):
        consumed = await store.consume(token_id)
        if not consumed:  # another request used it first
            return None
    return str(token.get("owner")) if alive else None


async def authenticate(request: web.Request, params: Params) -> Member:
    """The member making the request (token first, then api_key); cached on the request."""
    if MEMBER in request:
        return request[MEMBER]
    members = MemberStore(request.app[keys.DB], request.app[keys.STATS])
    token_id = params.text("auth_token") or request.headers.get("countly-token") or ""
    owner = await _token_owner(request, params, token_id) if token_id else None
    member: Member | None
    if owner is not None:
        oid = object_id(owner)
        member = await members.by_id(oid) if oid is not None else None
    else:
        api_key = params.text("api_key")
        if not api_key:
            raise BadRequest(TOKEN_NOT_VALID if token_id else MISSING_CREDENTIALS)
        member = await members.by_api_key(api_key)
        # the lookup is an indexed query; this constant-time check guards against a store
        # that matched loosely (e.g. a collation) and costs nothing
        if member is not None and not hmac.compare_digest(str(member.get("api_key", "")).encode(),
                                                          api_key.encode()):
            member = None
    if member is None:
        raise Unauthorized(NO_MEMBER)
    request[MEMBER] = member
    return member


def _check_locked(member: Member) -> None:
    if member.get("locked"):
        raise Unauthorized(LOCKED)


async def validate_user(request: web.Request, params: Params) -> Member:
    """Any existing, unlocked member (`/o/users/me`, `/o/apps/mine`, tokens)."""
    member = await authenticate(request, params)
    _check_locked(member)
    return member


async def validate_global_admin(request: web.Request, params: Params) -> Member:
    member = await authenticate(request, params)
    if not is_global_admin(member):
        raise Unauthorized(NO_RIGHT)
    _check_locked(member)
    return member


async def validate_app_admin(request: web.Request, params: Params) -> tuple[Member, str]:
    """An admin of the request's `app_id` (existence of the app is the caller's business)."""
    member = await authenticate(request, params)
    app_id = params.text("app_id")
    if not app_id:
        raise BadRequest("No app id provided")
    if not can_admin(member, app_id):
        raise Unauthorized(NO_RIGHT)
    _check_locked(member)
    return member, app_id


async def _validate_app(request: web.Request, params: Params, app_id: str | None,
                        allowed: bool) -> tuple[Member, App]:
    member = await authenticate(request, params)
    if not is_global_admin(member):
        if app_id is None:
            raise Unauthorized(NO_APP_ID)
        if not allowed:
            raise Unauthorized(NO_RIGHT)
    _check_locked(member)
    if app_id is None:  # a global admin may omit app_id in Countly, but every Tally caller needs the app
        raise BadRequest('Missing parameter "app_id"')
    app = await request.app[keys.APPS].by_id(app_id)
    if app is None:
        raise Unauthorized(NO_APP)
    return member, app


async def validate_read(request: web.Request, params: Params, app_id: str | None,
                        feature: str = "core") -> tuple[Member, App]:
    """Countly's validateRead: No app_id → no right → locked → app exists."""
    member = await authenticate(request, params)
    return await _validate_app(request, params, app_id,
                               app_id is not None and can_read(member, app_id, feature))


async def validate_write(request: web.Request, params: Params, app_id: str | None) -> tuple[Member, App]:
    """As `validate_read`, but the member must administer the app."""
    member = await authenticate(request, params)
    return await _validate_app(request, params, app_id, app_id is not None and can_admin(member, app_id))
