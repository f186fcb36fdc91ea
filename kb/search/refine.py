"""Refining a result list: sort by relevance or date, and 在结果中检索 (further queries that every
passage must also satisfy, chained). Data only; the pages and the API call :func:`refined_search`.

Date order and refinement work over the query's best ``POOL`` passages (ranked as usual, each
further passage of a document already decayed), so "newest first" lists the newest of the relevant
passages, not every passage of a common word.
"""
from __future__ import annotations

from typing import Any

from kb.search import ParsedQuery, SearchResult, as_parsed, parse, snippet_fields, synonym_groups

SORTS = ("relevance", "newest", "oldest")
SORT_LABELS = {"relevance": "相关度", "newest": "最新", "oldest": "最早"}
POOL = 200
MAX_WITHIN = 5


def compact(text: str) -> str:
    return "".join(str(text or "").lower().split())


def satisfies(hit: dict[str, Any], query: str | ParsedQuery) -> bool:
    """Whether a passage (its text or title) holds every word of the query (or a synonym of
    it), its quoted phrases, and none of its -excluded words."""
    parsed = as_parsed(query)
    text = compact(hit.get("passage", "")) + "\n" + compact(hit.get("title", ""))
    for phrase in parsed.phrases:
        if compact(phrase) not in text:
            return False
    for word in parsed.keywords:
        word = compact(word)
        alternatives = {word} | {compact(m) for g in synonym_groups() if word in map(compact, g) for m in g}
        if not any(a and a in text for a in alternatives):
            return False
    return not any(compact(x) in text for x in parsed.excluded)


def within_filters(within: list[ParsedQuery]) -> dict[str, list[str]]:
    """Field filters written in the refining queries (地区:上海 …) apply to the whole search."""
    filters: dict[str, list[str]] = {}
    for parsed in within:
        for name, values in parsed.filters.items():
            filters.setdefault(name, []).extend(values)
    return filters


def sort_hits(hits: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    """Newest or oldest first (relevance order kept within a year; undated passages last)."""
    if sort not in ("newest", "oldest"):
        return hits
    sign = -1 if sort == "newest" else 1
    return sorted(hits, key=lambda h: (h.get("year") is None or h.get("year") == "",
                                       sign * int(h.get("year") or 0)))


def refined_search(searcher, q: str, within: list[str] | None = None, sort: str = "relevance",
                   page: int = 1, limit: int = 20, filters: dict[str, list[str]] | None = None,
                   facets: bool = False) -> SearchResult:
    """``searcher.search`` with a date order and refining queries; plain relevance without
    refinement is exactly ``searcher.search``."""
    within = [w.strip() for w in (within or []) if w and w.strip()][:MAX_WITHIN]
    sort = sort if sort in SORTS else "relevance"
    if sort == "relevance" and not within:
        return searcher.search(q, limit=limit, page=page, filters=filters, facets=facets)
    refining = [parse(w) for w in within]  # each parsed once, not once a passage
    merged = {k: list(v) for k, v in (filters or {}).items()}
    for name, values in within_filters(refining).items():
        merged.setdefault(name, []).extend(values)
    result = searcher.search(q, limit=POOL, page=1, filters=merged or None, facets=facets)
    if result.error:
        return result
    pool = [h for h in result.hits if all(satisfies(h, w) for w in refining)]
    pool = sort_hits(pool, sort)
    if within:  # the refining words are marked too
        terms = result.query.marked_terms.union(*(w.marked_terms for w in refining))
        for hit in pool:
            hit.update(snippet_fields(hit["passage"], terms))
    result.total = len(pool)
    result.hits = pool[(page - 1) * limit: page * limit]
    if facets and within:  # counts over the refined passages (the model facet is not in hits)
        result.facets = {name: counts(pool, name) for name in result.facets if name != "models"}
    return result


def counts(hits: list[dict[str, Any]], name: str) -> list[tuple[Any, int]]:
    """Facet values of ``name`` over ``hits``, most frequent first."""
    tally: dict[Any, int] = {}
    for hit in hits:
        value = hit.get(name)
        if value not in (None, ""):
            tally[value] = tally.get(value, 0) + 1
    return sorted(tally.items(), key=lambda x: (-x[1], str(x[0])))
