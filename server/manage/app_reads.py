"""Reading apps: `/o/apps/all|mine|details|plugins` (contract §8.4)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiohttp import web

from server import keys
from server.auth import (
    admin_app_ids,
    check_id_params,
    is_global_admin,
    user_app_ids,
    validate_app_admin,
    validate_global_admin,
    validate_user,
)
from server.errors import BadRequest, NotFound, Unauthorized
from server.manage.common import appdata, members
from server.output import output
from server.params import read_params
from server.storage.apps import App, app_id_of, object_id

# The fields of an app that app lists show (Countly's `packApps`).
LIST_FIELDS = ("category", "country", "key", "name", "timezone")


def pack(apps: Iterable[App]) -> dict[str, dict[str, Any]]:
    """Apps keyed by id, each with `_id` and the list fields (absent fields stay absent)."""
    return {app_id_of(a): {"_id": app_id_of(a), **{f: a[f] for f in LIST_FIELDS if f in a}} for a in apps}


async def all_apps(request: web.Request) -> web.Response:
    params = await read_params(request)
    check_id_params(params)
    await validate_global_admin(request, params)
    packed = pack(await request.app[keys.APPS].all())
    return output(request, {"admin_of": packed, "user_of": packed})


async def mine(request: web.Request) -> web.Response:
    """Global admins get every app in both lists; others their admin apps and their user apps."""
    params = await read_params(request)
    check_id_params(params)
    member = await validate_user(request, params)
    apps = request.app[keys.APPS]
    if is_global_admin(member):
        packed = pack(await apps.all())
        return output(request, {"admin_of": packed, "user_of": packed})
    return output(request, {"admin_of": pack(await apps.by_ids(admin_app_ids(member))),
                            "user_of": pack(await apps.by_ids(user_app_ids(member)))})


def _person(member: dict[str, Any]) -> dict[str, Any]:
    return {"_id": str(member["_id"]), **{f: member[f] for f in ("full_name", "username") if f in member}}


async def details(request: web.Request) -> web.Response:
    """The app's owner, dates and activity, and who may use it (global admins, admins, users)."""
    params = await read_params(request)
    check_id_params(params)
    _, app_id = await validate_app_admin(request, params)
    app = await request.app[keys.APPS].by_id(app_id)
    if app is None:
        raise Unauthorized("App does not exist")
    people = await members(request).all({"full_name": 1, "username": 1, "global_admin": 1,
                                         "permission": 1, "admin_of": 1, "user_of": 1})
    owner_id = str(app.get("owner") or "")
    owner = next((m for m in people if owner_id and str(m["_id"]) == owner_id), None)
    summary: dict[str, Any] = {
        "owner": (owner.get("full_name") or owner.get("username") or "") if owner else "",
        "owner_id": owner_id,
        "created_at": app.get("created_at") or 0,
        "edited_at": app.get("edited_at") or 0,
    }
    for optional in ("plugins", "last_data"):
        if optional in app:
            summary[optional] = app[optional]
    summary["last_data_users"] = await appdata(request).last_activity(app_id)
    return output(request, {
        "app": summary,
        "global_admin": [_person(m) for m in people if is_global_admin(m)],
        "admin": [_person(m) for m in people if app_id in admin_app_ids(m)],
        "user": [_person(m) for m in people if app_id in user_app_ids(m) and app_id not in admin_app_ids(m)],
    })


async def plugins(request: web.Request) -> web.Response:
    """`{"plugins": {...}}`: the app's plugin settings, or one plugin's with `name`."""
    params = await read_params(request)
    check_id_params(params)
    await validate_global_admin(request, params)
    app_id = params.text("app_id")
    if not app_id:
        raise BadRequest("Error: Missing app_id argument")
    app = await request.app[keys.APPS].by_id(app_id) if object_id(app_id) is not None else None
    if app is None:
        raise NotFound("App not found")
    settings = app.get("plugins")
    if not isinstance(settings, dict):
        settings = {}
    name = params.text("name")
    if name and name in settings:
        return output(request, {"plugins": {name: settings[name]}})
    return output(request, {"plugins": settings})
