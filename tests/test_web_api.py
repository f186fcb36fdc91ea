"""The JSON API and pages through Flask's test client, over a real index on disk."""
import io
import re
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from docx import Document as DocxDocument

from webfixtures import make_corpus


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from kb.cli.common import expand_paths, read_all
    from kb.ingest.pipeline import rebuild as build
    from kb.web import create_app

    base = tmp_path_factory.mktemp("web")
    files, problems = expand_paths([make_corpus(base / "corpus")])
    build(base / "index", read_all(files, problems))
    assert not problems
    app = create_app(base / "index", base / "basket.sqlite")
    app.config["TESTING"] = True
    return app


@pytest.fixture()
def client(app):
    return app.test_client()


def test_search_api_returns_hits_facets_and_state(client):
    data = client.get("/api/search?q=两楼联动").get_json()
    assert data["total"] >= 1 and data["hits"][0]["source"] == "003_7eae55bd553d4ef9.txt"
    assert {"province", "city", "district", "level", "year", "type"} <= set(data["facets"])
    assert data["facets"]["province"][0] == {"value": "上海市", "count": data["total"]}
    hit = data["hits"][0]  # the snippet is plain text; marks are character spans into it
    assert "<mark>" not in hit["snippet"] and "两楼联动" in [hit["snippet"][s:e] for s, e in hit["marks"]]


def test_search_api_filters_by_facet_params(client):
    all_hits = client.get("/api/search?q=党建&limit=100").get_json()
    fujian = client.get("/api/search?q=党建&place=福建省&limit=100").get_json()
    assert 0 < fujian["total"] < all_hits["total"]
    assert all(h["place"].startswith("福建省") for h in fujian["hits"])
    year = client.get("/api/search?q=党建&year=2020&type=新闻报道").get_json()
    assert year["hits"] and all(h["year"] == 2020 and h["type"] == "新闻报道" for h in year["hits"])
    level = client.get("/api/search?q=党建&level=村").get_json()
    assert level["hits"] and all(h["level"] == "村" for h in level["hits"])


def test_search_api_errors_are_json(client):
    assert client.get("/api/search").status_code == 400
    long = client.get("/api/search?q=" + "党" * 201)
    assert long.status_code == 400 and "过长" in long.get_json()["error"]
    assert client.get("/api/docs/nope").status_code == 404
    assert client.get("/api/docs/nope").get_json()["error"]
    assert client.get("/api/passages/nope/related").status_code == 404
    assert client.post("/api/basket/items", data="x").status_code == 400
    assert client.post("/api/basket/items", json={"passage_id": "nope"}).status_code == 404
    assert client.delete("/api/basket/items/999999").status_code == 404
    assert client.delete("/api/search").status_code == 405
    assert client.delete("/api/search").get_json()["error"]


def test_document_api_has_every_passage_in_order(client):
    doc = client.get("/api/docs/004_5fcda69d96d769ba").get_json()
    assert doc["unit"] == "中共龙岩市委" and doc["year"] == 2018
    orders = [p["order"] for p in doc["passages"]]
    assert orders == list(range(1, len(orders) + 1)) and len(orders) > 10


def test_related_passages_come_from_other_documents(client):
    hit = client.get("/api/search?q=红色物业 地区:湖南").get_json()["hits"][0]
    related = client.get(f"/api/passages/{quote(hit['passage_id'])}/related").get_json()["related"]
    assert related and all(r["doc_id"] != hit["doc_id"] for r in related)
    assert "004_5fcda69d96d769ba" in [r["doc_id"] for r in related]  # 鹤城's 红色物业 → 龙岩's 红色业委会


