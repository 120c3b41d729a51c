"""Pure counting of distinct devices (`plugins.activity.days`), checked against brute force."""
from __future__ import annotations

import random
from datetime import date

import pytest

from plugins.activity.days import Counts, date_of, day_number, day_of, iso_weeks, months


def brute(devices: list[list[int]], lo: int, hi: int, window: int,
          spans: list[tuple[int, int]]) -> dict[str, list[int]]:
    days = range(lo, hi + 1)
    sets = [set(d) for d in devices if d]
    return {
        "daily": [sum(1 for s in sets if k in s) for k in days],
        "rolling": [sum(1 for s in sets if any(k - window < x <= k for x in s)) for k in days],
        "running": [sum(1 for s in sets if any(lo <= x <= k for x in s)) for k in days],
        "total": [sum(1 for s in sets if min(s) <= k) for k in days],
        "groups": [sum(1 for s in sets if any(a <= x <= b for x in s)) for a, b in spans],
    }


@pytest.mark.parametrize("seed", range(25))
def test_counts_match_brute_force(seed: int) -> None:
    rnd = random.Random(seed)
    lo = 20000 + rnd.randint(0, 50)
    hi = lo + rnd.randint(0, 70)
    window = rnd.choice([1, 7, 30])
    devices = [[rnd.randint(lo - 60, hi + 10) for _ in range(rnd.randint(0, 12))] for _ in range(rnd.randint(0, 40))]
    spans = [(a, b) for *_, a, b in iso_weeks(lo, hi)] + [(a, b) for *_, a, b in months(lo, hi)] + [(lo, hi)]
    counts = Counts(lo, hi, window=window, groups=spans)
    for d in devices:
        counts.add(d)
    expected = brute(devices, lo, hi, window, spans)
    assert counts.daily == expected["daily"]
    assert counts.rolling == expected["rolling"]
    assert counts.running == expected["running"]
    assert counts.total == expected["total"]
    assert counts.groups == expected["groups"]


def test_a_device_is_counted_once_per_span() -> None:
    counts = Counts(10, 16, groups=[(10, 16)])
    counts.add([10, 11, 11, 12, 16])
    assert counts.daily == [1, 1, 1, 0, 0, 0, 1]
    assert counts.groups == [1] and sum(counts.daily) == 4
    with pytest.raises(ValueError):
        Counts(5, 4)


def test_day_numbers() -> None:
    assert day_number(1970, 1, 1) == 0
    assert day_number(2024, 11, 7) == day_of(date(2024, 11, 7)) == 20034
    assert date_of(20034) == date(2024, 11, 7)


def test_weeks_and_months_are_cut_to_the_range() -> None:
    lo, hi = day_of(date(2024, 12, 28)), day_of(date(2025, 1, 8))
    weeks = [(y, w, date_of(a), date_of(b)) for y, w, a, b in iso_weeks(lo, hi)]
    assert weeks == [(2024, 52, date(2024, 12, 28), date(2024, 12, 29)),
                     (2025, 1, date(2024, 12, 30), date(2025, 1, 5)),
                     (2025, 2, date(2025, 1, 6), date(2025, 1, 8))]
    assert [(y, m, date_of(a), date_of(b)) for y, m, a, b in months(lo, hi)] == [
        (2024, 12, date(2024, 12, 28), date(2024, 12, 31)), (2025, 1, date(2025, 1, 1), date(2025, 1, 8))]
