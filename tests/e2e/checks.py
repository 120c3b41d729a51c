"""Compare Tally's /o output with the expectations of expect.py.

Each check collects every mismatch (path in the /o output, expected, actual) and fails once
with all of them, the expectation summary and the relevant part of the /o reply.
"""
from __future__ import annotations

import calendar
import json
import math
import time
from typing import Any

from .expect import EventStats, Expected
from .harness import TallyClient

SESSION_KEYS = ("t", "n", "e", "d")


class Mismatches:
    def __init__(self, what: str) -> None:
        self.what = what
        self.items: list[str] = []

    def eq(self, where: str, expected: Any, actual: Any) -> None:
        if isinstance(expected, float) or isinstance(actual, float):
            ok = isinstance(actual, (int, float)) and math.isclose(float(actual), float(expected), abs_tol=1e-6)
        else:
            ok = expected == actual
        if not ok:
            self.items.append(f"{where}: expected {expected!r}, got {actual!r}")

    def check(self, exp: Expected, *bodies: Any) -> None:
        if self.items:
            shown = "\n".join(json.dumps(b, sort_keys=True)[:3000] for b in bodies)
            raise AssertionError(f"{self.what}: {len(self.items)} mismatch(es):\n  " + "\n  ".join(self.items) +
                                 f"\nexpected from the applied requests: {exp.summary()}\n/o replied:\n{shown}")


def num(tree: Any, *path: Any) -> Any:
    """tree[path...] or 0 when a level is missing (Tally omits zero counters)."""
    cur = tree
    for p in path:
        if not isinstance(cur, dict) or str(p) not in cur:
            return 0
        cur = cur[str(p)]
    return cur


def year_keys(data: dict[str, Any]) -> list[str]:
    return [k for k in data if k.isdigit() and len(k) == 4]


def check_sessions(tally: TallyClient, app_id: str, exp: Expected, *, optional_ds: dict[str, int] | None = None,
                   method: str = "sessions") -> dict[str, Any]:
    """t/n/u/e/d at year, month, day and hour level; countries; f["0"]; ds; meta."""
    def ds_ok(body: dict[str, Any]) -> bool:
        for y in exp.years():
            got = {k: v for k, v in (num(body, y, "ds") or {}).items() if v}
            base = {k: v for k, v in got.items() if k not in (optional_ds or {})}
            if base != dict(exp.ds):
                return False
        return True

    # ds of an ended session may be written by Tally's background closer: give it a moment
    data = tally.read_until(app_id, method, ds_ok, timeout=8.0) if exp.ds else tally.read(app_id, method)
    m = Mismatches(f"/o?method={method}")
    for y in exp.years():
        for k in SESSION_KEYS:
            m.eq(f"{y}.{k}", exp.total(k, y), num(data, y, k))
        m.eq(f"{y}.u", exp.unique_in(y), num(data, y, "u"))
        months = sorted({mo for (yy, mo, _d) in exp.days() if yy == y})
        for mo in months:
            for k in SESSION_KEYS:
                m.eq(f"{y}.{mo}.{k}", exp.total(k, y, mo), num(data, y, mo, k))
            m.eq(f"{y}.{mo}.u", exp.unique_in(y, mo), num(data, y, mo, "u"))
        got_ds = {k: v for k, v in (num(data, y, "ds") or {}).items() if v}
        for k, v in (optional_ds or {}).items():
            if got_ds.get(k) in (None, v):
                got_ds.pop(k, None)
        m.eq(f"{y}.ds (sessions closed by end_session)", dict(exp.ds), got_ds)
        m.eq(f'{y}.f["0"] (new users)', exp.new_users if exp.total("t", y) else 0, num(data, y, "f", "0"))
        if len(exp.years()) == 1:
            for cc, t in exp.countries.items():
                m.eq(f"{y}.{cc}.t", t, num(data, y, cc, "t"))
    for (y, mo, d) in exp.days():
        for k in SESSION_KEYS:
            m.eq(f"{y}.{mo}.{d}.{k}", exp.total(k, y, mo, d), num(data, y, mo, d, k))
        m.eq(f"{y}.{mo}.{d}.u", exp.unique_in(y, mo, d), num(data, y, mo, d, "u"))
    for (y, mo, d, h) in exp.hours():
        for k in SESSION_KEYS:
            m.eq(f"{y}.{mo}.{d}.{h}.{k}", exp.total(k, y, mo, d, h), num(data, y, mo, d, h, k))
        m.eq(f"{y}.{mo}.{d}.{h}.u", exp.unique_in(y, mo, d, h), num(data, y, mo, d, h, "u"))
    meta = data.get("meta", {})
    m.eq("meta.countries", sorted(exp.countries), sorted(meta.get("countries", [])))
    if exp.ds:
        want = set(exp.ds)
        got = set(meta.get("d-ranges", [])) - set(optional_ds or {})
        m.eq("meta.d-ranges", sorted(want), sorted(got))
    if exp.new_users:
        m.eq("meta.f-ranges contains 0", True, "0" in meta.get("f-ranges", []))
    m.check(exp, data)
    return data


