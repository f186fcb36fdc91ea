"""Ranking statistics over live passages only (N, df, average lengths): deleted passages count
nowhere, so a merge never changes a score; and a new generation answers only once it is warm."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from conftest import LAWS_SAMPLE


@pytest.fixture(scope="module")
def laws():
    from kb.ingest.readers import read_path

    return list(read_path(LAWS_SAMPLE))


def _scores_by_id(searcher, term: str) -> dict[str, float]:
    """passage_id → score of one text term, straight from the ranking (no query cutting)."""
    from kb.search.ranking import Ranking

    cols = searcher.columns()
    passages, scores = Ranking(cols).term("text", term)
    return {searcher.searcher.stored_fields(int(p))["passage_id"]: float(s) for p, s in zip(passages, scores)}


def _some_terms(searcher, n: int = 12) -> list[str]:
    """Terms of the text field from rare to common."""
    cols = searcher.columns()
    terms = [t for t in cols.field_terms("text") if len(t) >= 2]
    by_df = sorted(terms, key=lambda t: (len(cols.postings("text", t)[0]), t))
    picks = np.linspace(0, len(by_df) - 1, n).astype(int)
    return [by_df[i] for i in picks]


def test_deleted_passages_count_nowhere_and_a_merge_changes_no_score(tmp_path, laws):
    from kb.index.store import IndexStore
    from kb.ingest.pipeline import add, remove
    from kb.search import Searcher

    a, b, c = laws[:12], laws[12:24], laws[24:26]  # c: under MOSTLY_DELETED of its segment
    grown, plain = tmp_path / "grown", tmp_path / "plain"
    for batch in (a, b + c):
        add(grown, batch)
    remove(grown, [d.doc_id for d in c])  # c's passages stay in b's segment, deleted
    for batch in (a, b):
        add(plain, batch)

    with Searcher(plain) as ref, Searcher(grown) as got:
        cols = got.columns()
        assert cols.n_live == ref.columns().n_live < cols.n_passages  # there are deleted passages
        assert cols.avg_length == ref.columns().avg_length
        terms = _some_terms(ref)
        expected = {t: _scores_by_id(ref, t) for t in terms}
        assert {t: _scores_by_id(got, t) for t in terms} == expected
        queries = ["条例 管理", "“行政处罚”", "标题:条例 监督", "违反本条例规定的怎么处罚"]
        before = {q: [(h["passage_id"], h["score"]) for h in got.search(q, limit=10).hits] for q in queries}

    IndexStore(grown).optimize()  # one segment: the deleted passages are gone
    with Searcher(grown) as got:
        assert got.columns().n_passages == got.columns().n_live
        assert {t: _scores_by_id(got, t) for t in terms} == expected
        after = {q: [(h["passage_id"], h["score"]) for h in got.search(q, limit=10).hits] for q in queries}
    assert after == before
    assert all(before.values())


def test_a_serving_process_opens_and_warms_each_commit_before_a_request_asks(tmp_path, laws):
    from kb.index.store import IndexStore
    from kb.ingest.pipeline import add
    from kb.search import Searcher

    folder = tmp_path / "idx"
    add(folder, laws[:10])
    with Searcher(folder) as searcher:
        searcher.pin()
        first = searcher.generation
        assert searcher.search("条例").hits
        add(folder, laws[10:15])  # another writer commits
        searcher.pin()  # a request right after a commit reads it: every request sees the latest
        assert searcher.generation > first
        assert {h["doc_id"] for h in searcher.search("条例", limit=50).hits} & {d.doc_id for d in laws[10:15]}
        searcher.unpin()

        searcher.store.watch(every=0.05)  # what `kb serve` runs in each worker
        before = searcher.store.current.number
        add(folder, laws[15:20])
        latest = IndexStore(folder).latest_generation()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # no request meanwhile
            gen = searcher.store.current
            if gen.number == latest and gen.has_columns and "catalogue" in gen.cache:
                break
            time.sleep(0.02)
        gen = searcher.store.current
        assert gen.number == latest > before, "the watcher never opened the new commit"
        assert gen.has_columns and "catalogue" in gen.cache  # columns built and the warm-up run
        searcher.pin()
        assert searcher.view().generation is gen  # the first request finds it ready
        assert {h["doc_id"] for h in searcher.search("条例", limit=50).hits} & {d.doc_id for d in laws[15:20]}
        searcher.unpin()

        # while the watcher warms a commit, requests read the warmed generation before it — and
        # never a half-warmed one; once warmed it is swapped in
        store = searcher.store
        release, warming = threading.Event(), threading.Event()

        def slow_warmer(_view):
            warming.set()
            release.wait(30)

        store.warmers.append(slow_warmer)
        add(folder, laws[20:23])
        assert warming.wait(30), "the watcher never began warming the commit"
        newest = IndexStore(folder).latest_generation()
        view = searcher.pin()
        assert view.generation is gen and gen.warmed  # the one before, warm
        searcher.unpin()
        release.set()
        deadline = time.monotonic() + 30
        while store.current.number != newest and time.monotonic() < deadline:
            time.sleep(0.02)
        view = searcher.pin()
        assert view.generation.number == newest and view.generation.warmed
        assert {h["doc_id"] for h in searcher.search("条例", limit=50).hits} & {d.doc_id for d in laws[20:23]}
        store.warmers.remove(slow_warmer)


def test_a_watching_store_reads_a_commit_itself_once_the_watcher_is_too_slow(tmp_path, laws, monkeypatch):
    """A commit the watcher takes too long to warm is read by the requests after STALE_SECONDS
    (issue 10: a commit is found within 2 s), and a damaged new table of contents is reported
    at once, never hidden behind the generation before."""
    from kb.index import store as store_module
    from kb.index.errors import StoreError
    from kb.index.store import IndexStore
    from kb.ingest.pipeline import add

    monkeypatch.setattr(store_module, "STALE_SECONDS", 0.3)
    folder = tmp_path / "idx"
    add(folder, laws[:5])
    store = IndexStore(folder)
    store._watching = True  # as watch() sets it, without the thread: nobody warms the commits
    first = store.generation()
    add(folder, laws[5:8])
    assert store.generation() is first  # within the watcher's time: the generation before
    time.sleep(0.35)
    assert store.generation().number > first.number  # too long: the request opens it itself
    latest = store.latest_generation()
    (folder / f"_MAIN_{latest + 1}.toc").write_bytes(b"\x00" * 12)
    with pytest.raises(StoreError):
        store.generation()
    store.close()


def test_columns_of_an_older_kb_gain_their_token_counts_in_place(tmp_path, laws):
    """Columns written by kb before the token counts (version 4) get them from their own
    postings on open — the same counts a fresh write gives, no segment rewritten."""
    from kb.index.postings import COLUMNS_DIR, SCORED_FIELDS
    from kb.ingest.pipeline import add
    from kb.search import Searcher

    folder = tmp_path / "idx"
    add(folder, laws[:8])
    with Searcher(folder) as searcher:
        expected = [(h["passage_id"], h["score"]) for h in searcher.search("条例 管理", limit=10).hits]
    segments = [d for d in (folder / COLUMNS_DIR).iterdir() if (d / "VERSION").exists()]
    fresh = {(d.name, f): np.load(d / f"{f}.tokens.npy") for d in segments for f in SCORED_FIELDS}
    stamps = {d.name: (d / "text.compact.bin").stat().st_mtime_ns for d in segments}
    for d in segments:  # as kb wrote them before
        for f in SCORED_FIELDS:
            (d / f"{f}.tokens.npy").unlink()
        (d / "VERSION").write_text("4")
    with Searcher(folder) as searcher:
        assert [(h["passage_id"], h["score"]) for h in searcher.search("条例 管理", limit=10).hits] == expected
    for d in segments:
        assert (d / "VERSION").read_text() == "5"
        assert (d / "text.compact.bin").stat().st_mtime_ns == stamps[d.name]  # not rewritten
        for f in SCORED_FIELDS:
            assert np.array_equal(np.load(d / f"{f}.tokens.npy"), fresh[d.name, f])
