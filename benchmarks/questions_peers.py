#!/usr/bin/env python3
"""The peers on kb's own passages: plain-language questions over the same index (issue 11).

Reads every live passage (passage_id, source, text) of an existing kb index through kb.index.store (no
passage is written; opening an index may create its jieba cache, DIR/.cache — give a copy if that
matters), builds each peer of benchmarks/run.py over exactly those passages, searches every
question of the judged file (top 10), and scores the runs with the official passage scorer, over
the whole file and over the folds of benchmarks/questions_cv.py (same seed, same folds). The peers
learn nothing, so their whole-file figure is their cross-validated figure (the mean of the folds,
weighted by fold size, which is equal here).

  python benchmarks/questions_peers.py ../shared/eval/questions-train.jsonl --index /tmp/laws-ix \\
      --scorer ../shared/eval/score_passages.py [--peers tantivy,bm25s,lucene] [--with-kb] [--runs DIR]

--with-kb also runs benchmarks/questions_cv.py on the same index and adds kb's cross-validated rows.
Lucene (Anserini through Pyserini) needs `pip install pyjnius` and `pip install --no-deps pyserini`
and a Java ≥ 21; where it cannot start, its row says why and the others go on.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import PEERS, percentiles  # noqa: E402
from questions_cv import FIGURES, folds_of, score  # noqa: E402


def _read_passages(folder: Path) -> list[tuple[str, str, str]]:
    from kb.index.store import IndexStore

    store = IndexStore(folder)
    try:
        with store.reading() as view:
            return [(f["passage_id"], f.get("source", ""), f.get("text", ""))
                    for f in view.searcher.all_stored_fields()]
    finally:
        store.close()


def index_passages(folder: Path) -> list[tuple[str, str, str]]:
    """(passage_id, source, text) of every live passage of a kb index, in stored order.

    Read in a spawned child: opening a kb index loads kb's domain dictionary and the index's
    harvested terms into jieba, which is process-wide, and the peers are to cut with plain jieba."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_read_passages, (folder,))


def share_cuts() -> None:
    """jieba.lcut memoized, so the peers (each calls jieba.lcut on every passage) cut the corpus once."""
    import jieba

    cut, memo = jieba.lcut, {}

    def lcut(text, *a, **kw):
        if a or kw:
            return cut(text, *a, **kw)
        if text not in memo:
            memo[text] = cut(text)
        return list(memo[text])

    jieba.lcut = lcut


def table(rows: list[tuple[str, tuple[float, float, float], str]]) -> str:
    out = ["| system | MRR@10 | Recall@10 | hit@1 | questions |", "|---|---|---|---|---|"]
    out += [f"| {name} | {m:.3f} | {r:.3f} | {h:.3f} | {n} |" for name, (m, r, h), n in rows]
    return "\n".join(out)


