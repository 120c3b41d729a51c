"""The pure parts of the analytics reads: JavaScript number formatting, bar percents, window
tilings for unique estimates, and document ids."""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from server.read.bars import metric_bars, time_bars
from server.read.numbers import js_round, percent_change, short_number, time_string, to_fixed
from server.read.series import Series, cover_tiles, doc_ids, unique_tiles, week_bounds
from server.read.windows import Point


@pytest.mark.parametrize("x, text", [
    (0.25, "0.3"),  # exactly half: JavaScript rounds away from zero (Python's format gives 0.2)
    (0.35, "0.3"),  # 0.35 is 0.34999… in binary
    (2.5, "2.5"), (-87.5, "-87.5"), (-0.04, "-0.0"), (-0.0, "0.0"), (0, "0.0"), (1 / 3, "0.3"), (3.5, "3.5"),
])
def test_to_fixed(x: float, text: str) -> None:
    assert to_fixed(x) == text


def test_js_round() -> None:
    assert js_round(33.35, 1) == 33.4 and js_round(-0.05, 1) == 0.0 and js_round(16.666, 1) == 16.7


@pytest.mark.parametrize("text, short", [
    ("100.0", "100"), ("-75.0", "-75"), ("-87.5", "-87.5"), ("9999.0", "9999"), ("19900.0", "19.9K"),
    ("10000.0", "10K"), ("10000000.0", "10M"), ("-1234567.0", "-1.2M"), ("-0.0", "-0"),
])
def test_short_number(text: str, short: str) -> None:
    assert short_number(text) == short


@pytest.mark.parametrize("previous, current, change", [
    (0, 5, ("NA", "u")), (0, 0, ("NA", "u")), (5, 0, ("∞", "d")), (100, 200, ("100%", "u")),
    (3, 1, ("-66.7%", "d")), (1, 200, ("19.9K%", "u")), (2, 1.5, ("-25%", "d")), (1, 1, ("0%", "u")),
])
def test_percent_change(previous: float, current: float, change: tuple[str, str]) -> None:
    assert percent_change(previous, current) == change


@pytest.mark.parametrize("minutes, text", [
    (0, "0.0 min"), (59.99, "60.0 min"), (60, "1.0 hours"), (90, "1.5 hours"), (1440, "1.0 days"),
    (142559, "99.0 days"), (142560, "0.3 years"), (1051200, "2.0 years"),
])
def test_time_string(minutes: float, text: str) -> None:
    assert time_string(minutes) == text


def test_metric_bars_round_and_fix_the_first_when_short_of_100() -> None:
    assert metric_bars([("b", 1), ("a", 1), ("c", 1)]) == [
        {"name": "a", "value": 1, "percent": 33.4}, {"name": "b", "value": 1, "percent": 33.3},
        {"name": "c", "value": 1, "percent": 33.3}]


def test_metric_bars_fix_the_last_of_all_when_over_100() -> None:
    # six values of 1: 16.7 × 6 = 100.2; the sixth (not shown) absorbs -0.2
    assert metric_bars([(name, 1) for name in "fedcba"]) == [
        {"name": n, "value": 1, "percent": 16.7} for n in "abc"]


def test_metric_bars_skip_values_without_sessions() -> None:
    assert metric_bars([("x", 0), ("y", 2), ("z", 1)]) == [
        {"name": "y", "value": 2, "percent": 66.7}, {"name": "z", "value": 1, "percent": 33.3}]
    assert metric_bars([("x", 0)]) == []


def test_time_bars_floor_and_give_the_rest_to_the_last() -> None:
    points = [Point(str(i), f"{i} Nov", {"t": t}) for i, t in enumerate([0, 1, 5, 1, 1], start=1)]
    # top 3 by sessions, ties in time order: 3 Nov (5), 2 Nov (1), 4 Nov (1) of 7
    assert time_bars(points) == [
        {"name": "3 Nov", "value": 5, "percent": 71}, {"name": "2 Nov", "value": 1, "percent": 14},
        {"name": "4 Nov", "value": 1, "percent": 15}]
    assert time_bars([Point("1", "1 Nov", {"t": 0})]) == []


