"""Exact copies skipped, near-duplicates and versions indexed and linked (kb/index/similar.py): through
`kb add` and `kb index` into real indexes on disk, `kb search --json`, and `kb serve` over HTTP."""
import json
import re
import urllib.request

import pytest
from hypothesis import given, settings, strategies as st

from conftest import CORPUS
from test_ingest import kb
from webfixtures import LiveServer

BODY = [line for line in (CORPUS / "003_7eae55bd553d4ef9.txt").read_text(encoding="utf-8").split("\n")
        if len(line.strip()) > 40][:12]
OTHER_BODY = [line for line in (CORPUS / "004_5fcda69d96d769ba.txt").read_text(encoding="utf-8").split("\n")
              if len(line.strip()) > 40][:12]
CITIES = ["日照市", "临沂市", "济宁市", "潍坊市", "淄博市", "<script>window.__xss=9</script>泰安市"]
PHRASE = "楼道堆物清理"


def regulation(city: str, extra: str = "", body=BODY) -> str:
    return "\n".join([f"第一条 为了规范{city}住宅小区管理，做好{PHRASE}工作，结合{city}实际，制定本规定。",
                      *body, extra])


def record(doc_id, title, text, **meta):
    return json.dumps({"id": doc_id, "title": title, "text": text, **meta}, ensure_ascii=False)


@pytest.fixture(scope="module")
def laws(tmp_path_factory):
    folder = tmp_path_factory.mktemp("similar")
    v2010 = regulation("上海市", body=OTHER_BODY)
    v2020 = regulation("上海市", "第三十条 本规定自2021年1月1日起施行。业主大会可以通过电子投票表决。", OTHER_BODY)
    copy = v2020.replace("第一条 ", "第一条  ").replace("\n", "\n\n")  # whitespace only
    lines = [record(f"city-{i}", f"{city}住宅小区管理规定", regulation(city), province="山东省",
                    date="2017-03-29") for i, city in enumerate(CITIES)]
    lines += [record("sh-2010", "上海市住宅物业管理规定", v2010, province="上海市", path="x/规定(2010-12-23).md"),
              record("sh-2020", "上海市住宅物业管理规定", v2020, province="上海市", path="x/规定(2020-12-30).md"),
              record("sh-copy", "上海市住宅物业管理规定", copy, province="上海市", category="行政法"),
              record("other", "业主委员会工作指引", f"业主委员会要组织{PHRASE}，每月一次。" + "、".join(BODY[:1]))]
    source = folder / "laws.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    added, indexed = folder / "added", folder / "indexed"
    out = kb("add", source, "--index", added)
    assert out.returncode == 0, out.stderr
    built = kb("index", source, "--index", indexed)
    assert built.returncode == 0, built.stderr
    return {"source": source, "added": added, "indexed": indexed, "add_out": out.stdout,
            "index_out": built.stdout}


def links_of(index):
    from kb.index import similar

    return similar.to_json(similar.load(index))


def search_json(index, query, limit=10):
    out = kb("search", query, "--json", "--limit", limit, "--index", index)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["hits"]


def test_exact_copy_is_skipped_and_reported_with_what_it_copies(laws):
    assert "完全相同 / exact copy: sh-copy = sh-2020" in laws["add_out"]
    assert re.search(r"新增 / added\s+9\b", laws["add_out"])
    assert "sh-copy" not in links_of(laws["added"])["docs"]
    assert "sh-copy = sh-2020" in laws["index_out"] and "已索引 / indexed: 9 篇文档" in laws["index_out"]


def test_cities_regulations_are_all_indexed_and_linked(laws):
    links = links_of(laws["added"])
    assert set(links["docs"]) == {f"city-{i}" for i in range(len(CITIES))} | {"sh-2010", "sh-2020", "other"}
    assert set(links["pairs"]["city-0"]) == {f"city-{i}" for i in range(1, len(CITIES))}
    assert "other" not in links["pairs"]


