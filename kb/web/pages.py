"""HTML pages: search, document, basket, help. All text is escaped by Jinja; the marked terms of
snippets and passages (spans from kb.search) become ``<mark>`` here, around escaped text."""
from __future__ import annotations

import re

from flask import (Blueprint, abort, current_app, g, redirect, render_template, request,
                   send_from_directory)
from markupsafe import Markup, escape

from kb.search import MAX_QUERY_CHARS, mark_spans, parse, pieces, related_terms
from kb.catalogue.models import key_of
from kb.text.normalize import normalize
from kb.search.refine import refined_search
from kb.web import basket, searcher
from kb.web.refining import (SORT_CHOICES, link_query, one_group_per_hit, refine_bar, request_refine,
                             sort_of)
from kb.web.views import (PAGE_SIZE, PARAM_LABELS, facet_blocks, group_by_document, request_filters,
                          request_page, search_filters, state_url)

pages = Blueprint("pages", __name__)

# A half-width , : ; ! ? beside a Chinese character is scrape damage: shown full-width.
CJK = r"[\u4e00-\u9fff“”‘’（）《》、。]"
HALF_WIDTH = re.compile(r"(?<=" + CJK + r")[,:;!?]|(?<=</mark>)[,:;!?]|[,:!?](?=" + CJK + r"|<mark>)")  # never an entity's ;
FULL_WIDTH = {",": "，", ":": "：", ";": "；", "!": "！", "?": "？"}


@pages.app_template_filter("marked")
def marked_html(text: str, spans) -> Markup:
    """``text`` escaped, with the spans (``[start, end]`` character offsets) in ``<mark>``."""
    return Markup("").join(Markup("<mark>%s</mark>") % piece if marked else escape(piece)
                           for piece, marked in pieces(text or "", spans or []))


@pages.app_template_filter("cjk")
def cjk_punctuation(value):
    """Full-width punctuation between Chinese characters; keeps Markup (snippets) as Markup."""
    fix = lambda text: HALF_WIDTH.sub(lambda m: FULL_WIDTH[m.group(0)], text)
    if isinstance(value, Markup):
        return Markup(fix(str(value)))
    return Markup(fix(str(escape(value or ""))))


@pages.app_context_processor
def basket_count_everywhere():
    """The basket count for every page, error pages included (no basket is created for it)."""
    if "basket_id" not in g or g.get("new_basket"):
        return {"basket_count": 0}
    return {"basket_count": len(current_app.extensions["kb_basket"].items(g.basket_id))}


@pages.get("/favicon.ico")
def favicon():
    return send_from_directory(current_app.static_folder, "favicon.svg", mimetype="image/svg+xml")


def converted_query(q: str, folded: str) -> str:
    """The query as searched (``folded``: normalized, as parsed) when traditional characters were
    converted (width folding aside)."""
    if len(folded) != len(q):
        return ""
    changed = any(a != b and re.match(r"[\u3400-\u9fff]", a) for a, b in zip(q, folded))
    return folded if changed else ""


