"""The question stage of a search: what :mod:`kb.search.question` learned, applied to one index — the
learned weight of each passage's document type, and pseudo-relevance feedback (terms shared by
the first passages of a long question). Understanding the question itself happens in
:func:`kb.search.query.parse`; its expansions are weighed in :mod:`kb.search.plan`."""
from __future__ import annotations

from typing import Callable

import numpy as np

from kb.index.postings import IndexColumns
from kb.search.question import Question, feedback_terms, type_weights
from kb.search.query import stopwords

FEEDBACK_PASSAGES = 5


def question_prior(cols: IndexColumns) -> np.ndarray | None:
    """Per passage, the learned question weight of its document type (None: none learned)."""
    weights = type_weights()
    if not weights:
        return None
    key = ("question prior", tuple(sorted(weights.items())))
    if key not in cols.cache:
        codes, values = cols.facets["type"]
        default = weights.get("*", 1.0)
        table = np.array([weights.get(v, default) for v in values] + [default], dtype=np.float32)
        cols.cache[key] = table[codes]
    return cols.cache[key]


def feedback(question: Question, texts: list[str], idf_of: Callable[[str], float]) -> list[tuple[str, float]]:
    """Feedback terms from the texts of the first passages, leaving out what the question
    already searches for."""
    typed = set(question.words) | {e.term for e in question.expansions}
    return feedback_terms(texts, idf_of, typed, stopwords())
