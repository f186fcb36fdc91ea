"""Facet counts and filter masks: functions over the columns of one index generation."""
from __future__ import annotations

from typing import Any

import numpy as np
from whoosh import query as Q

from kb.index.postings import IndexColumns

FACETS = ("province", "city", "district", "level", "year", "type", "models")
MAX_CACHED_FILTERS = 64


def filter_mask(whoosh_searcher, filter_q: Q.Query, cols: IndexColumns) -> np.ndarray:
    """Passages the filter query allows (cached per index generation, shared by threads)."""
    filters = cols.cache.setdefault("filters", {})
    key = repr(filter_q)
    mask = filters.get(key)
    if mask is None:
        mask = np.zeros(cols.n_passages, dtype=bool)
        passages = np.fromiter(whoosh_searcher.docs_for_query(filter_q), dtype=np.int64)
        mask[passages[passages < cols.n_passages]] = True
        if len(filters) > MAX_CACHED_FILTERS:
            filters.clear()
        filters[key] = mask
    return mask


def model_postings(cols: IndexColumns) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Every (passage, model) pair of the index: model names, passages, model numbers."""
    cache = cols.cache
    if "models" not in cache:
        terms = cols.field_terms("models")
        pairs = [cols.postings("models", term)[0] for term in terms]
        passages = np.concatenate(pairs).astype(np.intp) if pairs else np.zeros(0, dtype=np.intp)
        owner = np.repeat(np.arange(len(terms)), [len(p) for p in pairs])
        cache["models"] = (terms, passages, owner)
    return cache["models"]


def facet_counts(cols: IndexColumns, mask: np.ndarray) -> dict[str, list[tuple[Any, int]]]:
    """Per facet, (value, passages among ``mask``) with a count, most first."""
    out: dict[str, list[tuple[Any, int]]] = {}
    for name in FACETS:
        if name == "models":
            terms, passages, owner = model_postings(cols)
            counted = np.bincount(owner[mask[passages]], minlength=len(terms))
            counts = list(zip(terms, counted.tolist()))
        else:
            codes, values = cols.facets[name]
            counted = np.bincount(codes[mask & (codes >= 0)], minlength=len(values))
            counts = list(zip(values, counted.tolist()))
        out[name] = sorted(((k, v) for k, v in counts if v and k not in (None, "")),
                           key=lambda kv: (-kv[1], str(kv[0])))
    return out
