"""Routes of the management API. Every path answers GET and POST (Countly accepts both).

A known prefix with an unknown or missing action (`/i/users`, `/o/apps/nope`) answers 400 with
Countly's list of valid actions, before any authentication, as Countly does.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from server.auth import check_id_params
from server.errors import BadRequest
from server.manage import app_reads, apps, tokens, users
from server.params import read_params

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

routes = web.RouteTableDef()

ACTIONS: dict[str, tuple[tuple[str, Handler], ...]] = {
    "/i/users": (("create", users.create_user), ("update", users.update_user), ("delete", users.delete_user)),
    "/o/users": (("me", users.me), ("all", users.all_users)),
    "/i/apps": (("create", apps.create_app), ("update", apps.update_app), ("delete", apps.delete_app),
                ("reset", apps.reset_app)),
    "/o/apps": (("all", app_reads.all_apps), ("mine", app_reads.mine), ("details", app_reads.details),
                ("plugins", app_reads.plugins)),
    "/i/token": (("create", tokens.create_token), ("delete", tokens.delete_token)),
    "/o/token": (("list", tokens.list_tokens), ("check", tokens.check_token)),
}

INVALID_PATH = {
    "/i/users": "Invalid path, must be one of /create, /update, /deleteOwnAccount or /delete",
    "/o/users": "Invalid path, must be one of /all or /me",
    "/i/apps": "Invalid path, must be one of /create, /update, /delete or /reset",
    "/o/apps": "Invalid path, must be one of /all, /mine, /details or /plugins",
    "/i/token": "Invalid path, must be one of /delete or /create",
    "/o/token": "Invalid path, must be one of /list",
}


def _invalid_path(text: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        check_id_params(await read_params(request))
        raise BadRequest(text)

    handler.__name__ = "invalid_path"
    return handler


def _add(path: str, handler: Handler) -> None:
    routes.get(path)(handler)
    routes.post(path)(handler)


for _prefix, _actions in ACTIONS.items():
    for _action, _handler in _actions:
        _add(f"{_prefix}/{_action}", _handler)
    _add(_prefix, _invalid_path(INVALID_PATH[_prefix]))
    _add(_prefix + "/{action}", _invalid_path(INVALID_PATH[_prefix]))
