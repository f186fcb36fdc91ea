"""The ranking formulas, each a small pure function: idf and BM25 (Whoosh's BM25F per field),
proximity, question coverage, same-document decay, near-duplicate collapsing, the n best.

Callers hold the statistics (:mod:`kb.search.ranking` over the index columns); nothing here reads
an index. The order of the arithmetic is part of the contract: scores must come out bit for bit
as they always have (float32 sums), so keep it when editing.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from kb.index.postings import Joined
from kb.search.plan import PROXIMITY_SLOP_BYTES, Unit

K1, B = 1.2, 0.75
SAME_DOC_DECAY = 0.6
COVERAGE_FLOOR = 0.05   # what a passage holding none of the question's words (only feedback terms) keeps
COVERAGE_POWER = 1.0    # questions: score × (share of the question's concepts held) ** this


def idf(n_passages: int, df: int) -> float:
    """Inverse passage frequency of a term held by ``df`` of ``n_passages`` passages."""
    return math.log(n_passages / (df + 1)) + 1


def length_norm(lengths: np.ndarray, avg_length: float, b: float = B) -> np.ndarray:
    """BM25's length normalisation of field lengths against the field's average."""
    return (1 - b) + b / avg_length * lengths


def bm25(term_idf: float, tf: np.ndarray, norm: np.ndarray, k1: float = K1) -> np.ndarray:
    """BM25 of term frequencies ``tf`` (weights already carrying the field boost) at lengths
    normalised to ``norm``."""
    return (term_idf * (k1 + 1)) * tf / (tf + k1 * norm)


def in_order_within(text: bytes, words: list[bytes], slop: int) -> bool:
    """True if ``words`` occur in ``text`` in order with at most ``slop`` bytes between
    neighbours in all."""
    if not words or not all(w in text for w in words):
        return False
    start = text.find(words[0])
    while start >= 0:
        pos, gaps, ok = start + len(words[0]), 0, True
        for word in words[1:]:
            nxt = text.find(word, pos)
            if nxt < 0:
                return False
            gaps += nxt - pos
            if gaps > slop:
                ok = False
                break
            pos = nxt + len(word)
        if ok:
            return True
        start = text.find(words[0], start + 1)
    return False


def holding(unit: Unit, texts: Joined, among: np.ndarray | None = None) -> np.ndarray:
    """Which of the texts (compacted, one per candidate) satisfy the unit's check; with
    ``among``, a proximity check only looks at those texts (the others come out False)."""
    if unit.proximity:
        words = [w.encode("utf-8") for w in unit.check.split(" ")]
        out = np.zeros(len(texts.pieces), dtype=bool)
        for i in (range(len(texts.pieces)) if among is None else np.flatnonzero(among).tolist()):
            out[i] = in_order_within(texts.pieces[i], words, PROXIMITY_SLOP_BYTES)
        return out
    return texts.contains(unit.check.encode("utf-8"))


def coverage(concepts: list[tuple[str, list[Unit]]], held: dict[Unit, np.ndarray],
             weight_of: Callable[[str], float]) -> np.ndarray | None:
    """Per candidate, the idf-weighted share of the question's words it holds (None: no
    concepts). ``held`` maps a unit (boost 1) to which candidates it scored for."""
    if len(concepts) < 2:
        return None
    total, acc = 0.0, None
    for word, units in concepts:
        weight = weight_of(word)
        found = [held[u] for u in units if u in held]
        if not found:
            continue
        has = np.logical_or.reduce(found)
        acc = has * weight if acc is None else acc + has * weight
        total += weight
    return None if acc is None or total <= 0 else acc / total


def coverage_factor(share: np.ndarray) -> np.ndarray:
    """What a question's score is multiplied by for the share of its concepts held (≤ 1)."""
    return COVERAGE_FLOOR + (1 - COVERAGE_FLOOR) * share ** COVERAGE_POWER


def diversify(scored: list[tuple[float, Any]], doc_of: Callable[[Any], Any], decay: float | None = None
              ) -> list[tuple[float, Any]]:
    """Each further passage of the same document (``doc_of(item)``) scores a little less, so one
    long document does not fill the page; the best passage of every document keeps its score."""
    seen: dict[Any, int] = {}
    out = []
    decay = SAME_DOC_DECAY if decay is None else decay
    for score, item in sorted(scored, key=lambda x: -x[0]):
        doc = doc_of(item)
        out.append((score * decay ** seen.get(doc, 0), item))
        seen[doc] = seen.get(doc, 0) + 1
    return sorted(out, key=lambda x: -x[0])


def collapse(ranked: list[tuple[float, int]], cluster: np.ndarray | None,
             doc_codes: np.ndarray) -> list[tuple[float, int]]:
    """Near-duplicates collapsed under their best hit: of each cluster of linked documents
    (``cluster[passage]`` ≥ 0) only the passages of its best-ranked document stay."""
    if cluster is None:
        return ranked
    leaders: dict[int, int] = {}
    out = []
    for score, passage in ranked:
        k = int(cluster[passage])
        if k < 0 or leaders.setdefault(k, int(doc_codes[passage])) == int(doc_codes[passage]):
            out.append((score, passage))
    return out


def best(scores: np.ndarray, n: int) -> np.ndarray:
    """Positions of the ``n`` best ``scores``, best first (ties: lower position)."""
    idx = np.arange(len(scores))
    if len(idx) > n:
        idx = idx[np.argpartition(-scores, n - 1)[:n]]
    return idx[np.lexsort((idx, -scores[idx]))]
