"""Facet counts and filters: functions over the columns of one index generation, costing the
matches (or the filter's postings), not the collection."""
from __future__ import annotations

from typing import Any

import numpy as np
from whoosh import query as Q

from kb.index.postings import IndexColumns, ranges

FACETS = ("province", "city", "district", "level", "year", "type", "models")
MAX_CACHED_FILTERS = 64


def filter_passages(whoosh_searcher, filter_q: Q.Query, cols: IndexColumns) -> np.ndarray:
    """The live passages the filter query allows, ascending (cached per index generation, shared
    by threads)."""
    filters = cols.cache.setdefault("filters", {})
    key = repr(filter_q)
    passages = filters.get(key)
    if passages is None:
        found = np.fromiter(whoosh_searcher.docs_for_query(filter_q), dtype=np.intp)
        found = np.unique(found[found < cols.n_passages])
        passages = found[cols.alive[found]]
        if len(filters) > MAX_CACHED_FILTERS:
            filters.clear()
        filters[key] = passages
    return passages


def model_postings(cols: IndexColumns) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Every (passage, model) pair of the index, ordered by passage: model names, passages,
    model numbers (per index generation)."""
    cache = cols.cache
    if "models" not in cache:
        terms = cols.field_terms("models")
        pairs = [cols.postings("models", term)[0] for term in terms]
        passages = np.concatenate(pairs).astype(np.intp) if pairs else np.zeros(0, dtype=np.intp)
        owner = np.repeat(np.arange(len(terms)), [len(p) for p in pairs])
        order = np.argsort(passages, kind="stable")
        cache["models"] = (terms, passages[order], owner[order])
    return cache["models"]


def _models_of(cols: IndexColumns, matches: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Model names, and the model number of every (match, model) pair."""
    terms, passages, owner = model_postings(cols)
    starts = np.searchsorted(passages, matches, side="left")
    return terms, owner[ranges(starts, np.searchsorted(passages, matches, side="right") - starts)]


def facet_counts(cols: IndexColumns, matches: np.ndarray) -> dict[str, list[tuple[Any, int]]]:
    """Per facet, (value, passages among ``matches``) with a count, most first; the work follows
    the matches (ascending passage numbers), not the collection."""
    out: dict[str, list[tuple[Any, int]]] = {}
    for name in FACETS:
        if name == "models":
            terms, owners = _models_of(cols, matches)
            counted = np.bincount(owners, minlength=len(terms))
            counts = list(zip(terms, counted.tolist()))
        else:
            codes, values = cols.facets[name]
            found = codes[matches]
            counted = np.bincount(found[found >= 0], minlength=len(values))
            counts = list(zip(values, counted.tolist()))
        out[name] = sorted(((k, v) for k, v in counts if v and k not in (None, "")),
                           key=lambda kv: (-kv[1], str(kv[0])))
    return out
