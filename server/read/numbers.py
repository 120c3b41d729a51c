"""Number formatting exactly as Countly's dashboard code produces it (JavaScript semantics).

Countly formats with `Number.prototype.toFixed` (half away from zero on the exact binary value),
rounds with `Math.round` (half towards +infinity) and shortens changes with `getShortNumber`.
Python's `round` and `format` round half to even, so they are not used for output text.
"""
from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

Number = int | float
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def to_fixed(x: Number, digits: int = 1) -> str:
    """JavaScript `x.toFixed(digits)` for finite numbers below 1e21."""
    if x == 0:
        x = 0  # -0 prints as "0.0" in JavaScript
    quantum = Decimal(1).scaleb(-digits)
    return str(Decimal(x).quantize(quantum, rounding=ROUND_HALF_UP))


def js_round(x: float, digits: int = 0) -> float:
    """Countly's `countlyCommon.round`: `Math.round(x * 10^digits) / 10^digits`."""
    scale = 10 ** digits
    return math.floor(x * scale + 0.5) / scale


def short_number(text: str) -> str:
    """Countly's `getShortNumber` of a `toFixed` text: "12.0" → "12", 12345.6 → "12.3K"."""
    value = float(text)
    if value >= 1_000_000 or value <= -1_000_000:
        return to_fixed(value / 1_000_000).replace(".0", "", 1) + "M"
    if value >= 10_000 or value <= -10_000:
        return to_fixed(value / 1000).replace(".0", "", 1) + "K"
    return text.replace(".0", "", 1)


def percent_change(previous: Number, current: Number) -> tuple[str, str]:
    """(`change`, `trend`) from the previous to the current value, as Countly's `getPercentChange`."""
    if previous == 0:
        return "NA", "u"
    if current == 0:
        return "∞", "d"
    change = to_fixed((current - previous) / previous * 100)
    return short_number(change) + "%", "d" if float(change) < 0 else "u"


def time_string(minutes: Number) -> str:
    """Countly's `timeString`: minutes as "x.y min", hours, days or years."""
    if minutes >= 142560:
        return to_fixed(minutes / 525600) + " years"
    if minutes >= 1440:
        return to_fixed(minutes / 1440) + " days"
    if minutes >= 60:
        return to_fixed(minutes / 60) + " hours"
    return to_fixed(minutes) + " min"


def plain(x: Number) -> Number:
    """Integral floats as ints (JSON `100`, not `100.0`, as JavaScript prints them)."""
    if isinstance(x, float) and x.is_integer():
        return int(x)
    return x
