"""Request side of refining results (issue 13): sort, 在结果中检索 (chained), per-document grouping."""
from __future__ import annotations

from typing import Any

from flask import request

from kb.search.refine import MAX_WITHIN, SORT_LABELS, SORTS
from kb.search import MAX_QUERY_CHARS


def request_refine() -> dict[str, list[str]]:
    """URL parameters of the refinement, in the shape state_url keeps: sort (not the default),
    within (one per chained query), bydoc=0 when per-document grouping is off."""
    out: dict[str, list[str]] = {}
    sort = request.args.get("sort", "")
    if sort in SORTS and sort != "relevance":
        out["sort"] = [sort]
    within = [w.strip()[:MAX_QUERY_CHARS] for w in request.args.getlist("within") if w.strip()][:MAX_WITHIN]
    if within:
        out["within"] = within
    if request.args.get("bydoc") == "0":
        out["bydoc"] = ["0"]
    return out


def sort_of(refine: dict[str, list[str]]) -> str:
    return refine.get("sort", ["relevance"])[0]


def one_group_per_hit(hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Results without per-document grouping: every passage under its own document header."""
    keys = ("doc_id", "source", "title", "unit", "place", "year", "type", "level")
    return [{**{k: hit.get(k) for k in keys}, "passages": [hit], "hidden": 0} for hit in hits]


def link_query(q: str, refine: dict[str, list[str]]) -> str:
    """The query a passage link highlights: the search and its refinements."""
    return " ".join([q, *refine.get("within", [])]).strip()


SORT_CHOICES = [(key, SORT_LABELS[key]) for key in SORTS]


def refine_bar(url, refine: dict[str, list[str]]) -> dict[str, Any]:
    """Links of the refine bar: each sort order, grouping on/off, each refinement removed."""
    current = sort_of(refine)
    sorts = []
    for key, label in SORT_CHOICES:
        change = {"drop_sort": current} if current != "relevance" else {}
        if key != "relevance":
            change["sort"] = key
        sorts.append({"key": key, "label": label, "active": key == current, "href": url(**change)})
    bydoc_off = bool(refine.get("bydoc"))
    return {"sorts": sorts,
            "bydoc": {"on": not bydoc_off,
                      "href": url(drop_bydoc="0") if bydoc_off else url(bydoc="0")},
            "within": [{"text": w, "href": url(drop_within=w)} for w in refine.get("within", [])]}
