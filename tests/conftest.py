"""Shared fixtures: a real Whoosh index on disk, built once per test session from corpus/."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
DATA = ROOT / "tests" / "data"
# The external data beside the repository (CI has it; a fresh clone does not). KB_SHARED points
# elsewhere, e.g. at a missing folder to check that the suite passes without it.
SHARED = Path(os.environ.get("KB_SHARED") or ROOT.parent / "shared")
CORPUS_EXT = SHARED / "corpus-ext"
DEV_SET = DATA / "dev.jsonl"          # copy of ../shared/eval/dev.jsonl (queries over corpus/)
LAWS_SAMPLE = DATA / "laws-sample.jsonl.gz"  # first 50 records of laws.jsonl.gz, each cut to 12,000 characters
needs_corpus_ext = pytest.mark.skipif(not (CORPUS_EXT / "laws.jsonl.gz").exists(),
                                      reason=f"needs the external corpus {CORPUS_EXT} (absent here)")
SEEDS = sorted(CORPUS.glob("*.txt"))


def dev_judgments() -> list[dict]:
    return [json.loads(line) for line in DEV_SET.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def corpus_docs():
    from kb.ingest.readers import read_path

    return [doc for path in SEEDS for doc in read_path(path)]


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory, corpus_docs):
    from kb.ingest.pipeline import rebuild as build

    target = tmp_path_factory.mktemp("kb") / "index"
    build(target, corpus_docs)
    return target


@pytest.fixture(scope="session")
def built_index(tmp_path_factory):
    """``built_index(target, *paths)``: ``target`` becomes a copy of the index that ``kb index paths``
    built — once per session (and xdist worker) for the same paths — so a test that adds to,
    removes from, kills or damages its index gets a real one of its own without paying a build."""
    built: dict[tuple[str, ...], Path] = {}

    def copy(target: Path, *paths: Path) -> Path:
        key = tuple(str(p) for p in paths)
        if key not in built:
            template = tmp_path_factory.mktemp("built") / "idx"
            done = subprocess.run([sys.executable, "-m", "kb.cli", "index", *key, "--index", str(template)],
                                  cwd=ROOT, capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, done.stderr
            built[key] = template
        shutil.copytree(built[key], target, symlinks=True)
        return target

    return copy


@pytest.fixture(scope="session")
def searcher(index_dir):
    from kb.search import Searcher

    with Searcher(index_dir) as s:
        yield s


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, one per test module (webfixtures.chromium_browser)."""
    from webfixtures import chromium_browser

    yield from chromium_browser()
