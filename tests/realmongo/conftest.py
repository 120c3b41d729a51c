"""Opt-in suite against a real MongoDB: set TALLY_TEST_MONGO_URL=mongodb://host:27017 to run it."""
from __future__ import annotations

import os

import pytest

MONGO_URL = os.environ.get("TALLY_TEST_MONGO_URL", "")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if MONGO_URL:
        return
    skip = pytest.mark.skip(reason="TALLY_TEST_MONGO_URL is not set: no real MongoDB to test against")
    for item in items:
        if "realmongo" in str(item.fspath):
            item.add_marker(skip)