def kb_cv(args) -> tuple[list[tuple[float, float, float]], tuple[float, float, float]]:
    """kb's folds and mean from benchmarks/questions_cv.py on the same index."""
    done = subprocess.run([sys.executable, str(HERE / "questions_cv.py"), str(args.questions),
                           "--index", str(args.index), "--scorer", str(args.scorer), "--folds", str(args.folds)],
                          capture_output=True, text=True, check=True)
    print(done.stdout, flush=True)
    lines = done.stdout.strip().splitlines()
    folds = [tuple(float(x) for x in FIGURES.search(ln).groups()) for ln in lines if ln.startswith("fold ")]
    return folds, tuple(float(x) for x in FIGURES.search(lines[-1]).groups())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("questions", type=Path)
    ap.add_argument("--index", required=True, type=Path, help="a kb index (read only)")
    ap.add_argument("--scorer", required=True, type=Path)
    ap.add_argument("--peers", default="tantivy,bm25s,lucene", help="comma-separated: toy, tantivy, bm25s, lucene")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "kb-questions-peers",
                    help="where the peers build their indexes")
    ap.add_argument("--runs", type=Path, default=None, help="keep each peer's run file here")
    ap.add_argument("--with-kb", action="store_true", help="add kb's cross-validated rows (questions_cv.py)")
    ap.add_argument("--kb-dictionary", action="store_true",
                    help="the peers cut with jieba as kb sets it up (kb's dictionary + the index's terms), "
                         "not plain jieba")
    args = ap.parse_args()

    lines = [ln for ln in args.questions.read_text(encoding="utf-8").splitlines() if ln.strip()]
    items = [json.loads(ln) for ln in lines]
    folds = folds_of(lines, args.folds)
    fold_ids = [{json.loads(ln)["id"] for ln in fold} for fold in folds]

    began = time.perf_counter()
    passages = index_passages(args.index)
    text_of = {pid: text for pid, _, text in passages}
    print(f"{len(passages):,} passages, {sum(len(t) for t in text_of.values()):,} characters, "
          f"{len({s for _, s, _ in passages}):,} sources from {args.index} "
          f"({time.perf_counter() - began:.0f} s)", flush=True)

    if args.kb_dictionary:  # jieba as kb sets it up: its domain dictionary and the index's terms
        _read_passages(args.index)
    share_cuts()
    whole, per_fold = [], {}
    if args.with_kb:
        began = time.perf_counter()
        kb_folds, kb_mean = kb_cv(args)
        whole.append(("kb, cross-validated (questions_cv.py: mean of the folds)", kb_mean, len(lines)))
        per_fold["kb"] = kb_folds
        print(f"kb cross-validation: {time.perf_counter() - began:.0f} s", flush=True)

    for key in [k for k in args.peers.split(",") if k]:
        peer = type(PEERS[key])()
        began = time.perf_counter()
        try:
            peer.build(passages, args.work / key)
        except Exception as exc:  # noqa: BLE001 — an optional peer that cannot start is reported, not fatal
            print(f"{peer.name}: skipped, it did not build: {type(exc).__name__}: {exc}", flush=True)
            continue
        built = time.perf_counter() - began
        runs, samples = [], []
        for item in items:
            t0 = time.perf_counter()
            hits = peer.search(item["query"], 10)
            samples.append(time.perf_counter() - t0)
            runs.append({"id": item["id"], "results": [{"source": source, "text": text_of[pid]}
                                                       for pid, source in hits[:10]]})
        if args.runs:
            args.runs.mkdir(parents=True, exist_ok=True)
            (args.runs / f"{key}.jsonl").write_text(
                "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in runs), encoding="utf-8")
        got = score(args.scorer, lines, runs)
        whole.append((peer.name, got, len(lines)))
        per_fold[peer.name] = [score(args.scorer, fold, [r for r in runs if r["id"] in ids])
                               for fold, ids in zip(folds, fold_ids)]
        p = percentiles(samples)
        print(f"{peer.name}: mrr@10={got[0]:.4f} recall@10={got[1]:.4f} hit@1={got[2]:.4f}; "
              f"build {built:.0f} s, search {sum(samples):.0f} s (p50 {p['p50']:.1f} ms, p95 {p['p95']:.1f} ms, "
              f"load average {os.getloadavg()[0]:.1f})", flush=True)
        peer.searcher = None

    print("\nWhole file (the peers learn nothing: this is also their cross-validated figure):\n")
    print(table(whole))
    print(f"\nPer fold (questions_cv.py's folds: seed 11, {args.folds} folds; MRR@10 / Recall@10 / hit@1):\n")
    print("| system | " + " | ".join(f"fold {f} ({len(fold)})" for f, fold in enumerate(folds)) + " | spread of MRR@10 |")
    print("|---|" + "---|" * (len(folds) + 1))
    for name, figs in per_fold.items():
        mrrs = [m for m, _, _ in figs]
        print(f"| {name} | " + " | ".join(f"{m:.3f} / {r:.3f} / {h:.3f}" for m, r, h in figs)
              + f" | {min(mrrs):.3f}–{max(mrrs):.3f} |")


if __name__ == "__main__":
    main()
