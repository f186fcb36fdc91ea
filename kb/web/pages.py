"""HTML pages: search, document, basket, help. All text is escaped by Jinja; only snippets built
by kb.search (which escapes everything itself) are marked safe."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from markupsafe import Markup

from kb.index import load_terms
from kb.search import MAX_QUERY_CHARS, highlight_terms, mark_spans, parse, related_terms, render_marks
from kb.web import basket, searcher
from kb.web.views import (PAGE_SIZE, PARAM_LABELS, facet_blocks, group_by_document, request_filters,
                          request_page, search_filters, state_url)

pages = Blueprint("pages", __name__)


@pages.get("/")
def search_page():
    q = request.args.get("q", "").strip()
    filters = request_filters()
    page = request_page()
    store, basket_id = basket()
    collected = {i["passage_id"] for i in store.items(basket_id)}
    context = {"q": q, "filters": filters, "page": page, "basket_count": len(collected),
               "max_query": MAX_QUERY_CHARS, "param_labels": PARAM_LABELS,
               "url": lambda **change: state_url("/", q, filters, **change)}
    if not q and not filters:
        return render_template("search.html", **context, result=None)
    s = searcher()
    result = s.search(q, limit=PAGE_SIZE, page=page, filters=search_filters(filters), facets=True)
    names = {m.model_id: m.name for m in s.catalogue.models}
    context.update(result=result, groups=group_by_document(result.hits), model_names=names,
                   facets=facet_blocks(result.facets, filters, names),
                   pages=max(1, -(-result.total // PAGE_SIZE)) if result.total else 0,
                   in_basket=collected)
    if not result.error:
        context["suggestions"] = s.suggestions(q) if q else []
    if not result.hits and not result.error:
        context["related_models"] = s.catalogue.sharing(result.query.text or " ".join(result.query.phrases))
        context.update(related=related_terms(result.query.text or " ".join(result.query.phrases),
                                             load_terms(s.index_dir)))
    status = 400 if result.error else 200
    return render_template("search.html", **context), status


@pages.get("/doc/<path:doc_id>")
def document_page(doc_id: str):
    passages = searcher().document(doc_id)
    if not passages:
        abort(404)
    q = request.args.get("q", "")[:MAX_QUERY_CHARS]
    terms = highlight_terms(parse(q)) if q else set()
    for p in passages:
        spans = mark_spans(p["text"], terms) if terms else []
        p["html"] = Markup(render_marks(p["text"], spans))
    store, basket_id = basket()
    collected = {i["passage_id"] for i in store.items(basket_id)}
    return render_template("doc.html", doc=passages[0], passages=passages, q=q,
                           links=searcher().similar_of(doc_id), in_basket=collected,
                           basket_count=len(collected))


@pages.get("/basket")
def basket_page():
    store, basket_id = basket()
    items = store.items(basket_id)
    from kb.export import citation

    for item in items:
        item["citation"] = citation(item)
    return render_template("basket.html", items=items, basket_count=len(items))


@pages.get("/help")
def help_page():
    store, basket_id = basket()
    return render_template("help.html", basket_count=len(store.items(basket_id)))


@pages.get("/models")
def models_page():
    catalogue = searcher().catalogue
    store, basket_id = basket()
    return render_template("models.html", models=catalogue.models, basket_count=len(store.items(basket_id)))


@pages.get("/models/compare")
def compare_page():
    s = searcher()
    ids = [i for i in request.args.getlist("id") if i][:4]
    chosen = [s.catalogue.get(i) for i in ids]
    if any(m is None for m in chosen):
        abort(404)
    store, basket_id = basket()
    return render_template("compare.html", models=chosen, all_models=s.catalogue.models,
                           basket_count=len(store.items(basket_id)))


@pages.get("/models/<model_id>")
def model_page(model_id: str):
    s = searcher()
    model = s.catalogue.get(model_id)
    if model is None:
        abort(404)
    mentions = [p for p in (s.passage(pid) for pid in model.mentions) if p]
    terms = {model.key.lower()} | {a.strip("“”").lower() for a in model.aliases}
    for p in mentions:
        p["html"] = Markup(render_marks(p["text"], mark_spans(p["text"], highlight_terms(parse(model.key)) | terms)))
    store, basket_id = basket()
    collected = {i["passage_id"] for i in store.items(basket_id)}
    return render_template("model.html", model=model, mentions=mentions, related=s.catalogue.related(model),
                           in_basket=collected, basket_count=len(collected))
