"""What Tally must report after an SDK run, computed from the requests the SDK saw accepted.

The drivers record every HTTP exchange as the SDK saw it (the "ledger"). A request the server
answered with HTTP 200 and `"result": "Success"` (and no duplicate notice) was applied; for
`/i/bulk` every inner item of an applied bulk was applied, in order. From those requests this
module derives the numbers the counting rules (countly-contract.md §3–§4, tally-decisions.md)
give, bucketed by the request's own `timestamp` (events by their own `timestamp`) in UTC, the
timezone of every e2e app:

  e  one per applied request (two for begin_session + session_duration in one request)
  t  one per begin_session (session cooldown is 0 in these tests, so none is swallowed)
  n  first begin_session of a device; u distinct devices that began a session in the bucket
  d  sum of session_duration (0 ignored, capped at 86400)
  ds duration bucket of each session closed by end_session (or by a later begin_session)
  events: count (1 when missing), sum, dur per key, per segment value, per bucket

Wall-clock dependent values (how many heartbeats, how long a timed event ran) therefore get
exact expectations. The tests separately check lower bounds the scenario guarantees.
"""
from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DURATION_LIMIT = 86400
DURATION_BUCKETS = ((10, "0"), (30, "1"), (60, "2"), (180, "3"), (600, "4"), (1800, "5"), (3600, "6"))
# contract §3.6: os name (lower case) → prefix of os_version values
OS_PREFIX = {"android": "a", "ios": "i", "windows phone": "w", "wp": "w", "blackberry": "b", "windows": "mw",
             "macos": "o", "mac": "o", "osx": "o", "mac osx": "o", "linux": "l", "tvos": "atv", "apple tv": "atv",
             "watchos": "wos", "web": "web", "roku": "r", "unity editor": "uty"}
# request metric → (collection, meta set)
METRICS = {"_os": ("device_details", "os"), "_os_version": ("device_details", "os_versions"),
           "_resolution": ("device_details", "resolutions"), "_app_version": ("device_details", "app_versions"),
           "_device_type": ("device_details", "device_type"), "_device": ("devices", "devices"),
           "_manufacturer": ("devices", "manufacturers"), "_carrier": ("carriers", "carriers")}

Bucket = tuple[int, int, int, int]  # year, month, day, hour (UTC)


def applied(entry: dict[str, Any]) -> bool:
    """The server stored this request: HTTP 200 and result "Success", not a duplicate notice."""
    if entry.get("status") != 200:
        return False
    try:
        body = json.loads(entry.get("body") or "")
    except ValueError:
        return False
    if not isinstance(body, dict) or body.get("result") != "Success":
        return False
    return "duplicate" not in json.dumps(body.get("info", "")).lower()


