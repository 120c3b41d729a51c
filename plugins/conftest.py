"""Fixtures for the plugins' own tests: the same `tally` fixtures as `tests/` use.

Every plugin test that exercises a hook says so with `@pytest.mark.hook("<hook name>")` (or a
module-level `pytestmark`); `tests/test_plugin_hooks.py` fails when a shipped plugin implements
a hook that none of its tests is marked with.
"""
from __future__ import annotations

from typing import Any

from tests.conftest import clock, make_settings, tally, tally_factory  # noqa: F401 (fixtures)


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "hook(*names): the plugin hook implementations this test exercises")
