"""The SDK traffic mix, pre-built as request templates.

A device runs sessions of six requests, as the Node and Web SDKs send them (see
`/work/shared/sdk-traffic/`): `begin_session` with metrics (`_os`, `_os_version`, `_device`,
`_resolution`, `_carrier`, `_app_version`) and location (`country_code`, `city`), a view event,
a heartbeat (`session_duration`), a batch of two events with segmentation, a heartbeat, and
`end_session` with its last duration. A share of the devices (`post_share`) sends POST
form-urlencoded bodies (the Web SDK and `force_post`), the others GET query strings (the Node
SDK). A share of the devices (`bulk_share`) are server-side importers: their whole session goes
as one `/i/bulk` request (`Countly.Bulk`), GET or POST like the others.

Requests are built once per (profile, step) with fixed-width placeholders for the device id
and the timestamp; at send time two `bytes.replace` calls fill them in, so Content-Length never
changes and building a request costs about a microsecond. Every request carries a fresh 13-digit
millisecond `timestamp`, unique per connection (and so per device), so Tally's duplicate-request
protection never mistakes a new session for an SDK retry.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from urllib.parse import quote, urlencode

DEV_SLOT = b"\x01" * 16          # device ids are exactly 16 characters
TS_SLOT = b"\x02" * 13           # millisecond timestamps are 13 digits until 2286

OSES = [("Android", ["12", "13", "14"], ["Pixel 7", "Pixel 8", "Galaxy S23", "Redmi Note 12"]),
        ("iOS", ["16.7", "17.4", "17.5"], ["iPhone13,2", "iPhone14,5", "iPhone15,3"]),
        ("Windows", ["10", "11"], ["PC"]),
        ("Linux", ["6.1.0", "6.5.0"], ["ci-runner", "ThinkPad"]),
        ("macOS", ["14.4", "13.6"], ["MacBookPro18,1"])]
RESOLUTIONS = ["1080x2400", "1170x2532", "1920x1080", "2560x1440", "1366x768", "1440x3200"]
CARRIERS = ["Vodafone", "Telekom", "Orange", "T-Mobile", "Bite", "none"]
APP_VERSIONS = ["1.0.0", "1.1.0", "1.2.3", "2.0.0"]
LOCATIONS = [("LV", "Riga"), ("DE", "Berlin"), ("DE", "Munich"), ("US", "New York"), ("US", "Austin"),
             ("FR", "Paris"), ("GB", "London"), ("IN", "Kolkata"), ("JP", "Tokyo"), ("BR", "Sao Paulo"),
             ("EE", "Tallinn"), ("PL", "Warsaw")]
VIEWS = ["home", "settings", "checkout", "profile", "search"]
ITEMS = ["sword", "shield", "potion", "bow"]
LEVELS = ["1-1", "1-2", "2-1", "3-4"]


def device_id(prefix: str, index: int) -> bytes:
    text = f"{prefix}{index:0{16 - len(prefix)}d}"
    assert len(text) == 16, text
    return text.encode()


@dataclass(frozen=True)
class Profile:
    os: str
    os_version: str
    device: str
    resolution: str
    carrier: str
    app_version: str
    country: str
    city: str


def _profiles(count: int, seed: int) -> list[Profile]:
    rnd = random.Random(seed)
    out = []
    for _ in range(count):
        os_name, versions, devices = OSES[rnd.randrange(len(OSES))]
        cc, city = LOCATIONS[rnd.randrange(len(LOCATIONS))]
        out.append(Profile(os_name, rnd.choice(versions), rnd.choice(devices), rnd.choice(RESOLUTIONS),
                           rnd.choice(CARRIERS), rnd.choice(APP_VERSIONS), cc, city))
    return out


def _spread(index: int, share: float) -> bool:
    """Exactly `share` of consecutive indexes, evenly spread."""
    return int((index + 1) * share) > int(index * share)


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


class Workload:
    """Per-device request templates; `next_request(device)` advances that device's session."""

    STEPS = 6

    def __init__(self, app_key: str, devices: int, *, host: str = "127.0.0.1", prefix: str = "bench",
                 post_share: float = 0.5, bulk_share: float = 0.05, profiles: int = 64, seed: int = 1) -> None:
        self.app_key = app_key
        self.devices = devices
        self.host = host
        self.ids = [device_id(prefix, i) for i in range(devices)]
        self.profiles = _profiles(profiles, seed)
        rnd = random.Random(seed + 1)
        # a device: (metrics/location profile, POST?, bulk?), exact shares spread over the ids
        self.kind = [(rnd.randrange(len(self.profiles)), _spread(i, post_share), _spread(i * 7919 % max(devices, 1), bulk_share))
                     for i in range(devices)]
        self._cache: dict[tuple[int, bool, bool], list[bytes]] = {}
        self.template_of = [self._template(k) for k in self.kind]
        # Each device starts at a random step of its session: with every device in step 0, all of
        # them would begin (the costliest request) at the same time, then all send events, …, and
        # the mix, so the throughput, would swing with the phase instead of staying what it is.
        self.step = bytearray(rnd.randrange(len(t)) for t in self.template_of)

    def _template(self, kind: tuple[int, bool, bool]) -> list[bytes]:
        found = self._cache.get(kind)
        if found is None:
            found = self._cache[kind] = self._build(self.profiles[kind[0]], kind[1], kind[2])
        return found

    # ---- building
    def _common(self, p: Profile) -> list[tuple[str, str]]:
        return [("app_key", self.app_key), ("device_id", DEV_SLOT.decode("latin-1")),
                ("sdk_name", "javascript_native_nodejs"), ("sdk_version", "24.10.4"), ("t", "0"),
                ("country_code", p.country), ("city", p.city)]

    def _steps(self, p: Profile, rnd: random.Random) -> list[list[tuple[str, str]]]:
        metrics = {"_os": p.os, "_os_version": p.os_version, "_device": p.device, "_resolution": p.resolution,
                   "_carrier": p.carrier, "_app_version": p.app_version, "_locale": "en_US"}
        view = {"key": "[CLY]_view", "count": 1, "segmentation": {"name": rnd.choice(VIEWS), "visit": 1,
                                                                   "segment": p.os}}
        buy = {"key": "purchase", "count": 1, "sum": round(rnd.uniform(0.99, 49.99), 2), "dur": 12,
               "segmentation": {"item": rnd.choice(ITEMS), "currency": "EUR"}}
        play = {"key": "level_play", "count": 2, "dur": 40,
                "segmentation": {"level": rnd.choice(LEVELS), "result": rnd.choice(["win", "lose"])}}
        return [
            [("begin_session", "1"), ("metrics", _json(metrics))],
            [("events", _json([view]))],
            [("session_duration", "30")],
            [("events", _json([buy, play]))],
            [("session_duration", "29")],  # differs from the first heartbeat: bulk items share a timestamp
            [("end_session", "1"), ("session_duration", "15")],
        ]

    def _build(self, p: Profile, post: bool, bulk: bool) -> list[bytes]:
        rnd = random.Random(f"{p}")
        steps = self._steps(p, rnd)
        tail = [("timestamp", TS_SLOT.decode("latin-1")), ("hour", "12"), ("dow", "3"), ("tz", "120")]
        if bulk:
            items = []
            for params in steps:
                item: dict[str, object] = dict(self._common(p)[1:])
                item["device_id"] = "DEVSLOT"
                for k, v in params:
                    item[k] = json.loads(v) if k in ("metrics", "events") else (int(v) if v.isdigit() else v)
                item.update({"timestamp": "TSSLOT", "hour": 12, "dow": 3, "tz": 120,
                             "sdk_name": "javascript_native_nodejs_bulk"})
                items.append(item)
            raw = (_json(items).replace('"TSSLOT"', TS_SLOT.decode("latin-1"))
                   .replace("DEVSLOT", DEV_SLOT.decode("latin-1")))
            return [self._http(post, "/i/bulk", [("app_key", self.app_key), ("requests", raw)])]
        return [self._http(post, "/i", self._common(p) + params + tail) for params in steps]

    def _http(self, post: bool, path: str, params: list[tuple[str, str]]) -> bytes:
        # Slot bytes are not URL-safe characters; quote() would escape them, so protect them.
        query = urlencode(params, quote_via=quote, safe="\x01\x02").encode("latin-1")
        if post:
            return (f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nConnection: keep-alive\r\n"
                    f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(query)}\r\n\r\n"
                    ).encode() + query
        return f"GET {path}?".encode() + query + f" HTTP/1.1\r\nHost: {self.host}\r\nConnection: keep-alive\r\n\r\n".encode()

    # ---- use
    def next_request(self, device: int, ts_ms: int) -> bytes:
        steps = self.template_of[device]
        s = self.step[device]
        if s >= len(steps):
            s = 0
        self.step[device] = s + 1 if s + 1 < len(steps) else 0
        return steps[s].replace(DEV_SLOT, self.ids[device]).replace(TS_SLOT, b"%d" % ts_ms)

    def items_per_request(self) -> float:
        """SDK requests (bulk items count one each) per HTTP request: connections visit their
        devices round-robin, one request per device per round, so a bulk device sends as many
        HTTP requests as any other device, each carrying a whole session."""
        return sum(self.STEPS if k[2] else 1 for k in self.kind) / max(self.devices, 1)

    def shares(self) -> dict[str, float]:
        n = max(self.devices, 1)
        return {"post_devices": sum(k[1] for k in self.kind) / n, "bulk_devices": sum(k[2] for k in self.kind) / n}
