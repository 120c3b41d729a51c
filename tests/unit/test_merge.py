"""server.storage.merge: per-document merging of update operators, conflict splitting."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from server.storage.merge import MergedUpdates, Update, merge


def ops_of(merged: MergedUpdates, collection: str = "c") -> list[tuple[Any, dict[str, Any]]]:
    return merged.operations(collection)


# (id, updates for _id "x" in collection "c", expected operations("c"))
MERGES = [
    ("inc-summed",
     [{"$inc": {"d.4.t": 1}}, {"$inc": {"d.4.t": 2, "d.4.n": 1}}],
     [("x", {"$inc": {"d.4.t": 3, "d.4.n": 1}})]),
    ("inc-floats-summed",
     [{"$inc": {"s": 0.5}}, {"$inc": {"s": 1.25}}],
     [("x", {"$inc": {"s": 1.75}})]),
    ("set-last-wins",
     [{"$set": {"m": "2024:10"}}, {"$set": {"m": "2024:11"}}],
     [("x", {"$set": {"m": "2024:11"}})]),
    ("max-reduced",
     [{"$max": {"ls": 5}}, {"$max": {"ls": 9}}, {"$max": {"ls": 7}}],
     [("x", {"$max": {"ls": 9}})]),
    ("min-reduced",
     [{"$min": {"fs": 5}}, {"$min": {"fs": 3}}, {"$min": {"fs": 4}}],
     [("x", {"$min": {"fs": 3}})]),
    ("add-to-set-union-keeps-first-seen-order",
     [{"$addToSet": {"list": ["a", "b"]}}, {"$addToSet": {"list": ["b", "c"]}}, {"$addToSet": {"list": ["a"]}}],
     [("x", {"$addToSet": {"list": {"$each": ["a", "b", "c"]}}})]),
    ("set-on-insert-first-wins",
     [{"$setOnInsert": {"fs": 1}}, {"$setOnInsert": {"fs": 2}}],
     [("x", {"$setOnInsert": {"fs": 1}})]),
    ("different-operators-different-paths-share-a-document",
     [{"$inc": {"d.4.t": 1}, "$set": {"m": "2024:11"}}, {"$max": {"x": 1}, "$min": {"y": 2}}],
     [("x", {"$inc": {"d.4.t": 1}, "$set": {"m": "2024:11"}, "$max": {"x": 1}, "$min": {"y": 2}})]),
    ("sibling-prefix-is-no-conflict",
     [{"$inc": {"a.b": 1}}, {"$inc": {"a.bc": 1}}, {"$inc": {"ab": 1}}],
     [("x", {"$inc": {"a.b": 1, "a.bc": 1, "ab": 1}})]),
    ("parent-then-child-split",
     [{"$set": {"a": {"b": 1}}}, {"$inc": {"a.b": 1}}],
     [("x", {"$set": {"a": {"b": 1}}}), ("x", {"$inc": {"a.b": 1}})]),
    ("child-then-parent-split",
     [{"$inc": {"a.b.c": 1}}, {"$set": {"a": {}}}],
     [("x", {"$inc": {"a.b.c": 1}}), ("x", {"$set": {"a": {}}})]),
    ("same-path-two-operators-split",
     [{"$set": {"m": 1}}, {"$inc": {"m": 1}}],
     [("x", {"$set": {"m": 1}}), ("x", {"$inc": {"m": 1}})]),
    ("same-path-set-and-set-on-insert-split",
     [{"$setOnInsert": {"a": 1}}, {"$set": {"a": 2}}],
     [("x", {"$setOnInsert": {"a": 1}}), ("x", {"$set": {"a": 2}})]),
    ("three-level-chain-three-documents",
     [{"$inc": {"a": 1}}, {"$set": {"a.b": 1}}, {"$set": {"a.b.c": 1}}],
     [("x", {"$inc": {"a": 1}}), ("x", {"$set": {"a.b": 1}}), ("x", {"$set": {"a.b.c": 1}})]),
    ("untouched-paths-stay-in-first-document-touched-paths-keep-their-order",
     [{"$inc": {"a": 1}}, {"$set": {"a.b": 1}}, {"$inc": {"z": 1}}, {"$inc": {"a": 2}}],
     [("x", {"$inc": {"a": 1, "z": 1}}), ("x", {"$set": {"a.b": 1}}), ("x", {"$inc": {"a": 2}})]),
]


@pytest.mark.parametrize("updates,expected", [c[1:] for c in MERGES], ids=[c[0] for c in MERGES])
def test_merge_operations(updates: list[dict[str, Any]], expected: list[tuple[Any, dict[str, Any]]]) -> None:
    merged = merge(Update("c", "x", u) for u in updates)
    assert ops_of(merged) == expected
    assert len(merged) == len(expected)
    assert merged.count == len(updates)


def test_merge_keeps_ids_and_collections_apart() -> None:
    merged = merge([
        Update("users", "a_2024:11", {"$inc": {"d.4.t": 1}}),
        Update("users", "a_2024:0", {"$inc": {"d.u": 1}}),
        Update("devices", "a_2024:11", {"$inc": {"d.4.t": 1}}),
        Update("users", "a_2024:11", {"$inc": {"d.4.t": 1}}),
    ])
    assert merged.collections() == ["devices", "users"]
    assert sorted(merged.operations("users")) == [("a_2024:0", {"$inc": {"d.u": 1}}),
                                                  ("a_2024:11", {"$inc": {"d.4.t": 2}})]
    assert merged.operations("devices") == [("a_2024:11", {"$inc": {"d.4.t": 1}})]
    assert merged.operations("carriers") == []
    merged.drop_collection("users")
    assert merged.collections() == ["devices"]


def test_merge_does_not_mutate_inputs_and_operations_is_repeatable() -> None:
    first = Update("c", "x", {"$addToSet": {"list": ["a"]}, "$inc": {"n": 1}})
    second = Update("c", "x", {"$addToSet": {"list": ["b"]}, "$inc": {"n": 1}})
    snapshot = copy.deepcopy((first.ops, second.ops))
    merged = merge([first, second])
    once = merged.operations("c")
    twice = merged.operations("c")
    assert once == twice == [("x", {"$addToSet": {"list": {"$each": ["a", "b"]}}, "$inc": {"n": 2}})]
    assert (first.ops, second.ops) == snapshot


# ---- absorb: an older pending batch takes a newer one --------------------------------------

def test_absorb_newer_set_wins_and_counts_add_up() -> None:
    older = merge([Update("c", "x", {"$set": {"m": "old"}, "$inc": {"n": 1}, "$setOnInsert": {"fs": 1}})])
    newer = merge([
        Update("c", "x", {"$set": {"m": "new"}, "$inc": {"n": 2}, "$setOnInsert": {"fs": 2}}),
        Update("c", "x", {"$inc": {"n": 4}, "$addToSet": {"l": ["a"]}}),
        Update("c", "y", {"$inc": {"n": 1}}),
    ])
    older.absorb(newer)
    assert older.operations("c") == [
        ("x", {"$set": {"m": "new"}, "$inc": {"n": 7}, "$setOnInsert": {"fs": 1},
               "$addToSet": {"l": {"$each": ["a"]}}}),
        ("y", {"$inc": {"n": 1}}),
    ]
    assert older.count == 4
    assert len(older) == 2


def test_absorb_leaves_the_newer_batch_untouched() -> None:
    older = merge([Update("c", "x", {"$addToSet": {"l": ["a"]}})])
    newer = merge([Update("c", "x", {"$addToSet": {"l": ["b"]}}), Update("c", "z", {"$addToSet": {"l": ["q"]}})])
    before = newer.operations("c")
    older.absorb(newer)
    older.add(Update("c", "z", {"$addToSet": {"l": ["r"]}}))
    assert newer.operations("c") == before
    assert older.operations("c") == [("x", {"$addToSet": {"l": {"$each": ["a", "b"]}}}),
                                     ("z", {"$addToSet": {"l": {"$each": ["q", "r"]}}})]


def test_absorb_keeps_conflicts_split() -> None:
    older = merge([Update("c", "x", {"$inc": {"a": 1}})])
    newer = merge([Update("c", "x", {"$set": {"a": 5}}), Update("c", "x", {"$inc": {"b": 1}})])
    older.absorb(newer)
    assert older.operations("c") == [("x", {"$inc": {"a": 1, "b": 1}}), ("x", {"$set": {"a": 5}})]


# ---- semantics: applying the merged documents in order == applying every update in order ----

def _apply(doc: dict[str, Any] | None, ops: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A tiny MongoDB upsert for flat paths (enough for these tables)."""
    inserting = doc is None
    out = {} if doc is None else dict(doc)
    for op, fields in ops.items():
        for path, value in fields.items():
            if op == "$inc":
                out[path] = out.get(path, 0) + value
            elif op == "$set":
                out[path] = value
            elif op == "$max":
                out[path] = value if path not in out else max(out[path], value)
            elif op == "$min":
                out[path] = value if path not in out else min(out[path], value)
            elif op == "$addToSet":
                items = value["$each"] if isinstance(value, dict) else value
                current = list(out.get(path, []))
                current.extend(v for v in items if v not in current)
                out[path] = current
            elif op == "$setOnInsert" and inserting:
                out[path] = value
    return out


