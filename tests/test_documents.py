"""Passages and metadata of the shipped corpus."""
import re

from kb.text.documents import PASSAGE_MAX, split_passages

SENTENCE_END = re.compile(r"[。！？!?；;”’」』)）\]]$")


def test_shanghai_file_is_six_documents_with_their_own_units(corpus_docs):
    shanghai = [d for d in corpus_docs if d.source.startswith("003_")]
    assert len(shanghai) == 6
    assert [d.unit for d in shanghai] == [
        "市教育卫生工作党委", "宝山区顾村镇党委", "徐汇区委", "浦东新区陆家嘴街道党工委",
        "静安区静安寺街道美丽园居民区党总支", "嘉定区马陆镇大裕村党总支"]
    assert len({d.title for d in shanghai}) == 6
    assert all(d.source == "003_7eae55bd553d4ef9.txt" and d.province == "上海市" for d in shanghai)
    assert "两楼联动、两头延伸" in shanghai[3].title


def test_every_document_has_metadata(corpus_docs):
    assert len(corpus_docs) == 10
    for doc in corpus_docs:
        assert doc.title and (doc.unit or doc.author) and doc.place and doc.type, doc.doc_id
        assert "记者" not in doc.unit and "陈井安" not in doc.unit  # a byline is an author, not a unit
        assert "|" not in doc.title and "标题" not in doc.title


def test_passages_are_whole_sentences_of_sensible_length(corpus_docs):
    lengths = []
    for doc in corpus_docs:
        for passage in doc.passages:
            lengths.append(len(passage.text))
            last_line = passage.text.split("\n")[-1]
            assert len(passage.text) <= PASSAGE_MAX + 160, passage.passage_id
            if passage is not doc.passages[-1] and len(last_line) > 40:
                assert SENTENCE_END.search(last_line), (passage.passage_id, last_line[-20:])
    assert sorted(lengths)[len(lengths) // 2] >= 120
    assert sum(1 for n in lengths if n < 60) <= 3


def test_headings_attach_to_their_section():
    text = "启示一:在顺应社会转型中\n完成基层党组织的自我转型\n" + "第一句话很长很长。" * 12
    (heading, passage), = split_passages(text)
    assert heading == "启示一:在顺应社会转型中\n完成基层党组织的自我转型"
    assert passage.startswith(heading)


def test_long_scraped_line_splits_at_enumerators():
    text = "引言。" * 40 + " 一、问题 (一)横向覆盖不全 第一," + "内容。" * 40
    passages = [p for _, p in split_passages(text)]
    assert any(p.startswith("一、问题") for p in passages)


LAW = """中华人民共和国示范法
第一章 总则
第一节 一般规定
第一条 为了规范示范行为，制定本法。
第二条 本法适用于下列情形：
（一）第一种情形；
（二）第二种情形。
前款规定的情形，依照有关规定办理。
第二节 特别规定
第三条 特别规定的事项，由国务院规定。
第二章 附则
第四条 本法自公布之日起施行。
"""


def test_a_law_splits_into_articles_with_their_paths():
    from kb.text.documents import split_structured

    pieces = split_structured(LAW)
    articles = [p for p in pieces if p.article]
    assert [p.article for p in articles] == ["第一条", "第二条", "第三条", "第四条"]
    second = articles[1]
    assert second.text.startswith("第二条 本法适用于") and "（二）第二种情形。" in second.text
    assert "前款规定的情形" in second.text  # the article's 款 and 项 stay together
    assert second.path == "第一章 总则 › 第一节 一般规定"
    assert articles[2].path == "第一章 总则 › 第二节 特别规定"
    assert articles[3].path == "第二章 附则"
    assert not any("第三条" in p.text for p in articles[:2])  # never glued to a neighbour
    assert any("示范法" in p.text for p in pieces if not p.article)  # the title is kept


def test_a_very_long_article_is_cut_between_its_paragraphs():
    from kb.text.documents import ARTICLE_MAX, split_structured

    paragraph = "当事人应当按照约定全面履行自己的义务。" * 12
    text = "第一条 总的规定。\n第二条 " + "\n".join([paragraph] * 6) + "\n第三条 施行日期。"
    pieces = [p for p in split_structured(text) if p.article == "第二条"]
    assert len(pieces) > 1
    assert all(len(p.text) <= ARTICLE_MAX for p in pieces)
    assert "".join(p.text.replace("\n", "") for p in pieces) == ("第二条 " + paragraph * 6)


def test_policy_text_passages_know_their_numbered_heading_path():
    from kb.text.documents import split_structured

    body = "这是一段足够长的正文，说明具体的工作要求和做法，需要超过八十个字符才会单独成为一个段落，所以继续写下去。" * 2
    text = f"关于加强社区治理的意见\n一、总体要求\n{body}\n二、主要任务\n（一）健全组织体系。{body}\n（二）完善服务。{body}"
    pieces = split_structured(text)
    assert not any(p.article for p in pieces)
    paths = [p.path for p in pieces]
    assert paths[0] == "一、总体要求"
    assert "二、主要任务 › （一）健全组织体系" in paths
    assert paths[-1] == "二、主要任务 › （二）完善服务"


def test_document_passages_carry_article_and_path():
    from kb.text.documents import Document

    doc = Document("d1", "d1.txt", LAW, title="中华人民共和国示范法").split()
    by_article = {p.article: p for p in doc.passages if p.article}
    assert by_article["第二条"].path == "第一章 总则 › 第一节 一般规定"
    assert [p.order for p in doc.passages] == list(range(1, len(doc.passages) + 1))


def test_a_law_category_names_its_province_as_the_other_documents_do():
    """地方性法规/上海 must not make a second 上海 beside 上海市 in the province facet."""
    from kb.ingest.readers.jsonl import record_meta

    assert record_meta({"id": "x", "category": "地方性法规/上海"})["province"] == "上海市"
    assert record_meta({"id": "x", "category": "地方性法规/福建"})["province"] == "福建省"
    assert "province" not in record_meta({"id": "x", "category": "法律"})
