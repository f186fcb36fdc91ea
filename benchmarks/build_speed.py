"""`kb index` beside raw `jieba.lcut` over the same texts, in one run (issue 23 item 4).

    python benchmarks/build_speed.py                      # corpus/ + ../shared/corpus-ext laws + reports
    python benchmarks/build_speed.py --limit 300          # the first 300 records of each JSON-lines file
    python benchmarks/build_speed.py --scratch /work/tmp/build-bench --keep

1. The inputs are read the way `kb index` reads them (kb.cli.common.expand_paths + read_files:
   readers, normalization, passages). The characters counted are ``len(doc.text)`` summed over
   those documents: the normalized text of each document, Python characters (code points).
2. Raw ``jieba.lcut`` (pure-Python jieba, HMM on, its own default dictionary, one process) of every
   normalized document text, timed alone (reading and normalizing not included).
3. ``python -m kb.cli index INPUTS --index SCRATCH`` in a subprocess: wall time from start to exit
   (reading, normalizing, everything), and the peak of the RSS summed over the process and all its
   descendants (psutil, sampled every 0.1 s; forked workers share pages, so the proportional set
   size, PSS, sampled every 0.5 s, is printed beside it).

Prints chars/s of both, the ratio (kb / jieba; the target is ≥ 0.6) and a JSON line. With
``--limit`` the JSON-lines inputs are cut to their first N records (written to the scratch folder).
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXT = ROOT.parent / "shared" / "corpus-ext"
sys.path.insert(0, str(ROOT))


def inputs(limit: int | None, scratch: Path) -> list[Path]:
    sources = [EXT / "laws.jsonl.gz", EXT / "reports.jsonl.gz"]
    if limit is None:
        return [ROOT / "corpus", *sources]
    scratch.mkdir(parents=True, exist_ok=True)
    cut = []
    for source in sources:
        target = scratch / source.name.replace(".jsonl.gz", f"-{limit}.jsonl")
        with gzip.open(source, "rt", encoding="utf-8") as src, target.open("w", encoding="utf-8") as out:
            for i, line in enumerate(src):
                if i >= limit:
                    break
                out.write(line)
        cut.append(target)
    return [ROOT / "corpus", *cut]


def read_texts(paths: list[Path]) -> tuple[list[str], int]:
    from kb.cli.common import expand_paths, read_files

    files, problems = expand_paths(paths)
    docs, _ = read_files(files, problems)
    if problems:
        raise SystemExit("\n".join(problems))
    return [d.text for d in docs], sum(len(d.passages) for d in docs)


def jieba_seconds(texts: list[str]) -> float:
    import jieba

    jieba.setLogLevel(60)
    jieba.initialize()
    began = time.perf_counter()
    for text in texts:
        jieba.lcut(text)
    return time.perf_counter() - began


def tree_memory(proc, pss: bool) -> tuple[int, int]:
    """(RSS, PSS) summed over ``proc`` and its descendants (PSS 0 unless asked: reading smaps costs)."""
    import psutil

    rss = pss_total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            if pss:
                info = p.memory_full_info()
                rss, pss_total = rss + info.rss, pss_total + info.pss
            else:
                rss += p.memory_info().rss
        except psutil.Error:
            pass
    return rss, pss_total


def kb_index(paths: list[Path], folder: Path, code: Path = ROOT) -> dict:
    """``kb index`` of ``paths`` into ``folder`` with the kb of the checkout ``code``."""
    import psutil

    shutil.rmtree(folder, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(code) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    began = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "kb.cli", "index", *map(str, paths), "--index", str(folder)],
                             cwd=code, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0, 0]
    stop = threading.Event()

    def watch() -> None:
        proc = psutil.Process(child.pid)
        ticks = 0
        while not stop.is_set():
            try:
                rss, pss = tree_memory(proc, pss=ticks % 5 == 0)
            except psutil.Error:
                break
            peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)
            ticks += 1
            stop.wait(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out, err = child.communicate()
    wall = time.perf_counter() - began
    stop.set()
    watcher.join()
    if child.returncode != 0:
        raise SystemExit(f"kb index failed ({child.returncode}):\n{err[-3000:]}")
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return {"wall": wall, "peak_rss_mb": peak[0] / 2**20, "peak_pss_mb": peak[1] / 2**20, "size_mb": size / 2**20,
            "said": out.strip().splitlines()[-1] if out.strip() else ""}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, help="only the first N records of each JSON-lines file")
    ap.add_argument("--scratch", type=Path, default=Path("/work/tmp/build-bench"))
    ap.add_argument("--keep", action="store_true", help="keep the index built (SCRATCH/index)")
    ap.add_argument("--skip-jieba", action="store_true", help="kb index only (no ratio)")
    ap.add_argument("--also", type=Path, action="append", default=[],
                    help="another checkout whose kb index is measured in the same run (before/after)")
    args = ap.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "kb"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip())
    paths = inputs(args.limit, args.scratch)
    texts, passages = read_texts(paths)
    documents = len(texts)
    chars = sum(len(t) for t in texts)
    print(f"commit {commit}{' (+ uncommitted kb/ changes)' if dirty else ''}; inputs: "
          f"{' '.join(str(p) for p in paths)}", flush=True)
    print(f"{len(texts):,} documents, {passages:,} passages, {chars:,} characters (normalized document texts)",
          flush=True)
    jieba_s = float("nan")
    if not args.skip_jieba:
        jieba_s = jieba_seconds(texts)
        print(f"raw jieba.lcut: {jieba_s:.1f} s, {chars / jieba_s:,.0f} chars/s", flush=True)
    del texts
    runs = {}
    for code in [*args.also, ROOT]:
        label = "this checkout" if code == ROOT else str(code)
        built = kb_index(paths, args.scratch / "index", code)
        kb_cps = chars / built["wall"]
        ratio = kb_cps / (chars / jieba_s)
        print(f"kb index ({label}): {built['wall']:.1f} s, {kb_cps:,.0f} chars/s, peak RSS (process tree) "
              f"{built['peak_rss_mb']:,.0f} MB (PSS {built['peak_pss_mb']:,.0f} MB), {built['size_mb']:,.0f} MB on disk",
              flush=True)
        print(f"  {built['said']}")
        print(f"  ratio kb / raw jieba.lcut: {ratio:.2f} (target ≥ 0.6)", flush=True)
        runs[label] = {**built, "kb_cps": kb_cps, "ratio": ratio}
    print(json.dumps({"commit": commit, "dirty": dirty, "limit": args.limit, "documents": documents,
                      "passages": passages, "chars": chars, "jieba_s": jieba_s,
                      "jieba_cps": chars / jieba_s, "kb": runs}, ensure_ascii=False))
    if not args.keep:
        shutil.rmtree(args.scratch / "index", ignore_errors=True)


if __name__ == "__main__":
    main()
