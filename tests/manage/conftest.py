"""The `api` fixture of the management API tests."""
from __future__ import annotations

import pytest

from tests.conftest import Tally
from tests.manage.helpers import Api


@pytest.fixture
def api(tally: Tally) -> Api:
    return Api(tally)
