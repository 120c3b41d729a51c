"""Helpers for the `/o/analytics/*` tests: one app, SDK traffic at chosen times, reads.

Every expected number in these tests is worked out by hand from the traffic the test sends;
the helpers below only assemble the literal values into Countly's shapes.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.conftest import Tally

NOW = 1_731_000_000  # the fake clock's default: Thursday 2024-11-07 17:20:00 UTC
DAY = 86400


def utc(text: str) -> int:
    """Epoch seconds of an ISO date-time in UTC ("2025-01-03T12:00")."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


@dataclass
class App:
    tally: Tally
    key: str
    id: str

    async def hit(self, device: str, at: float | None = None, **params: Any) -> None:
        """One /i request from `device` (at epoch seconds `at`, else now); it must succeed."""
        if at is not None:
            params["timestamp"] = int(at)
        status, body = await self.tally.write(app_key=self.key, device_id=device, **params)
        assert (status, body) == (200, {"result": "Success"}), body

    async def read(self, path: str, **params: Any) -> tuple[int, Any]:
        await self.tally.flush()
        return await self.tally.read(f"/o/analytics/{path}", app_id=self.id, **params)

    async def ok(self, path: str, **params: Any) -> Any:
        status, body = await self.read(path, **params)
        assert status == 200, body
        return body


async def make_app(tally: Tally, **args: Any) -> App:
    created = await tally.create_app("analytics", **args)
    return App(tally, created["key"], created["_id"])


def item(total: Any, change: str = "NA", trend: str = "u") -> dict[str, Any]:
    return {"total": total, "change": change, "trend": trend}


def numbers(t: int, u: int, n: int, total_time: str, avg_time: str, avg_requests: str, *,
            estimate: bool = False, changes: dict[str, tuple[str, str]] | None = None) -> dict[str, Any]:
    """A `dashboard` object; `changes` maps a field to its (change, trend) when not ("NA", "u")."""
    c = changes or {}
    users = item(u, *c.get("total_users", ("NA", "u")))
    users["is_estimate"] = estimate
    return {
        "total_sessions": item(t, *c.get("total_sessions", ("NA", "u"))),
        "new_users": item(n, *c.get("new_users", ("NA", "u"))),
        "total_users": users,
        "total_time": item(total_time, *c.get("total_time", ("NA", "u"))),
        "avg_time": item(avg_time, *c.get("avg_time", ("NA", "u"))),
        "avg_requests": item(avg_requests, *c.get("avg_requests", ("NA", "u"))),
    }


def bar(name: str, value: int, percent: float) -> dict[str, Any]:
    return {"name": name, "value": value, "percent": percent}


def top(platforms: list[Any] | None = None, resolutions: list[Any] | None = None,
        carriers: list[Any] | None = None, users: list[Any] | None = None) -> dict[str, Any]:
    return {"platforms": platforms or [], "resolutions": resolutions or [], "carriers": carriers or [],
            "users": users or []}


def block(dashboard: dict[str, Any], tops: dict[str, Any], period: str) -> dict[str, Any]:
    return {"dashboard": dashboard, "top": tops, "period": period}
