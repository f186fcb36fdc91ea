"""Questions end to end (issue 11): article passages in a real index, question understanding in
search, the CLI and the API, (query, passage) pairs from the basket, and ``kb learn``."""
from __future__ import annotations

import json

import pytest

from test_cli import kb

LAW = "\n".join([
    "第一章 一般规定",
    "第一条 为了规范物业管理活动，维护业主和物业服务企业的合法权益，制定本条例。",
    "第二条 物业服务收费应当遵循合理、公开以及费用与服务水平相适应的原则。",
    "物业服务收费标准由业主和物业服务企业在物业服务合同中约定。",
    "第二章 物业服务",
    "第三条 物业服务企业应当按照物业服务合同的约定，提供相应的服务。物业服务企业提供物业服务，"
    "物业服务企业接受业主监督，物业服务企业公开服务事项。",
    "第四条 借款人应当按照约定的期限返还借款。",
    "第五条 本条例自公布之日起施行。",
])


@pytest.fixture(scope="module")
def law_index(tmp_path_factory):
    base = tmp_path_factory.mktemp("questions")
    records = base / "laws.jsonl"
    records.write_text(json.dumps({"id": "law-1", "title": "示范物业管理条例", "text": LAW,
                                   "category": "地方性法规/示范省"}, ensure_ascii=False) + "\n",
                       encoding="utf-8")
    done = kb("index", records, "--index", base / "idx")
    assert done.returncode == 0, done.stderr
    return base / "idx"


@pytest.fixture(scope="module")
def searcher(law_index):
    from kb.search import Searcher

    with Searcher(law_index) as s:
        yield s


def test_hits_name_their_article_and_its_chapter(searcher):
    hit = searcher.search("借款人返还借款").hits[0]
    assert hit["article"] == "第四条" and hit["path"] == "第二章 物业服务"
    assert hit["passage"] == "第四条 借款人应当按照约定的期限返还借款。"
    second = next(h for h in searcher.search("物业服务收费标准").hits if h["article"] == "第二条")
    assert "收费标准由业主" in second["passage"]  # the article's second paragraph stays with it


def test_a_passage_holding_every_concept_of_the_question_ranks_first(searcher):
    found = searcher.search("物业的收费标准是怎么定的？")
    assert found.query.question is not None
    assert found.hits[0]["article"] == "第二条"  # not 第三条, which repeats 物业 only


def test_framing_words_are_not_marked(searcher):
    hits = searcher.search("请问物业服务企业应当提供什么服务？").hits
    assert hits and "请问" not in [hits[0]["snippet"][s:e] for s, e in hits[0]["marks"]]


def test_cli_json_says_what_was_expanded(law_index):
    out = kb("search", "欠钱不还怎么办", "--json", "--index", law_index)
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert "借款" in [e["term"] for e in body["question"]["expansions"]]  # kb/data/expansions_hand.txt
    assert body["question"]["summary"].startswith("已扩展：欠钱 → ")
    assert body["hits"][0]["article"] == "第四条"
    text = kb("search", "欠钱不还怎么办", "--index", law_index)
    assert "已扩展：欠钱 → " in text.stdout and "示范物业管理条例 第四条" in text.stdout


def test_keyword_queries_are_not_questions(law_index):
    body = json.loads(kb("search", "物业服务", "--json", "--index", law_index).stdout)
    assert "question" not in body


def test_basket_pairs_teach_kb_learn(law_index, tmp_path):
    from kb.web import create_app

    app = create_app(law_index, tmp_path / "basket.sqlite")
    app.config["TESTING"] = True
    client = app.test_client()
    found = client.get("/api/search?q=" + "业主交的钱怎么定？").get_json()
    assert found["question"]["words"]
    article_two = next(h for h in found["hits"] if h["article"] == "第二条")
    for query in ("业主交的钱怎么定？", "交的钱太多了怎么办", "交的钱谁来定"):
        client.post("/api/basket/items", json={"passage_id": article_two["passage_id"], "query": query})
    added = client.get("/api/basket").get_json()["items"]
    assert added[0]["article"] == "第二条"
    markdown = client.get("/api/basket/export.md").get_data(as_text=True)
    assert "[1]第二条" in markdown and "示范物业管理条例[Z]" in markdown  # GB/T 7714: the article in the marker
    page = client.get("/doc/law-1").get_data(as_text=True)
    assert ">第二条</a>" in page
    results = client.get("/?q=欠钱不还怎么办").get_data(as_text=True)
    assert "已扩展：欠钱 → " in results and "查看原文 第四条" in results

    out_dir = tmp_path / "data"
    out_dir.mkdir()
    done = kb("learn", "--index", law_index, "--basket-db", tmp_path / "basket.sqlite", "--out", out_dir)
    assert done.returncode == 0, done.stderr
    assert "素材篮 / basket pairs: 1" in done.stdout  # the same passage added once keeps one pair
    assert (out_dir / "expansions.tsv").exists() and (out_dir / "question_types.tsv").exists()


def test_kb_learn_with_nothing_to_learn_fails_clearly(law_index, tmp_path):
    done = kb("learn", "--index", law_index, "--basket-db", tmp_path / "none.sqlite", "--out", tmp_path)
    assert done.returncode != 0 and "nothing to learn" in done.stderr