@pages.get("/")
def search_page():
    q = request.args.get("q", "").strip()
    filters = request_filters()
    page = request_page()
    refine = request_refine()
    store, basket_id = basket()
    collected = {i["passage_id"] for i in store.items(basket_id)}
    context = {"q": q, "filters": filters, "page": page, "basket_count": len(collected),
               "max_query": MAX_QUERY_CHARS, "param_labels": PARAM_LABELS, "converted": "",
               "refine": refine, "sort": sort_of(refine), "sort_choices": SORT_CHOICES,
               "link_q": link_query(q, refine),
               "url": lambda **change: state_url("/", q, {**filters, **refine}, **change)}
    context["refine_bar"] = refine_bar(context["url"], refine)
    if not q and not filters:
        return render_template("search.html", **context, result=None)
    s = searcher()
    result = refined_search(s, q, refine.get("within"), sort_of(refine), page=page, limit=PAGE_SIZE,
                            filters=search_filters(filters), facets=True)
    context["converted"] = converted_query(q, normalize(q) if result.error else result.query.normalized)
    names = {m.model_id: m.name for m in s.catalogue.models}
    grouped = one_group_per_hit if refine.get("bydoc") else group_by_document
    groups = grouped(result.hits)
    context.update(result=result, groups=groups, model_names=names, shown=sum(len(g["passages"]) for g in groups),
                   facets=facet_blocks(result.facets, filters, names),
                   pages=max(1, -(-result.total // PAGE_SIZE)) if result.total else 0,
                   in_basket=collected)
    if not result.error:
        context["suggestions"] = s.suggestions(result.query) if q else []
    if not result.hits and not result.error:
        context["related_models"] = s.catalogue.sharing(result.query.topic, normalized=True)
        context.update(related=related_terms(result.query, s.terms))
    status = 400 if result.error else 200
    return render_template("search.html", **context), status


@pages.get("/doc/<path:doc_id>")
def document_page(doc_id: str):
    passages = searcher().document(doc_id)
    if not passages:
        abort(404)
    q = request.args.get("q", "")[:MAX_QUERY_CHARS]
    terms = parse(q).marked_terms if q else frozenset()
    for p in passages:
        p["html"] = marked_html(p["text"], mark_spans(p["text"], terms) if terms else [])
    store, basket_id = basket()
    collected = {i["passage_id"] for i in store.items(basket_id)}
    return render_template("doc.html", doc=passages[0], passages=passages, q=q,
                           links=searcher().similar_of(doc_id), in_basket=collected,
                           basket_count=len(collected))


@pages.get("/basket")
def basket_page():
    store, basket_id = basket()
    items = store.items(basket_id)
    from kb.materials.export import basket_handout

    handout = basket_handout(items, searcher().catalogue.models)
    references = {r.number: r.text for r in handout.references}
    named = {e.passage_id: (s.title, references.get(e.number, ""), e.marker.split("]", 1)[-1])
             for s in handout.sections for e in s.excerpts}
    for item in items:  # named by its practice or document and place; GB/T 7714 reference
        item["section"], item["citation"], item["article"] = named.get(item["passage_id"], (item["title"], "", ""))
    return render_template("basket.html", items=items, basket_count=len(items))


@pages.post("/basket/handout")
def basket_from_theme_page():
    """生成专题汇编 without JavaScript: the theme's passages into the basket, then the basket."""
    from kb.materials.basket import BasketError
    from kb.materials.handout import theme_records

    q = request.form.get("q", "").strip()[:MAX_QUERY_CHARS]
    if q:
        store, basket_id = basket()
        try:
            for record in theme_records(searcher(), q):
                store.add(basket_id, record)
        except (BasketError, ValueError):
            pass  # a full basket keeps what fitted; the page shows it
    return redirect("/basket", code=303)


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
    picked = list(dict.fromkeys(i for i in request.args.getlist("id") if i))
    chosen = [s.catalogue.get(i) for i in picked[:4]]
    if any(m is None for m in chosen):
        abort(404)
    store, basket_id = basket()
    return render_template("compare.html", models=chosen, too_many=len(picked) if len(picked) > 4 else 0,
                           basket_count=len(store.items(basket_id)))


@pages.get("/models/<model_id>")
def model_page(model_id: str):
    s = searcher()
    model = s.catalogue.get(model_id)
    if model is None:
        abort(404)
    mentions = [p for p in (s.passage(pid) for pid in model.mentions) if p]
    # only the model's own names are marked (not every word of them: 党建 is everywhere)
    terms = {model.key.lower()} | {key_of(a).lower() for a in model.aliases if "、" not in a}
    for p in mentions:
        p["html"] = marked_html(p["text"], mark_spans(p["text"], terms))
    store, basket_id = basket()
    collected = {i["passage_id"] for i in store.items(basket_id)}
    variants = [v for v in (s.catalogue.get(i) for i in model.variants) if v]
    related = [r for r in s.catalogue.related(model) if r.model_id not in model.variants]
    return render_template("model.html", model=model, mentions=mentions, related=related, variants=variants,
                           in_basket=collected, basket_count=len(collected))
