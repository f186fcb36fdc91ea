#!/usr/bin/env python3
"""The first requests after a commit, against warm ones (issue 23: a new generation is warmed before
it answers).

    python benchmarks/after_commit.py --index DIR [--commits 3] [--work /tmp/kb-after-commit]

Copies the index to ``--work`` (the commits change it), opens a :class:`kb.search.Searcher` on the
copy as a server thread does (``pin()`` before every request), measures each query warm (median
of 5), then ``--commits`` times: a real writer (`kb add` of one small new file, a subprocess)
commits, and the same queries run one after another at once (or ``--settle`` seconds later), each
pinned afresh, until the new generation answers and a round after that. ``--watch``: the searcher's
store watches for commits and warms them, as each `kb serve` worker does. Prints, per commit, the first request after the commit,
the slowest until the new generation answered, the first on the new generation, each against the
same query warm, and how long the switch took. One JSON object a commit, then a summary line.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ["两楼联动", "劳动合同 解除", "中华人民共和国 民法典", "欠钱不还怎么办？", "老旧小区没有物业怎么办",
           "网络贷款的利率太高怎么办", "个体工商户 登记", "社区 治理"]


def timed(searcher, query: str) -> tuple[float, int]:
    began = time.perf_counter()
    searcher.pin()
    searcher.search(query, limit=10, facets=True)
    return (time.perf_counter() - began) * 1000, searcher.generation


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", required=True, type=Path)
    ap.add_argument("--commits", type=int, default=3)
    ap.add_argument("--work", type=Path, default=Path("/tmp/kb-after-commit"))
    ap.add_argument("--watch", action="store_true", help="open and warm each commit as it lands, as `kb serve` does")
    ap.add_argument("--settle", type=float, default=0.0, help="seconds between the commit and the first request")
    args = ap.parse_args()

    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    index = args.work / "index"
    shutil.copytree(args.index, index, symlinks=True)

    from kb.search import Searcher

    searcher = Searcher(index)
    for q in QUERIES:  # the first generation warm, as a running server's is
        timed(searcher, q)
    warm = {q: statistics.median(timed(searcher, q)[0] for _ in range(5)) for q in QUERIES}
    if args.watch:
        searcher.store.watch()
    print(json.dumps({"warm_ms": {q: round(v, 1) for q, v in warm.items()},
                      "passages": searcher.columns().n_passages}, ensure_ascii=False), flush=True)
    worst_ratio = 0.0
    for k in range(args.commits):
        new = args.work / f"new-{k}.txt"
        new.write_text(f"第{k}号通知\n\n为推进社区治理，现就两楼联动和劳动合同管理工作通知如下。第{k}条。\n",
                       encoding="utf-8")
        before = searcher.generation
        subprocess.run([sys.executable, "-m", "kb.cli", "add", str(new), "--index", str(index)],
                       cwd=ROOT, check=True, capture_output=True)
        committed = time.perf_counter()
        time.sleep(args.settle)
        rows, switched, extra = [], None, 0
        while extra < len(QUERIES) and time.perf_counter() - committed < 600:
            q = QUERIES[len(rows) % len(QUERIES)]
            ms, gen = timed(searcher, q)
            rows.append((q, ms, gen))
            if gen != before and switched is None:
                switched = len(rows) - 1
            if switched is not None:
                extra += 1
        ratios = [ms / warm[q] for q, ms, _ in rows]
        first_new = rows[switched] if switched is not None else None
        out = {"commit": k, "first_after_commit_ms": round(rows[0][1], 1), "its_warm_ms": round(warm[rows[0][0]], 1),
               "first_ratio": round(ratios[0], 2), "worst_ratio_until_switch": round(max(ratios[:(switched or 0) + 1]), 2),
               "first_on_new_generation_ms": round(first_new[1], 1) if first_new else None,
               "first_on_new_ratio": round(ratios[switched], 2) if first_new else None,
               "requests_before_switch": switched,
               "switch_after_s": round(sum(ms for _, ms, _ in rows[:switched]) / 1000, 2) if switched else 0.0}
        worst_ratio = max(worst_ratio, max(ratios))
        print(json.dumps(out, ensure_ascii=False), flush=True)
    print(f"worst request after a commit / the same query warm: {worst_ratio:.2f}×")
    searcher.close()


if __name__ == "__main__":
    main()
