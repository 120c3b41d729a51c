"""The pure heart of the write path: device state before + request → state after + updates."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from server.ingest import clean, events, location, metrics, sessions
from server.ingest.request import SdkRequest
from server.ingest.sessions import Levels
from server.ingest.work import Work
from server.settings import Settings
from server.storage.merge import Update
from server.storage.meta import Registry

State = dict[str, Any]
Allows = Callable[[str, str, str, str], bool]


@dataclass(frozen=True)
class Applied:
    """What plugin write hooks see of one request: all of it, after the core rules ran.

    `levels` is None unless the request counted a new session; `work` is where the core's updates
    went (hooks may read `work.time(ts)` and `work.app_id`, and return their own updates).
    `after` is the very dict `transition` stores as the device's new state: the plugin manager
    adds plugins' device fields (`tally_device_fields`) to it before it is written.
    """

    request: SdkRequest
    before: State | None
    after: State
    work: Work
    levels: Levels | None
    is_new_user: bool
    country: str


WriteHook = Callable[[Applied], list[Update]]  # pure: no I/O


@dataclass(frozen=True)
class Context:
    """What a request's processing may read besides the device state (no I/O)."""

    app_id: str
    tz: str
    app_country: str
    settings: Settings
    registry: Registry
    allows: Allows
    omitted_segments: frozenset[str] = frozenset()
    write_hook: WriteHook | None = None


@dataclass
class Outcome:
    updates: list[Update] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    duplicate: bool = False
    close_at: float | None = None  # when the device's session is due to be closed (see closer.py)


def transition(old: State | None, req: SdkRequest, ctx: Context) -> tuple[State | None, Outcome]:
    """Apply one request. Returns (None, duplicate outcome) for a retry already stored."""
    s = ctx.settings
    state: State = dict(old) if old is not None else {"did": req.device_id}
    if req.fingerprint is not None and s.prevent_duplicate_requests:
        recent = list(state.get("rq", []))
        if req.fingerprint in recent:
            return None, Outcome(duplicate=True)
        recent.append(req.fingerprint)
        state["rq"] = recent[-s.duplicate_window:]
    warnings = list(req.warnings)
    before = dict(state)
    work = Work(ctx.app_id, ctx.tz)
    tp = work.time(req.ts)
    sessions.close_if_due(state, req.ts, s.session_timeout, work)
    old_country = state.get("cc")
    location.apply(state, req, s, warnings)
    country = location.country(state)
    if req.tz is not None:
        state["tz"] = req.tz
    values = metrics.normalise(req.metrics)
    levels: Levels | None = None
    is_new = "fs" not in state
    if req.begin:
        levels = sessions.begin_session(state, tp, country, old_country, work, cooldown=s.session_cooldown,
                                        ignore_cooldown=req.ignore_cooldown)
        if levels is not None:
            city = clean.metric_value(location.city(state)) if s.city_data and ctx.app_country in ("", country) \
                else None
            metrics.aggregate(before, values, city, tp, levels, is_new, work, ctx.allows)
    metrics.remember(state, values)
    if req.duration is not None:
        sessions.add_duration(state, tp, req.duration, work)
    if not req.begin and req.duration is None:
        work.users(tp).day_hour("e")
    if req.end:
        sessions.end_session(state, tp, work, cooldown=s.session_cooldown)
    if req.events:
        custom, orientation = events.record(req.events, work, ctx.registry, s, ctx.allows, warnings,
                                            set(ctx.omitted_segments))
        if custom:
            state["ev"] = state.get("ev", 0) + custom
        if orientation is not None:
            state["ornt"] = orientation
    state["lac"] = max(state.get("lac", 0), req.ts)
    updates = work.updates()
    if ctx.write_hook is not None:
        updates.extend(ctx.write_hook(Applied(req, old, state, work, levels, is_new and levels is not None,
                                              country)))
    return state, Outcome(updates, warnings, close_at=sessions.close_time(state, s.session_timeout))


MERGED_KEEP = 16
SUMMED = ("sc", "tsd", "ev")
CONTROL = ("_id", "v", "rq", "mg")


def merge_device(previous: State, old_key: str, current: State | None,
                 device_id: str) -> tuple[State | None, None]:
    """A device changed its id (`old_device_id`): the new id continues the old one's history.

    Idempotent: the old document's key is remembered in `mg`, so a retried merge changes nothing.
    Aggregates already counted stay as they are (as Countly's merge).
    """
    if current is not None and old_key in current.get("mg", []):
        return current, None
    history = {k: v for k, v in previous.items() if k not in CONTROL}
    if current is None or "fs" not in current:
        merged = {**history, **{k: v for k, v in (current or {}).items() if k not in ("fs", "ls")}}
        merged["did"] = device_id
    else:
        merged = dict(current)
        if "fs" in history:
            merged["fs"] = min(current["fs"], history["fs"])
            merged["ls"] = max(current.get("ls", current["fs"]), history.get("ls", history["fs"]))
        for key in SUMMED:
            if key in history:
                merged[key] = merged.get(key, 0) + history[key]
    merged["mg"] = [*(current or {}).get("mg", []), old_key][-MERGED_KEEP:]
    return merged, None


def close_due(old: State | None, now: float, ctx: Context) -> tuple[State | None, Outcome]:
    """The session closer's transition: close an ended or inactive session (no request)."""
    if old is None:
        return None, Outcome()
    state = dict(old)
    work = Work(ctx.app_id, ctx.tz)
    sessions.close_if_due(state, now, ctx.settings.session_timeout, work)
    return state, Outcome(work.updates(), close_at=sessions.close_time(state, ctx.settings.session_timeout))
