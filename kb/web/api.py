"""The JSON API, mirroring the pages. Errors are JSON with proper status codes."""
from __future__ import annotations

import json
import math
import re
from typing import Any

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import BadRequest

from kb.materials.basket import MAX_ITEMS, BasketError
from kb.materials.export import basket_handout, to_docx, to_markdown
from kb.materials.handout import handout_for, reported_results, theme_records
from kb.search.refine import SORTS, refined_search
from kb.search import MAX_QUERY_CHARS
from kb.web import basket, searcher
from kb.web.openapi import openapi_document
from kb.web.views import PAGE_SIZE, facet_json, request_filters, search_filters

api = Blueprint("api", __name__)
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


MAX_JSON_DEPTH = 8
MAX_ITEM_ID = 2**63 - 1  # SQLite's integer range
MAX_MOVE = 10 * MAX_ITEMS
MAX_TEXT = 4000
MAX_PAGE = 1000


def error(message: str, status: int):
    return jsonify(error=message), status


class BadJson(BadRequest):
    """A request body that is not the JSON object the endpoint takes (400, Chinese message)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.kb_message = message


def json_body() -> dict[str, Any]:
    """The request's JSON object: at most ``MAX_CONTENT_LENGTH`` bytes (else 413), UTF-8, finite
    numbers only, nested at most ``MAX_JSON_DEPTH`` deep, no lone surrogates; else 400."""
    raw = request.get_data(cache=False)
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise BadJson("JSON 嵌套过深") from None
    except (UnicodeDecodeError, ValueError):
        raise BadJson("请求体不是有效的 JSON（UTF-8）") from None
    if not isinstance(body, dict):
        raise BadJson("请求体应为 JSON 对象")
    _check(body, 1)
    return body


def _no_constant(name: str):
    raise ValueError(name)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _check(value: Any, depth: int) -> None:
    if depth > MAX_JSON_DEPTH:
        raise BadJson(f"JSON 嵌套过深（最多 {MAX_JSON_DEPTH} 层）")
    if isinstance(value, str):
        if any("\ud800" <= ch <= "\udfff" for ch in value):
            raise BadJson("JSON 字符串含有无效的 Unicode 字符")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check(key, depth + 1)
            _check(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check(item, depth + 1)


def integer(value: Any, low: int, high: int) -> int | None:
    """``value`` if it is a JSON integer within [low, high] (not a boolean, not 1.5), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and low <= value <= high else None


