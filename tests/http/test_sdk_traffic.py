"""Replay of the recorded SDK traffic (`shared/sdk-traffic/*.jsonl` beside the project, sdk-clients.md §7).

Every recorded request is sent exactly as captured (method, path, raw query string, raw body,
content type) while the FakeClock follows the recording's arrival times, so the data lies inside
the read window. The expected figures are computed here from the fixture contents alone (the
params are parsed from the raw query/body, not taken from Tally): sessions t/n/u, `e` = every /i
request (or bulk item) accepted, `d` = the sum of the session_duration values, `ds` of the ended or
timed-out sessions, event counts/sums/durations per key, segment metas of custom events, the
device_details meta, countries; and no reply may report a duplicate.
"""
from __future__ import annotations

import datetime as dt
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import pytest
from yarl import URL

from server import keys
from tests.http.util_http import bad_field_names_in_db
from tests.support.paths import SDK_TRAFFIC

FIXTURES = SDK_TRAFFIC
APP_KEY = "capture_test_app_key_0123456789abcdef"
SALT = "capture-test-salt"
SESSION_TIMEOUT = 1800          # Tally's default inactivity timeout (settings.session_timeout)
DURATION_LIMIT = 86400          # session_duration_limit
# Countly's internal events that the server stores like any event (contract §3.7)
KNOWN_INTERNAL = {"[CLY]_session", "[CLY]_view", "[CLY]_crash", "[CLY]_action", "[CLY]_star_rating", "[CLY]_nps",
                  "[CLY]_survey", "[CLY]_push_action", "[CLY]_push_sent", "[CLY]_orientation", "[CLY]_consent"}
OS_PREFIX = {"android": "a", "ios": "i", "windows phone": "w", "blackberry": "b", "windows": "mw", "macos": "o",
             "linux": "l", "tvos": "atv", "watchos": "wos", "web": "web"}
DETAIL_METRICS = {"_app_version": "app_versions", "_os": "os", "_device_type": "device_type",
                  "_os_version": "os_versions", "_resolution": "resolutions"}
DURATION_BUCKETS = ((10, "0"), (30, "1"), (60, "2"), (180, "3"), (600, "4"), (1800, "5"), (3600, "6"))


# ---- an independent model of what the fixture must produce ----

def load(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (FIXTURES / name).read_text().splitlines() if line.strip()]


def request_params(rec: dict[str, Any]) -> dict[str, str]:
    """Query then form body (the body wins), parsed from the raw recorded text."""
    params = dict(parse_qsl(rec.get("query_string") or "", keep_blank_values=True))
    if rec.get("body_raw") and (rec.get("content_type") or "").startswith("application/x-www-form-urlencoded"):
        params.update(parse_qsl(rec["body_raw"], keep_blank_values=True))
    return params


def decoded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def seconds(ts: Any, now: float) -> float:
    if ts in (None, ""):
        return now
    value = float(ts)
    if len(str(int(value))) >= 13:
        value /= 1000
    return min(value, now)


def duration(raw: Any) -> int:
    try:
        value = int(float(str(raw)))
    except ValueError:
        return 0
    return 30 if value < 0 else min(value, DURATION_LIMIT)


def duration_bucket(total: float) -> str:
    return next((name for limit, name in DURATION_BUCKETS if total <= limit), "7")


