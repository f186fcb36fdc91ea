"""What a search returns: hits as plain data (the fields of the DESIGN contract, the snippet as
text with mark spans) and the result of one search."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kb.search.query import ParsedQuery
from kb.search.snippets import snippet_fields

HIT_FIELDS = ("doc_id", "source", "title", "unit", "place", "year", "type", "passage_id")
EXTRA_FIELDS = ("level", "heading", "article", "path", "page", "page_end", "ocr", "order", "province", "city", "district", "street",
                "community", "collection")


@dataclass
class SearchResult:
    query: ParsedQuery
    hits: list[dict[str, Any]]
    total: int
    elapsed: float
    error: str = ""
    facets: dict[str, list[tuple[Any, int]]] = field(default_factory=dict)
    models: list[Any] = field(default_factory=list)


def hit_from_stored(stored: dict[str, Any], score: float, terms: Iterable[str]) -> dict[str, Any]:
    """A hit: the stored passage's fields, its snippet (text + ``marks``) and its score."""
    hit = {k: stored.get(k, "" if k != "year" else None) for k in HIT_FIELDS}
    hit["passage"] = stored.get("text", "")
    hit.update(snippet_fields(hit["passage"], terms))
    hit["score"] = round(float(score), 4)
    for extra in EXTRA_FIELDS:
        hit[extra] = stored.get(extra, "")
    return hit