def _event_total(data: dict[str, Any], key: str) -> float:
    return sum(num(data, y, key) or 0 for y in year_keys(data))


def check_events(tally: TallyClient, app_id: str, exp: Expected) -> None:
    """get_events registry, and per event: totals, per-day and per-hour values, segments.
    All mismatches of all reads are reported together."""
    m = Mismatches(f"events of app {app_id}")
    bodies: list[Any] = []
    ge = tally.read(app_id, "get_events")
    bodies.append({"get_events": ge})
    m.eq("get_events.list (custom keys, [CLY]_ removed)", exp.custom_event_keys(), sorted(ge.get("list", [])))
    for key in exp.custom_event_keys():
        m.eq(f"get_events.segments.{key}", sorted(exp.segments.get(key, {})),
             sorted((ge.get("segments") or {}).get(key, [])))
    m.eq("get_events.limits present", True, isinstance(ge.get("limits"), dict))

    for key, total in exp.events.items():
        data = tally.read(app_id, "events", event=key)
        bodies.append({f"events&event={key}": data})
        w = f"events&event={key}:"
        m.eq(f"{w} c (all years)", total.c, _event_total(data, "c"))
        m.eq(f"{w} s (all years)", total.s, float(_event_total(data, "s")))
        m.eq(f"{w} dur (all years)", total.dur, float(_event_total(data, "dur")))
        per_day: dict[tuple[int, int, int], EventStats] = {}
        for (k, (y, mo, d, h)), st in exp.event_buckets.items():
            if k != key:
                continue
            per_day.setdefault((y, mo, d), EventStats()).add(st.c, st.s, st.dur)
            m.eq(f"{w} {y}.{mo}.{d}.{h}.c", st.c, num(data, y, mo, d, h, "c"))
        for (y, mo, d), st in per_day.items():
            m.eq(f"{w} {y}.{mo}.{d}.c", st.c, num(data, y, mo, d, "c"))
            m.eq(f"{w} {y}.{mo}.{d}.s", st.s, float(num(data, y, mo, d, "s")))
            m.eq(f"{w} {y}.{mo}.{d}.dur", st.dur, float(num(data, y, mo, d, "dur")))
        segs = exp.segments.get(key, {})
        meta = data.get("meta", {})
        m.eq(f"{w} meta.segments", sorted(segs), sorted(meta.get("segments", [])))
        for sk, values in segs.items():
            m.eq(f"{w} meta.{sk}", sorted(values), sorted(meta.get(sk, [])))
            sdata = tally.read(app_id, "events", event=key, segmentation=sk)
            bodies.append({f"events&event={key}&segmentation={sk}": sdata})
            for val, st in values.items():
                got = {f: sum(num(sdata, y, val, f) or 0 for y in year_keys(sdata)) for f in ("c", "s", "dur")}
                m.eq(f"{w}&segmentation={sk} <year>.{val}.c", st.c, got["c"])
                m.eq(f"{w}&segmentation={sk} <year>.{val}.s", st.s, float(got["s"]))
                m.eq(f"{w}&segmentation={sk} <year>.{val}.dur", st.dur, float(got["dur"]))
    m.check(exp, *bodies)
    check_analytics(tally, app_id, exp)


def check_metrics(tally: TallyClient, app_id: str, exp: Expected, *, cities: bool = True) -> None:
    """device_details / devices / carriers meta sets and per-value session counts; cities."""
    m = Mismatches(f"metrics of app {app_id}")
    bodies: list[Any] = []
    for collection in ("device_details", "devices", "carriers"):
        data = tally.read(app_id, collection)
        bodies.append({collection: data})
        meta = data.get("meta", {})
        for full, values in exp.metric_meta.items():
            coll, set_name = full.split(".", 1)
            if coll == collection:
                m.eq(f"{collection}: meta.{set_name}", sorted(values), sorted(meta.get(set_name, [])))
        for value, t in exp.metric_t.get(collection, {}).items():
            m.eq(f"{collection}: <year>.{value}.t", t, sum(num(data, y, value, "t") or 0 for y in year_keys(data)))
    if cities and exp.cities:
        data = tally.read(app_id, "cities")
        bodies.append({"cities": data})
        for city, t in exp.cities.items():
            m.eq(f"cities: meta.cities contains {city}", True, city in data.get("meta", {}).get("cities", []))
            m.eq(f"cities: <year>.{city}.t", t, sum(num(data, y, city, "t") or 0 for y in year_keys(data)))
    m.check(exp, *bodies)


