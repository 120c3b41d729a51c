"""The embedded `memory://` store: mongomock-motor, with shortcuts for what makes it slow.

mongomock answers every query by scanning the whole collection with its generic filter, and
copies every document it returns field by field through `copy.copy`. Three shortcuts, each
giving exactly the answers of mongomock's own code (tests/test_embedded.py compares them):

* `_id` selections (`{"_id": x, …}`, `{"_id": {"$in": […]}}`), which every per-request query of
  Tally is: the ids are looked up in the collection's document map and the full filter is applied
  to the few documents found, instead of to every document.
* numeric ranges on one field (`{"ls": {"$gte": a, "$lt": b}}`, the dashboard's exact-users
  count): a document whose value is a plain number is compared directly; any other value (missing,
  a list, a string, …) still goes through mongomock's filter.
* copies of returned documents: numbers, strings, booleans and None are immutable, so they are
  shared as `copy.copy` would share them; only dicts and lists are rebuilt.

Other queries keep mongomock's scan.
"""
from __future__ import annotations

import copy
import math
import operator
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import mongomock.collection
from mongomock.filtering import filter_applies

_ORIGINAL = mongomock.collection.Collection._iter_documents
_ORIGINAL_COPY = mongomock.collection._copy_field
_MISSING = object()
_ATOMS = frozenset({str, int, float, bool, type(None)})  # copy.copy returns these unchanged
_RANGE_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "$gte": operator.ge, "$gt": operator.gt, "$lte": operator.le, "$lt": operator.lt}
Range = tuple[str, tuple[tuple[Callable[[Any, Any], bool], Any], ...]]


def _candidate_ids(spec: Any) -> list[Any] | None:
    """The `_id` values a filter can match, or None when it is not a plain `_id` selection."""
    if isinstance(spec, dict):
        if set(spec) == {"$in"} and isinstance(spec["$in"], (list, tuple)):
            return list(spec["$in"])
        return None
    try:
        hash(spec)
    except TypeError:
        return None
    return [spec]


def _plain_number(value: Any) -> bool:
    """An int or float that is not a bool and not NaN (their comparisons are MongoDB's)."""
    return value.__class__ is int or (value.__class__ is float and not math.isnan(value))


def _numeric_range(filter: dict[str, Any]) -> Range | None:
    """(field, ((compare, bound), …)) of `{field: {"$gte"|"$gt"|"$lte"|"$lt": number, …}}`, else None."""
    if len(filter) != 1:
        return None
    (field, cond), = filter.items()
    if not isinstance(field, str) or "." in field or field.startswith("$") or not isinstance(cond, dict) or not cond:
        return None
    if not all(op in _RANGE_OPS and _plain_number(bound) for op, bound in cond.items()):
        return None
    return field, tuple((_RANGE_OPS[op], bound) for op, bound in cond.items())


def _iter_documents(self: Any, filter: Any) -> Iterable[dict[str, Any]]:
    if not isinstance(filter, dict) or self._store.is_empty:
        return _ORIGINAL(self, filter)  # type: ignore[no-any-return]
    if "_id" in filter:
        ids = _candidate_ids(filter["_id"])
        return _ORIGINAL(self, filter) if ids is None else _lookup(self, filter, ids)  # type: ignore[no-any-return]
    found = _numeric_range(filter)
    if found is None:
        return _ORIGINAL(self, filter)  # type: ignore[no-any-return]
    return _range_scan(self, filter, *found)


def _lookup(self: Any, filter: dict[str, Any], ids: list[Any]) -> Iterator[dict[str, Any]]:
    store = self._store
    found = []
    for _id in dict.fromkeys(ids):
        try:
            doc = store[_id]
        except (KeyError, TypeError):
            continue
        if filter_applies(filter, doc):
            found.append(doc)
    return iter(found)


def _range_scan(self: Any, filter: dict[str, Any], field: str,
                checks: tuple[tuple[Callable[[Any, Any], bool], Any], ...]) -> Iterator[dict[str, Any]]:
    for doc in list(self._store.documents):
        value = doc.get(field, _MISSING)
        if _plain_number(value):
            if all(compare(value, bound) for compare, bound in checks):
                yield doc
        elif filter_applies(filter, doc):
            yield doc


def _copy_field(obj: Any, container: Callable[[], Any]) -> Any:
    """mongomock's copy of a returned value (`container` builds the dicts), without `copy.copy`
    calls for the immutable leaves."""
    if obj.__class__ in _ATOMS:
        return obj
    if isinstance(obj, list):
        return [v if v.__class__ in _ATOMS else _copy_field(v, container) for v in obj]
    if isinstance(obj, dict):
        new = container()
        for key, value in obj.items():
            new[key] = value if value.__class__ in _ATOMS else _copy_field(value, container)
        return new
    return copy.copy(obj)


def install() -> None:
    """Give mongomock's collections the shortcuts (idempotent)."""
    mongomock.collection.Collection._iter_documents = _iter_documents  # type: ignore[method-assign]
    mongomock.collection._copy_field = _copy_field