def test_basket_round_trip_and_word_export(client):
    hits = client.get("/api/search?q=红色业委会&limit=3").get_json()["hits"]
    first = client.post("/api/basket/items", json={"passage_id": hits[0]["passage_id"]})
    second = client.post("/api/basket/items", json={"passage_id": hits[1]["passage_id"], "note": "对比用"})
    assert first.status_code == second.status_code == 201
    again = client.post("/api/basket/items", json={"passage_id": hits[0]["passage_id"]})
    items = client.get("/api/basket").get_json()["items"]
    assert len(items) == 2 and again.get_json()["id"] == items[0]["id"]
    a, b = items
    assert client.patch(f"/api/basket/items/{a['id']}", json={"note": "讲解要点：党员交叉任职"}).status_code == 200
    client.patch(f"/api/basket/items/{b['id']}", json={"move": -1})
    items = client.get("/api/basket").get_json()["items"]
    assert [i["id"] for i in items] == [b["id"], a["id"]]
    assert client.put("/api/basket/order", json={"ids": [a["id"], b["id"]]}).status_code == 200
    export = client.get("/api/basket/export.docx")
    assert export.status_code == 200 and export.mimetype.endswith("wordprocessingml.document")
    text = "\n".join(p.text for p in DocxDocument(io.BytesIO(export.data)).paragraphs)
    assert hits[0]["passage"].split("\n")[-1][:30] in text
    assert "讲解要点：党员交叉任职" in text and "对比用" in text
    assert "中共龙岩市委. 党建引领小区治理 建设“红色幸福小区”——福建省龙岩市城市基层党建案例[Z]. 2018." in text
    assert "004_5fcda69d96d769ba" not in text
    markdown = client.get("/api/basket/export.md").get_data(as_text=True)
    assert markdown.startswith("# 专题汇编") and "[1] 中共龙岩市委. 党建引领小区治理" in markdown
    assert client.delete(f"/api/basket/items/{a['id']}").status_code == 204
    assert len(client.get("/api/basket").get_json()["items"]) == 1


def test_baskets_are_per_cookie(app):
    one, two = app.test_client(), app.test_client()
    hit = one.get("/api/search?q=好人银行").get_json()["hits"][0]
    one.post("/api/basket/items", json={"passage_id": hit["passage_id"]})
    assert len(one.get("/api/basket").get_json()["items"]) == 1
    assert two.get("/api/basket").get_json()["items"] == []


def test_openapi_matches_the_routes(app, client):
    spec = client.get("/api/openapi.json").get_json()
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            routed |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == routed


def test_pages_escape_documents_and_queries(client):
    page = client.get("/?q=" + quote('"><img src=x onerror=alert(1)>')).get_data(as_text=True)
    assert "<img src=x onerror" not in page and "&lt;img src=x onerror" in page
    hostile = client.get("/?q=恶意脚本").get_data(as_text=True)
    assert "<script>window.__xss" not in hostile and "&lt;script&gt;window.__xss" in hostile
    assert "<b>恶意标题</b>" not in hostile and "&lt;b&gt;恶意标题" in hostile
    doc = client.get("/doc/hostile").get_data(as_text=True)
    assert "<script>window" not in doc and "onerror=\"window" not in doc


def test_security_headers_and_error_pages(client):
    response = client.get("/")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    missing = client.get("/doc/no-such-doc")
    assert missing.status_code == 404 and "没有找到" in missing.get_data(as_text=True)
    assert "Traceback" not in missing.get_data(as_text=True)
    long = client.get("/?q=" + "党" * 201)
    assert long.status_code == 400 and "查询过长" in long.get_data(as_text=True)


def test_search_page_groups_facets_chips_and_pagination(client):
    page = client.get("/?q=党建&place=上海市").get_data(as_text=True)
    assert 'class="chip"' in page and "地区：上海市" in page
    assert 'data-facet="district"' in page  # drill-down below the chosen place
    assert page.count('<article class="doc">') >= 2
    assert "下一页" in client.get("/?q=党建").get_data(as_text=True)


def test_empty_result_page_helps(client):
    page = client.get("/?q=两楼连动").get_data(as_text=True)
    assert "没有找到" in page and "两楼联动" in page.split("您是不是要找")[1][:300]
    assert "相关实践模式" in page and "金色纽带" in page.split("相关实践模式")[1][:600]


def test_model_catalogue_api_and_pages(client):
    catalogue = client.get("/api/models").get_json()
    assert catalogue["total"] >= 35
    five = client.get("/api/models?q=五级治理").get_json()["models"][0]
    assert five["parts"][0] == {"name": "街道大工委", "meaning": ""} and five["place"] == "湖南省 怀化市 鹤城区"
    detail = client.get(f"/api/models/{five['model_id']}").get_json()
    assert detail["mention_passages"] and all("五级治理" in p["text"] for p in detail["mention_passages"])
    jianhe = client.get("/api/models?q=兼合式").get_json()["models"][0]
    both = client.get(f"/api/models/compare?ids={five['model_id']},{jianhe['model_id']}").get_json()["models"]
    assert [m["key"] for m in both] == ["五级治理", "兼合式"]
    assert client.get(f"/api/models/compare?ids={five['model_id']}").status_code == 400
    assert client.get("/api/models/nope").status_code == 404
    page = client.get(f"/models/compare?id={five['model_id']}&id={jianhe['model_id']}").get_data(as_text=True)
    assert "楼栋党员中心户" in page and "交叉任职" in page
    assert "“兼合式”党组织" in client.get("/models").get_data(as_text=True)
    model_page = client.get(f"/models/{jianhe['model_id']}").get_data(as_text=True)
    assert "组成部分" in model_page or "全部提及" in model_page
    assert client.get("/models/nope").status_code == 404


