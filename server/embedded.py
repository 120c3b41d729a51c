"""The embedded `memory://` store: mongomock-motor, with an `_id` index it lacks.

mongomock answers every query by scanning the whole collection, so with 10,000 devices each
device operation scans 10,000 documents. Every per-request query of Tally selects by `_id`
(`{"_id": x, …}` or `{"_id": {"$in": […]}}`), so a lookup of those ids in the collection's
document map, then the full filter on the few documents found, gives the same answers as the
scan. Other queries keep mongomock's scan.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import mongomock.collection
from mongomock.filtering import filter_applies

_ORIGINAL = mongomock.collection.Collection._iter_documents
_MISSING = object()


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


def _iter_documents(self: Any, filter: Any) -> Iterable[dict[str, Any]]:
    ids = _candidate_ids(filter.get("_id", _MISSING)) if isinstance(filter, dict) and "_id" in filter else None
    if ids is None:
        return _ORIGINAL(self, filter)  # type: ignore[no-any-return]
    return _lookup(self, filter, ids)


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


def install() -> None:
    """Give mongomock's collections the `_id` fast path (idempotent)."""
    mongomock.collection.Collection._iter_documents = _iter_documents  # type: ignore[method-assign]
