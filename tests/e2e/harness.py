"""Process-level plumbing for the SDK end-to-end tests: the Tally server, HTTP helpers, drivers.

Everything talks to 127.0.0.1 only and every wait is bounded.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DRIVERS = Path(__file__).resolve().parent / "drivers"
NODE_PACKAGES = ("countly-sdk-nodejs", "countly-sdk-web", "jsdom", "puppeteer-core")
RESULT_MARK = "E2E_RESULT "


def node_modules_problem() -> str | None:
    """None when the pinned npm packages are installed, else a message saying what to do."""
    missing = [p for p in NODE_PACKAGES if not (ROOT / "node_modules" / p / "package.json").is_file()]
    if not missing:
        return None
    return (f"node_modules is missing {', '.join(missing)}: run `npm ci` in {ROOT} "
            "(package.json/package-lock.json pin the official Countly SDKs) before the e2e tests")


def node_problem() -> str | None:
    if shutil.which("node") is None:
        return "`node` is not on PATH: the SDK end-to-end tests need Node.js (v20) to run the official SDKs"
    return None


def find_chromium() -> str | None:
    """Debian's chromium-headless-shell (preferred) or chromium; TALLY_CHROMIUM overrides."""
    env = os.environ.get("TALLY_CHROMIUM")
    if env:
        return env if Path(env).exists() else None
    for name in ("chromium-headless-shell", "chromium"):
        path = shutil.which(name)
        if path:
            return path
    for path in ("/usr/lib/chromium/chromium-headless-shell", "/usr/lib/chromium/chromium"):
        if Path(path).exists():
            return path
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(url: str, timeout: float = 10.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class TallyServer:
    """`python -m server` on a free port: memory://, a random admin key, session cooldown 0."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_key = secrets.token_hex(16)
        self.log_path = workdir / "tally-server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    def start(self, timeout: float = 30.0) -> None:
        env = {**os.environ, "TALLY_MONGO_URL": "memory://", "TALLY_ADMIN_API_KEY": self.admin_key,
               "TALLY_SESSION_COOLDOWN": "0"}
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "server", "--host", "127.0.0.1", "--port", str(self.port)],
                                     cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Tally exited with code {self.proc.returncode} during start-up:\n{self.log_tail()}")
            try:
                if http_get(self.url + "/o/ping", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"Tally did not answer GET /o/ping with 200 within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, then SIGKILL if it does not exit in time. Returns the exit code."""
        try:
            if self.proc is None or self.proc.poll() is not None:
                return None if self.proc is None else self.proc.returncode
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                return None
        finally:
            if self._log is not None:
                self._log.close()
                self._log = None

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no server log)"


class TallyClient:
    """Management and read calls with the admin key."""

    def __init__(self, server: TallyServer) -> None:
        self.server = server

    def call(self, path: str, **params: Any) -> tuple[int, Any]:
        q = {k: json.dumps(v) if isinstance(v, (dict, list)) else str(v) for k, v in params.items()}
        status, body = http_get(f"{self.server.url}{path}?{urllib.parse.urlencode(q)}")
        try:
            return status, json.loads(body)
        except ValueError:
            return status, body

    def create_app(self, name: str, *, key: str | None = None, salt: str | None = None,
                   country: str | None = None) -> dict[str, Any]:
        args: dict[str, Any] = {"name": name, "timezone": "UTC"}
        if key:
            args["key"] = key
        if salt:
            args["salt"] = salt
        if country:
            args["country"] = country
        status, body = self.call("/i/apps/create", api_key=self.server.admin_key, args=args)
        assert status == 200 and isinstance(body, dict) and "_id" in body and "key" in body, \
            f"/i/apps/create {args} -> HTTP {status} {str(body)[:300]}"
        if salt:
            assert body.get("salt") == salt or body.get("checksum_salt") == salt, \
                f"/i/apps/create did not store the salt: {str(body)[:300]}"
        return body  # type: ignore[no-any-return]

    def read(self, app_id: str, method: str, **params: Any) -> dict[str, Any]:
        status, body = self.call("/o", api_key=self.server.admin_key, app_id=app_id, method=method, **params)
        assert status == 200, f"GET /o?method={method} {params} -> HTTP {status} {str(body)[:300]}"
        assert isinstance(body, dict), f"GET /o?method={method} {params}: not a JSON object: {str(body)[:300]}"
        return body

    def read_until(self, app_id: str, method: str, done: Callable[[dict[str, Any]], bool], *,
                   timeout: float = 10.0, **params: Any) -> dict[str, Any]:
        """Read until `done(body)` holds or `timeout` passes; returns the last body either way."""
        end = time.monotonic() + timeout
        while True:
            body = self.read(app_id, method, **params)
            if done(body) or time.monotonic() > end:
                return body
            time.sleep(0.25)


@dataclass
class DriverRun:
    mode: str
    scenario: dict[str, Any]
    returncode: int | None
    seconds: float
    stdout: str
    stderr: str
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and bool(self.result.get("ok"))

    @property
    def ledger(self) -> list[dict[str, Any]]:
        return list(self.result.get("ledger") or [])

    def describe(self) -> str:
        sent = [f"{e.get('method')} {e.get('path')} {sorted(k for k in e.get('params', {}) if k in INTERESTING)} "
                f"-> {e.get('status')} {(e.get('error') or e.get('body') or '')[:120]}" for e in self.ledger]
        return (f"driver {self.mode}.js scenario {self.scenario.get('scenario')!r} exit {self.returncode} "
                f"after {self.seconds:.1f}s: {self.result.get('error', '')}\n"
                f"requests seen by the SDK ({len(sent)}):\n  " + "\n  ".join(sent[-40:]) +
                f"\ndriver stderr (tail):\n{self.stderr[-2500:]}")


INTERESTING = {"begin_session", "session_duration", "end_session", "events", "user_details", "hc", "requests",
               "method", "old_device_id", "metrics", "checksum256"}


def run_driver(mode: str, scenario: dict[str, Any], timeout: float = 60.0) -> DriverRun:
    """Run tests/e2e/drivers/<mode>.js with the scenario as JSON on stdin (bounded by timeout)."""
    scenario = {"timeout_s": max(5, int(timeout) - 5), **scenario}
    script = DRIVERS / f"{mode}.js"
    start = time.monotonic()
    try:
        proc = subprocess.run(["node", str(script)], input=json.dumps(scenario), capture_output=True, text=True,
                              cwd=ROOT, timeout=timeout, check=False)
        rc: int | None = proc.returncode
        out, err = proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as e:
        rc = None
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = (e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")) + \
            f"\n(killed by the test after {timeout:.0f} s)"
    result: dict[str, Any] = {}
    for line in out.splitlines():
        if line.startswith(RESULT_MARK):
            try:
                result = json.loads(line[len(RESULT_MARK):])
            except ValueError as exc:
                result = {"ok": False, "error": f"unreadable driver result: {exc}"}
    if not result:
        result = {"ok": False, "error": "the driver printed no result line"}
    return DriverRun(mode, scenario, rc, time.monotonic() - start, out, err, result)


def fresh_dir(base: Path, prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix, dir=base))
