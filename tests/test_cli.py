"""The `kb` command end to end, as a user runs it: real subprocesses, a real index on disk."""
import gzip
import json
import os
import subprocess
import sys

import pytest

from conftest import CORPUS, DEV_SET, ROOT

KB = [sys.executable, "-m", "kb.cli"]


def kb(*args, cwd=ROOT, env=None):
    return subprocess.run(KB + [str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)


@pytest.fixture(scope="module")
def cli_index(tmp_path_factory):
    target = tmp_path_factory.mktemp("cli") / "idx"
    done = kb("index", CORPUS, "--index", target)
    assert done.returncode == 0, done.stderr
    assert "10 篇文档" in done.stdout
    return target


def test_search_json_has_the_contract_fields(cli_index):
    out = kb("search", "7 2 N", "--json", "--limit", "3", "--index", cli_index)
    assert out.returncode == 0, out.stderr
    hits = json.loads(out.stdout)["hits"]
    assert hits[0]["source"] == "002_001294e5f676bdea.txt"
    assert {"doc_id", "source", "title", "unit", "place", "year", "passage", "snippet", "marks", "score"} <= set(hits[0])
    assert "7 2 N" in [hits[0]["snippet"][s:e] for s, e in hits[0]["marks"]]


def test_search_text_output_names_the_case(cli_index):
    out = kb("search", "紅色業委會", "--index", cli_index)
    assert out.returncode == 0
    first = out.stdout.split("\n 2.")[0]
    assert "红色幸福小区" in first and "龙岩市" in first and "【红色业委会】" in first


def test_kb_index_env_variable(cli_index):
    out = kb("search", "好人银行", "--json", env={"KB_INDEX": str(cli_index)})
    assert json.loads(out.stdout)["hits"][0]["source"].startswith("003_")


def test_eval_prints_metrics_and_writes_the_run(cli_index, tmp_path):
    run = tmp_path / "run.jsonl"
    out = kb("eval", DEV_SET, "--run-out", run, "--index", cli_index)
    assert out.returncode == 0, out.stderr
    metrics = dict(part.split("=") for part in out.stdout.split("(")[0].split())
    assert float(metrics["ndcg@10"]) >= 0.97 and float(metrics["hit@1"]) >= 0.95
    lines = [json.loads(line) for line in run.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 15 and lines[0]["id"] == "D01"
    assert {"source", "text"} == set(lines[0]["results"][0])


def test_index_takes_jsonl_gz_records_beside_files(tmp_path):
    records = tmp_path / "extra.jsonl.gz"
    with gzip.open(records, "wt", encoding="utf-8") as handle:
        handle.write(json.dumps({"id": "law-x", "title": "测试条例", "text": "第一条 为了规范社区议事协商，制定本条例。\n第二条 居民委员会组织居民议事。",
                                 "category": "地方性法规/浙江"}, ensure_ascii=False) + "\n")
    target = tmp_path / "idx"
    done = kb("index", CORPUS, records, "--index", target)
    assert done.returncode == 0, done.stderr
    hit = json.loads(kb("search", "议事协商 测试条例", "--json", "--index", target).stdout)["hits"][0]
    assert hit["source"] == "law-x" and hit["type"] == "地方性法规" and hit["place"] == "浙江省"


def test_bad_input_is_one_line_and_nonzero(tmp_path, cli_index):
    missing = kb("index", tmp_path / "nope.txt", "--index", tmp_path / "i")
    assert missing.returncode != 0 and "nope.txt" in missing.stderr
    binary = tmp_path / "blob.txt"
    binary.write_bytes(b"\x00\x01\x02\xff" * 100)
    good = tmp_path / "good.txt"
    good.write_text("社区议事协商制度。" * 20, encoding="gb18030")
    mixed = kb("index", binary, good, "--index", tmp_path / "j")
    assert mixed.returncode == 1
    assert [ln for ln in mixed.stderr.splitlines() if "blob.txt" in ln][0].count("\n") == 0
    assert "1 篇文档" in mixed.stdout  # the good file is still indexed
    bad_judgments = tmp_path / "bad.jsonl"
    bad_judgments.write_text("{not json\n", encoding="utf-8")
    bad = kb("eval", bad_judgments, "--index", cli_index)
    assert bad.returncode != 0 and "bad.jsonl:1" in bad.stderr
    no_index = kb("search", "党建", "--index", tmp_path / "empty")
    assert no_index.returncode != 0 and "kb index" in no_index.stderr


def test_failed_rebuild_keeps_the_old_index(tmp_path):
    target = tmp_path / "idx"
    assert kb("index", CORPUS / "000_3cea6dff0efccbce.txt", "--index", target).returncode == 0
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    failed = kb("index", empty, "--index", target)
    assert failed.returncode != 0
    still = json.loads(kb("search", "1+4Z+3N", "--json", "--index", target).stdout)["hits"]
    assert still and still[0]["source"].startswith("000_")
