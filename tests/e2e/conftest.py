"""Fixtures for the official-SDK end-to-end tests (issue 4).

- `tally_server` (session): `python -m server` on a free 127.0.0.1 port with memory://, a random
  admin key and session cooldown 0; waits for GET /o/ping; SIGTERM at the end.
- `tally`: management/read helper (`create_app`, `read`, `read_until`).
- `sdk_runs` (session): runs the SDK scenarios of tests/e2e/scenarios.py. All scenarios named by
  the collected tests' `@pytest.mark.sdk_scenario(...)` markers start at once, in parallel
  (each has its own app); `sdk_runs.get(name)` waits for one.

The pinned npm packages (package.json / package-lock.json) must be installed: without
node_modules every test here FAILS (it is not skipped) with a message saying to run `npm ci`.
"""
from __future__ import annotations

import concurrent.futures
import functools
import time
from collections.abc import Iterator
from typing import Any

import pytest

from .harness import TallyClient, TallyServer, find_chromium, node_modules_problem, node_problem
from .scenarios import SCENARIOS, Env, Outcome

RUN_TIMEOUT = 240.0  # the longest a test waits for its scenario (they all start together)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sdk_scenario(*names): SDK runs (tests/e2e/scenarios.py) the test reads")


@functools.cache
def prerequisites_problem() -> str | None:
    return node_problem() or node_modules_problem()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    """Every e2e test FAILS (it is not skipped) when Node or node_modules is missing."""
    problem = prerequisites_problem()
    if problem:
        pytest.fail(problem, pytrace=False)


@pytest.fixture(scope="session")
def tally_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TallyServer]:
    server = TallyServer(tmp_path_factory.mktemp("tally-e2e-server"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def tally(tally_server: TallyServer) -> TallyClient:
    return TallyClient(tally_server)


class ScenarioRunner:
    def __init__(self, env: Env, workers: int = 8) -> None:
        self.env = env
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sdk-run")
        self.futures: dict[str, concurrent.futures.Future[Outcome]] = {}
        self.started = time.monotonic()

    def start(self, names: list[str]) -> None:
        for name in names:
            if name not in SCENARIOS:
                raise KeyError(f"unknown SDK scenario {name!r}; known: {sorted(SCENARIOS)}")
            if name not in self.futures:
                self.futures[name] = self.pool.submit(SCENARIOS[name], self.env)

    def get(self, name: str, timeout: float = RUN_TIMEOUT) -> Outcome:
        self.start([name])
        try:
            return self.futures[name].result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            raise AssertionError(f"SDK scenario {name!r} did not finish within {timeout:.0f} s") from None

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="session")
def sdk_runs(request: pytest.FixtureRequest, tally_server: TallyServer, tally: TallyClient,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScenarioRunner]:
    env = Env(tally_server, tally, tmp_path_factory.mktemp("sdk-runs"), find_chromium())
    runner = ScenarioRunner(env)
    wanted: list[str] = []
    for item in request.session.items:
        for marker in item.iter_markers("sdk_scenario"):
            wanted.extend(n for n in marker.args if n not in wanted)
    if not prerequisites_problem():
        runner.start(wanted)
    try:
        yield runner
    finally:
        runner.close()


@pytest.fixture
def outcome(request: pytest.FixtureRequest, sdk_runs: ScenarioRunner) -> Any:
    """The outcome of the test's first `sdk_scenario`, or a dict of all when it names several."""
    marker = request.node.get_closest_marker("sdk_scenario")
    assert marker is not None and marker.args, "use @pytest.mark.sdk_scenario(name) with the outcome fixture"
    if prerequisites_problem():
        return None  # the test fails in pytest_runtest_call before it runs
    if len(marker.args) == 1:
        return sdk_runs.get(marker.args[0])
    return {name: sdk_runs.get(name) for name in marker.args}