def html(text: str) -> str:
    """Read output is HTML-escaped (contract §1.4); the fixtures' strings hold no entities."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("'", "&#39;"))


def metric_value(value: Any) -> str:
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return (text.removeprefix("$")).replace(".", ":")


def segment_value(value: Any) -> str:
    text = metric_value(value)
    return "[CLY]" + text if text in {str(i) for i in range(1, 32)} else text


def detail_values(metrics: dict[str, Any]) -> dict[str, str]:
    """device_details meta set → normalised value, as contract §3.6 describes."""
    out: dict[str, str] = {}
    for param, set_name in DETAIL_METRICS.items():
        value = metrics.get(param)
        if value is None or value == "":
            continue
        text = str(value)
        if param == "_app_version" and "." not in text and text.isdigit():
            text += ".0"
        if param == "_os_version" and metrics.get("_os"):
            prefix = OS_PREFIX.get(str(metrics["_os"]).lower(), str(metrics["_os"])[:1].lower())
            if not text.startswith(prefix):
                text = prefix + text
        out[set_name] = metric_value(text)
    return out


@dataclass
class Device:
    first_seen: bool = False
    open: bool = False
    sd: float = 0
    last_activity: float = 0
    country: str = "Unknown"


@dataclass
class Expected:
    e: int = 0
    d: int = 0
    t: int = 0
    new: set[str] = field(default_factory=set)
    users_by_year: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    countries: dict[str, dict[str, Any]] = field(default_factory=dict)
    ds: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    events: dict[str, dict[str, float]] = field(default_factory=dict)
    segments: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    details: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    devices: dict[str, Device] = field(default_factory=dict)

    def close(self, dev: Device) -> None:
        if dev.open:
            self.ds[duration_bucket(dev.sd)] += 1
            dev.open, dev.sd = False, 0

    def apply(self, item: dict[str, Any], now: float) -> None:
        """One /i request (or one /i/bulk item)."""
        device_id = str(item["device_id"])
        dev = self.devices.setdefault(device_id, Device())
        ts = seconds(item.get("timestamp"), now)
        year = _year(ts)
        if dev.open and ts - dev.last_activity >= SESSION_TIMEOUT:
            self.close(dev)                                   # inactivity
        if item.get("country_code"):
            dev.country = str(item["country_code"]).upper()
        begin = str(item.get("begin_session", "")) not in ("", "0")
        dur = duration(item["session_duration"]) if "session_duration" in item else 0
        self.e += max(1, int(begin) + int(dur != 0))
        if begin:
            self.close(dev)
            self.t += 1
            self.users_by_year[year].add(device_id)
            country = self.countries.setdefault(dev.country, {"t": 0, "n": set(), "u": set()})
            country["t"] += 1
            country["u"].add(device_id)
            if not dev.first_seen:
                self.new.add(device_id)
                country["n"].add(device_id)
            dev.first_seen = dev.open = True
            for set_name, value in detail_values(decoded(item.get("metrics")) or {}).items():
                self.details[set_name].add(value)
        if dur:
            self.d += dur
            dev.sd += dur
        if str(item.get("end_session", "")) not in ("", "0"):
            self.close(dev)
        for ev in decoded(item.get("events")) or []:
            key = ev["key"]
            if key.startswith("[CLY]_") and key not in KNOWN_INTERNAL:
                continue
            totals = self.events.setdefault(key, {"c": 0, "s": 0.0, "dur": 0.0})
            totals["c"] += int(ev.get("count", 1))
            totals["s"] += float(ev.get("sum") or 0)
            totals["dur"] += float(ev.get("dur") or 0)
            if not key.startswith("[CLY]_"):
                seg = self.segments.setdefault(key, {})
                for seg_key, seg_val in (ev.get("segmentation") or {}).items():
                    if seg_val is None or isinstance(seg_val, (list, dict)) or seg_val == "":
                        continue
                    seg.setdefault(seg_key.lstrip("$").replace(".", ""), set()).add(segment_value(seg_val))
        dev.last_activity = max(dev.last_activity, ts)

    def finish(self) -> None:
        """The session closer's last run: every session still open is closed."""
        for dev in self.devices.values():
            self.close(dev)


def _year(ts: float) -> int:
    return dt.datetime.fromtimestamp(ts, dt.UTC).year


def expected_of(records: list[dict[str, Any]]) -> Expected:
    exp = Expected()
    for rec in records:
        params = request_params(rec)
        if rec["path"] == "/i":
            exp.apply(params, rec["t"])
        elif rec["path"] == "/i/bulk":
            for item in decoded(params["requests"]):
                item = {**item}
                item.setdefault("app_key", params.get("app_key"))
                exp.apply(item, rec["t"])
    exp.finish()
    return exp


# ---- replay and read back ----

