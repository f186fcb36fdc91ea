"""Term scores over the index columns for one query: BM25 (see :mod:`kb.search.scoring`) times the
document-type prior, with numpy, plus the masks of which passages hold which terms."""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from kb.index.postings import DOC_FIELDS, IndexColumns
from kb.search.plan import Unit
from kb.search.scoring import bm25, holding, idf, length_norm


class TermCache:
    """Scores and masks of the most used big posting lists, shared by the queries of one index
    generation, within a byte budget (the costly lists — 中华人民共和国 in 70k law passages — are
    the ones every query about laws repeats)."""

    MIN_POSTINGS, BUDGET = 4096, 32 * 2**20

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
        self._has: dict[tuple[str, str], np.ndarray] = {}
        self._present: dict[tuple, np.ndarray] = {}
        self.meta = np.zeros(cols.n_passages, dtype=np.float32)  # per passage, set by the searcher
        self._no_doc_term = (np.zeros(cols.ndoc_codes + 1, dtype=np.float32),
                             np.zeros(cols.ndoc_codes + 1, dtype=bool))

    def term(self, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(passage numbers ascending, scores) of one term in one field."""
        key = (fieldname, term)
        if key not in self._scores:
            cached = self.shared.get(("scores",) + key)
            self._scores[key] = cached[0] if cached else self._compute(fieldname, term)
        return self._scores[key]

    def _compute(self, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        cols = self.cols
        passages, weights = cols.postings(fieldname, term)
        if not len(passages):
            return passages, weights
        passages = passages.astype(np.intp)  # numpy converts other index types on every use
        norm = length_norm(cols.lengths[fieldname][passages], cols.avg_length[fieldname])
        scores = bm25(idf(cols.n_passages, len(passages)), weights, norm) * cols.prior[passages]
        scores = scores.astype(np.float32, copy=False)
        if len(passages) >= TermCache.MIN_POSTINGS:
            self.shared.put(("scores", fieldname, term), (passages, scores), scores.nbytes)
        return passages, scores

    def idf(self, fieldname: str, term: str) -> float:
        return idf(self.cols.n_passages, len(self.term(fieldname, term)[0]))

    def upper(self, units: list[Unit]) -> np.ndarray:
        """Per passage, the sum of the units that can hold — every term present — with their
        checks not yet applied: an upper bound of the exact score, which ranks the candidates.
        A passage no unit can match scores 0."""
        acc = np.zeros(self.cols.n_passages, dtype=np.float32)
        boosts: dict[tuple[str, tuple[str, ...]], float] = {}
        for unit in units:  # units sharing field and terms (phrase, proximity) add up in one pass
            key = (unit.field, unit.terms)
            boosts[key] = boosts.get(key, 0.0) + unit.boost
        for (fieldname, terms), boost in boosts.items():
            if len(terms) == 1:
                passages, scores = self.term(fieldname, terms[0])
                np.add.at(acc, passages, boost * scores)
                continue
            present = self.present(Unit(fieldname, terms))
            idx = np.flatnonzero(present)
            for term in terms:  # each term's scores where all the terms are present
                passages, scores = self.term(fieldname, term)
                if 4 * len(idx) < len(passages):  # few such passages: look them up
                    np.add.at(acc, idx, boost * self.lookup(passages, scores, idx))
                else:
                    np.add.at(acc, passages, boost * scores * present[passages])
        return acc

    @staticmethod
    def lookup(passages: np.ndarray, scores: np.ndarray, cands: np.ndarray) -> np.ndarray:
        """``scores`` of ``cands`` in the sorted posting list ``passages`` (0 where absent)."""
        if not len(passages):
            return np.zeros(len(cands), dtype=np.float32)
        idx = np.minimum(np.searchsorted(passages, cands), len(passages) - 1)
        return np.where(passages[idx] == cands, scores[idx], np.float32(0))

    def has(self, fieldname: str, term: str) -> np.ndarray:
        """Passages holding ``term`` in ``fieldname`` (cached per query)."""
        key = (fieldname, term)
        if key not in self._has:
            cached = self.shared.get(("has",) + key)
            if cached:
                self._has[key] = cached[0]
            else:
                passages = self.term(fieldname, term)[0]
                mask = np.zeros(self.cols.n_passages, dtype=bool)
                mask[passages] = True
                if len(passages) >= TermCache.MIN_POSTINGS:
                    self.shared.put(("has",) + key, mask, mask.nbytes)
                self._has[key] = mask
        return self._has[key]

    def present(self, unit: Unit) -> np.ndarray:
        """Passages holding every term of the unit in its field (cached per query)."""
        key = (unit.field, unit.terms)
        if key not in self._present:
            mask = self.has(unit.field, unit.terms[0]).copy()
            for term in unit.terms[1:]:
                mask &= self.has(unit.field, term)
            self._present[key] = mask
        return self._present[key]

    # ---------------------------------------------------------- metadata, per document

    def doc_term(self, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(score, holds) per document code of a title/unit/place term: the same BM25 every
        passage of the document would get (passage-level statistics), computed once a document."""
        key = ("doc", fieldname, term)
        if key not in self._scores:
            cols = self.cols
            codes, weights, df = cols.doc_postings(fieldname, term)
            if not len(codes):
                self._scores[key] = self._no_doc_term
                return self._no_doc_term
            scores = np.zeros(cols.ndoc_codes + 1, dtype=np.float32)
            holds = np.zeros(cols.ndoc_codes + 1, dtype=bool)
            first = cols.first_passage[codes]
            norm = length_norm(cols.lengths[fieldname][first], cols.avg_length[fieldname])
            scores[codes] = bm25(idf(cols.n_passages, df), weights, norm) * cols.prior[first]
            holds[codes] = True
            self._scores[key] = (scores, holds)
        return self._scores[key]

    def doc_holds(self, unit: Unit) -> np.ndarray:
        """Per document code: does the metadata unit hold — every term present and its check
        true on the field (checked once a document, on its first passage)?"""
        key = ("doc", unit.field, unit.terms, unit.check, unit.proximity)
        if key not in self._present:
            if any(self.doc_term(unit.field, t) is self._no_doc_term for t in unit.terms):
                self._present[key] = self._no_doc_term[1]
                return self._present[key]
            mask = self.doc_term(unit.field, unit.terms[0])[1].copy()
            for term in unit.terms[1:]:
                mask &= self.doc_term(unit.field, term)[1]
            if unit.check and mask.any():
                codes = np.flatnonzero(mask)
                texts = self.cols.joined(unit.field, self.cols.first_passage[codes])
                mask[codes] = holding(unit, texts)
            self._present[key] = mask
        return self._present[key]

    def may_hold(self, unit: Unit, passages: np.ndarray | None = None) -> np.ndarray:
        """May the unit hold, per passage (or for ``passages`` only)? Exact for metadata units;
        for text units, every term is present (the check itself waits for the candidates' text)."""
        if unit.field in DOC_FIELDS:
            docs = self.cols.passage_doc if passages is None else self.cols.passage_doc[passages]
            return self.doc_holds(unit)[docs]
        present = self.present(unit)
        return present if passages is None else present[passages]

    def metadata(self, units: list[Unit]) -> np.ndarray:
        """The exact score per passage of the title/unit/place units."""
        acc = np.zeros(self.cols.ndoc_codes + 1, dtype=np.float32)
        for unit in units:
            holds = self.doc_holds(unit)
            if holds is not self._no_doc_term[1] and holds.any():
                for term in unit.terms:
                    acc += unit.boost * self.doc_term(unit.field, term)[0] * holds
        return acc[self.cols.passage_doc]
