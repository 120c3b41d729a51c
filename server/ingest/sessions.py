"""Pure session rules: new vs returning users, unique-user levels, frequency and duration buckets.

Device state fields (short names as Countly's `app_users`): `fs` first seen, `ls` last session
start, `lbst` last begin, `lest` last end, `lac` last activity, `hos` open session, `sd` duration
of the open session, `tsd` total duration, `sc` session count, `pc` time at which an ended
session is closed unless a new begin_session arrives first (the cooldown), `cc` country.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.ingest.work import Work
from server.timebuckets import TimeParts, parts

State = dict[str, Any]

FREQUENCY_HOURS = ((24, "1"), (48, "2"), (72, "3"), (96, "4"), (120, "5"), (144, "6"), (168, "7"),
                   (192, "8"), (360, "9"), (744, "10"))
DURATION_SECONDS = ((10, "0"), (30, "1"), (60, "2"), (180, "3"), (600, "4"), (1800, "5"), (3600, "6"))


@dataclass(frozen=True, slots=True)
class Levels:
    """Which unique-user levels a returning user's session counts at."""

    hour: bool
    day: bool
    week: bool
    month: bool
    year: bool


ALL_LEVELS = Levels(True, True, True, True, True)


def unique_levels(last_seen: float | None, tp: TimeParts, tz: str) -> Levels:
    """A level counts when the last session started before that level's current bucket.

    Weeks are Countly's buckets (ceil(day of year / 7)); unlike Countly, a user last seen in an
    earlier year does count in this year's week (Countly skips them, under-counting week 1).
    """
    if last_seen is None:
        return ALL_LEVELS
    seen = parts(last_seen, tz)
    week = seen.year < tp.year or (seen.year == tp.year and seen.week < tp.week)
    return Levels(last_seen < tp.hour_start, last_seen < tp.day_start, week,
                  last_seen < tp.month_start, last_seen < tp.year_start)


def frequency_bucket(hours: float) -> str | None:
    """Time since the previous session, in hours → Countly's `f` bucket ("1".."11")."""
    if hours < 0:
        return None
    for limit, name in FREQUENCY_HOURS:
        if hours < limit:
            return name
    return "11"


def duration_bucket(seconds: float) -> str:
    """Session length in seconds → Countly's `ds` bucket ("0".."7")."""
    for limit, name in DURATION_SECONDS:
        if seconds <= limit:
            return name
    return "7"


def session_open(state: State) -> bool:
    return bool(state.get("hos")) or "pc" in state


def close_session(state: State, work: Work, at: float) -> None:
    """Count the open (or ended, pending) session in its duration bucket and reset it."""
    if not session_open(state):
        return
    bucket = duration_bucket(state.get("sd", 0))
    users = work.users(work.time(at))
    users.day(f"ds.{bucket}")
    users.zero_levels(f"ds.{bucket}")
    users.add_meta("d-ranges", bucket)
    state["sd"] = 0
    state.pop("hos", None)
    state.pop("pc", None)


def close_time(state: State, timeout: float) -> float | None:
    """When the device's session must be closed if nothing else happens: the end of the cooldown
    of an ended session, or `timeout` after the last activity of an open one; None without one."""
    if "pc" in state:
        return float(state["pc"])
    if state.get("hos"):
        return float(state.get("lac") or state.get("lbst") or 0) + timeout
    return None


def close_if_due(state: State, now: float, timeout: float, work: Work) -> None:
    """Close an ended session whose cooldown is over, or an open one inactive for `timeout`."""
    if "pc" in state and now >= state["pc"]:
        close_session(state, work, float(state["lest"] if "lest" in state else state["pc"]))
    elif state.get("hos") and now - float(state.get("lac") or now) >= timeout:
        close_session(state, work, float(state.get("lac") or now))


def begin_session(state: State, tp: TimeParts, country: str, old_country: str | None, work: Work,
                  *, cooldown: int, ignore_cooldown: bool) -> Levels | None:
    """Apply begin_session. Returns the unique levels counted, or None if the cooldown swallowed it."""
    if "pc" in state and tp.ts < state["pc"] and not ignore_cooldown:
        del state["pc"]  # the ended session is extended: nothing is counted
        state["hos"] = True
        state["lbst"] = tp.ts
        return None
    if session_open(state):
        close_session(state, work, state.get("lac", tp.ts))
    state["sd"] = 0
    users = work.users(tp)
    users.day_hour("e")
    users.day_hour("t")
    users.day(f"{country}.t")
    if "fs" not in state:
        levels = ALL_LEVELS
        users.day_hour("n")
        users.day_hour("u")
        users.day(f"{country}.n")
        users.day(f"{country}.u")
        users.day("f.0")
        users.zero_levels("u")
        users.zero_levels(f"{country}.u")
        users.zero_levels("f.0")
        users.add_meta("f-ranges", "0")
        state["fs"] = tp.ts
        state["ls"] = tp.ts
    else:
        last: float = state["ls"] if "ls" in state else state["fs"]
        levels = unique_levels(last, tp, work.tz)
        bucket = frequency_bucket((tp.ts - last) / 3600.0)
        if bucket is not None:
            users.day(f"f.{bucket}")
            users.zero_levels(f"f.{bucket}")
            users.add_meta("f-ranges", bucket)
        same_country = old_country == country
        if levels.hour:
            users.hour("u")
        if levels.day:
            users.day("u")
            if same_country:
                users.day(f"{country}.u")
        for hit, add in ((levels.week, users.week), (levels.month, users.month_level), (levels.year, users.year)):
            if hit:
                add("u")
                if same_country:
                    add(f"{country}.u")
        if not same_country:
            users.day(f"{country}.u")
            users.zero_levels(f"{country}.u")
        state["ls"] = max(last, tp.ts)
    users.add_meta("countries", country)
    state["sc"] = state.get("sc", 0) + 1
    state["hos"] = True
    state["lbst"] = tp.ts
    return levels


def add_duration(state: State, tp: TimeParts, seconds: int, work: Work) -> None:
    users = work.users(tp)
    users.day_hour("d", seconds)
    users.day_hour("e")
    state["sd"] = state.get("sd", 0) + seconds
    state["tsd"] = state.get("tsd", 0) + seconds


def end_session(state: State, tp: TimeParts, work: Work, *, cooldown: int) -> None:
    """end_session: with no open session nothing but `e` (counted by the caller) happens."""
    if not state.get("hos"):
        return
    state["lest"] = tp.ts
    state.pop("hos", None)
    if cooldown <= 0:
        state["pc"] = tp.ts  # due at once
        close_session(state, work, tp.ts)
    else:
        state["pc"] = tp.ts + cooldown
