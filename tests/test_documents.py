"""Passages and metadata of the shipped corpus."""
import re

from kb.documents import PASSAGE_MAX, split_passages

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
