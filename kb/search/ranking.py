"""Term scores over the index columns for one query: BM25 (see :mod:`kb.search.scoring`) times the
document-type prior, with numpy, plus the sets of passages that hold which terms.

Everything here is sparse (:mod:`kb.search.sparse`): a query's cost follows the posting lists it
reads, not the size of the collection. The statistics are those of the live passages (N, df,
average lengths: :class:`~kb.index.postings.IndexColumns`), so a merge never changes a score."""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

import numpy as np

from kb.index.postings import DOC_FIELDS, IndexColumns
from kb.search.plan import Unit
from kb.search.scoring import bm25, holding, idf, length_norm
from kb.search.sparse import EMPTY, NOTHING, Sparse, accumulate, intersect, member, values_at


class TermCache:
    """Scores of the most used big posting lists, shared by the queries of one index
    generation, within a byte budget (the costly lists — 中华人民共和国 in 70k law passages — are
    the ones every query about laws repeats)."""

    MIN_POSTINGS, BUDGET = 4096, 64 * 2**20  # a list's passages and scores both count

    def __init__(self):
        self._items: OrderedDict[tuple, Any] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def keys(self) -> list[tuple]:
        """The cached keys, least recently used first."""
        with self._lock:
            return list(self._items)

    def drain(self) -> None:
        """Empty the cache a list at a time, yielding to other threads between lists (the
        generation it served is closed; see kb.index.generations)."""
        while True:
            with self._lock:
                if not self._items:
                    self._bytes = 0
                    return
                self._items.popitem(last=False)
            time.sleep(0)

    def put(self, key: tuple, value, size: int) -> None:
        with self._lock:
            if key in self._items or size > self.BUDGET // 4:
                return
            self._items[key] = (value, size)
            self._bytes += size
            while self._bytes > self.BUDGET:
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= dropped