def test_kb_index_and_kb_add_apply_the_same_rule(laws):
    added, indexed = links_of(laws["added"]), links_of(laws["indexed"])
    assert set(added["docs"]) == set(indexed["docs"])
    assert {d: set(o) for d, o in added["pairs"].items()} == {d: set(o) for d, o in indexed["pairs"].items()}


def test_versions_newest_is_current(laws):
    from kb.index import similar

    links = similar.load(laws["added"])
    assert similar.versions(links)["sh-2010"] == ["sh-2020", "sh-2010"]
    old = similar.describe(links, "sh-2010")
    assert old["current"] == {"is_current": False, "doc_id": "sh-2020"}
    assert [(v["doc_id"], v["current"]) for v in old["versions"]] == [("sh-2020", True), ("sh-2010", False)]
    assert similar.describe(links, "sh-2020")["current"]["is_current"] is True
    assert old["similar"][0]["differs"] == {"date": "2020-12-30"}


def test_search_json_collapses_near_duplicates_under_the_best_hit(laws):
    hits = search_json(laws["added"], PHRASE, limit=3)
    docs = [h["doc_id"] for h in hits]
    cities = [d for d in docs if d.startswith("city-")]
    assert len(set(cities)) == 1, docs  # one of the six, the others folded under it
    assert "other" in docs  # not buried under the copies
    leader = next(h for h in hits if h["doc_id"] == cities[0])
    assert leader["collapsed"] == len(CITIES) - 1
    assert {row["doc_id"] for row in leader["similar"]} == {f"city-{i}" for i in range(len(CITIES))} - {cities[0]}
    assert all(row["relation"] == "similar" and "place" in row["differs"] for row in leader["similar"])
    assert next(h for h in hits if h["doc_id"] == "other")["collapsed"] == 0


def test_current_version_leads_its_versions(laws):
    from kb.search import Searcher

    with Searcher(laws["added"]) as searcher:
        hits = searcher.search("住宅物业管理规定 上海市", limit=5).hits
    first = next(h for h in hits if h["doc_id"].startswith("sh-"))
    assert first["doc_id"] == "sh-2020" and first["version"]["is_current"]
    assert [r["doc_id"] for r in first["similar"]] == ["sh-2010"] and first["similar"][0]["relation"] == "version"


def test_related_passages_leave_out_near_duplicates(laws):
    from kb.search import Searcher

    with Searcher(laws["added"]) as searcher:
        related = searcher.related("city-0#p1", limit=5)
    assert related and not any(h["doc_id"].startswith("city-") for h in related)


def test_links_follow_removal_and_replacement(tmp_path, laws):
    import shutil

    from kb.ingest import pipeline
    from kb.ingest.readers import read_path

    index = tmp_path / "ix"
    shutil.copytree(laws["added"], index)
    assert pipeline.remove(index, ["city-1"]).removed == ["city-1"]
    links = links_of(index)
    assert "city-1" not in links["docs"] and "city-1" not in links["pairs"]["city-0"]
    changed = tmp_path / "changed.jsonl"
    changed.write_text(record("city-2", "济宁市住宅小区管理规定", "济宁市另行规定：" + "。".join(BODY[5:7]),
                              province="山东省") + "\n", encoding="utf-8")
    assert pipeline.add(index, read_path(changed)).replaced == ["city-2"]
    links = links_of(index)
    assert "city-2" not in links["pairs"] and "city-2" not in links["pairs"]["city-0"]
    assert links["docs"]["city-2"]["key"] != links_of(laws["added"])["docs"]["city-2"]["key"]


@pytest.fixture(scope="module")
def server(laws, tmp_path_factory):
    live = LiveServer(laws["added"], tmp_path_factory.mktemp("basket") / "b.sqlite")
    yield live
    live.stop()


