"""Shared fixtures: a real Whoosh index on disk, built once per test session from corpus/."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SHARED = ROOT.parent / "shared"
DEV_SET = SHARED / "eval" / "dev.jsonl"
SEEDS = sorted(CORPUS.glob("*.txt"))


def dev_judgments() -> list[dict]:
    return [json.loads(line) for line in DEV_SET.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def corpus_docs():
    from kb.readers import read_path

    return [doc for path in SEEDS for doc in read_path(path)]


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory, corpus_docs):
    from kb.ingest import rebuild as build

    target = tmp_path_factory.mktemp("kb") / "index"
    build(target, corpus_docs)
    return target


@pytest.fixture(scope="session")
def searcher(index_dir):
    from kb.search import Searcher

    with Searcher(index_dir) as s:
        yield s
