"""Traditional and variant script: OpenCC's own test cases through the document and the query
path, simplified text never changed, the trigger set read from the tables, 著/着 folding — over
a real index on disk."""
import json

import pytest
from hypothesis import given, settings, strategies as st

from conftest import DATA, SEEDS, SHARED
from kb.text.normalize import (_opencc_table, fold_variants, has_traditional, kept_phrases, normalize,
                          to_simplified, traditional_chars)
from kb.index.postings import compact
from kb.search import parse

# the shared file (CI has it); a clone without ../shared reads the copy under tests/data/opencc/
CASES_FILE = next(p for p in (SHARED / "eval" / "opencc" / "testcases.jsonl",
                              DATA / "opencc" / "testcases.jsonl") if p.exists())
CASES = [json.loads(line) for line in CASES_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_shared_file_holds_all_67_cases():
    assert len(CASES) == 67 and all(case["expected"] for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_opencc_case_document_path(case):
    assert normalize(case["input"]) in case["expected"].values()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_opencc_case_query_path(case):
    assert parse(case["input"]).text in case["expected"].values()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_opencc_simplified_output_is_left_alone(case):
    for expected in case["expected"].values():
        assert normalize(expected) == expected


# ------------------------------------------------------------ the indexed matcher is the package's

def _table_alphabet() -> list[str]:
    from kb.text.normalize import kept_phrases

    chars = set("".join(_opencc_table("TSPhrases.txt")) + "".join(_opencc_table("TWVariantsRevPhrases.txt")))
    return sorted(chars | set("".join(kept_phrases())) | set(" ，。、-.?!"))


@settings(deadline=None)  # the first example loads the tables (a busy machine is slow)
@given(st.text(alphabet=st.sampled_from(_table_alphabet()), max_size=60))
def test_indexed_matching_gives_the_packages_output(text):
    from kb.text.normalize import _converter, _fast_converter

    assert _fast_converter().convert(text) == _converter().convert(text)


@pytest.mark.parametrize("text", [c["input"] for c in CASES] + [s.read_text(encoding="utf-8") for s in SEEDS],
                         ids=[c["id"] for c in CASES] + [s.name[:3] for s in SEEDS])
def test_indexed_matching_gives_the_packages_output_on_real_text(text):
    from kb.text.normalize import _converter, _fast_converter

    assert _fast_converter().convert(text) == _converter().convert(text)


# ------------------------------------------------------------ simplified text is never changed

def mostly_traditional(text: str) -> bool:
    return sum(ch in traditional_chars() for ch in text) > len(text) / 20


SIMPLIFIED_SEEDS = [s for s in SEEDS if not mostly_traditional(s.read_text(encoding="utf-8"))]


@pytest.mark.parametrize("seed", SIMPLIFIED_SEEDS, ids=lambda p: p.name[:3])
def test_simplified_corpus_files_change_no_simplified_character(seed):
    text = seed.read_text(encoding="utf-8")
    out = to_simplified(text)
    assert len(out) == len(text)
    changed = [(a, b) for a, b in zip(text, out) if a != b]
    assert all(a in traditional_chars() for a, _ in changed), changed
    assert len(changed) == (2 if seed.name.startswith("001") else 0), changed


def test_three_simplified_seeds_and_their_two_stray_traditional_characters():
    assert [s.name[:3] for s in SIMPLIFIED_SEEDS] == ["001", "002", "003"]
    text = SIMPLIFIED_SEEDS[0].read_text(encoding="utf-8")
    assert "以社區党组织为主" in text and "以社区党组织为主" in to_simplified(text)


def test_a_mixed_line_keeps_its_simplified_clause():
    assert normalize("他们慰藉着受伤的心灵，黨建引領基層治理") == "他们慰藉着受伤的心灵，党建引领基层治理"
    assert normalize("党建引领，慰藉着群众；心靈慰藉著他們") == "党建引领，慰藉着群众；心灵慰藉着他们"
    assert normalize("黨建 慰藉着受伤的心灵") == "党建 慰藉着受伤的心灵"


def test_simplified_words_holding_a_table_character_stay():
    for word in ("乾安县", "乾隆年间", "杨联陞", "幺麽小丑"):
        assert word in kept_phrases()
        assert normalize(word) == word and normalize(f"{word}，黨建") == f"{word}，党建"
    assert normalize("乾安縣的黨建") == "乾安县的党建"


# ------------------------------------------------------------ the trigger set comes from the tables

def test_every_character_the_character_tables_change_triggers_conversion():
    table = _opencc_table("TSCharacters.txt")
    changed = {key for key, values in table.items() if values[0] != key}
    changed |= set(_opencc_table("TSCharactersExt.txt"))
    assert changed <= traditional_chars()
    assert not traditional_chars() & {key for key, values in table.items() if values[0] == key
                                      and key not in _opencc_table("TSCharactersExt.txt")}
    assert set("乾剋夥徵於薹麽") <= traditional_chars()


@pytest.mark.parametrize("traditional, simplified", [
    ("特徵", "特征"), ("基於", "基于"), ("由於", "由于"), ("相剋", "相克"), ("著眼於", "着眼于"),
    ("擡頭", "抬头"), ("畢昇", "毕昇"), ("乾安縣", "乾安县"), ("郭臺銘 沈厚", "郭台铭 沉厚"),
    ("沈厚", "沈厚")])  # alone, 沈 is a simplified surname: no traditional character, no change
def test_characters_the_old_gate_missed(traditional, simplified):
    assert normalize(traditional) == simplified


@settings(deadline=None)  # the first example loads the tables (a busy machine is slow)
@given(st.text(alphabet=st.sampled_from("们的是了在这著着乾坏么才黨建於徵，。 \n"), max_size=40))
def test_text_without_a_traditional_character_is_returned_as_is(text):
    if not has_traditional(text):
        assert to_simplified(text) == text
    assert not has_traditional(to_simplified(text))


# ------------------------------------------------------------ folding for matching

def test_folding_joins_zhuo_words_and_keeps_zhu_words():
    for word in ("着眼于", "着力", "着手", "着重"):
        assert fold_variants(word.replace("着", "著")) == fold_variants(word) == word
    for word in ("著作", "显著", "名著", "著名", "著称"):
        assert fold_variants(word) == word
    assert compact("著眼于基层") == compact("着眼于，基层") == "着眼于基层"
    assert compact("著作") != compact("着作")


@settings(deadline=None)  # the first example loads the tables (a busy machine is slow)
@given(st.text(alphabet=st.sampled_from("著着作显名眼于力手重作者痺睪簷x ，"), max_size=30))
def test_folding_keeps_length_and_is_stable(text):
    folded = fold_variants(text)
    assert len(folded) == len(text) and fold_variants(folded) == folded


# ------------------------------------------------------------ pinyin annotations with spaces

def test_spaced_pinyin_annotation_repaired():
    assert repair("發展(fā zhǎn)的") == "發展的"
    assert repair("治理（zhì lǐ）體系") == "治理體系"
    assert repair("英文(abc def)保留") == "英文(abc def)保留"


def repair(text):
    from kb.text.normalize import repair_damage

    return repair_damage(text)


# ------------------------------------------------------------ a real index

DOCS = {
    "simplified.txt": "社区治理的主要特征是基于群众需求，着眼于长远发展，着力解决难题。",
    # not the simplified text converted (an exact copy after normalization is skipped by design)
    "traditional.txt": "臺灣地區的經驗表明，社區治理的主要特徵是基於群眾需求，著眼於長遠發展，著力解決難題。",
    "old_style.txt": "工作要著眼于基层，著重解决群众身边的实际问题。",
    "books.txt": "他的著作很多，为社区工作留下名著，成效显著。",
}


@pytest.fixture(scope="module")
def script_searcher(tmp_path_factory):
    from kb.ingest.pipeline import rebuild as build
    from kb.ingest.readers import read_path
    from kb.search import Searcher

    folder = tmp_path_factory.mktemp("script")
    docs = []
    for name, text in DOCS.items():
        (folder / name).write_text(text + "\n", encoding="utf-8")
        docs.extend(read_path(folder / name))
    for case in CASES:
        path = folder / f"case_{case['id']}.txt"
        path.write_text(case["input"] + "\n", encoding="utf-8")
        docs.extend(read_path(path))
    build(folder / "index", docs)
    with Searcher(folder / "index") as searcher:
        yield searcher


def sources(searcher, query):
    """Sources found, counting the near-duplicates a hit folds under it ("另有 N 篇相似文档")."""
    hits = searcher.search(query, limit=100).hits
    folded = {row["doc_id"] for hit in hits for row in hit.get("similar", [])}
    return {hit["source"] for hit in hits} | {searcher.document(d)[0]["source"] for d in folded}


@pytest.mark.parametrize("query, expected", [
    ("特徵", {"simplified.txt", "traditional.txt"}),
    ("特征", {"simplified.txt", "traditional.txt"}),
    ("基於", {"simplified.txt", "traditional.txt"}),
    ("基于", {"simplified.txt", "traditional.txt"}),
    ("着眼于", {"simplified.txt", "traditional.txt", "old_style.txt"}),
    ("著眼于", {"simplified.txt", "traditional.txt", "old_style.txt"}),
    ("著眼於", {"simplified.txt", "traditional.txt", "old_style.txt"}),
    ('"着眼于"', {"simplified.txt", "traditional.txt", "old_style.txt"}),
    ("着重", {"old_style.txt"}),
    ("著作", {"books.txt"}),
    ("显著", {"books.txt"}),
])
def test_either_script_finds_both(script_searcher, query, expected):
    assert {s for s in sources(script_searcher, query) if not s.startswith("case_")} == expected


def test_each_document_displays_its_own_characters(script_searcher):
    hit = next(h for h in script_searcher.search("着眼于", limit=10).hits if h["source"] == "old_style.txt")
    assert "著眼于" in hit["passage"] and "着眼于" not in hit["passage"]
    assert "著眼于" in [hit["snippet"][s:e] for s, e in hit["marks"]]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_opencc_case_simplified_query_finds_its_traditional_document(script_searcher, case):
    expected = next(iter(case["expected"].values()))
    hits = script_searcher.search(f'"{expected}"', limit=5).hits
    # an exact copy after normalization (058/059, 061/062) is indexed once, under the first case
    same = {f"case_{c['id']}.txt" for c in CASES if normalize(c["input"]) == normalize(case["input"])}
    assert same & {h["source"] for h in hits}
    assert hits[0]["passage"] == normalize(case["input"])  # 058/059, 061/062: the same text
