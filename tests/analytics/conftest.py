"""Fixtures for the `/o/analytics/*` tests: the core server without plugins, and a fresh app.

Plugins are left out so that these tests see only the core's analytics (and do not depend on
which plugins are installed); the apps are in UTC unless a test creates its own.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from tests.analytics.helpers import App, make_app
from tests.conftest import Tally


@pytest.fixture
async def tally(tally_factory: Callable[..., Awaitable[Tally]]) -> Tally:
    return await tally_factory(plugins=())


@pytest.fixture
async def app(tally: Tally) -> App:
    return await make_app(tally)