SEQUENCES = [
    ("inc-set-inc", [{"$inc": {"a": 1}}, {"$set": {"a": 10}}, {"$inc": {"a": 2}}]),
    ("set-inc-set", [{"$set": {"a": 1}}, {"$inc": {"a": 1}}, {"$set": {"a": 5}}]),
    ("max-set-max", [{"$max": {"a": 3}}, {"$set": {"a": 1}}, {"$max": {"a": 2}}]),
    ("insert-only-first", [{"$setOnInsert": {"a": 1}, "$inc": {"n": 1}}, {"$setOnInsert": {"a": 2}, "$inc": {"n": 1}}]),
    ("mixed-no-conflict", [{"$inc": {"a": 1}, "$set": {"m": 1}}, {"$max": {"b": 2}, "$set": {"m": 2}},
                           {"$addToSet": {"l": ["x"]}}, {"$addToSet": {"l": ["y", "x"]}}, {"$min": {"c": 1}}]),
]


@pytest.mark.parametrize("updates", [c[1] for c in SEQUENCES], ids=[c[0] for c in SEQUENCES])
def test_merged_documents_apply_like_the_original_sequence(updates: list[dict[str, Any]]) -> None:
    sequential: dict[str, Any] | None = None
    for u in updates:
        sequential = _apply(sequential, u)
    merged_result: dict[str, Any] | None = None
    for _id, ops in merge(Update("c", "x", u) for u in updates).operations("c"):
        merged_result = _apply(merged_result, ops)
    assert merged_result == sequential


