"""Practice-model extraction against the gold list read off the shipped corpus."""
from pathlib import Path

import pytest

from kb.models import Catalogue, build_catalogue, key_of, save

GOLD = Path(__file__).parent / "data" / "models_gold.tsv"


def gold_entries():
    rows = [line.split("\t") for line in GOLD.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")][1:]
    return [(names.split("|"), doc, [p for p in (parts.split("；") if parts.strip() else [])])
            for names, doc, parts in ((r + ["", ""])[:3] for r in rows)]


def matches(names, model):
    keys = {key_of(n) for n in names}
    return model.key in keys or bool(keys & {key_of(a) for a in model.aliases})


@pytest.fixture(scope="module")
def catalogue(corpus_docs):
    return build_catalogue(corpus_docs)


def test_extraction_precision_and_recall(catalogue):
    models, _ = catalogue
    gold = gold_entries()
    true_pos = [m for m in models if any(doc == m.doc_id and matches(names, m) for names, doc, _ in gold)]
    found = [g for g in gold if any(g[1] == m.doc_id and matches(g[0], m) for m in models)]
    precision, recall = len(true_pos) / len(models), len(found) / len(gold)
    print(f"\nmodels: extracted={len(models)} gold={len(gold)} precision={precision:.3f} recall={recall:.3f}")
    print("false positives:", [m.name for m in models if m not in true_pos])
    print("missed:", [g[0][0] for g in gold if g not in found])
    assert precision >= 0.90 and recall >= 0.85


def test_parts_of_the_defined_models(catalogue):
    models, _ = catalogue
    gold = [g for g in gold_entries() if g[2]]
    agree = 0
    for names, doc, parts in gold:
        model = next((m for m in models if m.doc_id == doc and matches(names, m)), None)
        if model and [p for p in parts if any(p in q or q in p for q in model.parts)] == parts:
            agree += 1
    print(f"\nparts agree for {agree}/{len(gold)} defined models")
    assert agree / len(gold) >= 0.75
    by_key = {m.key: m for m in models}
    assert by_key["1+4Z+3N"].parts == ["1", "4Z", "3N"]
    assert by_key["五级治理"].parts == ["街道大工委", "社区大党委", "小区党支部", "网格党小组", "楼栋党员中心户"]
    assert by_key["7+2+N"].parts == ["7名事业编制人员", "2名临聘人员", "N名网格员"]


def test_slogans_are_not_models(catalogue):
    models, _ = catalogue
    names = " ".join(m.name + " ".join(m.aliases) for m in models)
    for slogan in ("党建搭台", "多位一体、多元共治", "一号工程", "两委", "五好", "三下三上"):
        assert slogan not in names


def test_models_know_place_unit_mentions_and_results(catalogue, tmp_path):
    models, by_passage = catalogue
    model = next(m for m in models if m.key == "兼合式")
    assert model.place == "福建省 龙岩市" and model.unit == "中共龙岩市委" and model.year == 2018
    assert len(model.mentions) >= 5 and all(p in by_passage for p in model.mentions)
    assert any("37455" in r for r in next(m for m in models if m.key == "党员回家").results)
    seven = next(m for m in models if m.key == "7+2+N")
    assert seven.mentions  # "7 2 N" in the text counts as a mention
    save(tmp_path, models)
    cat = Catalogue(tmp_path)
    assert [m.key for m in cat.named_in("1+4Z+3N")][:1] == ["1+4Z+3N"]
    assert cat.named_in("7 2 N")[0].key == "7+2+N"
    assert cat.named_in("兼合式")[0].key == "兼合式"
    assert cat.named_in("两楼联动")[0].key == "金色纽带"
    assert cat.named_in("五级治理")[0].key == "五级治理"
    assert cat.named_in("党") == []