def first_attempts(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records of a proxy with retries removed: one entry per distinct request (same path and
    parameters apart from `rr`/`checksum*`, which the web SDK recomputes per attempt), the
    first one Tally applied. This is what exactly-once counting must add up to."""
    seen: set[tuple[str, ...]] = set()
    out: list[dict[str, Any]] = []
    for r in records:
        ident = (str(r.get("path")), *sorted(f"{k}={v}" for k, v in (r.get("params") or {}).items()
                                             if k not in ("rr", "checksum", "checksum256")))
        if ident in seen or r.get("status") != 200:
            continue
        try:
            body = json.loads(r.get("body") or "")
        except ValueError:
            continue
        if isinstance(body, dict) and body.get("result") == "Success":
            seen.add(ident)
            out.append({**r, "body": json.dumps({"result": "Success"})})
    return out


def _json(v: Any) -> Any:
    if isinstance(v, str):
        try:
            return json.loads(v)
        except ValueError:
            return None
    return v


def _seconds(ts: Any, fallback: float) -> float:
    if ts is None or ts == "":
        return fallback
    try:
        f = float(ts)
    except (TypeError, ValueError):
        return fallback
    return f / 1000.0 if f > 1e11 else f


def bucket_of(ts: float) -> Bucket:
    d = datetime.fromtimestamp(ts, tz=UTC)
    return d.year, d.month, d.day, d.hour


def _int(v: Any) -> int | None:
    try:
        return int(float(v))
    except (TypeError, ValueError):
        return None


def duration_bucket(seconds: int) -> str:
    for limit, name in DURATION_BUCKETS:
        if seconds <= limit:
            return name
    return "7"


def metric_value(name: str, value: Any, os_name: Any) -> str | None:
    """Countly's normalisation of a metric value (contract §3.6)."""
    if value is None or value == "":
        return None
    v = str(value)
    if name == "_app_version" and "." not in v and v.replace("-", "").isdigit():
        v += ".0"
    if name == "_os_version" and os_name:
        prefix = OS_PREFIX.get(str(os_name).lower(), str(os_name)[:1].lower())
        if not v.startswith(prefix):
            v = prefix + v
    v = v.removeprefix("$")
    return v.replace(".", ":")


def segment_value(value: Any) -> str:
    """Countly's stored form of a segment value (contract §3.7): leading "$" removed, "." → ":",
    and "1".."31" become "[CLY]1".."[CLY]31" so they never collide with day/hour keys."""
    v = (json.dumps(value) if isinstance(value, bool) else str(value)).lstrip("$").replace(".", ":")
    if v.isdigit() and 1 <= int(v) <= 31 and str(int(v)) == v:
        v = f"[CLY]{v}"
    return v


@dataclass
class Request:
    """One applied SDK request (an /i request or one /i/bulk item)."""
    params: dict[str, Any]
    ts: float

    @property
    def device(self) -> str:
        return str(self.params.get("device_id"))

    def flag(self, name: str) -> bool:
        v = self.params.get(name)
        return v not in (None, "", "0", 0, "false", False)

    def duration(self) -> int | None:
        n = _int(self.params.get("session_duration"))
        if not n:
            return None
        return min(n, DURATION_LIMIT) if n > 0 else 30


def applied_requests(ledger: Iterable[dict[str, Any]]) -> list[Request]:
    out: list[Request] = []
    for entry in ledger:
        if not applied(entry):
            continue
        arrival = float(entry.get("at", time.time() * 1000)) / 1000.0
        params = entry.get("params") or {}
        if entry.get("path") == "/i":
            out.append(Request(dict(params), _seconds(params.get("timestamp"), arrival)))
        elif entry.get("path") == "/i/bulk":
            items = _json(params.get("requests")) or []
            for item in items:
                if isinstance(item, dict) and item.get("device_id"):
                    out.append(Request(dict(item), _seconds(item.get("timestamp"), arrival)))
    return out


@dataclass
class EventStats:
    c: int = 0
    s: float = 0.0
    dur: float = 0.0

    def add(self, c: int, s: float, dur: float) -> None:
        self.c += c
        self.s += s
        self.dur += dur


@dataclass
class Expected:
    """Expected aggregates (see module docstring)."""
    requests: list[Request]
    buckets: dict[Bucket, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    unique_hour: dict[Bucket, set[str]] = field(default_factory=lambda: defaultdict(set))
    countries: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    new_users: int = 0
    devices: set[str] = field(default_factory=set)
    ds: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    open_sessions: dict[str, int] = field(default_factory=dict)  # device → accumulated duration (not closed)
    metric_t: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    metric_meta: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    cities: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    events: dict[str, EventStats] = field(default_factory=lambda: defaultdict(EventStats))
    event_buckets: dict[tuple[str, Bucket], EventStats] = field(default_factory=lambda: defaultdict(EventStats))
    segments: dict[str, dict[str, dict[str, EventStats]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(lambda: defaultdict(EventStats))))
    internal_events: int = 0

    # ---------------------------------------------------------------- building
    @classmethod
    def from_ledgers(cls, *ledgers: Iterable[dict[str, Any]]) -> Expected:
        reqs = [r for ledger in ledgers for r in applied_requests(ledger)]
        exp = cls(reqs)
        for r in reqs:
            exp._apply(r)
        return exp

    def _apply(self, r: Request) -> None:
        b = bucket_of(r.ts)
        row = self.buckets[b]
        begin, dur, end = r.flag("begin_session"), r.duration(), r.flag("end_session")
        row["e"] += 2 if (begin and dur) else 1
        device = r.device
        country = str(r.params.get("country_code") or "Unknown")
        if begin:
            if device in self.open_sessions:  # a begin closes the previous, unclosed session
                self._close(device)
            row["t"] += 1
            self.countries[country] += 1
            if device not in self.devices:
                self.devices.add(device)
                self.new_users += 1
                row["n"] += 1
            self.unique_hour[b].add(device)
            self.open_sessions[device] = 0
            metrics = _json(r.params.get("metrics")) or {}
            if isinstance(metrics, dict):
                for name, (collection, meta) in METRICS.items():
                    v = metric_value(name, metrics.get(name), metrics.get("_os"))
                    if v is not None:
                        self.metric_t[collection][v] += 1
                        self.metric_meta[f"{collection}.{meta}"].add(v)
            city = r.params.get("city")
            if city:
                self.cities[str(city)] += 1
        if dur:
            row["d"] += dur
            if device in self.open_sessions:
                self.open_sessions[device] += dur
        if end and device in self.open_sessions:
            self._close(device)
        events = _json(r.params.get("events"))
        if isinstance(events, list):
            for ev in events:
                self._event(ev, r)

    def _close(self, device: str) -> None:
        self.ds[duration_bucket(self.open_sessions.pop(device))] += 1

    def _event(self, ev: Any, r: Request) -> None:
        if not isinstance(ev, dict) or not ev.get("key"):
            return
        key = str(ev["key"])
        if key.startswith("[CLY]_"):
            self.internal_events += 1
            return
        count = _int(ev.get("count"))
        count = count if count is not None else 1
        s = float(ev["sum"]) if isinstance(ev.get("sum"), (int, float)) else 0.0
        dur = float(ev["dur"]) if isinstance(ev.get("dur"), (int, float)) else 0.0
        self.events[key].add(count, s, dur)
        self.event_buckets[(key, bucket_of(_seconds(ev.get("timestamp"), r.ts)))].add(count, s, dur)
        seg = ev.get("segmentation") or {}
        if isinstance(seg, dict):
            for sk, sv in seg.items():
                if sv is None or isinstance(sv, (list, dict)) or str(sv) == "":
                    continue
                self.segments[key][str(sk)][segment_value(sv)].add(count, s, dur)

    # ---------------------------------------------------------------- views
    def total(self, key: str, year: int | None = None, month: int | None = None, day: int | None = None,
              hour: int | None = None) -> int:
        return sum(row.get(key, 0) for (y, m, d, h), row in self.buckets.items()
                   if (year is None or y == year) and (month is None or m == month)
                   and (day is None or d == day) and (hour is None or h == hour))

    def days(self) -> list[tuple[int, int, int]]:
        return sorted({(y, m, d) for (y, m, d, _h) in self.buckets})

    def hours(self) -> list[Bucket]:
        return sorted(self.buckets)

    def years(self) -> list[int]:
        return sorted({y for (y, _m, _d, _h) in self.buckets})

    def unique_in(self, year: int, month: int | None = None, day: int | None = None,
                  hour: int | None = None) -> int:
        devs: set[str] = set()
        for (y, m, d, h), ds in self.unique_hour.items():
            if y == year and (month is None or m == month) and (day is None or d == day) \
                    and (hour is None or h == hour):
                devs |= ds
        return len(devs)

    def custom_event_keys(self) -> list[str]:
        return sorted(self.events)

    def summary(self) -> str:
        rows = ", ".join(f"{y}-{m:02d}-{d:02d}T{h:02d}: {dict(v)}" for (y, m, d, h), v in sorted(self.buckets.items()))
        evs = ", ".join(f"{k}: c={v.c} s={v.s:g} dur={v.dur:g}" for k, v in sorted(self.events.items()))
        return (f"{len(self.requests)} applied requests; buckets {rows}; events {evs}; ds {dict(self.ds)}; "
                f"countries {dict(self.countries)}")
