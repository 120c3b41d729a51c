"""Countly's `common.validateArgs` for management `args` objects: same checks, same messages.

Every rule of every argument is checked and all failures are reported, in the order of the
specification, e.g. `["Missing username argument", "Length of password is lower than min
length value", "password should have number"]`. Unlike Countly, a value of the wrong type gets
only "Invalid type for <name>" (its length and character rules are not applied to it), and
`Boolean` arguments must really be booleans (Countly's check lets anything through).
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MISSING_ARGS = "Missing 'args' parameter"

_TYPES: dict[str, tuple[type, ...]] = {
    "String": (str,), "Boolean": (bool,), "Object": (dict,), "Array": (list,), "Number": (int, float),
}


@dataclass(frozen=True)
class Arg:
    name: str
    type: str = "String"
    required: bool = False
    min_length: int | None = None
    max_length: int | None = None
    has_number: bool = False
    has_upchar: bool = False
    has_special: bool = False
    exclude: bool = False  # checked, but left out of the validated object


def _type_ok(spec: Arg, value: Any) -> bool:
    if spec.type == "Object" and value is None and not spec.required:
        return True  # Countly accepts null for an optional object
    if spec.type == "Number" and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES[spec.type])


def _rule_errors(spec: Arg, value: Any) -> list[str]:
    errors: list[str] = []
    if spec.max_length is not None and hasattr(value, "__len__") and len(value) > spec.max_length:
        errors.append(f"Length of {spec.name} is greater than max length value")
    if spec.min_length is not None and hasattr(value, "__len__") and len(value) < spec.min_length:
        errors.append(f"Length of {spec.name} is lower than min length value")
    if isinstance(value, str):
        if spec.has_number and not re.search(r"[0-9]", value):
            errors.append(f"{spec.name} should have number")
        if spec.has_upchar and not re.search(r"[A-Z]", value):
            errors.append(f"{spec.name} should have upchar")
        if spec.has_special and not re.search(r"[^A-Za-z0-9]", value):
            errors.append(f"{spec.name} should have special character")
    return errors


def validate_args(args: dict[str, Any] | None, specs: Sequence[Arg]) -> tuple[dict[str, Any] | None, list[str]]:
    """(validated object, []) or (None, error messages). `args` None means the parameter is missing."""
    if args is None:
        return None, [MISSING_ARGS]
    out: dict[str, Any] = {}
    errors: list[str] = []
    for spec in specs:
        if spec.name not in args:
            if spec.required:
                errors.append(f"Missing {spec.name} argument")
            continue
        value = args[spec.name]
        if not _type_ok(spec, value):
            errors.append(f"Invalid type for {spec.name}")
            continue
        problems = _rule_errors(spec, value)
        errors.extend(problems)
        if not problems and not spec.exclude:
            out[spec.name] = value
    return (None, errors) if errors else (out, [])


def joined(errors: list[str]) -> str:
    """Countly's `'Error: ' + errors` (a JavaScript array joins with commas)."""
    return "Error: " + ",".join(errors)
