"""The SDK runs behind the e2e tests. Each creates its own app and runs one or more drivers.

Runs are independent (one app each), so conftest starts all runs the collected tests need in
parallel and each test waits for its own; the suite then takes about as long as its longest run.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .expect import Expected, first_attempts
from .harness import DriverRun, TallyClient, TallyServer, free_port, fresh_dir, run_driver
from .proxy import DroppingProxy

OFFLINE_SHIFT_S = -3 * 3600  # the offline Node run happens "three hours ago"
BULK_BACKDATE_S = 3 * 3600  # Countly.Bulk imports data that starts three hours ago
RETRY_SEED = 20261123


class ScenarioFailed(AssertionError):
    """A driver did not complete its scenario (the SDK never drained its queue, crashed, …)."""


@dataclass
class Env:
    server: TallyServer
    client: TallyClient
    tmp: Path
    chromium: str | None


@dataclass
class Outcome:
    name: str
    app: dict[str, Any]
    runs: list[DriverRun]
    proxy_records: list[dict[str, Any]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def app_id(self) -> str:
        return str(self.app["_id"])

    def expected(self) -> Expected:
        """Expectations from what the SDK delivered. Behind the dropping proxy: every distinct
        request Tally answered with Success, once (a retry of a stored request must add nothing)."""
        if self.proxy_records is not None:
            return Expected.from_ledgers(first_attempts(self.proxy_records))
        return Expected.from_ledgers(*(r.ledger for r in self.runs))

    def sdk_expected(self) -> Expected:
        return Expected.from_ledgers(*(r.ledger for r in self.runs))

    def describe(self) -> str:
        return "\n".join(r.describe() for r in self.runs)


def _drive(env: Env, mode: str, app: dict[str, Any], scenario: str, *, device_id: str, timeout: float = 75.0,
           url: str | None = None, **extra: Any) -> DriverRun:
    sc = {"url": url or env.server.url, "app_key": app["key"], "device_id": device_id, "scenario": scenario,
          "storage_dir": str(extra.pop("storage_dir", None) or fresh_dir(env.tmp, f"{mode}-{scenario}-")), **extra}
    run = run_driver(mode, sc, timeout=timeout)
    if not run.ok:
        raise ScenarioFailed(f"{run.describe()}\n--- Tally log (tail) ---\n{env.server.log_tail(2000)}")
    return run


def _timed(fn: Callable[[Env], Outcome]) -> Callable[[Env], Outcome]:
    def wrapper(env: Env) -> Outcome:
        start = time.monotonic()
        out = fn(env)
        out.seconds = time.monotonic() - start
        return out
    wrapper.__name__ = fn.__name__
    return wrapper


# --------------------------------------------------------------------------- Node SDK
def node_session(force_post: bool) -> Callable[[Env], Outcome]:
    @_timed
    def run(env: Env) -> Outcome:
        name = f"node-session-{'post' if force_post else 'get'}"
        app = env.client.create_app(name, country="LV")
        r = _drive(env, "node_sdk", app, "session", device_id=f"{name}-device", force_post=force_post)
        return Outcome(name, app, [r])
    return run


def node_salted(force_post: bool, *, wrong_salt: bool = False) -> Callable[[Env], Outcome]:
    @_timed
    def run(env: Env) -> Outcome:
        name = f"node-salt-{'post' if force_post else 'get'}{'-wrong' if wrong_salt else ''}"
        salt = f"salt-{name}-0123456789"
        app = env.client.create_app(name, salt=salt, country="LV")
        r = _drive(env, "node_sdk", app, "quick", device_id=f"{name}-device", force_post=force_post,
                   salt=("not-" + salt) if wrong_salt else salt)
        return Outcome(name, app, [r], extra={"salt": salt})
    return run


@_timed
def node_offline(env: Env) -> Outcome:
    """Queue a whole session while Tally is unreachable, three hours "ago"; flush it from a new process."""
    app = env.client.create_app("node-offline", country="LV")
    storage = fresh_dir(env.tmp, "node-offline-")
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there: connection refused
    r1 = _drive(env, "node_sdk", app, "offline_record", device_id="node-offline-device", url=dead,
                storage_dir=storage, clock_offset_s=OFFLINE_SHIFT_S)
    r2 = _drive(env, "node_sdk", app, "offline_flush", device_id="node-offline-device", storage_dir=storage)
    return Outcome("node-offline", app, [r1, r2], extra={"offline_attempts": len(r1.ledger)})


# --------------------------------------------------------------------------- Web SDK
WEB_COMMON: dict[str, dict[str, Any]] = {
    "web_node": {"country_code": "DE", "city": "Berlin",
                 "metrics": {"_os": "Linux", "_os_version": "6.1", "_device": "node-worker"}},
    "web_jsdom": {"country_code": "FR", "city": "Paris",
                  "metrics": {"_os": "Linux", "_os_version": "6.1", "_resolution": "1280x800"}},
    "web_chromium": {"country_code": "EE", "city": "Tallinn"},
}


def web_session(mode: str, *, salted: bool = False, heartbeats: int = 2) -> Callable[[Env], Outcome]:
    @_timed
    def run(env: Env) -> Outcome:
        name = f"{mode}-session{'-salt' if salted else ''}"
        common = WEB_COMMON[mode]
        salt = f"salt-{name}-9876543210" if salted else None
        app = env.client.create_app(name, salt=salt, country=common["country_code"])
        extra: dict[str, Any] = dict(common, heartbeats=heartbeats)
        if salt:
            extra["salt"] = salt
        if mode == "web_jsdom":
            extra["page_port"] = free_port()
        if mode == "web_chromium":
            if not env.chromium:
                raise ScenarioFailed("no Chromium found: apt-get install --no-install-recommends "
                                     "chromium-headless-shell (or set TALLY_CHROMIUM)")
            extra["chromium"] = env.chromium
        r = _drive(env, mode, app, "session", device_id=f"{name}-device", timeout=90, **extra)
        return Outcome(name, app, [r], extra={"salt": salt})
    return run


@_timed
def web_node_offline(env: Env) -> Outcome:
    app = env.client.create_app("web-node-offline", country="DE")
    r = _drive(env, "web_node", app, "offline", device_id="web-node-offline-device", country_code="DE")
    return Outcome("web-node-offline", app, [r])


# --------------------------------------------------------------------------- Countly.Bulk
@_timed
def bulk_import(env: Env) -> Outcome:
    app = env.client.create_app("bulk-import", country="LV")
    base_ts = int(time.time()) - BULK_BACKDATE_S
    r = _drive(env, "bulk", app, "import", device_id="bulk", base_ts=base_ts)
    return Outcome("bulk-import", app, [r], extra={"base_ts": base_ts})


# --------------------------------------------------------------------------- retries
def node_retry(drops: bool) -> Callable[[Env], Outcome]:
    @_timed
    def run(env: Env) -> Outcome:
        name = f"node-retry-{'drops' if drops else 'clean'}"
        app = env.client.create_app(name, country="LV")
        if not drops:
            r = _drive(env, "node_sdk", app, "quick", device_id="retry-device")
            return Outcome(name, app, [r])
        proxy = DroppingProxy(env.server.url, seed=RETRY_SEED, drop_rate=0.5,
                              drop_first=("begin_session", "end_session")).start()
        try:
            r = _drive(env, "node_sdk", app, "quick", device_id="retry-device", url=proxy.url, timeout=90)
        finally:
            proxy.stop()
        return Outcome(name, app, [r], proxy_records=proxy.records)
    return run


def web_node_retry(drops: bool) -> Callable[[Env], Outcome]:
    @_timed
    def run(env: Env) -> Outcome:
        name = f"web-node-retry-{'drops' if drops else 'clean'}"
        app = env.client.create_app(name, country="DE")
        if not drops:
            r = _drive(env, "web_node", app, "retry", device_id="web-retry-device", country_code="DE")
            return Outcome(name, app, [r])
        # hc is sent once, outside the queue, and never retried: dropping it proves nothing
        proxy = DroppingProxy(env.server.url, seed=RETRY_SEED + 1, drop_rate=0.5, never_drop=("hc", "method"),
                              drop_first=("begin_session",)).start()
        try:
            r = _drive(env, "web_node", app, "retry", device_id="web-retry-device", country_code="DE",
                       url=proxy.url, timeout=90)
        finally:
            proxy.stop()
        return Outcome(name, app, [r], proxy_records=proxy.records)
    return run


SCENARIOS: dict[str, Callable[[Env], Outcome]] = {
    "node_session_get": node_session(False),
    "node_session_post": node_session(True),
    "node_salt_get": node_salted(False),
    "node_salt_post": node_salted(True),
    "node_salt_wrong": node_salted(False, wrong_salt=True),
    "node_offline": node_offline,
    "web_node_session": web_session("web_node"),
    "web_node_salt": web_session("web_node", salted=True, heartbeats=1),
    "web_node_offline": web_node_offline,
    "web_jsdom_session": web_session("web_jsdom"),
    "web_chromium_session": web_session("web_chromium"),
    "bulk_import": bulk_import,
    "node_retry_clean": node_retry(False),
    "node_retry_drops": node_retry(True),
    "web_node_retry_clean": web_node_retry(False),
    "web_node_retry_drops": web_node_retry(True),
}