# ---- merged updates applied in order == the original updates applied one by one (MongoDB rules) ---
PATHS = ("a", "a.b", "a.b.c", "a.c", "ab", "d.1.t", "d.1.2.t", "d.1", "m")
OPS = ("$inc", "$set", "$max", "$min", "$addToSet")  # $setOnInsert: per batch by design (see the table)


def _random_update(rnd: Any) -> dict[str, dict[str, Any]]:
    ops: dict[str, dict[str, Any]] = {}
    used: list[str] = []
    for _ in range(rnd.randint(1, 4)):
        op, path = rnd.choice(OPS), rnd.choice(PATHS)
        if any(path == u or path.startswith(u + ".") or u.startswith(path + ".") for u in used):
            continue  # one update document never conflicts with itself (as Tally's builders)
        used.append(path)
        value: Any = [rnd.randint(0, 3) for _ in range(rnd.randint(1, 3))] if op == "$addToSet" \
            else rnd.randint(1, 5)
        ops.setdefault(op, {})[path] = value
    return ops


def _as_mongo(ops: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out = dict(ops)
    if "$addToSet" in out:
        out["$addToSet"] = {k: {"$each": v} for k, v in out["$addToSet"].items()}
    return out


@pytest.mark.parametrize("seed", range(300))
def test_merged_documents_do_what_the_updates_do_one_by_one(seed: int) -> None:
    import random

    from pymongo.errors import WriteError

    from bench.countedstore import apply_update

    rnd = random.Random(seed)
    updates = [_random_update(rnd) for _ in range(rnd.randint(2, 8))]
    one_by_one: dict[str, Any] = {"_id": "x"}
    try:
        for i, ops in enumerate(updates):
            apply_update(one_by_one, _as_mongo(copy.deepcopy(ops)), inserting=i == 0)
    except WriteError:
        return  # MongoDB itself rejects this sequence (e.g. $inc on a parent set to a number)
    merged = merge(Update("c", "x", copy.deepcopy(ops)) for ops in updates)
    together: dict[str, Any] = {"_id": "x"}
    for i, (_id, ops) in enumerate(merged.operations("c")):
        apply_update(together, ops, inserting=i == 0)  # strict: no conflicting paths in one document
    assert together == one_by_one, updates