def fetch(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read().decode("utf-8")


def test_http_search_collapses_and_links_the_document_page(server):
    from urllib.parse import quote

    body = json.loads(fetch(f"{server.url}/api/search?q={quote(PHRASE)}&limit=3"))
    leader = next(h for h in body["hits"] if h["doc_id"].startswith("city-"))
    assert leader["collapsed"] == len(CITIES) - 1
    assert "other" in {h["doc_id"] for h in body["hits"]}
    page = fetch(f"{server.url}/?q={quote(PHRASE)}")
    assert f"另有 {len(CITIES) - 1} 篇相似文档" in page
    assert "window.__xss=9" not in page.replace("&lt;script&gt;window.__xss=9", "")
    doc = json.loads(fetch(f"{server.url}/api/docs/city-0"))
    assert {row["doc_id"] for row in doc["similar"]} == {f"city-{i}" for i in range(1, len(CITIES))}
    assert doc["date"] == "2017-03-29" and doc["versions"] == []
    html = fetch(f"{server.url}/doc/city-0")
    assert "相似文档" in html and "/doc/city-1" in html and "临沂市" in html
    assert "<script>window.__xss" not in html and "&lt;script&gt;window.__xss=9&lt;/script&gt;" in html


def test_http_document_page_shows_versions(server):
    old = fetch(f"{server.url}/doc/sh-2010")
    assert "本篇已有新版本" in old and 'href="/doc/sh-2020"' in old and "已被取代" in old
    new = fetch(f"{server.url}/doc/sh-2020")
    assert "现行" in new and "本篇已有新版本" not in new
    api = json.loads(fetch(f"{server.url}/api/docs/sh-2010"))
    assert api["current"] == {"doc_id": "sh-2020", "is_current": False}


# ---------------------------------------------------------------- the rule itself

def make_doc(doc_id, text, **meta):
    from kb.text.documents import Document, apply_metadata

    return apply_metadata(Document(doc_id, doc_id, text, title=meta.pop("title", doc_id)), meta).split()


def test_differences_name_the_place_of_otherwise_equal_titles():
    from kb.index import similar

    a = similar.entry(make_doc("a", regulation("日照市"), title="日照市制定地方性法规条例", date="2017-03-29"))
    b = similar.entry(make_doc("b", regulation("临沂市"), title="临沂市制定地方性法规条例", date="2016-03-30"))
    assert similar.differences(a, b) == {"place": "临沂市", "title": "临沂市制定地方性法规条例",
                                         "date": "2016-03-30"}


def test_same_title_without_common_text_is_not_a_version():
    from kb.index import similar

    docs = [make_doc("x1", "社区议事协商的做法很多。" * 20, title="经验材料", date="2019"),
            make_doc("x2", "物业服务企业要依法退出。" * 20, title="经验材料", date="2021")]
    assert similar.versions(similar.sort_out(similar.Links(), docs).links) == {}


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300), st.sampled_from(["", " ", "\n", "\u3000"]))
def test_a_copy_differing_only_in_whitespace_is_skipped(text, space):
    from kb.index import similar

    original = make_doc("one", text or "空")
    copy = make_doc("two", space.join(text or "空"))
    decided = similar.sort_out(similar.Links(), [original, copy])
    assert [d.doc_id for d in decided.admitted] == ["one"] and decided.copies == [("two", "one")]


def test_links_of_a_concurrent_writer_are_merged_not_lost():
    from kb.index import similar

    base = similar.sort_out(similar.Links(), [make_doc("a", regulation("日照市"))]).links
    ours = similar.sort_out(base, [make_doc("b", regulation("临沂市"))]).links
    theirs = similar.sort_out(base, [make_doc("c", regulation("济宁市"))]).links  # saved meanwhile
    both = similar.merged(ours, theirs)
    assert set(both.entries) == {"a", "b", "c"} and set(both.pairs["c"]) == {"a", "b"}
    assert similar.merged(ours, None) is ours


# ---------------------------------------------------------------- kb's MinHash and LSH against datasketch's

def _datasketch_signature(compacted: str) -> tuple[int, ...]:
    from datasketch import MinHash

    from kb.index import similar

    minhash = MinHash(num_perm=similar.PERMUTATIONS, seed=similar.SEED, hashfunc=int, scheme=similar.SCHEME)
    minhash.update_batch(similar.shingle_hashes(compacted).tolist())
    return tuple(int(v) for v in minhash.hashvalues)


