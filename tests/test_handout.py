"""专题汇编: the builder over a real index, the Word/Markdown renderers, `kb handout`, the API."""
import io
import json
import re
import subprocess
import sys
import zipfile
from datetime import date

import pytest
from docx import Document as DocxDocument

from conftest import ROOT
from kb.materials.export import to_docx, to_markdown
from kb.materials.handout import build, handout_for

FILE_NAME = re.compile(r"\d{3}_[0-9a-f]{16}")


@pytest.fixture(scope="module")
def handout(searcher):
    return handout_for(searcher, "小区治理", made=date(2026, 12, 1))


def test_sections_by_practice_or_document_grouped_by_place(handout, searcher):
    kinds = {s.kind for s in handout.sections}
    assert kinds == {"model", "document"}
    groups = [g for g, _ in handout.groups]
    assert len(groups) == len(set(groups)) and "福建省 龙岩市" in groups and "湖南省 怀化市" in groups
    for group, sections in handout.groups:
        for section in sections:
            place = "".join(group.split())
            assert place in section.title.replace("上海市上海市", "上海市")  # named with its place
            assert not re.fullmatch(r"[\d.、()（）一二三四五六七八九十 ]+", section.title)
    names = [s.model_name for s in handout.sections if s.kind == "model"]
    assert any("红色幸福小区" in n for n in names)


def test_passages_are_quoted_verbatim_and_results_carry_figures(handout, searcher):
    for section in handout.sections:
        for excerpt in section.excerpts:
            assert excerpt.text == searcher.passage(excerpt.passage_id)["text"]
            assert excerpt.marker == f"[{excerpt.number}]"
        for result in section.results:
            assert re.search(r"\d", result)
            assert any(result in p["text"] for p in searcher.document(section.excerpts[0].doc_id))
    assert any(s.results for s in handout.sections)


def test_references_numbered_by_first_citation_without_file_names(handout):
    numbers = [e.number for s in handout.sections for e in s.excerpts]
    first_seen = list(dict.fromkeys(numbers))
    assert first_seen == list(range(1, len(handout.references) + 1))
    texts = [r.text for r in handout.references]
    assert "中共龙岩市委. 党建引领小区治理 建设“红色幸福小区”——福建省龙岩市城市基层党建案例[Z]. 2018." in texts
    assert all(not FILE_NAME.search(t) for t in texts)
    assert len(set(texts)) == len(texts)


def test_word_document_structure(handout):
    data = to_docx(handout)
    doc = DocxDocument(io.BytesIO(data))
    styled = [(p.style.name, p.text) for p in doc.paragraphs]
    assert styled[[t for _, t in styled].index("小区治理 专题汇编")][0] == "Title"
    body = "\n".join(t for _, t in styled)
    assert "主题：小区治理" in body and "生成日期：2026-12-01" in body
    assert f"来源：{handout.source_count} 篇文献" in body
    headings = [(s, t) for s, t in styled if s.startswith("Heading")]
    expected = [(f"Heading {level}", text) for level, text in handout.outline()]
    got = [h for h in headings if h[0] in ("Heading 1", "Heading 2")]
    assert got == expected
    assert {t for s, t in headings if s == "Heading 3"} == {"做法", "成效", "出处"}
    start = max(i for i, (style, t) in enumerate(styled) if t == "参考文献" and style == "Heading 1")
    refs = [t for _, t in styled[start + 1:]]
    assert refs == [f"[{r.number}] {r.text}" for r in handout.references]
    assert not FILE_NAME.search(body)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        document = z.read("word/document.xml").decode("utf-8")
        styles = z.read("word/styles.xml").decode("utf-8")
        fonts = z.read("word/fontTable.xml").decode("utf-8")
        settings = z.read("word/settings.xml").decode("utf-8")
    assert 'TOC \\o "1-2"' in document and 'w:fldCharType="separate"' in document
    assert 'w:eastAsia="宋体"' in styles and 'w:eastAsia="黑体"' in styles and 'w:eastAsia="zh-CN"' in styles
    assert 'w:name="宋体"' in fonts and 'w:val="SimSun"' in fonts
    assert "updateFields" in settings


