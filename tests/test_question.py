"""Question understanding and the learned expansion table (issue 11)."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings, strategies as st

from kb.search import learn, question


@pytest.fixture
def table():
    question.use_table({"欠钱": [("债务", 0.4), ("借款", 0.3)], "老公": [("配偶", 0.6)]})
    yield
    question.use_table(None)


def test_keywords_do_not_read_as_questions():
    for q in ["两楼联动", "在职党员回小区报到", "社区服务用房面积", "7+2+N", "街道大工委 社区大党委"]:
        assert question.understand(q) is None, q


def test_framing_words_are_dropped(table):
    found = question.understand("请问老旧小区没有物业怎么办？")
    assert found is not None
    assert "怎么办" not in found.words and "请问" not in found.words
    assert "物业" in found.words and "老旧小区" in found.words


def test_everyday_words_expand_to_formal_ones(table):
    found = question.understand("朋友欠钱不还怎么办")
    assert [e.term for e in found.expansions][:2] == ["债务", "借款"]
    assert all(0 < e.weight < 1 for e in found.expansions)
    assert found.summary() == "已扩展：欠钱 → 债务、借款"
    assert found.to_dict()["summary"] == found.summary()


def test_the_hand_list_adds_to_the_learned_table(table):
    found = question.understand("老婆要离婚怎么办")
    assert "配偶" in [e.term for e in found.expansions]  # from kb/data/expansions_hand.txt


def test_a_word_the_user_typed_is_not_added_again(table):
    found = question.understand("老公是我的配偶吗")
    assert "配偶" not in [e.term for e in found.expansions]


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=60))
def test_understanding_never_raises(text):
    found = question.understand(text)
    assert found is None or found.words


def test_learning_pairs_question_words_with_answer_words():
    pairs = [("朋友欠钱不还怎么办", "债务人应当清偿债务，借款人应当按照约定返还借款。"),
             ("欠钱不还可以起诉吗", "债权人可以请求债务人履行债务。"),
             ("老公出轨离婚怎么分财产", "夫妻一方有过错的，配偶可以请求损害赔偿。"),
             ("老公家暴可以离婚吗", "配偶一方实施家庭暴力的，另一方可以请求离婚。")]
    table = learn.learn(pairs, frozenset(), min_pairs=2)
    assert table["欠钱"][0][0] == "债务人"  # in both of its answers
    assert "配偶" in [a for a, _ in table["老公"][:2]]
    assert "不" not in table  # one-character words learn nothing
    text = learn.format_table(table)
    assert question.read_table(text) == {w: [(a, round(p, 4)) for a, p in row] for w, row in table.items()}


def test_judged_pairs_find_the_passage_holding_the_evidence():
    lines = [json.dumps({"id": "Q1", "query": "欠钱不还怎么办",
                         "articles": [["债务人应当清偿债务", ["law-1"]], ["不存在的条文", ["law-1"]]]},
                        ensure_ascii=False)]
    passages = {"law-1": [{"text": "第一条 本法的目的。"}, {"text": "第二条 债务人应当清偿债务。"}]}
    pairs = learn.judged_pairs(lines, lambda source: passages.get(source, []))
    assert pairs == [("欠钱不还怎么办", {"text": "第二条 债务人应当清偿债务。"})]


def test_type_weights_favour_the_types_that_answer():
    from collections import Counter

    weights = learn.type_weights(Counter({"法律": 90, "地方性法规": 10}),
                                 Counter({"法律": 1000, "地方性法规": 9000}))
    assert weights["法律"] == 1.0
    assert learn.TYPE_FLOOR <= weights["地方性法规"] < 0.5
    assert weights["*"] == 1.0  # types it knows nothing about are left alone


def test_function_words_are_never_expansions():
    """物业 → 应予、删除 was noise the learned table picked up (kb/data/expansion_stopwords.txt)."""
    table = {"物业": [("物业服务", 0.4), ("应予", 0.3), ("删除", 0.2)]}
    assert [e.term for e in question.expand(["物业"], table)] == ["物业服务"]
