"""SIGTERM and SIGINT on a real `python -m server`: in-flight requests are answered after their
data is written, then the process flushes, closes and exits 0."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import ADMIN_KEY

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _ready(session: aiohttp.ClientSession, root: str, proc: asyncio.subprocess.Process) -> None:
    for _ in range(600):
        if proc.returncode is not None:
            raise AssertionError("server exited during start-up")
        try:
            async with session.get(root + "/o/ping") as r:
                if r.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)  # polling a starting process; bounded to 30 s
    raise AssertionError("server did not answer /o/ping within 30 s")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_signal_answers_in_flight_requests_then_exits(signum: int) -> None:
    port = _free_port()
    root = f"http://127.0.0.1:{port}"
    # A one-minute group-commit interval: the requests below can only be answered by the drain.
    env = {**os.environ, "TALLY_MONGO_URL": "memory://", "TALLY_ADMIN_API_KEY": ADMIN_KEY,
           "TALLY_BATCH_INTERVAL_MS": "60000", "TALLY_WRITE_TIMEOUT": "30", "TALLY_LOG_LEVEL": "INFO"}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "server", "--host", "127.0.0.1", "--port",
                                                str(port), cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    try:
        async with aiohttp.ClientSession() as session:
            await _ready(session, root, proc)
            args = json.dumps({"name": "sig", "timezone": "UTC"})
            async with session.get(f"{root}/i/apps/create", params={"api_key": ADMIN_KEY, "args": args}) as r:
                app: dict[str, Any] = await r.json()

            async def send(i: int) -> tuple[int, Any]:
                params = {"app_key": app["key"], "device_id": f"d{i}", "begin_session": "1"}
                async with session.get(root + "/i", params=params) as r:
                    return r.status, await r.json()

            writes = [asyncio.ensure_future(send(i)) for i in range(5)]
            async with session.get(f"{root}/o/health", params={"api_key": ADMIN_KEY}) as r:
                health = await r.json()
            for _ in range(600):  # until all five requests wait for their group commit
                if health["batcher"]["pending_updates"] >= 5 * 3:
                    break
                await asyncio.sleep(0.05)
                async with session.get(f"{root}/o/health", params={"api_key": ADMIN_KEY}) as r:
                    health = await r.json()
            assert not any(w.done() for w in writes)
            proc.send_signal(signum)
            assert [await asyncio.wait_for(w, 30) for w in writes] == [(200, {"result": "Success"})] * 5
            assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_signal_right_after_traffic_exits_promptly(signum: int) -> None:
    port = _free_port()
    root = f"http://127.0.0.1:{port}"
    env = {**os.environ, "TALLY_MONGO_URL": "memory://", "TALLY_ADMIN_API_KEY": ADMIN_KEY}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "server", "--host", "127.0.0.1", "--port",
                                                str(port), cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.DEVNULL)
    try:
        async with aiohttp.ClientSession() as session:
            await _ready(session, root, proc)
            args = json.dumps({"name": "sig", "timezone": "UTC"})
            async with session.get(f"{root}/i/apps/create", params={"api_key": ADMIN_KEY, "args": args}) as r:
                app = await r.json()

            async def send(i: int) -> int:
                params = {"app_key": app["key"], "device_id": f"d{i}", "begin_session": "1"}
                async with session.get(root + "/i", params=params) as r:
                    return r.status

            assert set(await asyncio.gather(*(send(i) for i in range(200)))) == {200}
        proc.send_signal(signum)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
