"""The benchmark's stand-in store (`bench/countedstore.py`) has the semantics Tally relies on."""
from __future__ import annotations

import asyncio

import pytest
from pymongo import ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError, WriteError

from bench.countedstore import CountedDatabase


@pytest.fixture
def db() -> CountedDatabase:
    return CountedDatabase()


async def test_dotted_inc_upsert_creates_nested_document(db: CountedDatabase) -> None:
    users = db["users"]
    await users.update_one({"_id": "app_2024:11"}, {"$inc": {"d.4.13.t": 1, "d.4.t": 1}}, upsert=True)
    await users.update_one({"_id": "app_2024:11"}, {"$inc": {"d.4.13.t": 2, "d.5.t": 1}}, upsert=True)
    doc = await users.find_one({"_id": "app_2024:11"})
    assert doc == {"_id": "app_2024:11", "d": {"4": {"13": {"t": 3}, "t": 1}, "5": {"t": 1}}}


async def test_set_on_insert_applies_only_when_inserting(db: CountedDatabase) -> None:
    coll = db["users"]
    update = {"$setOnInsert": {"m": "2024:11", "a": "app"}, "$inc": {"d.t": 1}}
    await coll.update_one({"_id": "x"}, update, upsert=True)
    await coll.update_one({"_id": "x"}, {"$setOnInsert": {"m": "changed"}, "$inc": {"d.t": 1}}, upsert=True)
    assert await coll.find_one({"_id": "x"}) == {"_id": "x", "m": "2024:11", "a": "app", "d": {"t": 2}}


async def test_upsert_of_existing_id_with_non_matching_filter_raises_duplicate_key(db: CountedDatabase) -> None:
    devices = db["app_usersabc"]
    first = await devices.find_one_and_update({"_id": "dev1", "v": {"$exists": False}}, {"$set": {"v": 1, "sc": 1}},
                                              upsert=True, return_document=ReturnDocument.BEFORE)
    assert first is None  # inserted: nothing before
    with pytest.raises(DuplicateKeyError):
        await devices.find_one_and_update({"_id": "dev1", "v": {"$exists": False}}, {"$set": {"v": 1}},
                                          upsert=True, return_document=ReturnDocument.BEFORE)
    # a versioned update returns the state before and applies the change
    before = await devices.find_one_and_update({"_id": "dev1", "v": 1}, {"$set": {"v": 2, "sc": 2}},
                                               return_document=ReturnDocument.BEFORE)
    assert before == {"_id": "dev1", "v": 1, "sc": 1}
    # a stale version matches nothing and (without upsert) changes nothing
    assert await devices.find_one_and_update({"_id": "dev1", "v": 1}, {"$set": {"v": 9}}) is None
    assert (await devices.find_one({"_id": "dev1"}))["v"] == 2


async def test_find_one_and_update_with_an_id_projection_returns_only_the_id(db: CountedDatabase) -> None:
    devices = db["app_usersabc"]
    only_id = {"_id": 1}
    assert await devices.find_one_and_update({"_id": "d", "v": {"$exists": False}}, {"$set": {"v": 1, "rq": [1, 2]}},
                                             projection=only_id, upsert=True) is None  # inserted
    assert await devices.find_one_and_update({"_id": "d", "v": 1}, {"$set": {"v": 2}}, projection=only_id) \
        == {"_id": "d"}
    assert await devices.find_one_and_update({"_id": "d", "v": 1}, {"$set": {"v": 3}}, projection=only_id) is None
    assert await devices.find_one({"_id": "d"}) == {"_id": "d", "v": 2, "rq": [1, 2]}
    assert await devices.find_one({"_id": "d"}, {"_id": 1}) == {"_id": "d"}


async def test_returned_documents_are_copies(db: CountedDatabase) -> None:
    coll = db["c"]
    await coll.update_one({"_id": 1}, {"$set": {"a": {"b": [1]}}}, upsert=True)
    doc = await coll.find_one({"_id": 1})
    doc["a"]["b"].append(2)
    assert await coll.find_one({"_id": 1}) == {"_id": 1, "a": {"b": [1]}}


async def test_add_to_set_each_unions_without_duplicates(db: CountedDatabase) -> None:
    coll = db["users"]
    await coll.update_one({"_id": "z"}, {"$addToSet": {"meta.os": {"$each": ["Android", "iOS"]}}}, upsert=True)
    await coll.update_one({"_id": "z"}, {"$addToSet": {"meta.os": {"$each": ["iOS", "Linux"]}}}, upsert=True)
    await coll.update_one({"_id": "z"}, {"$addToSet": {"meta.os": "Android"}}, upsert=True)
    assert (await coll.find_one({"_id": "z"}))["meta"]["os"] == ["Android", "iOS", "Linux"]


async def test_max_min_unset(db: CountedDatabase) -> None:
    coll = db["c"]
    await coll.update_one({"_id": 1}, {"$max": {"a.hi": 5}, "$min": {"a.lo": 5}, "$set": {"gone": 1}}, upsert=True)
    await coll.update_one({"_id": 1}, {"$max": {"a.hi": 3}, "$min": {"a.lo": 3}, "$unset": {"gone": ""}})
    await coll.update_one({"_id": 1}, {"$max": {"a.hi": 7}, "$min": {"a.lo": 4}})
    assert await coll.find_one({"_id": 1}) == {"_id": 1, "a": {"hi": 7, "lo": 3}}


