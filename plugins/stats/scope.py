"""Which apps and which days a statistics request is about (parsing and rights; no driver calls).

Apps: `app_id` (one app), `app_ids` (a JSON array or a comma-separated list), or none of them
(every app the member may read). Every named app goes through `validate_read`, so the replies
are `/o`'s: 400 `Missing parameter "api_key" or "auth_token"`, 401 `User does not exist`,
401 `User does not have right`, 401 `User is locked`, 401 `App does not exist`.

Days: `from` and `to` (`YYYY-MM-DD`, inclusive, in each app's timezone). Without them the last
30 days up to today (in the first app's timezone). A bad date, `from` after `to`, or a span
longer than `stats_max_range_days` is a 400 naming the parameter.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import orjson
from aiohttp import web

from plugins.activity.days import day_of
from server import keys
from server.auth import check_id_params, readable_app_ids, validate_read, validate_user
from server.errors import BadRequest
from server.params import Params
from server.storage.apps import App, app_id_of
from server.timebuckets import days_between, today

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DEFAULT_DAYS = 30
TRUE = ("1", "true", "yes")
FALSE = ("0", "false", "no", "")


@dataclass(frozen=True)
class DayRange:
    start: date
    end: date       # inclusive
    today: date

    @property
    def days(self) -> list[date]:
        return days_between(self.start, self.end)

    @property
    def lo(self) -> int:
        return day_of(self.start)

    @property
    def hi(self) -> int:
        return day_of(self.end)

    def months(self) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        for d in self.days:
            if (d.year, d.month) not in out:
                out.append((d.year, d.month))
        return out


def timezone_of(request: web.Request, app: App) -> str:
    return str(app.get("timezone") or request.app[keys.SETTINGS].default_timezone)


def _date(params: Params, name: str) -> date | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or not DATE.match(raw):
        raise BadRequest(f'Invalid parameter "{name}" (expected YYYY-MM-DD)')
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f'Invalid parameter "{name}" (no such date)') from None


def day_range(request: web.Request, params: Params, tz: str) -> DayRange:
    now = today(tz, request.app[keys.CLOCK]())
    start, end = _date(params, "from"), _date(params, "to")
    if end is None:
        end = now if start is None else max(now, start)
    if start is None:
        start = end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise BadRequest('Invalid parameter "from" (after "to")')
    limit = request.app[keys.SETTINGS].stats_max_range_days
    if (end - start).days + 1 > limit:
        raise BadRequest(f'Invalid parameter "to" (the range is longer than {limit} days)')
    return DayRange(start, end, now)


def flag(params: Params, name: str) -> bool:
    raw = params.get(name)
    if raw is None:
        return False
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise BadRequest(f'Invalid parameter "{name}" (expected true or false)')


async def one_app(request: web.Request, params: Params) -> App:
    check_id_params(params)
    app_id = params.text("app_id")
    if not app_id:
        raise BadRequest('Missing parameter "app_id"')
    _member, app = await validate_read(request, params, app_id)
    return app


def _listed_ids(params: Params) -> list[str]:
    raw = params.get("app_ids")
    ids: object = raw
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("["):
            try:
                ids = orjson.loads(text)
            except orjson.JSONDecodeError:
                raise BadRequest('Invalid parameter "app_ids"') from None
        else:
            ids = [p.strip() for p in text.split(",") if p.strip()]
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and len(i) == 24 for i in ids):
        raise BadRequest('Invalid parameter "app_ids"')
    return list(dict.fromkeys(ids))


async def listed_apps(request: web.Request, params: Params) -> list[App]:
    apps = []
    for app_id in _listed_ids(params):
        _member, app = await validate_read(request, params, app_id)
        apps.append(app)
    return apps


async def readable_apps(request: web.Request, params: Params) -> list[App]:
    member = await validate_user(request, params)
    every = await request.app[keys.APPS].all()
    allowed = set(readable_app_ids(member, every))
    return [a for a in every if app_id_of(a) in allowed]


async def apps_of(request: web.Request, params: Params) -> list[App]:
    """`app_id`, else `app_ids`, else every readable app."""
    if params.get("app_id") not in (None, ""):
        return [await one_app(request, params)]
    if params.get("app_ids") not in (None, ""):
        return await listed_apps(request, params)
    return await readable_apps(request, params)