async def replay(tally: Any, rec: dict[str, Any]) -> tuple[int, Any, Any]:
    tally.clock.now = max(tally.clock.now, rec["t"])
    qs = rec.get("query_string") or ""
    url = URL(rec["path"] + ("?" + qs if qs else ""), encoded=True)
    headers = {}
    if rec.get("content_type"):
        headers["Content-Type"] = rec["content_type"]
    if rec.get("headers", {}).get("origin"):
        headers["Origin"] = rec["headers"]["origin"]
    body = rec["body_raw"].encode(rec.get("body_encoding") or "utf-8") if rec.get("body_raw") is not None else None
    r = await tally.client.request(rec["method"], url, data=body, headers=headers,
                                   skip_auto_headers=("User-Agent", "Content-Type"))
    text = await r.text()
    return r.status, json.loads(text), r


def period_covering(records: list[dict[str, Any]], now: float) -> dict[str, str]:
    """No period (the default 30 days) when the data is recent, else a [from, to] ms period from
    the fixture's oldest timestamp (the bulk fixture back-dates items to 2023) to now."""
    stamps = [now]
    for rec in records:
        params = request_params(rec)
        items = decoded(params["requests"]) if rec["path"] == "/i/bulk" else [params]
        for item in items:
            stamps.append(seconds(item.get("timestamp"), rec["t"]))
            stamps.extend(seconds(ev.get("timestamp"), rec["t"]) for ev in decoded(item.get("events")) or []
                          if ev.get("timestamp") is not None)
    if min(stamps) > now - 29 * 86400:
        return {}
    start = math.floor(min(stamps) / 86400) * 86400 - 86400
    return {"period": json.dumps([int(start * 1000), int(now * 1000)])}