async def test_bulk_write_unordered_goes_on_past_a_failure(db: CountedDatabase) -> None:
    coll = db["users"]
    await coll.update_one({"_id": "bad"}, {"$set": {"d": "not a document"}}, upsert=True)
    requests = [UpdateOne({"_id": "a"}, {"$inc": {"d.t": 1}}, upsert=True),
                UpdateOne({"_id": "bad"}, {"$inc": {"d.t": 1}}, upsert=True),
                UpdateOne({"_id": "b"}, {"$inc": {"d.t": 2}}, upsert=True)]
    with pytest.raises(BulkWriteError) as info:
        await coll.bulk_write(requests, ordered=False)
    errors = info.value.details["writeErrors"]
    assert [e["index"] for e in errors] == [1]
    assert (await coll.find_one({"_id": "a"}))["d"] == {"t": 1}
    assert (await coll.find_one({"_id": "b"}))["d"] == {"t": 2}


async def test_bulk_write_ordered_stops_at_the_first_failure(db: CountedDatabase) -> None:
    coll = db["users"]
    await coll.update_one({"_id": "bad"}, {"$set": {"d": 1}}, upsert=True)
    requests = [UpdateOne({"_id": "bad"}, {"$inc": {"d.t": 1}}, upsert=True),
                UpdateOne({"_id": "b"}, {"$inc": {"d.t": 2}}, upsert=True)]
    with pytest.raises(BulkWriteError):
        await coll.bulk_write(requests, ordered=True)
    assert await coll.find_one({"_id": "b"}) is None


async def test_bulk_write_result_and_counters(db: CountedDatabase) -> None:
    coll = db["users"]
    result = await coll.bulk_write([UpdateOne({"_id": i}, {"$inc": {"t": 1}}, upsert=True) for i in range(3)],
                                   ordered=False)
    assert result.upserted_count == 3
    result = await coll.bulk_write([UpdateOne({"_id": 0}, {"$inc": {"t": 1}}, upsert=True)], ordered=False)
    assert (result.matched_count, result.modified_count) == (1, 1)
    snap = db.snapshot()
    assert snap["bulk_writes"] == 2 and snap["docs_written"] == 4 and snap["round_trips"] == 2


async def test_bulk_writes_started_together_form_one_group(db: CountedDatabase) -> None:
    ops = [UpdateOne({"_id": "x"}, {"$inc": {"t": 1}}, upsert=True)]
    await asyncio.gather(db["users"].bulk_write(ops, ordered=False), db["devices"].bulk_write(ops, ordered=False))
    await asyncio.sleep(0)
    await asyncio.gather(db["users"].bulk_write(ops, ordered=False), db["users"].bulk_write(ops, ordered=False))
    await asyncio.sleep(0)
    snap = db.snapshot()
    assert snap["bulk_groups"] == 2
    assert snap["bulk_same_collection"] == 1  # the second group wrote `users` twice


async def test_conflicting_update_paths_are_rejected_like_mongodb(db: CountedDatabase) -> None:
    coll = db["c"]
    for update in ({"$set": {"d": {}}, "$inc": {"d.x": 1}}, {"$inc": {"a": 1}, "$max": {"a": 2}},
                   {"$inc": {"a..b": 1}}, {"$inc": {"a.$b": 1}}):
        with pytest.raises(WriteError):
            await coll.update_one({"_id": 1}, update, upsert=True)
    assert await coll.find_one({"_id": 1}) is None


async def test_queries_used_by_tally(db: CountedDatabase) -> None:
    coll = db["app_usersabc"]
    for i in range(6):
        await coll.insert_one({"_id": f"d{i}", "ls": 100 + i, "cc": "LV" if i % 2 else "DE", **({"sc": 1} if i < 3 else {})})
    assert await coll.count_documents({"ls": {"$gte": 102, "$lt": 105}}) == 3
    assert await coll.count_documents({"sc": {"$exists": True}}) == 3
    assert await coll.count_documents({"$or": [{"cc": "LV"}, {"ls": 100}]}) == 4
    assert [d["_id"] for d in await coll.find({"_id": {"$in": ["d5", "d1", "zz"]}}).sort("_id", 1).to_list(None)] \
        == ["d1", "d5"]
    assert [d["_id"] for d in await coll.find({}).sort("ls", -1).limit(2).to_list(length=None)] == ["d5", "d4"]
    groups = [d async for d in coll.aggregate([{"$match": {"ls": {"$lte": 103}}},
                                               {"$group": {"_id": "$cc", "u": {"$sum": 1}}}])]
    assert sorted((g["_id"], g["u"]) for g in groups) == [("DE", 2), ("LV", 2)]
    assert await coll.find_one({"_id": "d0"}, {"ls": 1}) == {"_id": "d0", "ls": 100}
    assert (await coll.delete_many({"cc": "DE"})).deleted_count == 3
    assert await coll.count_documents({}) == 3


async def test_unique_index_and_ping(db: CountedDatabase) -> None:
    members = db["members"]
    await members.create_index("api_key", unique=True)
    await members.insert_one({"api_key": "k1"})
    with pytest.raises(DuplicateKeyError):
        await members.insert_one({"api_key": "k1"})
    assert await db.command("ping") == {"ok": 1.0}
    assert await db.list_collection_names() == ["members"]


async def test_unknown_operations_fail_loudly(db: CountedDatabase) -> None:
    with pytest.raises(NotImplementedError):
        await db["c"].update_one({"_id": 1}, {"$push": {"a": 1}}, upsert=True)
    with pytest.raises(NotImplementedError):
        db["c"].watch()