def test_search_shows_the_model_card_and_model_facet(client):
    data = client.get("/api/search?q=1%2B4Z%2B3N").get_json()
    assert data["models"][0]["key"] == "1+4Z+3N" and [p["name"] for p in data["models"][0]["parts"]] == ["1", "4Z", "3N"]
    assert data["models"][0]["parts"][0]["meaning"] == "以社区党组织引领为核心"
    page = client.get("/?q=" + quote("五级治理")).get_data(as_text=True)
    assert 'class="model-card"' in page and "楼栋党员中心户" in page
    assert 'data-facet="models"' in page
    model_id = client.get("/api/models?q=兼合式").get_json()["models"][0]["model_id"]
    filtered = client.get(f"/api/search?q=党建&model={model_id}&limit=100").get_json()
    assert filtered["total"] > 0 and all("兼合式" in h["passage"] for h in filtered["hits"])
    assert "模式：“兼合式”党组织" in client.get(f"/?q=党建&model={model_id}").get_data(as_text=True)


def test_handout_api_and_theme_into_basket(app, client):
    word = client.get("/api/handout.docx?q=" + quote("小区治理"))
    assert word.status_code == 200 and word.mimetype.endswith("wordprocessingml.document")
    assert "filename*=UTF-8''" in word.headers["Content-Disposition"]
    doc = DocxDocument(io.BytesIO(word.data))
    assert [p.text for p in doc.paragraphs if p.style.name == "Heading 1"][-1] == "参考文献"
    md = client.get("/api/handout.md?q=" + quote("小区治理")).get_data(as_text=True)
    assert md.startswith("# 小区治理 专题汇编") and "[Z]" in md
    assert client.get("/api/handout.docx").status_code == 400
    assert client.get("/api/handout.docx?q=qqqzzxx").status_code == 404
    fresh = app.test_client()
    made = fresh.post("/api/basket/handout", json={"q": "小区治理"})
    assert made.status_code == 201 and made.get_json()["added"] == len(made.get_json()["items"]) > 3
    basket_md = fresh.get("/api/basket/export.md").get_data(as_text=True)
    assert basket_md.count("### ") == md.count("### ")  # the same sections as the theme's handout
    page = fresh.get("/basket").get_data(as_text=True)
    assert "（二）" not in re.findall(r"<h2[^>]*>(.*?)</h2>", page)[0] and "[Z]" in page
    visitor = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', visitor.get("/?q=" + quote("小区治理")).get_data(as_text=True))
    assert visitor.post("/basket/handout", data={"q": "小区治理"}).status_code == 403  # no CSRF token
    form = visitor.post("/basket/handout", data={"q": "小区治理", "csrf_token": token.group(1)})
    assert form.status_code == 303 and form.headers["Location"].endswith("/basket")