def year_view(tally: TallyClient, app_id: str) -> dict[str, Any]:
    """A run-independent view of an app's numbers (no day/hour keys): for comparing two runs."""
    view: dict[str, Any] = {}
    s = tally.read(app_id, "sessions")
    for y in year_keys(s):
        view[f"sessions.{y}"] = {k: s[y].get(k) for k in ("t", "n", "u", "e", "d", "ds", "f") if k in s[y]}
    view["sessions.meta"] = {k: sorted(v) for k, v in s.get("meta", {}).items()}
    ge = tally.read(app_id, "get_events")
    view["events.list"] = sorted(ge.get("list", []))
    for key in view["events.list"]:
        e = tally.read(app_id, "events", event=key)
        view[f"events.{key}"] = {y: {k: e[y].get(k) for k in ("c", "s", "dur")} for y in year_keys(e)}
        view[f"events.{key}.meta"] = {k: sorted(v) for k, v in e.get("meta", {}).items()}
    d = tally.read(app_id, "device_details")
    view["device_details.meta"] = {k: sorted(v) for k, v in d.get("meta", {}).items()}
    return view


def _period(exp: Expected) -> list[int]:
    """A `[start, end]` ms period covering every day the scenario touched (apps are UTC)."""
    days = exp.days() or [time.gmtime()[:3]]
    first, last = min(days), max(days)
    return [calendar.timegm((*first, 0, 0, 0)) * 1000, (calendar.timegm((*last, 0, 0, 0)) + 86399) * 1000]


def time_text(minutes: float) -> str:
    """The dashboard's time format (contract §7.1): min, hours, days, years with one decimal."""
    if minutes >= 142560:
        return f"{minutes / 525600:.1f} years"
    if minutes >= 1440:
        return f"{minutes / 1440:.1f} days"
    if minutes >= 60:
        return f"{minutes / 60:.1f} hours"
    return f"{minutes:.1f} min"


def check_analytics(tally: TallyClient, app_id: str, exp: Expected) -> None:
    """/o/analytics shows what the scenario did: dashboard totals, daily sessions, events per day."""
    period = _period(exp)
    key = tally.server.admin_key
    m = Mismatches(f"/o/analytics of app {app_id} for {period}")
    status, dash = tally.call("/o/analytics/dashboard", api_key=key, app_id=app_id, period=period)
    m.eq("dashboard status", 200, status)
    figures = next(iter(dash.values()))["dashboard"] if status == 200 else {}
    m.eq("dashboard total_sessions", exp.total("t"), num(figures, "total_sessions", "total"))
    m.eq("dashboard new_users", exp.total("n"), num(figures, "new_users", "total"))
    m.eq("dashboard total_time", time_text(exp.total("d") / 60), num(figures, "total_time", "total"))
    status, series = tally.call("/o/analytics/sessions", api_key=key, app_id=app_id, period=period)
    m.eq("sessions status", 200, status)
    by_day = {row["_id"]: row for row in series} if status == 200 else {}
    for (y, mo, d) in exp.days():
        for k in ("t", "n", "d", "e"):
            m.eq(f"sessions {y}-{mo}-{d}.{k}", exp.total(k, y, mo, d), by_day.get(f"{y}-{mo}-{d}", {}).get(k, 0))
    bodies: list[Any] = [dash, series]
    for event, total in exp.events.items():
        status, rows = tally.call("/o/analytics/events", api_key=key, app_id=app_id, event=event, period=period)
        m.eq(f"events {event} status", 200, status)
        bodies.append({event: rows})
        if status == 200:
            m.eq(f"events {event} c", total.c, sum(r.get("c", 0) for r in rows))
            m.eq(f"events {event} s", total.s, float(sum(r.get("s", 0) for r in rows)))
            m.eq(f"events {event} dur", total.dur, float(sum(r.get("dur", 0) for r in rows)))
    m.check(exp, *bodies)