@pytest.mark.parametrize("day, first, last", [
    (date(2024, 1, 1), date(2024, 1, 1), date(2024, 1, 7)),
    (date(2024, 11, 7), date(2024, 11, 4), date(2024, 11, 10)),
    (date(2024, 12, 31), date(2024, 12, 30), date(2024, 12, 31)),  # week 53 of a leap year: 2 days
    (date(2025, 12, 31), date(2025, 12, 31), date(2025, 12, 31)),  # and of a common year: 1 day
])
def test_week_bounds(day: date, first: date, last: date) -> None:
    assert week_bounds(day) == (first, last)


def test_unique_tiles() -> None:
    # 30 days ending 7 Nov 2024, closed: days to the first week start (14 Oct), whole weeks,
    # then the days after the last whole week
    d = date
    assert list(unique_tiles(d(2024, 10, 9), d(2024, 11, 7))) == [
        ("d", d(2024, 10, 9)), ("d", d(2024, 10, 10)), ("d", d(2024, 10, 11)), ("d", d(2024, 10, 12)),
        ("d", d(2024, 10, 13)), ("w", 2024, 42), ("w", 2024, 43), ("w", 2024, 44),
        ("d", d(2024, 11, 4)), ("d", d(2024, 11, 5)), ("d", d(2024, 11, 6)), ("d", d(2024, 11, 7))]
    # ending today: the last week may reach past today
    assert list(unique_tiles(d(2024, 10, 28), d(2024, 11, 7), open_end=True)) == [("w", 2024, 44), ("w", 2024, 45)]
    # whole months and years, closed or open
    assert list(unique_tiles(d(2024, 9, 1), d(2024, 10, 31))) == [("m", 2024, 9), ("m", 2024, 10)]
    assert list(unique_tiles(d(2024, 11, 1), d(2024, 11, 7), open_end=True)) == [("m", 2024, 11)]
    assert list(unique_tiles(d(2024, 1, 1), d(2024, 11, 7), open_end=True)) == [("y", 2024)]
    assert list(unique_tiles(d(2023, 1, 1), d(2024, 1, 2))) == [("y", 2023), ("d", d(2024, 1, 1)), ("d", d(2024, 1, 2))]
    # the short week 53 closes the year
    assert list(unique_tiles(d(2024, 12, 23), d(2024, 12, 31))) == [("w", 2024, 52), ("w", 2024, 53)]


def test_cover_tiles() -> None:
    d = date
    assert list(cover_tiles(d(2024, 10, 9), d(2024, 11, 7))) == [("m", 2024, 10), ("w", 2024, 44), ("w", 2024, 45)]
    assert list(cover_tiles(d(2024, 11, 1), d(2024, 11, 30))) == [("m", 2024, 11)]
    assert list(cover_tiles(d(2024, 12, 20), d(2025, 1, 2))) == [("m", 2024, 12), ("w", 2025, 1)]


def users_series(zero: dict[str, Any], month: dict[str, Any]) -> Series:
    return Series.of([{"_id": "a_2024:0", "m": "2024:0", "d": zero, "meta_v2": {"f-ranges": {"1": True, "0": True}}},
                      {"_id": "a_2024:10", "m": "2024:10", "d": month}])


def test_unique_is_the_smaller_bound() -> None:
    month = {str(day): {"u": 1, "f": {"1": 1}} for day in (10, 11, 12)}  # one user on three days
    zero = {"10": {"u": 1, "f": {"1": 1}}, "w41": {"u": 1, "f": {"1": 1}}}
    s = users_series(zero, month)
    assert s.unique(date(2024, 10, 10), date(2024, 10, 12), "u") == 1  # days say 3, week 41 says 1
    assert s.unique(date(2024, 10, 10), date(2024, 10, 12), "f", "1") == 1
    assert s.unique(date(2024, 10, 10), date(2024, 10, 10), "u") == 1
    assert s.values("f-ranges") == ["0", "1"]  # numeric order


def test_series_reads_ids_without_m_and_skips_strangers() -> None:
    s = Series.of([{"_id": "x_2024:3", "d": {"5": {"t": 2}}}, {"_id": "garbage"}])
    assert s.total([date(2024, 3, 5), date(2024, 3, 6)], "t") == 2


def test_doc_ids_two_per_month_at_most() -> None:
    assert doc_ids("a_", date(2024, 11, 5), date(2025, 1, 3)) == [
        "a_2024:0", "a_2025:0", "a_2024:11", "a_2024:12", "a_2025:1"]
