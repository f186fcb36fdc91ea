"""What pages and the API share: request → search arguments, hits → document groups, facets."""
from __future__ import annotations

from collections import OrderedDict
from typing import Any
from urllib.parse import urlencode

from flask import request

FILTER_PARAMS = ("place", "level", "year", "type", "model")
FACET_LABELS = {"province": "省份", "city": "城市", "district": "区县", "level": "层级",
                "year": "年份", "type": "类型", "models": "模式"}
PARAM_LABELS = {"place": "地区", "level": "层级", "year": "年份", "type": "类型", "model": "模式"}
FACET_PARAM = {"province": "place", "city": "place", "district": "place", "level": "level",
               "year": "year", "type": "type", "models": "model"}
PAGE_SIZE = 20


def request_filters() -> dict[str, list[str]]:
    """Facet filters from the URL (the model facet filters the index field `models`)."""
    return {name: [v.strip()[:50] for v in request.args.getlist(name) if v.strip()]
            for name in FILTER_PARAMS if request.args.getlist(name)}


def search_filters(filters: dict[str, list[str]]) -> dict[str, list[str]]:
    return {("models" if name == "model" else name): values for name, values in filters.items()}


def request_page() -> int:
    try:
        return max(1, min(int(request.args.get("page", 1)), 1000))
    except ValueError:
        return 1


def state_url(endpoint_path: str, q: str, filters: dict[str, list[str]], **change) -> str:
    """A URL holding the whole search state, with ``change`` applied (None removes)."""
    params: list[tuple[str, str]] = [("q", q)] if q else []
    for name, values in filters.items():
        params += [(name, v) for v in values]
    for key, value in change.items():
        if key.startswith("drop_"):
            name, value_ = key[5:], value
            params = [(k, v) for k, v in params if not (k == name and v == value_)]
        elif key == "page":
            params = [(k, v) for k, v in params if k != "page"] + ([("page", str(value))] if value > 1 else [])
        else:
            params.append((key, str(value)))
    return endpoint_path + ("?" + urlencode(params) if params else "")


def group_by_document(hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: "OrderedDict[str, dict[str, Any]]" = OrderedDict()
    for hit in hits:
        group = groups.setdefault(hit["doc_id"], {**{k: hit[k] for k in (
            "doc_id", "source", "title", "unit", "place", "year", "type", "level")}, "passages": [],
            **{k: hit.get(k) for k in ("collapsed", "similar", "version")}})
        group["passages"].append(hit)
    for group in groups.values():  # passages that matched only through the title add nothing
        marked = [h for h in group["passages"] if h.get("marks")]
        group["hidden"] = len(group["passages"]) - len(marked or group["passages"][:1])
        group["passages"] = marked or group["passages"][:1]
    return list(groups.values())


def facet_blocks(facets: dict[str, list[tuple[Any, int]]], filters: dict[str, list[str]],
                 model_names: dict[str, str] | None = None) -> list[dict]:
    """Facets to show: province always; city and district once a place is chosen (drill-down)."""
    model_names = model_names or {}
    blocks = []
    place_chosen = bool(filters.get("place"))
    for name, values in facets.items():
        if name in ("city", "district") and not place_chosen:
            continue
        param = FACET_PARAM[name]
        active = set(filters.get(param, []))
        items = [{"value": str(v), "label": model_names.get(str(v), str(v)), "count": c,
                  "active": str(v) in active} for v, c in values if name != "models" or str(v) in model_names]
        if name in ("city", "district"):
            items = [i for i in items if not i["active"] and i["value"] not in active]
            if len(items) < 1:
                continue
        if items:
            blocks.append({"name": name, "param": param, "label": FACET_LABELS[name], "items": items})
    return blocks


def facet_json(facets: dict[str, list[tuple[Any, int]]]) -> dict[str, list[dict]]:
    return {name: [{"value": v, "count": c} for v, c in values] for name, values in facets.items()}
