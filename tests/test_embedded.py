"""The embedded store's `_id` lookup answers exactly as mongomock's full scan."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import mongomock.collection
import pytest
from bson import ObjectId
from mongomock_motor import AsyncMongoMockClient
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from server import embedded

OID = ObjectId()
DOCS = [{"_id": "a", "v": 1, "n": 5}, {"_id": "b", "v": 2}, {"_id": OID, "v": 1}, {"_id": 7, "v": 3}]
FILTERS: list[dict[str, Any]] = [
    {"_id": "a"}, {"_id": "a", "v": 1}, {"_id": "a", "v": 2}, {"_id": "zz"}, {"_id": OID}, {"_id": 7},
    {"_id": {"$in": ["b", "a", "zz", OID]}}, {"_id": {"$in": []}}, {"_id": "a", "v": {"$exists": False}},
    {"_id": {"$regex": "^a"}}, {"_id": {"$ne": "a"}}, {"v": 1}, {"_id": ["a"]},
]


async def _answers(flt: dict[str, Any]) -> list[Any]:
    db = AsyncMongoMockClient()["e"]
    await db.c.insert_many([dict(d) for d in DOCS])
    return sorted(str(d["_id"]) for d in await db.c.find(flt).to_list(None))


@pytest.mark.parametrize("flt", FILTERS, ids=[str(f) for f in FILTERS])
async def test_lookup_equals_scan(flt: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mongomock.collection.Collection, "_iter_documents", embedded._ORIGINAL)
    scanned = await _answers(flt)
    monkeypatch.setattr(mongomock.collection.Collection, "_iter_documents", embedded._iter_documents)
    assert await _answers(flt) == scanned


async def test_versioned_upsert_still_raises_duplicate_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mongomock.collection.Collection, "_iter_documents", embedded._iter_documents)
    db = AsyncMongoMockClient()["e"]
    assert await db.c.find_one_and_update({"_id": "d", "v": {"$exists": False}}, {"$set": {"v": 1}}, upsert=True,
                                          return_document=ReturnDocument.BEFORE) is None
    with pytest.raises(DuplicateKeyError):
        await db.c.find_one_and_update({"_id": "d", "v": {"$exists": False}}, {"$set": {"v": 1}}, upsert=True)
    assert await db.c.find_one_and_update({"_id": "d", "v": 1}, {"$set": {"v": 2}},
                                          return_document=ReturnDocument.BEFORE) == {"_id": "d", "v": 1}


# ---- numeric ranges on one field (the exact-users count: `{"ls": {"$gte": a, "$lt": b}}`) ----

RANGE_DOCS: list[dict[str, Any]] = [
    {"_id": 1, "ls": 5}, {"_id": 2, "ls": 10}, {"_id": 3, "ls": 10.0}, {"_id": 4, "ls": 15.5}, {"_id": 5, "ls": 20},
    {"_id": 6, "ls": 2**62}, {"_id": 7, "ls": -1}, {"_id": 8, "ls": True}, {"_id": 9, "ls": None}, {"_id": 10},
    {"_id": 11, "ls": "15"}, {"_id": 12, "ls": [5, 15]}, {"_id": 13, "ls": [30]}, {"_id": 14, "ls": {"x": 15}},
    {"_id": 15, "ls": float("nan")}, {"_id": 16, "ls": datetime(2024, 11, 7, tzinfo=UTC)}, {"_id": 17, "ls": 0},
]
RANGE_FILTERS: list[dict[str, Any]] = [
    {"ls": {"$gte": 10, "$lt": 20}}, {"ls": {"$gt": 10}}, {"ls": {"$lte": 10.0}}, {"ls": {"$gte": 10.5, "$lte": 2**62}},
    {"ls": {"$lt": 0}}, {"ls": {"$gte": 0}}, {"ls": {"$gt": -1.5, "$lt": 1}}, {"other": {"$gte": 1}},
    # not a plain numeric range: mongomock's scan
    {"ls": {"$gte": float("nan")}}, {"ls": {"$gte": True}}, {"ls": {"$gte": 10, "$ne": 15.5}}, {"ls.x": {"$gte": 10}},
    {"ls": {"$gte": "1"}}, {"ls": {}}, {"ls": 10}, {"ls": {"$gte": 1}, "other": {"$lt": 5}},
]
PLAIN_RANGES = 8  # the first filters above are plain numeric ranges


async def _range_answers(flt: dict[str, Any]) -> tuple[list[Any], int]:
    db = AsyncMongoMockClient()["e"]
    await db.c.insert_many([dict(d) for d in RANGE_DOCS])
    found = [d["_id"] for d in await db.c.find(flt).to_list(None)]
    return found, await db.c.count_documents(flt)


@pytest.mark.parametrize("flt", RANGE_FILTERS, ids=[str(f) for f in RANGE_FILTERS])
async def test_numeric_range_equals_scan(flt: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mongomock.collection.Collection, "_iter_documents", embedded._ORIGINAL)
    scanned = await _range_answers(flt)
    monkeypatch.setattr(mongomock.collection.Collection, "_iter_documents", embedded._iter_documents)
    assert await _range_answers(flt) == scanned  # the same documents in the same order, and count


def test_numeric_range_is_recognised_only_for_plain_numbers() -> None:
    assert embedded._numeric_range({"ls": {"$gte": 1, "$lt": 2.5}}) is not None
    assert all(embedded._numeric_range(flt) is not None for flt in RANGE_FILTERS[:PLAIN_RANGES])
    for flt in RANGE_FILTERS[PLAIN_RANGES:]:
        assert embedded._numeric_range(flt) is None, flt


# ---- copies of returned documents ----

NESTED: dict[str, Any] = {
    "_id": "n", "m": "2024:11", "oid": OID, "at": datetime(2024, 11, 7), "raw": b"\x00\x01",  # naive: BSON drops tzinfo
    "d": {"7": {"t": 3, "d": 12.5, "top": {"os": {"Android": 2}}, "17": {"t": 3}}, "8": {}},
    "list": [1, "a", None, True, {"x": [2.5, {"y": OID}]}, [3, [4]]], "none": None, "flag": False,
}


async def _copies() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    db = AsyncMongoMockClient()["e"]
    await db.c.insert_one(dict(NESTED))
    first = await db.c.find_one({"_id": "n"})
    (second,) = await db.c.find({"_id": {"$in": ["n"]}}).to_list(None)
    return first, second, await db.c.find_one({"_id": "n"})


async def test_copies_equal_mongomock_copies_and_are_independent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mongomock.collection, "_copy_field", embedded._ORIGINAL_COPY)
    expected = await _copies()
    monkeypatch.setattr(mongomock.collection, "_copy_field", embedded._copy_field)
    first, second, third = await _copies()
    assert (first, second, third) == expected
    assert first == NESTED and type(first["oid"]) is ObjectId and type(first["at"]) is datetime
    # mutating a returned document's dicts and lists leaves the stored one alone
    first["d"]["7"]["top"]["os"]["Android"] = 99
    first["list"][4]["x"].append(0)
    second["d"]["8"]["new"] = 1
    assert third == NESTED
