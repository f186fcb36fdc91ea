#!/usr/bin/env python3
"""Cross-validated figures of question understanding on a judged question file (issue 11).

The questions are dealt into K folds (seeded shuffle); for each fold the expansion table is
learned from the other folds only (the (question, article) pairs found in the index), the fold's
questions are searched, and the run is scored with the official passage scorer. Prints each
fold's MRR@10, Recall@10, hit@1 and their mean: no question is ever scored with a table that saw it.

  python benchmarks/questions_cv.py ../shared/eval/questions-train.jsonl --index /tmp/laws-ix \\
      --scorer ../shared/eval/score_passages.py [--folds 5] [--no-table] [--no-types]
"""
from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from kb.search import learn, question
from kb import search
from kb.search import Searcher

FIGURES = re.compile(r"mrr@10=([\d.]+) recall@10=([\d.]+) hit@1=([\d.]+)")


def folds_of(lines: list[str], k: int, seed: int = 11) -> list[list[str]]:
    order = list(range(len(lines)))
    random.Random(seed).shuffle(order)
    return [[lines[i] for i in order[f::k]] for f in range(k)]


def score(scorer: Path, judged: list[str], runs: list[dict]) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        jpath, rpath = Path(tmp) / "j.jsonl", Path(tmp) / "r.jsonl"
        jpath.write_text("\n".join(judged) + "\n", encoding="utf-8")
        rpath.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in runs), encoding="utf-8")
        out = subprocess.run([sys.executable, str(scorer), str(jpath), str(rpath)],
                             capture_output=True, text=True, check=True).stdout
    return tuple(float(x) for x in FIGURES.search(out).groups())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("questions", type=Path)
    ap.add_argument("--index", required=True, type=Path)
    ap.add_argument("--scorer", required=True, type=Path)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--no-table", action="store_true", help="no learned table (hand list only)")
    ap.add_argument("--no-types", action="store_true", help="no learned type weights")
    ap.add_argument("--only", type=int, default=None, help="run only this fold (quick tuning)")
    args = ap.parse_args()
    lines = [ln for ln in args.questions.read_text(encoding="utf-8").splitlines() if ln.strip()]
    searcher = Searcher(args.index)
    cache: dict[str, list[dict]] = {}

    def passages_of(source: str) -> list[dict]:
        if source not in cache:
            cache[source] = [dict(r) for r in searcher.searcher.documents(source=source)]
        return cache[source]

    folds = folds_of(lines, args.folds)
    pairs = [learn.judged_pairs(fold, passages_of) for fold in folds]
    passage_types = learn.index_types(searcher.columns())
    reader = searcher.searcher.reader()
    figures = []
    for f, fold in enumerate(folds):
        if args.only is not None and f != args.only:
            continue
        training = [p for g, ps in enumerate(pairs) if g != f for p in ps]
        texts = [(q, p["text"]) for q, p in training]
        common = learn.common_terms(texts, lambda w: reader.doc_frequency("text", w), reader.doc_count())
        table = {} if args.no_table else learn.learn(texts, search.stopwords(), common=common)
        types = {} if args.no_table or args.no_types else learn.type_weights(learn.answer_types(training), passage_types)
        question.use_table(table, types)
        runs = []
        for line in fold:
            item = json.loads(line)
            hits = searcher.search(item["query"], limit=10).hits
            runs.append({"id": item["id"], "results": [{"source": h["source"], "text": h["passage"]}
                                                       for h in hits]})
        got = score(args.scorer, fold, runs)
        figures.append(got)
        print(f"fold {f}: mrr@10={got[0]:.4f} recall@10={got[1]:.4f} hit@1={got[2]:.4f} "
              f"(questions={len(fold)}, training pairs={len(training)}, table words={len(table)})",
              flush=True)
    mean = [sum(x[i] for x in figures) / len(figures) for i in range(3)]
    print(f"mean of {len(figures)} folds: mrr@10={mean[0]:.4f} recall@10={mean[1]:.4f} hit@1={mean[2]:.4f}")


if __name__ == "__main__":
    main()
