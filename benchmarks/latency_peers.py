#!/usr/bin/env python3
"""kb's query latency beside tantivy's, in one process, over the same passages and queries (issue 23).

Reads every live passage of an existing kb index (benchmarks/questions_peers.py: in a spawned child,
so tantivy's index is cut with plain jieba), builds tantivy over them, then runs the queries —
the first ``--questions`` plain-language training questions, the dev set's queries and a few
keywords — alternating kb (``Searcher.search``, top 10, in process) and tantivy query by query,
``--rounds`` times after one untimed round, and prints p50 / p95 / p99 of each.

  python benchmarks/latency_peers.py --index /tmp/laws-ix \\
      --questions ../shared/eval/questions-train.jsonl --dev ../shared/eval/dev.jsonl

The kb index is opened read-only in effect (opening may write its jieba cache and, for an index
from an older kb, its columns: give a copy if that matters).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from questions_peers import index_passages  # noqa: E402
from run import PEERS, percentiles  # noqa: E402

KEYWORDS = ["中华人民共和国", "劳动合同 解除", "两楼联动"]


def queries(questions: Path, dev: Path | None, n: int) -> list[str]:
    out = []
    with open(questions, encoding="utf-8") as f:
        for line in f:
            if line.strip() and len(out) < n:
                out.append(json.loads(line)["query"])
    if dev is not None:
        out += [json.loads(line)["query"] for line in open(dev, encoding="utf-8") if line.strip()]
    return out + KEYWORDS


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", required=True, type=Path)
    ap.add_argument("--questions", required=True, type=Path)
    ap.add_argument("--dev", type=Path, default=None)
    ap.add_argument("--n", type=int, default=300, help="training questions used")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--facets", action="store_true", help="kb also counts facets (as the search page does)")
    ap.add_argument("--no-peer", action="store_true", help="kb alone")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "kb-latency-peers")
    args = ap.parse_args()

    qs = queries(args.questions, args.dev, args.n)
    peer = None
    if not args.no_peer:
        passages = index_passages(args.index)
        peer = PEERS["tantivy"]
        began = time.perf_counter()
        peer.build(passages, args.work / "tantivy")
        print(f"tantivy built over {len(passages)} passages in {time.perf_counter() - began:.0f} s", flush=True)

    from kb.search import Searcher

    searcher = Searcher(args.index)
    kb_ms: list[float] = []  # seconds
    peer_ms: list[float] = []
    for round_ in range(args.rounds + 1):
        for q in qs:
            began = time.perf_counter()
            searcher.search(q, limit=10, facets=args.facets)
            took = time.perf_counter() - began
            if round_:
                kb_ms.append(took)
            if peer is not None:
                began = time.perf_counter()
                peer.search(q, 10)
                took = time.perf_counter() - began
                if round_:
                    peer_ms.append(took)
    cols = searcher.columns()
    print(f"{len(qs)} queries × {args.rounds} rounds, {getattr(cols, 'n_live', cols.n_passages)} passages")
    for name, samples in (("kb", kb_ms), ("tantivy", peer_ms)):
        if samples:
            p = percentiles(samples)
            print(f"{name:8s} p50 {p['p50']:.1f} ms  p95 {p['p95']:.1f} ms  p99 {p['p99']:.1f} ms  "
                  f"mean {sum(samples) / len(samples) * 1000:.1f} ms")
    if kb_ms and peer_ms:
        print(f"p95 ratio kb / tantivy: {percentiles(kb_ms)['p95'] / percentiles(peer_ms)['p95']:.2f}")


if __name__ == "__main__":
    main()
