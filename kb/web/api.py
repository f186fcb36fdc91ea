"""The JSON API, mirroring the pages. Errors are JSON with proper status codes."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from kb.basket import BasketError
from kb.export import to_docx, to_markdown
from kb.search import MAX_QUERY_CHARS
from kb.web import basket, searcher
from kb.web.openapi import openapi_document
from kb.web.views import PAGE_SIZE, facet_json, request_filters, request_page, search_filters

api = Blueprint("api", __name__)
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def error(message: str, status: int):
    return jsonify(error=message), status


def int_arg(name: str, default: int, low: int, high: int) -> int:
    try:
        return max(low, min(int(request.args.get(name, default)), high))
    except ValueError:
        return default


@api.get("/search")
def search():
    q = request.args.get("q", "")
    if len(q) > MAX_QUERY_CHARS:
        return error(f"查询过长（超过{MAX_QUERY_CHARS}字）/ query too long", 400)
    filters = request_filters()
    if not q.strip() and not filters:
        return error("缺少查询参数 q / missing q", 400)
    limit = int_arg("limit", PAGE_SIZE, 1, 100)
    page = request_page()
    s = searcher()
    result = s.search(q, limit=limit, page=page, filters=search_filters(filters), facets=True)
    body = {"query": q, "filters": filters, "page": page, "limit": limit, "total": result.total,
            "elapsed_ms": round(result.elapsed * 1000, 1), "hits": result.hits,
            "facets": facet_json(result.facets), "models": [model_summary(m) for m in result.models]}
    if result.query.question is not None:
        body["question"] = result.query.question.to_dict()
    if not result.hits:
        body["suggestions"] = s.suggestions(q)
    return jsonify(body)


@api.get("/docs/<path:doc_id>")
def document(doc_id: str):
    passages = searcher().document(doc_id)
    if not passages:
        return error("没有这个文档 / no such document", 404)
    first = passages[0]
    meta = {k: first.get(k) for k in ("doc_id", "source", "title", "unit", "place", "province", "city",
                                      "district", "street", "community", "level", "year", "type",
                                      "collection", "note")}
    return jsonify({**meta, "passages": [{"passage_id": p["passage_id"], "order": p["order"],
                                          "heading": p.get("heading", ""), "article": p.get("article", ""),
                                          "path": p.get("path", ""), "text": p["text"]}
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
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("passage_id"), str):
        return error("需要 JSON：{\"passage_id\": …} / JSON body with passage_id required", 400)
    found = searcher().passage(body["passage_id"])
    if found is None:
        return error("没有这个段落 / no such passage", 404)
    store, basket_id = basket()
    try:
        item = store.add(basket_id, {**found, "passage": found.get("text", "")}, str(body.get("note") or ""),
                         query=str(body.get("query") or ""))
    except BasketError as exc:
        return error(str(exc), 409)
    return jsonify(item), 201


@api.patch("/basket/items/<int:item_id>")
def basket_update(item_id: int):
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error("需要 JSON 请求体 / JSON body required", 400)
    store, basket_id = basket()
    if store.get(basket_id, item_id) is None:
        return error("素材篮里没有这一条 / no such item", 404)
    if "note" in body:
        store.annotate(basket_id, item_id, str(body["note"] or ""))
    if "move" in body:
        try:
            store.move(basket_id, item_id, int(body["move"]))
        except (TypeError, ValueError):
            return error("move 应为整数 / move must be an integer", 400)
    return jsonify(store.get(basket_id, item_id))


@api.put("/basket/order")
def basket_order():
    body = request.get_json(silent=True)
    ids = body.get("ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        return error("需要 JSON：{\"ids\": [整数…]} / ids must be a list of integers", 400)
    store, basket_id = basket()
    return jsonify({"items": store.reorder(basket_id, ids)})


@api.delete("/basket/items/<int:item_id>")
def basket_remove(item_id: int):
    store, basket_id = basket()
    if not store.remove(basket_id, item_id):
        return error("素材篮里没有这一条 / no such item", 404)
    return "", 204


@api.get("/basket/export.docx")
def export_docx():
    store, basket_id = basket()
    return Response(to_docx(store.items(basket_id)), mimetype=DOCX_MIME,
                    headers={"Content-Disposition": "attachment; filename=kb-materials.docx"})


@api.get("/basket/export.md")
def export_markdown():
    store, basket_id = basket()
    return Response(to_markdown(store.items(basket_id)), mimetype="text/markdown; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=kb-materials.md"})


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
    ids = [i for i in request.args.get("ids", "").split(",") if i]
    catalogue = searcher().catalogue
    chosen = [catalogue.get(i) for i in ids]
    if not 2 <= len(ids) <= 4:
        return error("请给出 2–4 个模式编号：ids=a,b / give 2 to 4 model ids", 400)
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
