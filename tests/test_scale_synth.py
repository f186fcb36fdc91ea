"""benchmarks/synth.py: a seed gives the same corpus, of exactly the passages asked, readable by kb."""
from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import synth  # noqa: E402

SOURCES = [ROOT / "corpus", ROOT / "tests" / "data" / "laws-sample.jsonl.gz"]


@pytest.fixture(scope="module")
def pool():
    return synth.load_pool(SOURCES)


def parts(folder: Path) -> list[bytes]:
    return [gzip.decompress(p.read_bytes()) for p in sorted(folder.glob("part-*.jsonl.gz"))]


def test_same_seed_same_corpus_exact_passages(pool, tmp_path):
    from kb.ingest.readers import read_path

    first = synth.write_corpus(pool, tmp_path / "a", 600, seed=3)
    again = synth.write_corpus(pool, tmp_path / "b", 600, seed=3)
    other = synth.write_corpus(pool, tmp_path / "c", 600, seed=4)
    assert parts(tmp_path / "a") == parts(tmp_path / "b")
    assert parts(tmp_path / "a") != parts(tmp_path / "c")
    assert [p["passages"] for p in first["parts"]] == synth.quotas(600) == [540, 12, 12, 12, 12, 12]
    assert first["parts"] == again["parts"] and other["passages"] == 600

    ids, titles, read = set(), set(), []
    for info in first["parts"]:
        docs = list(read_path(tmp_path / "a" / info["file"]))  # the reader `kb index` uses
        read.append(sum(len(d.passages) for d in docs))
        ids |= {d.doc_id for d in docs}
        titles |= {d.title for d in docs}
        assert len(docs) == info["documents"]
    assert read == [p["passages"] for p in first["parts"]]
    assert len(ids) == len(titles) == first["documents"]  # unique ids and titles
    record = json.loads(gzip.decompress((tmp_path / "a" / "part-0.jsonl.gz").read_bytes()).split(b"\n")[0])
    assert {"id", "title", "text", "type"} <= set(record)


def test_reused_when_asked_again(pool, tmp_path):
    synth.write_corpus(pool, tmp_path / "a", 200, seed=1)
    stamp = (tmp_path / "a" / "part-0.jsonl.gz").stat().st_mtime_ns
    synth.write_corpus(pool, tmp_path / "a", 200, seed=1)
    assert (tmp_path / "a" / "part-0.jsonl.gz").stat().st_mtime_ns == stamp


def test_numbers_and_rank_correlation():
    assert [synth.chinese_number(n) for n in (1, 10, 15, 20, 101, 110, 1010)] == \
        ["一", "十", "十五", "二十", "一百零一", "一百一十", "一千零一十"]
    assert synth.rank_correlation([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert synth.rank_correlation([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
