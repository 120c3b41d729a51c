"""Apps: `/i/apps/create|update|delete|reset` (contract §8.3)."""
from __future__ import annotations

import logging
import secrets
import zoneinfo
from functools import lru_cache
from typing import Any

import pycountry
from aiohttp import web
from bson import ObjectId

from server import keys, mongo
from server.auth import can_admin, check_id_params, validate_app_admin, validate_global_admin
from server.errors import BadRequest, Forbidden, NotFound, Unauthorized
from server.manage.common import appdata, bad_field_names, jsonable, members, now, read_args
from server.manage.validation import Arg, joined, validate_args
from server.output import message, output
from server.params import read_params
from server.storage.appdata import PERIOD_MONTHS, KeyInUse, kept_period
from server.storage.apps import App, app_id_of

log = logging.getLogger(__name__)

KEY_IN_USE = "App key already in use"
APP_NOT_FOUND = "App not found"
CATEGORIES = frozenset(str(i) for i in range(1, 21))
TYPES = frozenset({"mobile", "web", "desktop"})
DEFAULT_CATEGORY = "6"
DEFAULT_TYPE = "mobile"
RESET_PERIODS = ("reset", "all", *PERIOD_MONTHS)

_APP_ID = Arg("app_id", required=True, min_length=24, max_length=24)
CREATE_ARGS = (Arg("name", required=True), Arg("country"), Arg("type"), Arg("category"), Arg("key"),
               Arg("timezone"), Arg("checksum_salt"))
UPDATE_ARGS = (Arg("app_id", required=True, min_length=24, max_length=24, exclude=True), Arg("name"),
               Arg("type"), Arg("category"), Arg("key"), Arg("timezone"), Arg("country"), Arg("salt"),
               Arg("locked", "Boolean"))
# Fields nobody may set through args: the id is immutable.
PROTECTED = frozenset({"_id"})


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@lru_cache(maxsize=1)
def _countries() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries)


def invalid_props(app: dict[str, Any]) -> list[str]:
    """Names of given country/timezone/category/type values Tally does not know."""
    checks = (("country", _countries()), ("timezone", _timezones()), ("category", CATEGORIES), ("type", TYPES))
    return [name for name, known in checks if app.get(name) and app[name] not in known]


def new_app_key() -> str:
    """40 hex characters (Countly's app keys are sha1 hex digests)."""
    return secrets.token_hex(20)