def test_search_page_refinements_in_the_url(client):
    q = quote("小区治理")
    page = client.get(f"/?q={q}&sort=newest&within={quote('业委会')}").get_data(as_text=True)
    assert 'class="sort-newest" aria-current="true"' in page and "within-chip" in page
    years = [int(y) for y in re.findall(r"<span>(\d{4})</span>", page)]
    assert years == sorted(years, reverse=True)
    assert 'name="within" value="业委会"' in page  # the next 在结果中检索 keeps this one
    flat = client.get(f"/?q={q}&bydoc=0").get_data(as_text=True)
    articles = flat.split('<article class="doc">')[1:]
    assert articles and all(a.count('<div class="passage">') == 1 for a in articles)
    grouped = client.get(f"/?q={q}").get_data(as_text=True)
    assert grouped.count('<article class="doc">') < len(articles)
    link = re.search(r'class="copy-link" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert link.startswith("/doc/") and "#p" in link and quote("业委会") in link
    assert client.get("/api/search?q=" + q + "&sort=sideways").status_code == 400
    api = client.get(f"/api/search?q={q}&sort=oldest&within={quote('业委会')}&limit=100").get_json()
    assert api["hits"] and all("业委会" in h["passage"] or "业主委员会" in h["passage"] for h in api["hits"])
    assert [h["year"] for h in api["hits"]] == sorted(h["year"] for h in api["hits"])
def test_one_practice_many_places_and_at_most_four_to_compare(client):
    double = client.get("/api/models?q=双报到").get_json()["models"]
    assert len([m for m in double if m["key"] == "双报到"]) == 1
    assert len(double[0]["places"]) == 3
    page = client.get(f"/models/{double[0]['model_id']}").get_data(as_text=True)
    assert "采用地区（3）" in page and "宝山区顾村镇党委" in page and "鹤城区委" in page
    ids = [m["model_id"] for m in client.get("/api/models").get_json()["models"][:5]]
    five = client.get("/models/compare?" + "&".join(f"id={i}" for i in ids)).get_data(as_text=True)
    assert "一次最多比较 4 个模式，您选了 5 个" in five and five.count('class="compare-card"') == 4


def test_search_page_marks_the_snippet_spans(client):
    page = client.get("/?q=两楼联动").get_data(as_text=True)
    snippets = re.findall(r'<p class="snippet">(.*?)</p>', page, re.S)
    assert snippets and any("<mark>两楼联动</mark>" in s for s in snippets)


def test_model_page_marks_only_the_model_names(client):
    five = client.get("/api/models?q=五级治理").get_json()["models"][0]
    page = client.get(f"/models/{five['model_id']}").get_data(as_text=True)
    marked = set(re.findall(r"<mark>(.*?)</mark>", page))
    assert marked and all("五级治理" in m for m in marked), marked


def test_pages_say_what_happened(client):
    page = client.get("/?q=" + quote("紅色業委會")).get_data(as_text=True)
    assert "已按简体检索：红色业委会" in page
    assert "已按简体检索" not in client.get("/?q=" + quote("红色业委会")).get_data(as_text=True)
    long_query = "社区治理" * 45
    title = re.search(r"<title>(.*?)</title>", client.get("/?q=" + quote(long_query)).get_data(as_text=True)).group(1)
    assert len(title) < 40
    home = client.get("/").get_data(as_text=True)
    assert 'maxlength="200"' in home and "autofocus" in home
    results = client.get("/?q=" + quote("两楼联动")).get_data(as_text=True)
    assert "autofocus" not in results and "<h1" in results
    assert re.search(r"找到 <strong>\d+</strong> 个相关段落；本页列出 \d+ 段", results)
    assert '<meta name="description"' in home and 'rel="icon"' in home
    assert client.get("/favicon.ico").status_code == 200


def test_document_page_keeps_editors_notes_apart_and_fixes_punctuation(client):
    page = client.get("/doc/003_7eae55bd553d4ef9-1").get_data(as_text=True)
    assert '<details class="provenance">' in page and "<p class=\"note\">说明：" not in page
    text = page.split('<section class="para"')[1]
    assert not re.search(r"[\u4e00-\u9fff],[\u4e00-\u9fff]", text) and "，" in text
    seed = client.get("/doc/000_3cea6dff0efccbce").get_data(as_text=True)
    assert "<dt>作者</dt><dd>陈井安</dd>" in seed and "<dt>单位</dt><dd>华阳街道党工委</dd>" in seed


def test_error_page_counts_the_basket(client):
    passage = client.get("/api/search?q=" + quote("两楼联动")).get_json()["hits"][0]["passage_id"]
    assert client.post("/api/basket/items", json={"passage_id": passage}).status_code == 201
    count = len(client.get("/api/basket").get_json()["items"])
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and f'<span id="basket-count">{count}</span>' in missing.get_data(as_text=True)


@given(st.text(alphabet="中文a&<>;,:!?\"' ", max_size=40))
def test_punctuation_filter_never_breaks_escaping(text):
    import html

    from kb.web.pages import cjk_punctuation

    shown = html.unescape(str(cjk_punctuation(text)))
    assert shown.translate(str.maketrans("，：；！？", ",:;!?")) == text
