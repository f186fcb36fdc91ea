"""Sets of passages as sorted arrays, and values over them: what a query's work is made of.

A query touches the posting lists of its terms and nothing else — no array as long as the
collection is made, zeroed or scanned per query (issue 23). A set of passages is a sorted array of
distinct passage numbers; :class:`Sparse` pairs one with a value per passage (a term's scores, a
query's bound). Each operation is a small pure function costing O(k log k) in the sizes of its
inputs (``searchsorted`` of the smaller into the larger where that is cheaper) — except
:func:`accumulate` for a query whose postings are a large share of the collection, which takes one
pass over a reused scratch array instead of sorting them (measured faster from 1/16 on).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

EMPTY = np.zeros(0, dtype=np.intp)


@dataclass(frozen=True)
class Sparse:
    """Values at some passages: ``passages`` ascending and distinct, ``values`` float32 beside them."""

    passages: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.passages)

    def at(self, passages: np.ndarray) -> np.ndarray:
        """The values at ``passages`` (0 where absent)."""
        return values_at(self.passages, self.values, passages)


NOTHING = Sparse(EMPTY, np.zeros(0, dtype=np.float32))


def union(sets: list[np.ndarray]) -> np.ndarray:
    """The sorted union of sorted sets (a stable sort merges the sorted runs)."""
    sets = [s for s in sets if len(s)]
    if not sets:
        return EMPTY
    if len(sets) == 1:
        return sets[0]
    merged = np.sort(np.concatenate(sets), kind="stable")
    return merged[_firsts(merged)]


def _firsts(ordered: np.ndarray) -> np.ndarray:
    """Which items of a sorted array differ from the one before (the first of each value)."""
    first = np.empty(len(ordered), dtype=bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return first


def intersect(a: np.ndarray, b: np.ndarray, size: int | None = None) -> np.ndarray:
    """The sorted intersection of two sorted sets (the smaller looked up in the larger)."""
    if len(a) > len(b):
        a, b = b, a
    if not len(a):
        return a
    return a[member(a, b, size)]


def member(items: np.ndarray, among: np.ndarray, size: int | None = None) -> np.ndarray:
    """Which of ``items`` are in the sorted set ``among`` (binary search; with ``size``, the
    collection's, big sets are marked in the thread's scratch instead: O(items + among))."""
    if not len(among) or not len(items):
        return np.zeros(len(items), dtype=bool)
    if size is not None and min(len(items), len(among)) * SCRATCH_SHARE > size:
        mark = scratch_for(size).mark
        mark[among] = True
        found = mark[items]
        mark[among] = False
        return found
    idx = np.minimum(np.searchsorted(among, items), len(among) - 1)
    return among[idx] == items


def values_at(passages: np.ndarray, values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """``values`` (beside the sorted ``passages``) at ``wanted``, 0 where absent."""
    if not len(passages):
        return np.zeros(len(wanted), dtype=values.dtype if len(values) else np.float32)
    idx = np.minimum(np.searchsorted(passages, wanted), len(passages) - 1)
    return np.where(passages[idx] == wanted, values[idx], values.dtype.type(0))


class Scratch:
    """A thread's reusable accumulator over a whole collection, for the queries whose postings are
    a large share of it: made once (per thread and collection size), never zeroed whole — only
    the places a query touched are reset after it."""

    def __init__(self, size: int):
        self.acc = np.zeros(size, dtype=np.float32)
        self.seen = np.zeros(size, dtype=bool)
        self.mark = np.zeros(size, dtype=bool)


_scratch = threading.local()
SCRATCH_SHARE = 16  # postings above 1/16 of the collection: one pass over it beats sorting them


def scratch_for(size: int) -> Scratch:
    """This thread's scratch for a collection of ``size`` passages."""
    held = getattr(_scratch, "value", None)
    if held is None or len(held.acc) != size:
        held = _scratch.value = Scratch(size)
    return held


def accumulate(parts: list[Sparse], size: int | None = None) -> Sparse:
    """The sum of sparse parts, added in their order (float32, so the sum of every passage comes
    out bit for bit as adding the parts into one array of the whole collection would).

    The parts' passages are merged by a stable sort, costing O(P log P) in the postings P; where
    P is a large share of the collection (``size``), one pass over a reused scratch array costs
    less and gives the same sums (:func:`accumulate_dense`)."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return NOTHING
    if len(parts) == 1:
        return Sparse(parts[0].passages, np.float32(0) + parts[0].values)
    if size is not None and sum(len(p) for p in parts) * SCRATCH_SHARE > size:
        return accumulate_dense(parts, scratch_for(size))
    joined = np.concatenate([p.passages for p in parts])
    order = np.argsort(joined, kind="stable")  # merges the sorted runs
    first = _firsts(joined[order])
    where = np.empty(len(joined), dtype=np.intp)  # each item's place in the union
    where[order] = np.cumsum(first) - 1
    acc = np.zeros(int(first.sum()), dtype=np.float32)
    start = 0
    for part in parts:  # part after part, as the sum over the whole collection added them
        acc[where[start:start + len(part)]] += part.values  # distinct within a part
        start += len(part)
    return Sparse(joined[order][first], acc)


def accumulate_dense(parts: list[Sparse], scratch: Scratch) -> Sparse:
    """:func:`accumulate` through a scratch array as long as the collection (left as it was found)."""
    acc, seen = scratch.acc, scratch.seen
    for part in parts:
        acc[part.passages] += part.values
        seen[part.passages] = True
    passages = np.flatnonzero(seen)
    out = Sparse(passages, acc[passages])
    acc[passages] = 0
    seen[passages] = False
    return out