def _datasketch_pairs(links, changed) -> dict:
    """The near-duplicate pairs datasketch's MinHashLSH finds (kb's relink before it went numpy)."""
    import numpy as np
    from datasketch import LeanMinHash, MinHashLSH

    from kb.index import similar

    lsh = MinHashLSH(threshold=similar.LSH_THRESHOLD, num_perm=similar.PERMUTATIONS)
    hashes = {}
    for doc_id, e in links.entries.items():
        hashes[doc_id] = LeanMinHash(seed=similar.SEED, hashvalues=np.asarray(e.signature, dtype=np.uint64),
                                      scheme=similar.SCHEME)
        lsh.insert(doc_id, hashes[doc_id], check_duplication=False)
    pairs: dict = {}
    for doc_id in changed:
        this = links.entries[doc_id]
        for other in lsh.query(hashes[doc_id]):
            if other != doc_id and this.key != links.entries[other].key:
                score = similar.jaccard(this, links.entries[other])
                if score >= similar.SIMILAR_JACCARD:
                    pairs.setdefault(doc_id, {})[other] = round(score, 3)
                    pairs.setdefault(other, {})[doc_id] = round(score, 3)
    return pairs


def test_lsh_bands_are_datasketchs_choice():
    from datasketch import MinHashLSH

    from kb.index import similar

    lsh = MinHashLSH(threshold=similar.LSH_THRESHOLD, num_perm=similar.PERMUTATIONS)
    assert (lsh.b, lsh.r) == (similar.LSH_BANDS, similar.LSH_ROWS)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="党建社区治理网格员业委会物业两楼联动，。0123456789ab \n", max_size=3000))
def test_signature_is_datasketchs_minhash_value_for_value(text):
    from kb.index import similar

    compacted = re.sub(r"\s+", "", text)
    assert similar.signature(compacted) == _datasketch_signature(compacted)


def test_signature_of_a_long_text_spans_chunks():
    from kb.index import similar

    compacted = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(30_000))  # > one chunk of shingles
    assert similar.signature(compacted) == _datasketch_signature(compacted)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=2, max_size=30), st.integers(0, 2**31))
def test_relink_finds_exactly_the_pairs_datasketchs_lsh_finds(edits, seed):
    """Variants of one text (some near, some far) and unrelated ones: the numpy bands give the
    pairs MinHashLSH gives, scores included."""
    import random

    from kb.index import similar

    rng = random.Random(seed)
    base = [chr(0x4E00 + rng.randrange(3000)) for _ in range(400)]
    entries = {}
    for i, n_edits in enumerate(edits):
        text = list(base) if i % 3 else [chr(0x4E00 + rng.randrange(3000)) for _ in range(400)]
        for _ in range(n_edits):
            text[rng.randrange(len(text))] = chr(0x4E00 + rng.randrange(3000))
        entries[f"d{i}"] = similar.text_entry(f"d{i}", "".join(text))
    links = similar.Links(entries, {})
    changed = list(entries)[len(entries) // 2:]
    assert similar.relink(links, changed).pairs == _datasketch_pairs(links, changed)


def test_relink_of_close_variants_links_them_as_datasketch_does():
    import random

    from kb.index import similar

    rng = random.Random(3)
    base = [chr(0x4E00 + rng.randrange(3000)) for _ in range(600)]
    entries = {}
    for i, n_edits in enumerate([0, 2, 5, 9, 60, 200]):
        text = list(base)
        for _ in range(n_edits):
            text[rng.randrange(len(text))] = chr(0x4E00 + rng.randrange(3000))
        entries[f"v{i}"] = similar.text_entry(f"v{i}", "".join(text) + str(i))
    links = similar.Links(entries, {})
    pairs = similar.relink(links, list(entries)).pairs
    assert pairs == _datasketch_pairs(links, list(entries))
    assert {"v1", "v2"} <= set(pairs["v0"]) and "v5" not in pairs.get("v0", {})
