"""normalize: each repair rule on its own, then every seed end to end."""
import re

import pytest

from conftest import SEEDS, dev_judgments
from kb.text.normalize import (fold_width, has_traditional, normalize, repair_damage,
                          strip_boilerplate, to_simplified)

ARTIFACTS = [
    re.compile(r"[\u3400-\u9fff][(（][a-zü]*[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ]"),  # pinyin annotation
    re.compile(r"&?(ldquo|rdquo|lsquo|rsquo|mdash|hellip|nbsp|quot);"),     # leaked entity
    re.compile(r"\?!\?|\?[a-zāáǎàōóǒòūúǔù]+\)\?"),                          # ?!? ?yōu)?
    re.compile(r"标题\s*\||范文\s*\||随便看|下载服务|endprint|责编"),         # boilerplate
]


def test_pinyin_annotation_removed_but_real_parentheses_survive():
    assert repair_damage("天府新區(qū)成都") == "天府新區成都"
    assert repair_damage("社會治理創(chuàng)新") == "社會治理創新"
    assert repair_damage("N个小区(院落)自治组") == "N个小区(院落)自治组"
    assert repair_damage("青年项目(18CKS017)的") == "青年项目(18CKS017)的"
    assert repair_damage("英文 (abc) 保留") == "英文 (abc) 保留"


def test_pinyin_counts_in_the_traditional_seeds():
    from kb.text.normalize import PINYIN_ANNOTATION

    counts = {p.name[:3]: len(PINYIN_ANNOTATION.findall(p.read_text(encoding="utf-8"))) for p in SEEDS}
    assert counts["000"] == 302 and counts["004"] == 271
    assert counts["001"] == counts["002"] == counts["003"] == 0


def test_html_entities_with_and_without_ampersand():
    assert repair_damage("變為&ldquo;大合唱&rdquo;") == "變為“大合唱”"
    assert repair_damage("變為ldquo;大合唱rdquo;") == "變為“大合唱”"
    assert repair_damage("A&amp;B") == "A&B"
    assert repair_damage("keep notaname; here") == "keep notaname; here"


def test_scrape_garbage_sequences():
    assert repair_damage("標桿?!?”指以社區") == "標桿。“1”指以社區"
    assert repair_damage("組?!?+4Z+3N”") == "組。“1+4Z+3N”"
    assert repair_damage("變?yōu)?ldquo;大合唱") == "變為“大合唱"
    assert repair_damage("困境?") == "困境?"  # a real question mark stays


def test_boilerplate():
    text = "标题 | 推进城市党建 |\n范文 | 李扬 正文。\n随便看 |\n|\n科学优质学术资源……在线阅读和软件app下载服务。"
    assert strip_boilerplate(text).split("\n")[:2] == ["推进城市党建", "李扬 正文。"]
    assert "随便看" not in strip_boilerplate(text) and "下载服务" not in strip_boilerplate(text)
    assert strip_boilerplate("工作。(责编:陈晖)endprint") == "工作。"


def test_width_folding_keeps_chinese_punctuation():
    assert fold_width("７＋２＋Ｎ，ＡＰＰ！") == "7+2+N，APP！"


def test_opencc_only_where_traditional():
    assert has_traditional("紅色業委會") and not has_traditional("红色业委会")
    assert to_simplified("紅色業委會\n简体一行") == "红色业委会\n简体一行"
    assert normalize("黨建引領基層治理") == "党建引领基层治理"


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.name[:3])
def test_no_artifact_remains_in_any_seed(seed):
    clean = normalize(seed.read_text(encoding="utf-8"))
    for pattern in ARTIFACTS:
        assert not pattern.search(clean), (pattern.pattern, pattern.search(clean))
    assert not has_traditional(clean.replace("著", "")), "traditional characters left"


def test_clean_text_keeps_every_dev_evidence_string():
    clean = {p.name: normalize(p.read_text(encoding="utf-8")) for p in SEEDS}
    for judged in dev_judgments():
        for rel in judged["relevant"]:
            assert rel["evidence"] in clean[rel["source"]], (judged["id"], rel["evidence"])
