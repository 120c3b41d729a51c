"""The query/form parser gives exactly what `urllib.parse.parse_qsl(keep_blank_values=True)` gives."""
from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from server.params import parse_query, query_pairs

CASES = [
    "a=1&b=2",
    "a+b=c+d",
    "a=%2B%25",
    "x=%zz&y=%E2%82%AC",
    "bad=%ff%fe",
    "e=%C3",
    "k",
    "k=&=v",
    "a=1;b=2",
    "&&a=1&",
    "m=%7B%22_os%22%3A%22Android%22%2C%22_resolution%22%3A%221080x2400%22%7D",
    "a[b]=c&a=1&a=2",
    "a=b#c&d=1",
    "a=b?c",
    "a=b c",
    "a=é&b=%C3%A9",
    "a=%",
    "a=%2",
    "a=b=c",
    "=",
    "a==",
    "%41=%42",
    "a=\n",
    "",
    "events=%5B%7B%22key%22%3A%22a.b%24c%22%2C%22count%22%3A1%7D%5D&device_id=%F0%9F%98%80",
]


@pytest.mark.parametrize("text", CASES)
def test_query_pairs_match_urllib(text: str) -> None:
    assert query_pairs(text) == parse_qsl(text, keep_blank_values=True)


def test_repeated_keys_become_lists_and_brackets_stay_literal() -> None:
    assert parse_query("a=1&a=2&a[b]=c&x=") == {"a": ["1", "2"], "a[b]": "c", "x": ""}
