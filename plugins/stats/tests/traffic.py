"""Seeded SDK traffic for the statistics tests and an independent, naive model of it.

The model counts from the raw list of requests the test sends, with plain Python sets and no
Tally code, so the endpoints' numbers are checked against a second computation.
"""
from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

NOW = 1_731_000_000  # the test clock: 2024-11-07 17:20 UTC
DAY = 86400


@dataclass(frozen=True)
class Sent:
    app: str          # app name in the model ("A", "B")
    device: str
    ts: int
    kind: str         # "begin" or "duration"
    seconds: int = 0
    version: str | None = None


@dataclass
class Model:
    tz: dict[str, str]
    sent: list[Sent] = field(default_factory=list)

    def local(self, s: Sent) -> date:
        return datetime.fromtimestamp(s.ts, ZoneInfo(self.tz[s.app])).date()

    def days(self, apps: tuple[str, ...]) -> dict[str, set[date]]:
        """device_id → its active local days in any of `apps` (a device_id is one user)."""
        out: dict[str, set[date]] = defaultdict(set)
        for s in self.sent:
            if s.kind == "begin" and s.app in apps:
                out[s.device].add(self.local(s))
        return out

    def users_on(self, apps: tuple[str, ...], first: date, last: date) -> int:
        return sum(1 for ds in self.days(apps).values() if any(first <= d <= last for d in ds))

    def total_until(self, apps: tuple[str, ...], last: date) -> int:
        return sum(1 for ds in self.days(apps).values() if min(ds) <= last)

    def new_on(self, apps: tuple[str, ...], day: date) -> int:
        # new users are per app (a device is new once in each app)
        return sum(sum(1 for ds in self.days((a,)).values() if min(ds) == day) for a in apps)

    def per_day(self, apps: tuple[str, ...], day: date, what: str) -> int:
        total = 0
        for s in self.sent:
            if s.app in apps and self.local(s) == day:
                total += {"sessions": s.kind == "begin", "requests": 1, "duration": s.seconds}[what]
        return total


def generate(seed: int, tz: dict[str, str], sessions: int = 45, span_days: int = 75) -> Model:
    rnd = random.Random(seed)
    model = Model(tz)
    used: set[tuple[str, int]] = set()
    devices = [f"dev-{n}" for n in range(9)]
    for _ in range(sessions):
        app = rnd.choice(sorted(tz))
        device = rnd.choice(devices)
        ts = NOW - rnd.randint(0, span_days * DAY)
        while (device, ts) in used or (device, ts + 30) in used:
            ts -= 1
        used.update({(device, ts), (device, ts + 30)})
        version = rnd.choice(["1.0.0", "1.1.0", "2.0.0"])
        model.sent.append(Sent(app, device, ts, "begin", version=version))
        if rnd.random() < 0.6:
            model.sent.append(Sent(app, device, min(ts + 30, NOW), "duration", seconds=rnd.randint(1, 300)))
    model.sent.sort(key=lambda s: s.ts)
    return model


def dates(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
