"""Statistics endpoints built on the core's buckets and the activity plugin's exact user counts.

- `/o/stats/chart`: daily series for HighCharts (AntiCaptcha's getAppStats shape);
- `/o/stats/app`, `/o/stats/apps`, `/o/stats/user`, `/o/stats/app/bundle_usage`: daily
  statistics and version adoption (Capgo's statistics shapes);
- `/o/stats/account`: all-time totals of the member's apps (Flipsnack's user.getStats shape);
- `/o/stats/activity`: users per day, monthly and daily active users (environment activity shape).
"""
from __future__ import annotations

from aiohttp import web

from plugins.stats import account, activity, chart, daily
from server.hookspecs import hookimpl


@hookimpl
def tally_routes() -> list[web.AbstractRouteDef]:
    return [route for module in (chart, daily, account, activity) for route in module.routes]


@hookimpl
def tally_requires() -> list[str]:
    return ["activity"]