def test_markdown_has_the_same_outline(handout):
    text = to_markdown(handout)
    assert text.startswith("# 小区治理 专题汇编")
    for level, heading in handout.outline():
        assert f"{'#' * (level + 1)} {heading}" in text
    assert "**做法**" in text and "**成效**" in text and "[1] " in text


def test_basket_order_and_notes_are_kept(searcher):
    hits = searcher.search("红色业委会", limit=20).hits
    a = next(h for h in hits if h["doc_id"].startswith("004"))
    b = next(h for h in hits if not h["doc_id"].startswith("004"))
    items = [{**searcher.passage(p["passage_id"]), "passage": p["passage"], "note": n}
             for p, n in ((b, "先讲鹤城"), (a, ""))]
    for item in items:
        item.pop("text")
    made = build("素材", items, searcher.catalogue.models)
    assert made.sections[0].excerpts[0].passage_id == b["passage_id"]
    assert made.sections[0].excerpts[0].note == "先讲鹤城"
    swapped = build("素材", items[::-1], searcher.catalogue.models)
    assert swapped.sections[0].excerpts[0].passage_id == a["passage_id"]


LAWS = [
    {"id": "law-t1", "title": "测试市物业管理条例", "category": "地方性法规/测试",
     "meta": "2015年3月1日 测试市第十四届人民代表大会常务委员会第二十次会议通过\n"
             "2021年9月29日 测试市第十五届人民代表大会常务委员会第三十次会议修正",
     "text": "第一条 为了规范物业管理活动，维护业主和物业服务人的合法权益，制定本条例。" * 4 + "\n"
             + "第二十条 业主委员会应当在街道办事处、乡镇人民政府和社区党组织指导下依法开展小区治理工作，"
               "定期召开业主大会，接受业主监督。" * 3
             + "\n第二十一条 " + "业主委员会委员应当由热心公益事业、责任心强的业主担任，小区治理中接受社区党组织领导。" * 10},
]


def test_law_reference_and_article_marker(tmp_path):
    from kb.ingest.pipeline import rebuild as build_index
    from kb.ingest.readers import read_path
    from kb.search import Searcher

    records = tmp_path / "laws.jsonl"
    records.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in LAWS), encoding="utf-8")
    build_index(tmp_path / "index", list(read_path(records)))
    with Searcher(tmp_path / "index") as s:
        made = handout_for(s, "业主委员会 小区治理", made=date(2026, 12, 1))
    assert [r.text for r in made.references] == ["测试市人民代表大会常务委员会. 测试市物业管理条例[Z]. 2021-09-29."]
    markers = {e.text[:4]: e.marker for sec in made.sections for e in sec.excerpts}
    assert markers["第二十条"] == "[1]第二十条"
    assert markers["第二十一"] == "[1]第二十一条"
    assert all(t.startswith("第") for t in markers)  # a law's passages are whole articles


def run_kb(*args):
    return subprocess.run([sys.executable, "-m", "kb.cli", *args], cwd=ROOT, capture_output=True, text=True)


def test_cli_handout(index_dir, tmp_path):
    out = tmp_path / "out" / "汇编.docx"
    done = run_kb("handout", "小区治理", "-o", str(out), "--index", str(index_dir))
    assert done.returncode == 0, done.stderr
    assert "已写入" in done.stdout and out.exists() and not list(out.parent.glob("*.part"))
    headings = [p.text for p in DocxDocument(out).paragraphs if p.style.name == "Heading 1"]
    assert headings[-1] == "参考文献" and "福建省 龙岩市" in headings
    md = run_kb("handout", "小区治理", "--md", "--index", str(index_dir))
    assert md.returncode == 0 and md.stdout.startswith("# 小区治理 专题汇编")
    none = run_kb("handout", "qqqzzxx", "-o", str(tmp_path / "x.docx"), "--index", str(index_dir))
    assert none.returncode == 1 and "没有找到" in none.stderr and not (tmp_path / "x.docx").exists()
    no_out = run_kb("handout", "小区治理", "--index", str(index_dir))
    assert no_out.returncode == 2 and "-o" in no_out.stderr