def _extra_args(args: dict[str, Any], obj: dict[str, Any], skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """Args outside the specification: Countly stores them on the app as given."""
    extra = {k: v for k, v in args.items() if k not in obj and k not in skip}
    bad = sorted(set(bad_field_names(extra)) | (PROTECTED & extra.keys()))
    if bad:
        raise BadRequest("Invalid props: " + ",".join(bad))
    return extra


def forget_app(request: web.Request, app_id: str) -> None:
    """Drop everything this process remembers about an app whose data changed under it."""
    request.app[keys.DEVICES].forget_app(app_id)
    request.app[keys.META].forget_app(app_id)
    request.app[keys.APPS].invalidate()


async def _flush_pending(request: web.Request) -> None:
    """Write acknowledged but unwritten updates first, so none lands after the data is removed."""
    batcher = request.app.get(keys.BATCHER)
    if batcher is None:
        return
    try:
        await batcher.flush()
    except Exception:
        log.warning("flush before removing app data failed", exc_info=True)


async def create_app(request: web.Request) -> web.Response:
    params = await read_params(request)
    check_id_params(params)
    member = await validate_global_admin(request, params)
    args = read_args(params)
    obj, errors = validate_args(args, CREATE_ARGS)
    if obj is None:
        raise BadRequest(joined(errors))
    app: App = {**obj, **_extra_args(args or {}, obj)}
    settings = request.app[keys.SETTINGS]
    if not app.get("country") or app["country"] not in _countries():
        app["country"] = settings.default_country
    if not app.get("timezone") or app["timezone"] not in _timezones():
        app["timezone"] = settings.default_timezone
    if not app.get("category") or app["category"] not in CATEGORIES:
        app["category"] = DEFAULT_CATEGORY
    if not app.get("type") or app["type"] not in TYPES:
        app["type"] = DEFAULT_TYPE
    app["created_at"] = app["edited_at"] = now(request)
    app["owner"] = str(member["_id"])
    app["seq"] = 0
    apps = request.app[keys.APPS]
    if app.get("key"):
        if await apps.by_key(app["key"]) is not None:
            raise BadRequest(KEY_IN_USE)
    else:
        app["key"] = new_app_key()
    app["_id"] = ObjectId()
    try:
        await appdata(request).insert_app(apps, app)
    except KeyInUse:
        raise BadRequest(KEY_IN_USE) from None
    await mongo.ensure_app_indexes(request.app[keys.DB], app_id_of(app))
    log.info("app %s (%s) created by %s", app["_id"], app["name"], app["owner"])
    return output(request, jsonable(app))


async def update_app(request: web.Request) -> web.Response:
    """Countly's order: args → name → key → props → nothing changed → app exists → key free → rights."""
    params = await read_params(request)
    check_id_params(params)
    if params.text("app_id"):
        member, _ = await validate_app_admin(request, params)
    else:
        member = await validate_global_admin(request, params)
    args = read_args(params)
    obj, errors = validate_args(args, UPDATE_ARGS)
    if obj is None or args is None:
        raise BadRequest(joined(errors))
    if obj.get("name") == "":
        raise BadRequest("Invalid app name")
    if obj.get("key") == "":
        raise BadRequest("Invalid app key")
    bad = invalid_props(obj)
    if bad:
        raise BadRequest("Invalid props: " + ",".join(bad))
    changes = {**obj, **_extra_args(args, obj, skip=("app_id",))}
    if not changes:
        return message(request, "Nothing changed")
    if "checksum_salt" in changes:  # Countly renamed it `salt`; the old field always goes
        legacy = changes.pop("checksum_salt")
        changes.setdefault("salt", legacy)
    changes["edited_at"] = now(request)
    app_id: str = args["app_id"]
    apps = request.app[keys.APPS]
    if await apps.by_id(app_id) is None:
        raise NotFound(APP_NOT_FOUND)
    if changes.get("key"):
        holder = await apps.by_key(changes["key"])
        if holder is not None and app_id_of(holder) != app_id:
            raise BadRequest(KEY_IN_USE)
    if not can_admin(member, app_id):
        raise Unauthorized("User does not have admin rights for this app")
    try:
        await appdata(request).update_app(apps, app_id, changes, unset=("checksum_salt",))
    except KeyInUse:
        raise BadRequest(KEY_IN_USE) from None
    return output(request, jsonable(changes))


async def _removable_app(request: web.Request, app_id: str) -> App:
    app = await request.app[keys.APPS].by_id(app_id)
    if app is None:
        raise NotFound(APP_NOT_FOUND)
    if app.get("locked"):
        raise Forbidden("Application is locked")
    return app


async def delete_app(request: web.Request) -> web.Response:
    params = await read_params(request)
    check_id_params(params)
    await validate_global_admin(request, params)
    obj, errors = validate_args(read_args(params), (_APP_ID,))
    if obj is None:
        raise BadRequest(joined(errors))
    app_id: str = obj["app_id"]
    await _removable_app(request, app_id)
    await _flush_pending(request)
    await request.app[keys.APPS].delete(app_id)
    await members(request).forget_app(app_id)
    await appdata(request).delete_all(app_id, keep_registry=False)
    forget_app(request, app_id)
    log.info("app %s deleted", app_id)
    return message(request, "Success")


async def reset_app(request: web.Request) -> web.Response:
    """`period` reset|all removes all data (reset also the event registry); 1month…2year keeps recent months."""
    params = await read_params(request)
    check_id_params(params)
    await validate_global_admin(request, params)
    obj, errors = validate_args(read_args(params), (_APP_ID, Arg("period", required=True)))
    if obj is None:
        raise BadRequest(joined(errors))
    app_id: str = obj["app_id"]
    period: str = obj["period"]
    if period not in RESET_PERIODS:
        raise BadRequest("Error: Invalid period argument")
    app = await _removable_app(request, app_id)
    await _flush_pending(request)
    data = appdata(request)
    if period in ("reset", "all"):
        await data.update_app(request.app[keys.APPS], app_id, {"seq": 0})
        await data.delete_all(app_id, keep_registry=period == "all")
        await mongo.ensure_app_indexes(request.app[keys.DB], app_id)  # dropped with app_users
    else:
        tz = app.get("timezone") if app.get("timezone") in _timezones() else "UTC"
        kept, oldest = kept_period(request.app[keys.CLOCK](), str(tz), PERIOD_MONTHS[period])
        await data.delete_before(app_id, kept, oldest)
    forget_app(request, app_id)
    log.info("app %s reset (period %s)", app_id, period)
    return message(request, "Success")