class Ranking:
    """The scores of one query's terms over the columns of one index generation (cached per
    query; the big lists also in the generation's :class:`TermCache`)."""

    def __init__(self, cols: IndexColumns, shared: TermCache | None = None):
        self.cols = cols
        self.shared = shared or TermCache()
        self._scores: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self._present: dict[tuple, np.ndarray] = {}
        self.meta: Sparse = NOTHING  # the metadata units' exact scores, set by the searcher

    def term(self, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(live passage numbers ascending, scores) of one term in one field."""
        key = (fieldname, term)
        if key not in self._scores:
            cached = self.shared.get(("scores",) + key)
            self._scores[key] = cached[0] if cached else self._compute(fieldname, term)
        return self._scores[key]

    def _compute(self, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        cols = self.cols
        passages, weights = cols.postings(fieldname, term)
        if not len(passages):
            return passages.astype(np.intp), weights
        passages = passages.astype(np.intp)  # numpy converts other index types on every use
        live = cols.alive[passages]
        if not live.all():  # deleted passages count nowhere: not in df, not in the results
            passages, weights = passages[live], weights[live]
        norm = length_norm(cols.lengths[fieldname][passages], cols.avg_length[fieldname])
        scores = bm25(idf(cols.n_live, len(passages)), weights, norm) * cols.prior[passages]
        scores = scores.astype(np.float32, copy=False)
        if len(passages) >= TermCache.MIN_POSTINGS:
            self.shared.put(("scores", fieldname, term), (passages, scores), scores.nbytes + passages.nbytes)
        return passages, scores

    def idf(self, fieldname: str, term: str) -> float:
        return idf(self.cols.n_live, len(self.term(fieldname, term)[0]))

    def upper(self, units: list[Unit], then: Sparse = NOTHING) -> Sparse:
        """Per passage, the sum of the units that can hold — every term present — with their
        checks not yet applied (and ``then`` added last: the metadata's exact scores): an upper
        bound of the exact score, which ranks the candidates. Only passages some unit can match
        are in it."""
        boosts: dict[tuple[str, tuple[str, ...]], float] = {}
        for unit in units:  # units sharing field and terms (phrase, proximity) add up in one pass
            key = (unit.field, unit.terms)
            boosts[key] = boosts.get(key, 0.0) + unit.boost
        parts = []
        for (fieldname, terms), boost in boosts.items():
            if len(terms) == 1:
                passages, scores = self.term(fieldname, terms[0])
                parts.append(Sparse(passages, boost * scores))
                continue
            idx = self.present(Unit(fieldname, terms))
            for term in terms:  # each term's scores where all the terms are present
                passages, scores = self.term(fieldname, term)
                parts.append(Sparse(idx, boost * self.lookup(passages, scores, idx)))
        return accumulate(parts + [then], self.cols.n_passages)

    @staticmethod
    def lookup(passages: np.ndarray, scores: np.ndarray, cands: np.ndarray) -> np.ndarray:
        """``scores`` of ``cands`` in the sorted posting list ``passages`` (0 where absent)."""
        if not len(passages):
            return np.zeros(len(cands), dtype=np.float32)
        return values_at(passages, scores, cands)

    def present(self, unit: Unit) -> np.ndarray:
        """Live passages holding every term of the unit in its field, ascending (cached per query)."""
        key = (unit.field, unit.terms)
        if key not in self._present:
            found = self.term(unit.field, unit.terms[0])[0]
            for term in unit.terms[1:]:
                found = intersect(found, self.term(unit.field, term)[0], self.cols.n_passages)
            self._present[key] = found
        return self._present[key]

    # ---------------------------------------------------------- metadata, per document

    def doc_term(self, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(live document codes ascending, scores) of a title/unit/place term: the same BM25 every
        passage of the document would get (passage-level statistics), computed once a document."""
        key = ("doc", fieldname, term)
        if key not in self._scores:
            cols = self.cols
            codes, weights, df = cols.doc_postings(fieldname, term)
            if not len(codes):
                self._scores[key] = (EMPTY, np.zeros(0, dtype=np.float32))
                return self._scores[key]
            order = np.argsort(codes, kind="stable")
            codes, weights = codes[order], weights[order]
            last = np.ones(len(codes), dtype=bool)  # a code twice: its last entry counts, as ever
            last[:-1] = codes[1:] != codes[:-1]
            codes, weights = codes[last], weights[last]
            df -= int(cols.doc_dead[codes].sum())  # live passages holding it
            live = cols.doc_live[codes]
            codes, weights = codes[live].astype(np.intp), weights[live]
            first = cols.first_passage[codes]
            norm = length_norm(cols.lengths[fieldname][first], cols.avg_length[fieldname])
            scores = bm25(idf(cols.n_live, df), weights, norm) * cols.prior[first]
            self._scores[key] = (codes, scores.astype(np.float32, copy=False))
        return self._scores[key]

    def doc_holds(self, unit: Unit) -> np.ndarray:
        """Document codes (ascending) where the metadata unit holds — every term present and its
        check true on the field (checked once a document, on its first passage)."""
        key = ("doc", unit.field, unit.terms, unit.check, unit.proximity)
        if key not in self._present:
            codes = self.doc_term(unit.field, unit.terms[0])[0]
            for term in unit.terms[1:]:
                codes = intersect(codes, self.doc_term(unit.field, term)[0])
            if unit.check and len(codes):
                texts = self.cols.joined(unit.field, self.cols.first_passage[codes])
                codes = codes[holding(unit, texts)]
            self._present[key] = codes
        return self._present[key]

    def may_hold(self, unit: Unit, passages: np.ndarray) -> np.ndarray:
        """May the unit hold at each of ``passages``? Exact for metadata units; for text units,
        every term is present (the check itself waits for the candidates' text)."""
        if unit.field in DOC_FIELDS:
            return member(self.cols.passage_doc[passages], self.doc_holds(unit))
        return member(passages, self.present(unit), self.cols.n_passages)

    def metadata(self, units: list[Unit]) -> Sparse:
        """The exact score of the title/unit/place units, at the passages of the documents they hold in."""
        parts = []
        for unit in units:
            holds = self.doc_holds(unit)
            if len(holds):
                for term in unit.terms:
                    codes, scores = self.doc_term(unit.field, term)
                    parts.append(Sparse(holds, unit.boost * values_at(codes, scores, holds)))
        if not parts:
            return NOTHING
        by_doc = accumulate(parts)
        passages = self.cols.doc_passages(by_doc.passages)
        passages = passages[self.cols.alive[passages]]
        return Sparse(passages, by_doc.at(self.cols.passage_doc[passages]))
