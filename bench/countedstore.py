"""A minimal in-memory stand-in for the motor database Tally uses, counting every call.

Documents live in a dict by `_id` per collection. Only the async operations Tally uses are
implemented (see `server/storage/*.py`, `server/mongo.py`, `server/app.py`); anything else raises
`NotImplementedError` naming the operation, so a new driver call in Tally is noticed at once
instead of being silently mis-measured.

What it is for: the benchmark's "counted" set-up. No MongoDB server runs on the benchmark
machine, and the embedded mongomock store scans whole collections per operation, so neither
shows what Tally itself costs. This stand-in does the least work a store can do (a dict lookup
by `_id`, the update applied in place, documents copied in and out as a driver's BSON encoding
would) and counts:

* `calls[(operation, collection)]`: every call (= one MongoDB round trip with a real server);
* documents returned (`docs_fetched`) and written (`docs_written`: inserted, modified or
  upserted, also inside bulk writes);
* bulk-write grouping: all `bulk_write` calls started in one event-loop iteration form a group
  (the write batcher issues one flush's writes together with `asyncio.gather`), and
  `bulk_same_collection` counts a second write to a collection inside one group.

Semantics follow MongoDB where Tally relies on them: dotted paths, upserts that build the new
document from the filter's equality fields, `DuplicateKeyError` when an upsert would create an
`_id` that exists, unordered bulk writes that go on past a failed operation and raise
`BulkWriteError` at the end, and (with `strict=True`, the default) the update paths a real
MongoDB rejects but mongomock accepts: `a` together with `a.b`, one path under two operators,
empty path components (`a..b`) and `$`-prefixed components (`a.$b`).
"""
from __future__ import annotations

import asyncio
import itertools
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import bson
from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import (
    BulkWriteError,
    ClientBulkWriteException,
    DuplicateKeyError,
    OperationFailure,
    WriteError,
)
from pymongo.results import BulkWriteResult, DeleteResult, InsertOneResult, UpdateResult

Doc = dict[str, Any]
_MISSING = object()

UPDATE_OPERATORS = ("$inc", "$set", "$unset", "$max", "$min", "$addToSet", "$setOnInsert")


# ---- copying (what BSON encoding/decoding does for a real driver) --------------------------------
def clone(value: Any) -> Any:
    """A deep copy of plain JSON/BSON-like data, much faster than `copy.deepcopy`."""
    cls = value.__class__
    if cls is dict:
        return {k: clone(v) for k, v in value.items()}
    if cls is list or cls is tuple:
        return [clone(v) for v in value]
    return value


# ---- dotted paths --------------------------------------------------------------------------------
def get_path(doc: Any, path: str) -> Any:
    """The value at a dotted path, or `_MISSING`. Lists are indexed by numeric components."""
    cur = doc
    for part in path.split(".") if "." in path else (path,):
        if isinstance(cur, dict):
            cur = cur.get(part, _MISSING)
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return _MISSING
        if cur is _MISSING:
            return _MISSING
    return cur


def _parent(doc: Doc, path: str, create: bool) -> tuple[Any, str]:
    """The container holding the last component of `path`, creating dicts on the way
    (`create`), or `(None, last)` when an intermediate is missing and `create` is false."""
    parts = path.split(".")
    cur: Any = doc
    for i, part in enumerate(parts[:-1]):
        nxt = _container_get(cur, part)
        if nxt is _MISSING:
            if not create:
                return None, parts[-1]
            nxt = {}
            _container_set(cur, part, nxt)
        elif not isinstance(nxt, (dict, list)):
            if not create:
                return None, parts[-1]
            raise WriteError(f"Cannot create field '{parts[i + 1]}' in element "
                             f"{{{part}: {nxt!r}}}", 28)
        cur = nxt
    return cur, parts[-1]


def _container_get(container: Any, key: str) -> Any:
    if isinstance(container, dict):
        return container.get(key, _MISSING)
    if isinstance(container, list) and key.isdigit() and int(key) < len(container):
        return container[int(key)]
    return _MISSING


def _container_set(container: Any, key: str, value: Any) -> None:
    if isinstance(container, dict):
        container[key] = value
        return
    if not key.isdigit():
        raise WriteError(f"Cannot create field '{key}' in an array", 28)
    idx = int(key)
    if idx >= len(container):
        container.extend([None] * (idx + 1 - len(container)))
    container[idx] = value


