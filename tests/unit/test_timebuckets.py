"""server.timebuckets: local time parts, Countly weeks and the `timestamp` parameter.

Inputs are written as ISO instants with an explicit UTC offset, so the expected local values
below are worked out by hand, not by the zoneinfo code under test.
"""
from __future__ import annotations

from datetime import date, datetime

import pytest

from server.timebuckets import local_midnight, parse_timestamp, parts, week_of, zone


def at(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


# (id, instant, timezone, (year, month, day, hour, week, weekday 0=Sunday))
PARTS = [
    ("utc-plain", "2024-11-04T13:20:00+00:00", "UTC", (2024, 11, 4, 13, 45, 1)),
    ("riga-winter-+2", "2024-01-15T12:00:00+00:00", "Europe/Riga", (2024, 1, 15, 14, 3, 1)),
    ("riga-summer-+3-next-day", "2024-07-01T21:30:00+00:00", "Europe/Riga", (2024, 7, 2, 0, 27, 2)),
    ("new-york-dec31-23:59-local-is-jan1-utc", "2024-01-01T04:59:59+00:00", "America/New_York",
     (2023, 12, 31, 23, 53, 0)),
    ("new-york-jan1-00:00-local", "2024-01-01T05:00:00+00:00", "America/New_York", (2024, 1, 1, 0, 1, 1)),
    ("kolkata-+5:30-last-second-of-leap-year", "2024-12-31T18:29:59+00:00", "Asia/Kolkata",
     (2024, 12, 31, 23, 53, 2)),
    ("kolkata-+5:30-new-year", "2024-12-31T18:30:00+00:00", "Asia/Kolkata", (2025, 1, 1, 0, 1, 3)),
    ("kolkata-half-hour-offset", "2024-06-15T10:20:00+00:00", "Asia/Kolkata", (2024, 6, 15, 15, 24, 6)),
    ("kathmandu-+5:45-before-midnight", "2024-06-15T18:14:59+00:00", "Asia/Kathmandu", (2024, 6, 15, 23, 24, 6)),
    ("kathmandu-+5:45-midnight", "2024-06-15T18:15:00+00:00", "Asia/Kathmandu", (2024, 6, 16, 0, 24, 0)),
    ("chatham-+13:45-dec31", "2024-12-31T10:14:59+00:00", "Pacific/Chatham", (2024, 12, 31, 23, 53, 2)),
    ("chatham-+13:45-new-year", "2024-12-31T10:15:00+00:00", "Pacific/Chatham", (2025, 1, 1, 0, 1, 3)),
    ("chatham-+12:45-winter", "2024-07-01T11:15:00+00:00", "Pacific/Chatham", (2024, 7, 2, 0, 27, 2)),
    ("utc-dec31-leap-year-week-53", "2024-12-31T23:59:59+00:00", "UTC", (2024, 12, 31, 23, 53, 2)),
    ("utc-dec31-common-year-week-53", "2023-12-31T12:00:00+00:00", "UTC", (2023, 12, 31, 12, 53, 0)),
    ("utc-dec30-common-year-week-52", "2023-12-30T12:00:00+00:00", "UTC", (2023, 12, 30, 12, 52, 6)),
    ("utc-feb29", "2024-02-29T08:00:00+00:00", "UTC", (2024, 2, 29, 8, 9, 4)),
    # DST, Europe/Riga: 2024-03-31 03:00 EET -> 04:00 EEST (01:00 UTC); 2024-10-27 04:00 EEST -> 03:00 EET
    ("riga-spring-last-second-before-gap", "2024-03-31T00:59:59+00:00", "Europe/Riga", (2024, 3, 31, 2, 13, 0)),
    ("riga-spring-first-second-after-gap", "2024-03-31T01:00:00+00:00", "Europe/Riga", (2024, 3, 31, 4, 13, 0)),
    ("riga-fall-repeated-hour-first", "2024-10-27T00:30:00+00:00", "Europe/Riga", (2024, 10, 27, 3, 43, 0)),
    ("riga-fall-repeated-hour-second", "2024-10-27T01:30:00+00:00", "Europe/Riga", (2024, 10, 27, 3, 43, 0)),
    # DST, America/New_York: 2024-03-10 02:00 EST -> 03:00 EDT; 2024-11-03 02:00 EDT -> 01:00 EST
    ("new-york-spring-before-gap", "2024-03-10T06:59:59+00:00", "America/New_York", (2024, 3, 10, 1, 10, 0)),
    ("new-york-spring-after-gap", "2024-03-10T07:00:00+00:00", "America/New_York", (2024, 3, 10, 3, 10, 0)),
    ("new-york-fall-repeated-hour-edt", "2024-11-03T05:30:00+00:00", "America/New_York", (2024, 11, 3, 1, 44, 0)),
    ("new-york-fall-repeated-hour-est", "2024-11-03T06:30:00+00:00", "America/New_York", (2024, 11, 3, 1, 44, 0)),
    # DST, Pacific/Chatham: 2024-09-29 02:45 -> 03:45 (14:00 UTC); 2024-04-07 03:45 -> 02:45 (14:00 UTC)
    ("chatham-spring-after-gap", "2024-09-28T14:00:00+00:00", "Pacific/Chatham", (2024, 9, 29, 3, 39, 0)),
    ("chatham-fall-repeated", "2024-04-06T14:10:00+00:00", "Pacific/Chatham", (2024, 4, 7, 2, 14, 0)),
]


@pytest.mark.parametrize("instant,tz,expected", [c[1:] for c in PARTS], ids=[c[0] for c in PARTS])
def test_parts_local_fields(instant: str, tz: str, expected: tuple[int, ...]) -> None:
    p = parts(at(instant), tz)
    assert (p.year, p.month, p.day, p.hour, p.week, p.weekday) == expected
    assert p.month_id == f"{expected[0]}:{expected[1]}"
    assert p.zero_id == f"{expected[0]}:0"
    assert p.ts == at(instant)


# (id, instant, tz, day_start, hour_start, month_start, year_start) — all as UTC instants
STARTS = [
    ("utc", "2024-11-04T13:20:00+00:00", "UTC",
     "2024-11-04T00:00:00+00:00", "2024-11-04T13:00:00+00:00", "2024-11-01T00:00:00+00:00",
     "2024-01-01T00:00:00+00:00"),
    ("riga-summer-month-starts-in-summer-year-in-winter", "2024-07-02T09:10:00+00:00", "Europe/Riga",
     "2024-07-01T21:00:00+00:00", "2024-07-02T09:00:00+00:00", "2024-06-30T21:00:00+00:00",
     "2023-12-31T22:00:00+00:00"),
    ("new-york-year-end-local", "2024-01-01T04:59:59+00:00", "America/New_York",
     "2023-12-31T05:00:00+00:00", "2024-01-01T04:00:00+00:00", "2023-12-01T05:00:00+00:00",
     "2023-01-01T05:00:00+00:00"),
    ("kolkata-hour-starts-at-half-past-utc", "2024-06-15T10:20:00+00:00", "Asia/Kolkata",
     "2024-06-14T18:30:00+00:00", "2024-06-15T09:30:00+00:00", "2024-05-31T18:30:00+00:00",
     "2023-12-31T18:30:00+00:00"),
    ("kathmandu-hour-starts-at-quarter-past-utc", "2024-06-15T10:20:00+00:00", "Asia/Kathmandu",
     "2024-06-14T18:15:00+00:00", "2024-06-15T10:15:00+00:00", "2024-05-31T18:15:00+00:00",
     "2023-12-31T18:15:00+00:00"),
    ("chatham-plain", "2024-07-01T11:20:00+00:00", "Pacific/Chatham",
     "2024-07-01T11:15:00+00:00", "2024-07-01T11:15:00+00:00", "2024-06-30T11:15:00+00:00",
     "2023-12-31T10:15:00+00:00"),
    ("riga-spring-day-is-23h", "2024-03-31T01:30:00+00:00", "Europe/Riga",
     "2024-03-30T22:00:00+00:00", "2024-03-31T01:00:00+00:00", "2024-02-29T22:00:00+00:00",
     "2023-12-31T22:00:00+00:00"),
    ("riga-fall-repeated-hour-first-pass", "2024-10-27T00:30:00+00:00", "Europe/Riga",
     "2024-10-26T21:00:00+00:00", "2024-10-27T00:00:00+00:00", "2024-09-30T21:00:00+00:00",
     "2023-12-31T22:00:00+00:00"),
    ("riga-fall-repeated-hour-second-pass", "2024-10-27T01:30:00+00:00", "Europe/Riga",
     "2024-10-26T21:00:00+00:00", "2024-10-27T01:00:00+00:00", "2024-09-30T21:00:00+00:00",
     "2023-12-31T22:00:00+00:00"),
    ("new-york-spring-after-gap", "2024-03-10T07:30:00+00:00", "America/New_York",
     "2024-03-10T05:00:00+00:00", "2024-03-10T07:00:00+00:00", "2024-03-01T05:00:00+00:00",
     "2024-01-01T05:00:00+00:00"),
    ("new-york-fall-second-01:xx", "2024-11-03T06:30:00+00:00", "America/New_York",
     "2024-11-03T04:00:00+00:00", "2024-11-03T06:00:00+00:00", "2024-11-01T04:00:00+00:00",
     "2024-01-01T05:00:00+00:00"),
    # Chatham jumps 02:45 -> 03:45: local hour 3 of that day begins at the jump (14:00 UTC); a
    # "03:00" start would lie 15 minutes after the request itself.
    ("chatham-spring-hour-after-45min-gap", "2024-09-28T14:10:00+00:00", "Pacific/Chatham",
     "2024-09-28T11:15:00+00:00", "2024-09-28T14:00:00+00:00", "2024-08-31T11:15:00+00:00",
     "2023-12-31T10:15:00+00:00"),
]


@pytest.mark.parametrize("instant,tz,day,hour,month,year", [c[1:] for c in STARTS], ids=[c[0] for c in STARTS])
def test_parts_bucket_starts(instant: str, tz: str, day: str, hour: str, month: str, year: str) -> None:
    p = parts(at(instant), tz)
    assert (p.day_start, p.hour_start, p.month_start, p.year_start) == (at(day), at(hour), at(month), at(year))


@pytest.mark.parametrize("instant,tz", [(c[1], c[2]) for c in STARTS] + [(c[1], c[2]) for c in PARTS],
                         ids=[c[0] for c in STARTS] + [c[0] for c in PARTS])
def test_bucket_starts_never_after_the_instant(instant: str, tz: str) -> None:
    p = parts(at(instant), tz)
    assert p.year_start <= p.month_start <= p.day_start <= p.hour_start <= p.ts


@pytest.mark.parametrize("d,tz,expected", [
    (date(2024, 3, 31), "Europe/Riga", "2024-03-30T22:00:00+00:00"),
    (date(2024, 4, 1), "Europe/Riga", "2024-03-31T21:00:00+00:00"),
    (date(2024, 10, 28), "Europe/Riga", "2024-10-27T22:00:00+00:00"),
    # Cuba changes clocks at midnight: 2024-03-10 00:00 does not exist, the day starts at 01:00 CDT
    (date(2024, 3, 10), "America/Havana", "2024-03-10T05:00:00+00:00"),
    (date(2024, 1, 1), "Asia/Kathmandu", "2023-12-31T18:15:00+00:00"),
], ids=["riga-spring-day", "riga-after-spring", "riga-after-fall", "havana-midnight-gap", "kathmandu"])
def test_local_midnight(d: date, tz: str, expected: str) -> None:
    assert local_midnight(d, zone(tz)) == at(expected)


@pytest.mark.parametrize("d,week", [
    (date(2024, 1, 1), 1), (date(2024, 1, 7), 1), (date(2024, 1, 8), 2), (date(2024, 2, 29), 9),
    (date(2024, 3, 1), 9), (date(2023, 3, 1), 9), (date(2024, 12, 29), 52), (date(2024, 12, 30), 53),
    (date(2024, 12, 31), 53), (date(2023, 12, 30), 52), (date(2023, 12, 31), 53), (date(2020, 12, 31), 53),
    (date(2021, 1, 3), 1),  # ISO week 53 of 2020; Countly's ceil(doy/7) restarts at 1
], ids=lambda v: str(v))
def test_week_of_is_ceil_day_of_year_over_7(d: date, week: int) -> None:
    assert week_of(d) == week


NOW = 1_731_600_000.0  # 2024-11-14 16:00:00 UTC

TIMESTAMPS = [
    ("none", None, NOW),
    ("empty", "", NOW),
    ("garbage", "abc", NOW),
    ("bool", True, NOW),
    ("zero", "0", NOW),
    ("negative", "-1700000000", NOW),
    ("nan", "nan", NOW),
    ("infinity", "inf", NOW),
    ("list-from-repeated-param", ["1700000000", "1700000001"], NOW),
    ("seconds-string", "1700000000", 1_700_000_000.0),
    ("seconds-int", 1_700_000_000, 1_700_000_000.0),
    ("seconds-padded", " 1700000000 ", 1_700_000_000.0),
    ("seconds-decimal", "1700000000.25", 1_700_000_000.25),
    ("milliseconds-string", "1700000000123", 1_700_000_000.123),
    ("milliseconds-int", 1_700_000_000_500, 1_700_000_000.5),
    ("milliseconds-decimal", "1700000000123.5", 1_700_000_000.1235),
    ("nine-digits", "999999999", NOW),
    ("eleven-digits", "17000000000", NOW),
    ("twelve-digits", "170000000000", NOW),
    ("future-seconds-clamped", "1800000000", NOW),
    ("future-milliseconds-clamped", "1800000000000", NOW),
    ("exactly-now", str(int(NOW)), NOW),
]


@pytest.mark.parametrize("raw,expected", [c[1:] for c in TIMESTAMPS], ids=[c[0] for c in TIMESTAMPS])
def test_parse_timestamp(raw: object, expected: float) -> None:
    assert parse_timestamp(raw, NOW) == pytest.approx(expected, abs=1e-6)


def test_ms_property() -> None:
    assert parts(1_700_000_000.123, "UTC").ms == 1_700_000_000_123
