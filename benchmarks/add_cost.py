#!/usr/bin/env python3
"""What one `kb add` of a few small files costs in indexes of different sizes (issue 23: an update
costs its own size).

    python benchmarks/add_cost.py --index /work/tmp/corpus-ix --index /work/tmp/laws-ix [--files 30] [--rounds 3]

Writes ``--files`` small text files (the opening ~1,500 characters of as many government reports,
each under a title of its own, so none is a copy of anything indexed), then for every ``--index``
and round: copies the index to ``--work`` and times `kb add FOLDER --index COPY` as a subprocess
(wall time, the process start included). ``--profile``: one add in process under cProfile, the
top functions by cumulative time. Prints one JSON object per index and the ratio of the largest
index's median to the smallest's.
"""
from __future__ import annotations

import argparse
import cProfile
import gzip
import json
import pstats
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT.parent / "shared" / "corpus-ext" / "reports.jsonl.gz"


def write_files(folder: Path, n: int, reports: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with gzip.open(reports, "rt", encoding="utf-8") as f:
        for i, line in zip(range(n), f):
            record = json.loads(line)
            body = record["text"][:1500]
            name = f"add-{i:02d}.txt"
            (folder / name).write_text(f"基层治理试点材料之{i + 1}：{record['title']}\n\n{body}\n", encoding="utf-8")


def passages(index: Path) -> int:
    from kb.index.store import IndexStore

    store = IndexStore(index)
    try:
        return store.stats()["passages"]
    finally:
        store.close()


def timed_add(index: Path, files: Path, work: Path) -> float:
    copy = work / "copy"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(index, copy, symlinks=True)
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "kb.cli", "add", str(files), "--index", str(copy)], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - began


def profiled_add(index: Path, files: Path, work: Path, top: int) -> None:
    from kb.ingest import pipeline
    from kb.ingest.readers import read_path

    copy = work / "copy"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(index, copy, symlinks=True)
    profile = cProfile.Profile()
    profile.enable()
    docs = [d for p in sorted(files.glob("*.txt")) for d in read_path(p)]
    pipeline.add(copy, docs)
    profile.disable()
    pstats.Stats(profile).sort_stats("cumulative").print_stats(top)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", action="append", required=True, type=Path)
    ap.add_argument("--files", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reports", type=Path, default=REPORTS)
    ap.add_argument("--work", type=Path, default=Path("/tmp/kb-add-cost"))
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--top", type=int, default=40)
    args = ap.parse_args()

    files = args.work / "files"
    write_files(files, args.files, args.reports)
    medians = {}
    for index in args.index:
        if args.profile:
            profiled_add(index, files, args.work, args.top)
            continue
        times = [timed_add(index, files, args.work) for _ in range(args.rounds)]
        size = passages(index)
        medians[size] = statistics.median(times)
        print(json.dumps({"index": str(index), "passages": size, "files": args.files,
                          "seconds": [round(t, 2) for t in times], "median": round(medians[size], 2)}))
    shutil.rmtree(args.work / "copy", ignore_errors=True)
    if len(medians) > 1:
        print(f"ratio largest/smallest: {medians[max(medians)] / medians[min(medians)]:.2f}")


if __name__ == "__main__":
    main()
