"""The embedded store's `_id` lookup answers exactly as mongomock's full scan."""
from __future__ import annotations

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