def set_path(doc: Doc, path: str, value: Any) -> None:
    if "." not in path:
        doc[path] = value
        return
    container, last = _parent(doc, path, True)
    _container_set(container, last, value)


def _check_paths(update: Mapping[str, Any]) -> None:
    """Reject what a real MongoDB rejects in one update document (mongomock accepts it)."""
    paths: list[str] = []
    for op, fields in update.items():
        if not isinstance(fields, dict):
            raise WriteError(f"Modifiers operate on fields but we found type {type(fields).__name__} instead. "
                             f"For example: {{$mod: {{<field>: ...}}}} not {{{op}: {fields!r}}}", 9)
        for path in fields:
            for part in path.split("."):
                if part == "":
                    raise WriteError(f"The update path '{path}' contains an empty field name, "
                                     "which is not allowed.", 56)
                if part.startswith("$"):
                    raise WriteError(f"The dollar ($) prefixed field '{part}' in '{path}' is not allowed "
                                     "in the context of an update's replacement document.", 52)
            paths.append(path)
    if len(paths) < 2:
        return
    paths.sort()
    for a, b in itertools.pairwise(paths):
        if a == b or b.startswith(a + "."):
            raise WriteError(f"Updating the path '{b}' would create a conflict at '{a}'", 40)


# ---- queries -------------------------------------------------------------------------------------
def _type_rank(v: Any) -> int:
    if v is None or v is _MISSING:
        return 0
    if isinstance(v, (bool,)):
        return 5
    if isinstance(v, (int, float)):
        return 1
    if isinstance(v, str):
        return 2
    if isinstance(v, dict):
        return 3
    if isinstance(v, list):
        return 4
    if isinstance(v, ObjectId):
        return 6
    return 7


def _cmp_ok(op: str, value: Any, bound: Any) -> bool:
    if value is _MISSING or value is None or _type_rank(value) != _type_rank(bound):
        return False
    if op == "$lt":
        return bool(value < bound)
    if op == "$lte":
        return bool(value <= bound)
    if op == "$gt":
        return bool(value > bound)
    return bool(value >= bound)  # $gte


def _eq(value: Any, wanted: Any) -> bool:
    if value is _MISSING:
        return wanted is None
    if value == wanted:
        return True
    return isinstance(value, list) and not isinstance(wanted, list) and wanted in value


def _field_matches(value: Any, cond: Any) -> bool:
    if isinstance(cond, dict) and cond and next(iter(cond)).startswith("$"):
        for op, arg in cond.items():
            if op == "$in":
                if not any(_eq(value, a) for a in arg):
                    return False
            elif op == "$nin":
                if any(_eq(value, a) for a in arg):
                    return False
            elif op == "$exists":
                if (value is not _MISSING) != bool(arg):
                    return False
            elif op in ("$lt", "$lte", "$gt", "$gte"):
                if isinstance(value, list):
                    if not any(_cmp_ok(op, v, arg) for v in value):
                        return False
                elif not _cmp_ok(op, value, arg):
                    return False
            elif op == "$ne":
                if _eq(value, arg):
                    return False
            else:
                raise NotImplementedError(f"countedstore: query operator {op} is not implemented")
        return True
    return _eq(value, cond)


def matches(doc: Doc, filt: Mapping[str, Any]) -> bool:
    for key, cond in filt.items():
        if key == "$or":
            if not any(matches(doc, sub) for sub in cond):
                return False
        elif key == "$and":
            if not all(matches(doc, sub) for sub in cond):
                return False
        elif key.startswith("$"):
            raise NotImplementedError(f"countedstore: query operator {key} is not implemented")
        elif not _field_matches(doc.get(key, _MISSING) if "." not in key else get_path(doc, key), cond):
            return False
    return True


