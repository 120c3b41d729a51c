"""`output` replies: every key and string is HTML-escaped, whether or not escaping was needed."""
from __future__ import annotations

from typing import Any

import orjson
import pytest
from aiohttp.test_utils import make_mocked_request

from server.output import escape_output, output

CASES: list[Any] = [
    {"2024": {"11": {"t": 3, "u": 2}}, "meta": {"os": ["Android"]}},
    {"name": 'say "hi"'},
    {"name": "it's"},
    {"name": "Tom & Jerry"},
    {"a>b": 1},
    {"k": ["x", "<y>"]},
    {"backslash": "C:\\dir\\"},
    {"entity": "&amp; stays"},
    [{"_id": "2024-11-7", "t": 1}],
    {1: "non-string key"},
]


@pytest.mark.parametrize("data", CASES)
def test_output_is_the_escaped_data(data: Any) -> None:
    response = output(make_mocked_request("GET", "/o"), data)
    assert response.body == orjson.dumps(escape_output(data), option=orjson.OPT_NON_STR_KEYS)


def test_output_escapes_quotes_and_ampersands() -> None:
    response = output(make_mocked_request("GET", "/o"), {"name": "it's \"Tom\" & co"})
    assert orjson.loads(response.body) == {"name": "it&#39;s &quot;Tom&quot; &amp; co"}