def text_field(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadJson(f"{name} 应为字符串")
    return value[:MAX_TEXT]


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within [low, high] as the description states it; else 400."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw) if raw.strip().lstrip("+-").isdigit() and raw.isascii() else None
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise BadJson(f"{name} 应为 {low}–{high} 之间的整数 / {name} must be an integer from {low} to {high}")
    return value


XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
MODEL_IDS = re.compile(r"[^,]+(?:,[^,]+){1,3}")  # 2–4 ids, as the description's pattern says


@api.get("/search")
def search():
    q = request.args.get("q", "")
    if len(q) > MAX_QUERY_CHARS:
        return error(f"查询过长（超过{MAX_QUERY_CHARS}字）/ query too long", 400)
    filters = request_filters()
    if not q.strip():  # the description: q required, not blank (filters narrow a query)
        return error("缺少查询参数 q / missing q", 400)
    limit = int_arg("limit", PAGE_SIZE, 1, 100)
    page = int_arg("page", 1, 1, MAX_PAGE)
    sort = request.args.get("sort", "relevance")
    if sort not in SORTS:
        return error("sort 应为 relevance、newest 或 oldest / sort must be relevance, newest or oldest", 400)
    s = searcher()
    result = refined_search(s, q, request.args.getlist("within"), sort, page=page, limit=limit,
                            filters=search_filters(filters), facets=True)
    body = {"query": q, "filters": filters, "page": page, "limit": limit, "total": result.total,
            "elapsed_ms": round(result.elapsed * 1000, 1), "hits": result.hits,
            "facets": facet_json(result.facets), "models": [model_summary(m) for m in result.models]}
    if result.query.question is not None:
        body["question"] = result.query.question.to_dict()
    if not result.hits:
        body["suggestions"] = s.suggestions(result.query)
    return jsonify(body)


@api.get("/docs/<path:doc_id>")
def document(doc_id: str):
    passages = searcher().document(doc_id)
    if not passages:
        return error("没有这个文档 / no such document", 404)
    first = passages[0]
    meta = {k: first.get(k) for k in ("doc_id", "source", "title", "unit", "place", "province", "city",
                                      "district", "street", "community", "level", "year", "type",
                                      "collection", "note", "ocr")}
    links = searcher().similar_of(doc_id)  # date, similar (what differs), versions (现行 marked)
    return jsonify({**meta, **links, "passages": [{"passage_id": p["passage_id"], "order": p["order"],
                                          "heading": p.get("heading", ""), "article": p.get("article", ""),
                                          "path": p.get("path", ""), "page": p.get("page", 0),
                                          "page_end": p.get("page_end", 0), "text": p["text"]}
                                         for p in passages]})


@api.get("/passages/<path:passage_id>/related")
def related(passage_id: str):
    found = searcher().related(passage_id, limit=int_arg("limit", 5, 1, 20))
    if found is None:
        return error("没有这个段落 / no such passage", 404)
    return jsonify({"passage_id": passage_id, "related": found})


@api.get("/passages/<path:passage_id>")
def passage(passage_id: str):
    found = searcher().passage(passage_id)
    if found is None:
        return error("没有这个段落 / no such passage", 404)
    return jsonify(found)


@api.get("/basket")
def basket_items():
    store, basket_id = basket()
    return jsonify({"items": store.items(basket_id)})


@api.post("/basket/items")
def basket_add():
    body = json_body()
    passage_id = body.get("passage_id")
    if not isinstance(passage_id, str) or not 0 < len(passage_id) <= 1000:
        return error("需要 JSON：{\"passage_id\": …} / JSON body with passage_id required", 400)
    note = text_field(body, "note")
    found = searcher().passage(passage_id)
    if found is None:
        return error("没有这个段落 / no such passage", 404)
    store, basket_id = basket()
    try:
        item = store.add(basket_id, {**found, "passage": found.get("text", "")}, note,
                         query=text_field(body, "query")[:MAX_QUERY_CHARS])
    except BasketError as exc:
        return error(str(exc), 409)
    return jsonify(item), 201


@api.patch("/basket/items/<int:item_id>")
def basket_update(item_id: int):
    body = json_body()
    note = text_field(body, "note") if "note" in body else None
    move = integer(body.get("move"), -MAX_MOVE, MAX_MOVE) if "move" in body else 0
    if move is None:
        return error(f"move 应为 -{MAX_MOVE} 到 {MAX_MOVE} 之间的整数 / move must be a small integer", 400)
    store, basket_id = basket()
    if item_id > MAX_ITEM_ID or store.get(basket_id, item_id) is None:
        return error("素材篮里没有这一条 / no such item", 404)
    if note is not None:
        store.annotate(basket_id, item_id, note)
    if move:
        store.move(basket_id, item_id, move)
    return jsonify(store.get(basket_id, item_id))


@api.put("/basket/order")
def basket_order():
    body = json_body()
    ids = body.get("ids")
    if (not isinstance(ids, list) or len(ids) > 2 * MAX_ITEMS
            or any(integer(i, 1, MAX_ITEM_ID) is None for i in ids)):
        return error("需要 JSON：{\"ids\": [整数…]} / ids must be a list of item ids", 400)
    store, basket_id = basket()
    return jsonify({"items": store.reorder(basket_id, [integer(i, 1, MAX_ITEM_ID) for i in ids])})


@api.delete("/basket/items/<int:item_id>")
def basket_remove(item_id: int):
    store, basket_id = basket()
    if item_id > MAX_ITEM_ID or not store.remove(basket_id, item_id):
        return error("素材篮里没有这一条 / no such item", 404)
    return "", 204


def attachment(filename: str) -> dict[str, str]:
    """Content-Disposition with an ASCII fallback and the UTF-8 name (RFC 6266)."""
    from urllib.parse import quote

    ascii_name = "kb-handout" + filename[filename.rfind("."):]
    return {"Content-Disposition": f"attachment; filename={ascii_name}; filename*=UTF-8''{quote(filename)}"}


@api.get("/basket/export.docx")
def export_docx():
    store, basket_id = basket()
    handout = basket_handout(store.items(basket_id), searcher().catalogue.models,
                             document_results=reported_results(searcher()))
    return Response(to_docx(handout), mimetype=DOCX_MIME, headers=attachment("素材汇编.docx"))


@api.get("/basket/export.md")
def export_markdown():
    store, basket_id = basket()
    handout = basket_handout(store.items(basket_id), searcher().catalogue.models,
                             document_results=reported_results(searcher()))
    return Response(to_markdown(handout), mimetype="text/markdown; charset=utf-8",
                    headers=attachment("素材汇编.md"))


def handout_theme():
    """The theme of /api/handout.* (q), or an error response."""
    q = request.args.get("q", "").strip()
    if not q:
        return None, error("缺少主题参数 q / missing q", 400)
    if len(q) > MAX_QUERY_CHARS:
        return None, error(f"查询过长（超过{MAX_QUERY_CHARS}字）/ query too long", 400)
    theme = XML_ILLEGAL.sub(" ", q).strip()  # the theme is the Word title: no control characters
    handout = handout_for(searcher(), theme) if theme else None
    if handout is None or not handout.sections:
        return None, error("没有找到相关段落 / no passages for this theme", 404)
    return handout, None


@api.get("/handout.docx")
def handout_docx():
    handout, failed = handout_theme()
    if failed:
        return failed
    return Response(to_docx(handout), mimetype=DOCX_MIME, headers=attachment(f"{handout.theme}专题汇编.docx"))


@api.get("/handout.md")
def handout_markdown():
    handout, failed = handout_theme()
    if failed:
        return failed
    return Response(to_markdown(handout), mimetype="text/markdown; charset=utf-8",
                    headers=attachment(f"{handout.theme}专题汇编.md"))


@api.post("/basket/handout")
def basket_from_theme():
    """Put a theme's handout passages into the basket (to reorder and annotate before export)."""
    body = json_body() if request.content_length else {}
    q = body.get("q") or request.args.get("q", "")
    if not isinstance(q, str) or not q.strip() or len(q) > MAX_QUERY_CHARS:
        return error("需要主题：{\"q\": …} / a theme q is required", 400)
    store, basket_id = basket()
    added = 0
    try:
        for record in theme_records(searcher(), q.strip()):
            before = len(store.items(basket_id))
            store.add(basket_id, record)
            added += len(store.items(basket_id)) - before
    except BasketError as exc:
        return error(str(exc), 409)
    return jsonify({"added": added, "items": store.items(basket_id)}), 201


def model_summary(model) -> dict:
    data = model.to_dict()
    data["mention_count"] = len(data.pop("mentions"))
    return data


@api.get("/models")
def models():
    q = request.args.get("q", "")[:MAX_QUERY_CHARS]
    catalogue = searcher().catalogue
    chosen = catalogue.named_in(q) if q.strip() else catalogue.models
    return jsonify({"total": len(chosen), "models": [model_summary(m) for m in chosen]})


@api.get("/models/compare")
def models_compare():
    raw = request.args.get("ids", "")
    if not MODEL_IDS.fullmatch(raw):
        return error("请给出 2–4 个模式编号：ids=a,b / give 2 to 4 model ids", 400)
    ids = raw.split(",")
    catalogue = searcher().catalogue
    chosen = [catalogue.get(i) for i in ids]
    if any(m is None for m in chosen):
        return error("没有这个模式 / no such model", 404)
    return jsonify({"models": [m.to_dict() for m in chosen]})


@api.get("/models/<model_id>")
def model_detail(model_id: str):
    s = searcher()
    model = s.catalogue.get(model_id)
    if model is None:
        return error("没有这个模式 / no such model", 404)
    mentions = [p for p in (s.passage(pid) for pid in model.mentions) if p]
    return jsonify({**model.to_dict(), "mention_passages": mentions,
                    "related": [model_summary(m) for m in s.catalogue.related(model)]})


@api.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())