def _equality_fields(filt: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """The fields an upsert copies from its filter into the new document."""
    for key, cond in filt.items():
        if key == "$and":
            for sub in cond:
                yield from _equality_fields(sub)
        elif key.startswith("$") or isinstance(cond, dict) and cond and next(iter(cond)).startswith("$"):
            continue
        else:
            yield key, cond


def _only_id(projection: Any) -> bool:
    return isinstance(projection, Mapping) and list(projection) == ["_id"] and bool(projection["_id"])


def project(doc: Doc, projection: Mapping[str, Any] | None) -> Doc:
    """A copy of `doc` with a MongoDB projection (inclusion or exclusion, dotted paths) applied."""
    if not projection:
        return clone(doc)
    if _only_id(projection):
        return {"_id": doc["_id"]} if "_id" in doc else {}
    include = {k: v for k, v in projection.items() if k != "_id"}
    keep_id = bool(projection.get("_id", 1))
    if include and all(bool(v) for v in include.values()):
        out: Doc = {}
        if keep_id and "_id" in doc:
            out["_id"] = doc["_id"]
        for path in include:
            value = get_path(doc, path)
            if value is not _MISSING:
                set_path(out, path, clone(value))
        return out
    out = clone(doc)
    if not keep_id:
        out.pop("_id", None)
    for path, flag in include.items():
        if not flag:
            container, last = _parent(out, path, False) if "." in path else (out, path)
            if isinstance(container, dict):
                container.pop(last, None)
    return out


def _sort_key(fields: list[tuple[str, int]]) -> Any:
    def key(doc: Doc) -> tuple[Any, ...]:
        out = []
        for path, _direction in fields:
            v = get_path(doc, path)
            out.append((_type_rank(v), v if v is not _MISSING and v is not None else 0))
        return tuple(out)
    return key


# ---- updates -------------------------------------------------------------------------------------
def apply_update(doc: Doc, update: Mapping[str, Any], *, inserting: bool, strict: bool = True) -> bool:
    """Apply an update document in place; True when the document changed."""
    if strict:
        _check_paths(update)
    changed = False
    for op, fields in update.items():
        if op == "$setOnInsert":
            if not inserting:
                continue
            op = "$set"
        if op == "$set":
            for path, value in fields.items():
                if "." in path:
                    container, last = _parent(doc, path, True)
                    old = _container_get(container, last)
                    if old != value or old is _MISSING:
                        _container_set(container, last, clone(value))
                        changed = True
                elif doc.get(path, _MISSING) != value or path not in doc:
                    doc[path] = clone(value)
                    changed = True
        elif op == "$inc":
            for path, amount in fields.items():
                if not isinstance(amount, (int, float)) or isinstance(amount, bool):
                    raise WriteError(f"Cannot increment with non-numeric argument: {{{path}: {amount!r}}}", 14)
                container, last = _parent(doc, path, True) if "." in path else (doc, path)
                old = _container_get(container, last)
                if old is _MISSING:
                    _container_set(container, last, amount)
                elif isinstance(old, (int, float)) and not isinstance(old, bool):
                    _container_set(container, last, old + amount)
                else:
                    raise WriteError(f"Cannot apply $inc to a value of non-numeric type. {{_id: "
                                     f"{doc.get('_id')!r}}} has the field '{last}' of non-numeric type", 14)
                changed = changed or amount != 0 or old is _MISSING
        elif op in ("$max", "$min"):
            for path, value in fields.items():
                container, last = _parent(doc, path, True) if "." in path else (doc, path)
                old = _container_get(container, last)
                if (old is _MISSING or (op == "$max" and _greater(value, old))
                        or (op == "$min" and _greater(old, value))):
                    _container_set(container, last, clone(value))
                    changed = True
        elif op == "$unset":
            for path in fields:
                container, last = _parent(doc, path, False) if "." in path else (doc, path)
                if isinstance(container, dict) and last in container:
                    del container[last]
                    changed = True
        elif op == "$addToSet":
            for path, value in fields.items():
                items = value["$each"] if isinstance(value, dict) and "$each" in value else [value]
                container, last = _parent(doc, path, True) if "." in path else (doc, path)
                old = _container_get(container, last)
                if old is _MISSING:
                    old = []
                    _container_set(container, last, old)
                    changed = True
                elif not isinstance(old, list):
                    raise WriteError(f"Cannot apply $addToSet to non-array field. Field named '{last}' "
                                     f"has non-array type {type(old).__name__}", 2)
                for item in items:
                    if item not in old:
                        old.append(clone(item))
                        changed = True
        else:
            raise NotImplementedError(f"countedstore: update operator {op} is not implemented")
    return changed


def _greater(a: Any, b: Any) -> bool:
    ra, rb = _type_rank(a), _type_rank(b)
    if ra != rb:
        return ra > rb
    return bool(a > b)


# ---- cursors -------------------------------------------------------------------------------------
class Cursor:
    """`find(...)` and `aggregate(...)` results: `.sort`, `.limit`, `.skip`, `.to_list`, `async for`."""

    def __init__(self, producer: Any, counted: CountedDatabase, collection: str) -> None:
        self._producer = producer
        self._db = counted
        self._collection = collection
        self._sort: list[tuple[str, int]] = []
        self._limit = 0
        self._skip = 0
        self._docs: list[Doc] | None = None
        self._pos = 0

    def sort(self, key: str | list[tuple[str, int]], direction: int = 1) -> Cursor:
        self._sort = [(key, direction)] if isinstance(key, str) else list(key)
        return self

    def limit(self, n: int) -> Cursor:
        self._limit = n
        return self

    def skip(self, n: int) -> Cursor:
        self._skip = n
        return self

    def _materialise(self) -> list[Doc]:
        if self._docs is None:
            docs = self._producer()
            for path, direction in reversed(self._sort):
                docs.sort(key=_sort_key([(path, direction)]), reverse=direction < 0)
            if self._skip:
                docs = docs[self._skip:]
            if self._limit:
                docs = docs[:self._limit]
            self._docs = docs
            self._db.docs_fetched += len(docs)
            self._db.fetched_by_collection[self._collection] += len(docs)
        return self._docs

    async def to_list(self, length: int | None = None) -> list[Doc]:
        docs = self._materialise()[self._pos:]
        if length:
            docs = docs[:length]
        self._pos += len(docs)
        return docs

    def __aiter__(self) -> Cursor:
        return self

    async def __anext__(self) -> Doc:
        docs = self._materialise()
        if self._pos >= len(docs):
            raise StopAsyncIteration
        self._pos += 1
        return docs[self._pos - 1]


# ---- collections ---------------------------------------------------------------------------------
class CountedCollection:
    def __init__(self, db: CountedDatabase, name: str) -> None:
        self.database = db
        self.name = name
        self.docs: dict[Any, Doc] = {}
        self.unique: list[str] = []   # single-field unique indexes
        self.indexes: list[str] = []

    def __getattr__(self, op: str) -> Any:
        raise NotImplementedError(f"countedstore: collection operation {op!r} is not implemented "
                                  "(Tally started using a driver call the stand-in lacks)")

    def _count(self, op: str) -> None:
        self.database.calls[(op, self.name)] += 1

    # ---- lookups
    def _candidates(self, filt: Mapping[str, Any]) -> Iterable[Doc]:
        """Documents that may match: by `_id` (equality or `$in`) without a scan, else all."""
        if "_id" in filt:
            cond = filt["_id"]
            if isinstance(cond, dict) and cond and next(iter(cond)).startswith("$"):
                if set(cond) == {"$in"}:
                    out = []
                    for i in cond["$in"]:
                        doc = self.docs.get(i)
                        if doc is not None:
                            out.append(doc)
                    return out
                return list(self.docs.values())
            doc = self.docs.get(cond)
            return () if doc is None else (doc,)
        return list(self.docs.values())

    def _find_docs(self, filt: Mapping[str, Any] | None, limit: int = 0) -> list[Doc]:
        filt = filt or {}
        out = []
        for doc in self._candidates(filt):
            if matches(doc, filt):
                out.append(doc)
                if limit and len(out) >= limit:
                    break
        return out

    def _check_unique(self, doc: Doc, skip_id: Any = _MISSING) -> None:
        if doc["_id"] in self.docs and skip_id is _MISSING:
            raise DuplicateKeyError(f"E11000 duplicate key error collection: {self.name} index: _id_ "
                                    f"dup key: {{ _id: {doc['_id']!r} }}", 11000,
                                    {"keyPattern": {"_id": 1}, "keyValue": {"_id": doc["_id"]}})
        for field in self.unique:
            value = get_path(doc, field)
            if value is _MISSING:
                value = None
            for other in self.docs.values():
                if other["_id"] == skip_id or other is doc:
                    continue
                ov = get_path(other, field)
                if (None if ov is _MISSING else ov) == value:
                    raise DuplicateKeyError(f"E11000 duplicate key error collection: {self.name} index: "
                                            f"{field}_1 dup key: {{ {field}: {value!r} }}", 11000,
                                            {"keyPattern": {field: 1}, "keyValue": {field: value}})

    # ---- reads
    async def find_one(self, filter: Mapping[str, Any] | None = None, projection: Any = None,
                       *args: Any, **kwargs: Any) -> Doc | None:
        self._count("find_one")
        found = self._find_docs(filter, 1)
        if not found:
            return None
        self.database.docs_fetched += 1
        self.database.fetched_by_collection[self.name] += 1
        return project(found[0], projection)

    def find(self, filter: Mapping[str, Any] | None = None, projection: Any = None,
             *args: Any, **kwargs: Any) -> Cursor:
        self._count("find")
        return Cursor(lambda: [project(d, projection) for d in self._find_docs(filter)], self.database, self.name)

    async def count_documents(self, filter: Mapping[str, Any], *args: Any, **kwargs: Any) -> int:
        self._count("count_documents")
        return len(self._find_docs(filter))

    def aggregate(self, pipeline: list[Mapping[str, Any]], *args: Any, **kwargs: Any) -> Cursor:
        self._count("aggregate")

        def run() -> list[Doc]:
            docs: list[Doc] = list(self.docs.values())
            for stage in pipeline:
                (name, spec), = stage.items()
                if name == "$match":
                    docs = [d for d in docs if matches(d, spec)]
                elif name == "$group":
                    docs = _group(docs, spec)
                else:
                    raise NotImplementedError(f"countedstore: aggregation stage {name} is not implemented")
            return [clone(d) for d in docs]

        return Cursor(run, self.database, self.name)

    # ---- writes
    async def insert_one(self, document: Doc, *args: Any, **kwargs: Any) -> InsertOneResult:
        self._count("insert_one")
        doc = clone(document)
        if "_id" not in doc:
            doc["_id"] = document["_id"] = ObjectId()
        self._check_unique(doc)
        self.docs[doc["_id"]] = doc
        self.database.docs_written += 1
        return InsertOneResult(doc["_id"], True)

    def _update(self, filt: Mapping[str, Any], update: Mapping[str, Any], upsert: bool,
                many: bool = False, want_before: bool = False) -> tuple[int, int, Any, Doc | None, Doc | None]:
        """(matched, modified, upserted_id, before, after) of one update operation."""
        if not update or not all(k.startswith("$") for k in update):
            raise ValueError("update only works with $ operators")
        found = self._find_docs(filt, 0 if many else 1)
        if found:
            modified = 0
            before = clone(found[0]) if want_before else None
            for doc in found:
                if self.unique:
                    unique_before = [get_path(doc, f) for f in self.unique]
                    work = clone(doc)
                    if apply_update(work, update, inserting=False, strict=self.database.strict):
                        if [get_path(work, f) for f in self.unique] != unique_before:
                            self._check_unique(work, skip_id=doc["_id"])
                        doc.clear()
                        doc.update(work)
                        modified += 1
                elif apply_update(doc, update, inserting=False, strict=self.database.strict):
                    modified += 1
            self.database.docs_written += modified
            return len(found), modified, None, before, found[0]
        if not upsert:
            return 0, 0, None, None, None
        new: Doc = {}
        for key, value in _equality_fields(filt):
            set_path(new, key, clone(value))
        apply_update(new, update, inserting=True, strict=self.database.strict)
        if "_id" not in new:
            new["_id"] = ObjectId()
        self._check_unique(new)
        self.docs[new["_id"]] = new
        self.database.docs_written += 1
        return 0, 0, new["_id"], None, new

    async def find_one_and_update(self, filter: Mapping[str, Any], update: Mapping[str, Any],
                                  projection: Any = None, sort: Any = None, upsert: bool = False,
                                  return_document: bool = ReturnDocument.BEFORE, **kwargs: Any) -> Doc | None:
        self._count("find_one_and_update")
        want_after = return_document == ReturnDocument.AFTER
        plain_id = filter.get("_id")
        if not want_after and _only_id(projection) and plain_id is not None and not isinstance(plain_id, dict):
            # {_id: 1} of a document chosen by its _id: no copy of the document is needed
            matched, _n, _up, _b, _a = self._update(filter, update, upsert)
            if not matched:
                return None
            self.database.docs_fetched += 1
            self.database.fetched_by_collection[self.name] += 1
            return {"_id": plain_id}
        _m, _n, _up, before, after = self._update(filter, update, upsert, want_before=not want_after)
        result = after if want_after else before
        if result is None:
            return None
        self.database.docs_fetched += 1
        self.database.fetched_by_collection[self.name] += 1
        if result is before and not projection:
            return result  # already a copy
        return project(result, projection)

    async def update_one(self, filter: Mapping[str, Any], update: Mapping[str, Any], upsert: bool = False,
                         *args: Any, **kwargs: Any) -> UpdateResult:
        self._count("update_one")
        matched, modified, upserted, _b, _a = self._update(filter, update, upsert)
        raw: dict[str, Any] = {"n": matched or (1 if upserted is not None else 0), "nModified": modified,
                               "ok": 1.0, "updatedExisting": bool(matched)}
        if upserted is not None:
            raw["upserted"] = upserted
        return UpdateResult(raw, True)

    async def update_many(self, filter: Mapping[str, Any], update: Mapping[str, Any], upsert: bool = False,
                          *args: Any, **kwargs: Any) -> UpdateResult:
        self._count("update_many")
        matched, modified, upserted, _b, _a = self._update(filter, update, upsert, many=True)
        raw: dict[str, Any] = {"n": matched or (1 if upserted is not None else 0), "nModified": modified,
                               "ok": 1.0, "updatedExisting": bool(matched)}
        if upserted is not None:
            raw["upserted"] = upserted
        return UpdateResult(raw, True)

    async def delete_one(self, filter: Mapping[str, Any], *args: Any, **kwargs: Any) -> DeleteResult:
        self._count("delete_one")
        found = self._find_docs(filter, 1)
        for doc in found:
            del self.docs[doc["_id"]]
        return DeleteResult({"n": len(found), "ok": 1.0}, True)

    async def delete_many(self, filter: Mapping[str, Any], *args: Any, **kwargs: Any) -> DeleteResult:
        self._count("delete_many")
        found = self._find_docs(filter)
        for doc in found:
            del self.docs[doc["_id"]]
        return DeleteResult({"n": len(found), "ok": 1.0}, True)

    async def bulk_write(self, requests: list[Any], ordered: bool = True, *args: Any,
                         **kwargs: Any) -> BulkWriteResult:
        self._count("bulk_write")
        self.database._note_bulk(self.name, len(requests))
        result: dict[str, Any] = {"writeErrors": [], "writeConcernErrors": [], "nInserted": 0, "nUpserted": 0,
                                  "nMatched": 0, "nModified": 0, "nRemoved": 0, "upserted": []}
        for index, req in enumerate(requests):
            error = self._bulk_op(req, index, result)
            if error is not None:
                result["writeErrors"].append(error)
                if ordered:
                    break
        if result["writeErrors"]:
            self.database.bulk_errors += len(result["writeErrors"])
            raise BulkWriteError(result)
        return BulkWriteResult(result, True)

    def _bulk_op(self, req: Any, index: int, result: dict[str, Any]) -> dict[str, Any] | None:
        """Apply one bulk operation, adding to `result`; returns its write error, if any."""
        kind = type(req).__name__
        try:
            if kind in ("UpdateOne", "UpdateMany"):
                matched, modified, upserted, _b, _a = self._update(
                    req._filter, req._doc, bool(req._upsert), many=kind == "UpdateMany")
                result["nMatched"] += matched
                result["nModified"] += modified
                if upserted is not None:
                    result["nUpserted"] += 1
                    result["upserted"].append({"index": index, "_id": upserted})
            elif kind == "InsertOne":
                doc = clone(req._doc)
                if "_id" not in doc:
                    doc["_id"] = req._doc["_id"] = ObjectId()
                self._check_unique(doc)
                self.docs[doc["_id"]] = doc
                self.database.docs_written += 1
                result["nInserted"] += 1
            elif kind in ("DeleteOne", "DeleteMany"):
                found = self._find_docs(req._filter, 1 if kind == "DeleteOne" else 0)
                for doc in found:
                    del self.docs[doc["_id"]]
                result["nRemoved"] += len(found)
            else:
                raise NotImplementedError(f"countedstore: bulk operation {kind} is not implemented")
        except (WriteError, DuplicateKeyError) as exc:
            return {"index": index, "idx": index, "code": exc.code, "errmsg": str(exc),
                    "op": {"q": getattr(req, "_filter", None), "u": getattr(req, "_doc", None)}}
        return None

    async def create_index(self, keys: Any, unique: bool = False, *args: Any, **kwargs: Any) -> str:
        self._count("create_index")
        fields = [keys] if isinstance(keys, str) else [k for k, _ in keys]
        name = "_".join(f"{f}_1" for f in fields)
        if name not in self.indexes:
            self.indexes.append(name)
            if unique and len(fields) == 1:
                self.unique.append(fields[0])
        return name

    async def drop(self, *args: Any, **kwargs: Any) -> None:
        self._count("drop")
        self.docs.clear()
        self.unique.clear()
        self.indexes.clear()
        self.database._collections.pop(self.name, None)


def _group(docs: list[Doc], spec: Mapping[str, Any]) -> list[Doc]:
    key_spec = spec["_id"]
    groups: dict[Any, Doc] = {}
    for doc in docs:
        if isinstance(key_spec, str) and key_spec.startswith("$"):
            key = get_path(doc, key_spec[1:])
            key = None if key is _MISSING else key
        else:
            key = key_spec
        hashable = repr(key) if isinstance(key, (dict, list)) else key
        out = groups.get(hashable)
        if out is None:
            out = groups[hashable] = {"_id": key}
        for name, acc in spec.items():
            if name == "_id":
                continue
            (op, arg), = acc.items()
            if op != "$sum":
                raise NotImplementedError(f"countedstore: accumulator {op} is not implemented")
            if isinstance(arg, str) and arg.startswith("$"):
                v = get_path(doc, arg[1:])
                add = v if isinstance(v, (int, float)) and not isinstance(v, bool) else 0
            else:
                add = arg
            out[name] = out.get(name, 0) + add
    return list(groups.values())


# ---- the client ----------------------------------------------------------------------------------
class CountedClient:
    """`client.bulk_write(models)`: MongoDB 8.0's client-level bulkWrite, operations on any
    collections of the database in one counted round trip (unordered: goes on past a failed
    operation and raises `ClientBulkWriteException` naming each failed operation's `idx`)."""

    def __init__(self, db: CountedDatabase) -> None:
        self.db = db

    async def bulk_write(self, models: list[Any], ordered: bool = True, *args: Any, **kwargs: Any) -> Any:
        self.db.calls[("client_bulk_write", "")] += 1
        self.db._note_client_bulk(len(models))
        result: dict[str, Any] = {"nInserted": 0, "nUpserted": 0, "nMatched": 0, "nModified": 0, "nRemoved": 0,
                                  "upserted": []}
        errors: list[dict[str, Any]] = []
        for index, model in enumerate(models):
            name, _, coll = (model._namespace or "").partition(".")
            if name != self.db.name or not coll:
                raise NotImplementedError(f"countedstore: namespace {model._namespace!r} is not in this database")
            error = self.db[coll]._bulk_op(model, index, result)
            if error is not None:
                errors.append(error)
                if ordered:
                    break
        if errors:
            self.db.bulk_errors += len(errors)
            raise ClientBulkWriteException({"writeErrors": errors, "writeConcernErrors": [],
                                            "anySuccessful": len(errors) < len(models), **result}, False)
        return result


# ---- the database --------------------------------------------------------------------------------
class CountedDatabase:
    """`db[name]` gives a collection; `db.command("ping"|"hello")`; `db.list_collection_names()`;
    `db.client.bulk_write(…)`. `wire_version` is what `hello` reports (25 = MongoDB 8.0, which has
    the client-level bulkWrite; lower it to measure one bulk_write per collection)."""

    def __init__(self, name: str = "tally", *, strict: bool = True, wire_version: int = 25) -> None:
        self.name = name
        self.strict = strict
        self.wire_version = wire_version
        self.client = CountedClient(self)
        self._collections: dict[str, CountedCollection] = {}
        self.calls: Counter[tuple[str, str]] = Counter()
        self.docs_fetched = 0
        self.docs_written = 0
        self.bulk_errors = 0
        self.fetched_by_collection: Counter[str] = Counter()
        # bulk-write groups: the writes started in one event-loop iteration
        self.bulk_groups = 0
        self.bulk_group_writes = 0
        self.bulk_same_collection = 0      # a 2nd+ bulk_write to one collection inside one group
        self.bulk_ops = 0                  # operations inside bulk writes
        self.bulk_max_ops = 0
        self._group: Counter[str] | None = None

    def __getitem__(self, name: str) -> CountedCollection:
        coll = self._collections.get(name)
        if coll is None:
            coll = self._collections[name] = CountedCollection(self, name)
        return coll

    def get_collection(self, name: str, *args: Any, **kwargs: Any) -> CountedCollection:
        return self[name]

    def __getattr__(self, op: str) -> Any:
        if op.startswith("_"):
            raise AttributeError(op)
        raise NotImplementedError(f"countedstore: database operation {op!r} is not implemented")

    async def command(self, command: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        name = command if isinstance(command, str) else next(iter(command))
        self.calls[("command", name)] += 1
        if name == "ping":
            return {"ok": 1.0}
        if name == "hello":
            return {"ok": 1.0, "isWritablePrimary": True, "maxWireVersion": self.wire_version}
        raise OperationFailure(f"countedstore: command {name!r} is not implemented", 59)

    async def list_collection_names(self, *args: Any, **kwargs: Any) -> list[str]:
        self.calls[("list_collection_names", "")] += 1
        return sorted(n for n, c in self._collections.items() if c.docs or c.indexes)

    async def drop_collection(self, name: str, *args: Any, **kwargs: Any) -> None:
        await self[name].drop()

    def _note_bulk(self, collection: str, ops: int) -> None:
        self.bulk_ops += ops
        self.bulk_max_ops = max(self.bulk_max_ops, ops)
        self.bulk_group_writes += 1
        if self._group is None:
            self._group = Counter()
            try:
                asyncio.get_running_loop().call_soon(self._close_group)
            except RuntimeError:  # no loop: every write is its own group
                self._close_group()
        if self._group is not None:
            if self._group[collection]:
                self.bulk_same_collection += 1
            self._group[collection] += 1

    def _note_client_bulk(self, ops: int) -> None:
        """A client-level bulkWrite is a whole group by itself (all collections, one round trip)."""
        self.bulk_ops += ops
        self.bulk_max_ops = max(self.bulk_max_ops, ops)
        self.bulk_groups += 1
        self.bulk_group_writes += 1

    def _close_group(self) -> None:
        if self._group is not None:
            self.bulk_groups += 1
        self._group = None

    # ---- reporting
    def data_bytes(self) -> int:
        """What MongoDB would hold (BSON bytes): in the benchmark this data lives in Tally's process."""
        return sum(len(bson.encode(d)) for c in self._collections.values() for d in c.docs.values())

    def heap_bytes(self) -> int:
        """Python memory held by the stored documents (deep `sys.getsizeof`): the part of the
        benchmark server's RSS that a real deployment keeps in MongoDB instead."""
        seen: set[int] = set()
        total = 0
        stack: list[Any] = [c.docs for c in self._collections.values()]
        while stack:
            obj = stack.pop()
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            total += sys.getsizeof(obj)
            if isinstance(obj, dict):
                stack.extend(obj.keys())
                stack.extend(obj.values())
            elif isinstance(obj, (list, tuple)):
                stack.extend(obj)
        return total

    def round_trips(self) -> int:
        return sum(self.calls.values())

    def snapshot(self) -> dict[str, Any]:
        by_op: Counter[str] = Counter()
        for (op, _coll), n in self.calls.items():
            by_op[op] += n
        return {
            "round_trips": self.round_trips(),
            "calls_by_operation": dict(sorted(by_op.items())),
            "docs_fetched": self.docs_fetched,
            "fetched_by_collection": dict(self.fetched_by_collection),
            "docs_written": self.docs_written,
            "bulk_writes": by_op.get("bulk_write", 0) + by_op.get("client_bulk_write", 0),
            "bulk_ops": self.bulk_ops,
            "bulk_max_ops": self.bulk_max_ops,
            "bulk_groups": self.bulk_groups,
            "bulk_same_collection": self.bulk_same_collection,
            "bulk_errors": self.bulk_errors,
            "collections": len(self._collections),
            "documents": sum(len(c.docs) for c in self._collections.values()),
        }