def years(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return [v for k, v in obj.items() if k.isdigit()]


def total(obj: dict[str, Any], *path: str) -> float:
    out = 0.0
    for y in years(obj):
        node: Any = y
        for p in path:
            node = node.get(p, {}) if isinstance(node, dict) else {}
        out += node if isinstance(node, (int, float)) else 0
    return out


def year_dict_total(obj: dict[str, Any], name: str) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for y in years(obj):
        for k, v in (y.get(name) or {}).items():
            out[k] += v
    return dict(out)


FIXTURE_FILES = sorted(p.name for p in FIXTURES.glob("*.jsonl"))


def test_every_fixture_is_replayed():
    assert FIXTURE_FILES == ["nodejs-basic.jsonl", "nodejs-bulk.jsonl", "nodejs-forcepost.jsonl", "nodejs-salt.jsonl",
                             "web-chromium-basic.jsonl", "web-jsdom-basic.jsonl"]


@pytest.mark.parametrize("name", FIXTURE_FILES)
async def test_replay(tally, name):
    records = load(name)
    args: dict[str, Any] = {"key": APP_KEY, "timezone": "UTC"}
    if "salt" in name:
        args["salt"] = SALT
    app = await tally.create_app(name, **args)
    app_id = app["_id"]
    tally.clock.now = records[0]["t"]

    for rec in records:
        status, body, r = await replay(tally, rec)
        where = f"{name} seq {rec['seq']} {rec['method']} {rec['path']}"
        if rec["path"] == "/o/sdk":
            # 2xx and a JSON object or array (sdk-clients §5.7), never an error message
            assert status == 200 and isinstance(body, (dict, list)) and "result" not in body, (where, status, body)
        else:
            assert (status, body) == (200, {"result": "Success"}), (where, status, body)
        if rec.get("headers", {}).get("origin"):
            assert r.headers.get("Access-Control-Allow-Origin") == "*", where
    # sessions nobody ended are closed once the inactivity timeout has passed
    await tally.app[keys.CLOSER].close_due(tally.clock.now + SESSION_TIMEOUT)

    exp = expected_of(records)
    period = period_covering(records, tally.clock.now)
    users = await _read(tally, app_id, method="sessions", **period)
    got = {"e": total(users, "e"), "d": total(users, "d"), "t": total(users, "t"), "n": total(users, "n"),
           "u": total(users, "u"), "ds": year_dict_total(users, "ds")}
    want = {"e": exp.e, "d": exp.d, "t": exp.t, "n": len(exp.new),
            "u": sum(len(devs) for devs in exp.users_by_year.values()), "ds": dict(exp.ds)}
    assert got == want, name
    countries = {cc: {k: total(users, cc, k) for k in ("t", "n", "u")} for cc in exp.countries}
    assert countries == {cc: {"t": c["t"], "n": len(c["n"]), "u": len(c["u"])} for cc, c in exp.countries.items()}
    assert sorted(users["meta"]["countries"]) == sorted(exp.countries)
    if name.startswith("nodejs") and name != "nodejs-bulk.jsonl":
        assert users["meta"]["countries"] == ["LV"]
        assert set(exp.countries) == {"LV"}

    details = await _read(tally, app_id, method="device_details", **period)
    assert {k: sorted(v) for k, v in details.get("meta", {}).items()} == {
        k: sorted(html(x) for x in v) for k, v in exp.details.items()}

    for key, sums in exp.events.items():
        got_ev = await _read(tally, app_id, method="events", event=key, **period)
        assert total(got_ev, "c") == sums["c"], (name, key)
        assert total(got_ev, "s") == pytest.approx(sums["s"]), (name, key)
        assert total(got_ev, "dur") == pytest.approx(sums["dur"]), (name, key)
        if key in exp.segments:
            meta = got_ev.get("meta", {})
            assert sorted(meta.get("segments", [])) == sorted(html(k) for k in exp.segments[key]), (name, key)
            for seg_key, values in exp.segments[key].items():
                assert sorted(meta.get(html(seg_key), [])) == sorted(html(v) for v in values), (name, key, seg_key)
    registry = await _read(tally, app_id, method="get_events")
    assert sorted(registry.get("list", [])) == sorted(html(k) for k in exp.events if not k.startswith("[CLY]_"))
    # user_details modifiers ($inc, $push …), crash and apm payloads: still no field MongoDB would refuse
    await tally.flush()
    assert await bad_field_names_in_db(tally) == []


async def _read(tally: Any, app_id: str, **params: Any) -> Any:
    status, body = await tally.read(app_id=app_id, **params)
    assert status == 200, body
    return body


def test_the_model_matches_the_documented_fixture_contents():
    """Guards the independent model itself against the fixture descriptions (sdk-clients §7)."""
    node = expected_of(load("nodejs-basic.jsonl"))
    assert (node.e, node.d, node.t, len(node.new), dict(node.ds)) == (17, 16, 1, 1, {"1": 1})
    assert node.events["purchase"] == {"c": 3, "s": 29.97, "dur": 12.0}
    assert node.events["[CLY]_view"]["c"] == 4
    assert node.segments["purchase"] == {"item": {"sword"}, "currency": {"EUR"}, "level": {"[CLY]7"}, "vip": {"true"}}
    assert dict(node.details) == {"os": {"Linux"}, "os_versions": {"l6:1:0"}, "resolutions": {"1920x1080"},
                                  "app_versions": {"1:2:3"}}
    assert set(node.countries) == {"LV"}
    bulk = expected_of(load("nodejs-bulk.jsonl"))
    assert (bulk.e, bulk.d, bulk.t, len(bulk.new)) == (16, 175, 3, 3)
    assert dict(bulk.ds) == {"3": 1, "1": 2}
    assert set(bulk.countries) == {"DE", "Unknown"}
    chromium = expected_of(load("web-chromium-basic.jsonl"))
    assert (chromium.e, chromium.d, chromium.t, dict(chromium.ds)) == (22, 13, 1, {"1": 1})
    jsdom = expected_of(load("web-jsdom-basic.jsonl"))
    assert (jsdom.e, jsdom.d, jsdom.t, dict(jsdom.ds)) == (16, 13, 1, {"1": 1})
    assert dict(jsdom.details) == {"app_versions": {"5:6:7"}, "device_type": {"desktop"}}
