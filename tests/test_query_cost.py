"""A query's work follows the postings it reads: no array as long as the collection is made,
copied, zeroed or scanned per query (issue 23).

The per-generation arrays of the columns (alive, priors, lengths, document codes, facet codes, the
clusters) are swapped for spies that record every whole-array operation, and numpy's makers of
new arrays for ones that record collection-sized arrays; then queries of every kind run on a real
index (rare words, so their postings are a small part of it) and nothing may be recorded. The one
exception by design — a query whose postings exceed 1/16 of the collection takes one pass over a
reused per-thread scratch instead of sorting them — is shown apart.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from conftest import LAWS_SAMPLE

QUERIES = [
    ("两楼联动", {}), ("“金色纽带”", {}), ("两楼联动 -红色", {}), ("标题:两新组织", {}),
    ("两楼联动 地区:上海", {}), ("类型:经验案例 两楼联动", {}), ("老旧小区没有物业怎么办", {}),
    ("在职党员回社区报到有什么要求？", {}), ("地区:上海", {}), ("类型:经验案例 年份:2019", {}), ("两楼联动", {"type": ["经验案例"], "year": ["2018-2020"]}), ("社区 楼宇", {}),
]


class Spy(np.ndarray):
    """An array that records any operation on all of it (an element or a gather is fine)."""

    log: list[str] = []

    def _whole(self, what: str) -> None:
        Spy.log.append(f"{what} over {self.size}")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if any(isinstance(x, Spy) for x in inputs):
            self._whole(f"{ufunc.__name__}.{method}")
        plain = [x.view(np.ndarray) if isinstance(x, Spy) else x for x in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(x.view(np.ndarray) if isinstance(x, Spy) else x for x in kwargs["out"])
        return getattr(ufunc, method)(*plain, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        self._whole(func.__name__)
        plain = [a.view(np.ndarray) if isinstance(a, Spy) else a for a in args]
        return func(*plain, **kwargs)

    def __getitem__(self, key):
        base = self.view(np.ndarray)
        if isinstance(key, slice) or key is Ellipsis or (isinstance(key, np.ndarray) and key.dtype == bool):
            self._whole("slice or mask")
        return base[key]

    def __setitem__(self, key, value):
        self._whole("assignment")
        self.view(np.ndarray)[key] = value

    def copy(self, *a, **kw):
        self._whole("copy")
        return self.view(np.ndarray).copy(*a, **kw)

    def __iter__(self):
        self._whole("iteration")
        return iter(self.view(np.ndarray))

    def __len__(self):
        return self.view(np.ndarray).__len__()


def _spy(array):
    return array if array is None else array.view(Spy)


@pytest.fixture(scope="module")
def big_searcher(tmp_path_factory, corpus_docs):
    """The shipped corpus among many law passages: its rare words touch a sliver of the index."""
    from kb.ingest.pipeline import rebuild
    from kb.ingest.readers import read_path
    from kb.search import Searcher

    folder = tmp_path_factory.mktemp("cost") / "index"
    rebuild(folder, list(corpus_docs) + list(read_path(LAWS_SAMPLE)))
    with Searcher(folder) as searcher:
        yield searcher


def test_a_query_touches_no_collection_sized_array(big_searcher, monkeypatch):
    searcher = big_searcher
    for query, filters in QUERIES:  # once, so the generation's own arrays and caches exist
        searcher.search(query, filters=filters, facets=True)
    cols = searcher.columns()
    n = cols.n_passages
    assert n > 1500
    for name in ("alive", "prior", "doc_codes", "passage_doc"):
        monkeypatch.setattr(cols, name, _spy(getattr(cols, name)))
    monkeypatch.setattr(cols, "lengths", {f: _spy(a) for f, a in cols.lengths.items()})
    monkeypatch.setattr(cols, "facets", {f: (_spy(c), v) for f, (c, v) in cols.facets.items()})
    for key, value in list(cols.cache.items()):
        if isinstance(value, np.ndarray) and value.size == n:
            cols.cache[key] = _spy(value)
        elif isinstance(value, tuple) and key and key[0] == "clusters":
            cols.cache[key] = tuple(_spy(v) if isinstance(v, np.ndarray) else v for v in value)

    made: list[str] = []
    for maker in ("zeros", "ones", "full", "empty", "arange"):
        original = getattr(np, maker)

        def recording(*args, _original=original, _maker=maker, **kwargs):
            out = _original(*args, **kwargs)
            if getattr(out, "size", 0) >= n:
                made.append(f"np.{_maker} of {out.size}")
            return out

        monkeypatch.setattr(np, maker, recording)

    import kb.search.sparse as sparse

    passes: list[str] = []  # queries that took a pass over the thread's scratch instead
    monkeypatch.setattr(sparse, "scratch_for", lambda size, _f=sparse.scratch_for: passes.append(size) or _f(size))
    Spy.log = []
    seen = 0
    for query, filters in QUERIES:
        passes.clear()
        found = searcher.search(query, filters=filters, facets=True)
        seen += len(found.hits)
        assert not Spy.log and not made, (query, Spy.log[:5], made[:5])
        if "两楼联动" in query and "社区" not in query:
            assert not passes, query  # a rare word: nothing but its postings
    assert seen  # the queries found something: the check looked at real work
    # the one exception, by design: postings over 1/16 of the collection take one pass over a
    # reused scratch (cheaper than sorting them) — still no array made, copied or zeroed whole
    passes.clear()
    searcher.search("条例 规定 管理 法律", facets=True)
    assert passes and not made and not Spy.log


def test_the_spies_see_a_whole_array_pass(big_searcher):
    """The spy itself: what the old query path did per query is recorded."""
    alive = big_searcher.columns().alive.view(Spy)
    Spy.log = []
    mask = alive.copy()
    mask &= alive
    np.flatnonzero(alive)
    alive[np.array([0, 1])]  # a gather is fine
    assert len(Spy.log) == 3, Spy.log


def _sets(draw_lists):
    return [np.unique(np.asarray(x, dtype=np.intp)) for x in draw_lists]


_lists = st.lists(st.lists(st.integers(0, 299), max_size=120), min_size=1, max_size=8)


@settings(max_examples=200, deadline=None)
@given(_lists, st.data())
def test_both_ways_of_accumulating_give_the_sums_of_one_collection_array(lists, data):
    """The sort-merge and the scratch pass add every part in order: bit for bit the sums a
    collection-sized float32 array gives (what the ranking always computed)."""
    from kb.search.sparse import Scratch, Sparse, accumulate, accumulate_dense, intersect, member

    parts = []
    for passages in _sets(lists):
        values = np.asarray(data.draw(st.lists(st.floats(0.125, 50, width=32), min_size=len(passages),
                                                max_size=len(passages))), dtype=np.float32)
        parts.append(Sparse(passages, values))
    whole = np.zeros(300, dtype=np.float32)
    for part in parts:
        np.add.at(whole, part.passages, part.values)
    touched = np.unique(np.concatenate([p.passages for p in parts]))
    merged = accumulate(parts)
    scratch = Scratch(300)
    dense = accumulate_dense([p for p in parts if len(p)], scratch) if any(len(p) for p in parts) else merged
    for got in (merged, dense):
        assert np.array_equal(got.passages, touched)
        assert got.values.tobytes() == whole[touched].tobytes()
    assert not scratch.acc.any() and not scratch.seen.any()  # left as found
    a, b = parts[0].passages, parts[-1].passages
    assert np.array_equal(intersect(a, b), np.intersect1d(a, b))
    assert np.array_equal(intersect(a, b, size=300), np.intersect1d(a, b))  # the scratch way
    assert np.array_equal(member(a, b, size=300), np.isin(a, b))
