"""How kb's costs grow with the collection: the scale curve of issue 14, one size after another.

    pip install -e '.[bench]'
    python benchmarks/scale.py --sizes 170000,500000,1000000,2000000 --out benchmarks/out/scale \\
        --work /tmp/kb-scale --anchor all --plot

For every size: a synthetic corpus of exactly that many passages (benchmarks/synth.py, seeded,
kept in ``--work`` and reused), then

* **build**: full ``kb index`` of the corpus in a subprocess — wall and CPU time, passages/s and
  characters/s, peak RSS of all its processes together (sampled) and of the largest one (wait4);
* **index on disk**: Whoosh's files, the columns (kb/index/postings.py), the side files apart;
* **queries**: p50/p95/p99 through the Python API (``kb.search.Searcher``, one process, one
  thread) for the dev queries plus ``--queries`` sampled ones (seeded: real titles, runs of real
  words, real questions of questions-train), the same list at every size;
* **cold start**: a new process opens the index and answers one query (3 times; the OS page
  cache is warm — only the process is cold);
* **serving**: ``kb serve --workers 2`` (as benchmarks/soak.py starts it), the same queries twice
  over HTTP from 4 clients (~1,000 per worker), then RSS, peak RSS and PSS of each worker from /proc;
* **kb add**: 5 ``kb add`` batches of new documents, 1 % of the size each, into the index just
  built (the cost of adding at that size; the index grows to 105 %).

``--anchor N|all`` measures the real documents too (whole, seeded order, N passages or all of
them), through the same steps: at equal size the synthetic and the real figures should agree.

Before each size the memory it needs is extrapolated from the sizes measured (a·n^b fitted to
every memory figure); a size that would not fit ``--memory-gb`` is not started, and a run whose
processes pass it (or leave less than 1 GiB available) is stopped — the report says where and
why. Results: ``OUT/size-<n>.json`` per size, ``OUT/results.json``, ``OUT/scale.md`` (tables,
fitted exponents, where the fitted curves cross this machine's limits); ``--plot`` writes one PNG
per figure (log-log, the fit a·n^b and an n·log n reference) into ``--plot-dir``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import synth  # noqa: E402
from soak import Server, process_tree  # noqa: E402

MB = 2**20
GIB = 2**30
SAMPLE_EVERY = 0.5      # seconds between RSS samples of a running build
MIN_AVAILABLE = GIB     # a run is stopped when the machine has less than this available
HTTP_CLIENTS = 4
COLD_STARTS = 3
LIMITS = {"query_p95_ms": 1000.0, "build_s": 8 * 3600.0}  # where a curve stops being acceptable
ADD_BATCHES, ADD_BATCH_SHARE = 5, 0.01  # kb add: 5 batches of 1 % of the size, into its index
FAR = 1e10  # passages: a fitted limit beyond this is reported as "not reached" (the curve is flat so far)


# ---------------------------------------------------------------- processes and memory

def status_kb(pid: int, key: str) -> int:
    """A ``/proc/<pid>/status`` field in kB (0 if the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kb(pid: int) -> int:
    """Proportional set size (shared pages divided among their users), kB."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss(pid: int) -> int:
    """RSS of ``pid`` and its descendants together, bytes."""
    return sum(status_kb(p, "VmRSS") for p in process_tree(pid)) * 1024


def mem_available() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


def mem_total() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def run_measured(args: list[str], log: Path, limit: int, env: dict | None = None) -> dict:
    """Run a command; wall and CPU time, peak RSS of all its processes together (sampled every
    SAMPLE_EVERY s) and of its largest process (wait4). Killed — its process group, which only it
    and its children are in — when together they pass ``limit`` bytes or the machine has less
    than MIN_AVAILABLE left."""
    began = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
    peak, stopped = 0, ""
    done = threading.Event()

    def sample() -> None:
        nonlocal peak, stopped
        while not done.wait(SAMPLE_EVERY):
            rss = tree_rss(proc.pid)
            peak = max(peak, rss)
            available = mem_available()
            if not stopped and (rss > limit or available < MIN_AVAILABLE):
                stopped = (f"stopped at {rss / GIB:.1f} GiB RSS ({available / GIB:.1f} GiB available; "
                           f"limit {limit / GIB:.1f} GiB)")
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - began
    tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
    return {"wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mb": round(max(peak, usage.ru_maxrss * 1024) / MB),
            "max_process_rss_mb": round(usage.ru_maxrss / 1024), "returncode": proc.returncode,
            "stopped": stopped, "log_tail": tail}


def kb_args(*args: str) -> list[str]:
    return [sys.executable, "-m", "kb.cli", *args]


# ---------------------------------------------------------------- the index on disk

def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def index_sizes(folder: Path) -> dict[str, float]:
    """MB on disk: Whoosh's files, the columns, the side files (catalogue, terms, links), the
    segmenter's cache, and the total."""
    parts = {"whoosh": 0, "columns": 0, "side": 0, "cache": 0, "other": 0}
    for entry in folder.iterdir():
        size = du(entry) if entry.is_dir() else entry.stat().st_size
        if entry.name == "columns":
            parts["columns"] += size
        elif entry.name == ".cache":
            parts["cache"] += size
        elif re.match(r"^_?MAIN[_.]", entry.name):
            parts["whoosh"] += size
        elif re.match(r"^(models|terms|similar)\.", entry.name):
            parts["side"] += size
        else:
            parts["other"] += size
    parts["total"] = sum(v for k, v in parts.items() if k != "cache")  # jieba's cache is the same at every size
    return {k: round(v / MB, 1) for k, v in parts.items()}


def live_segments(folder: Path) -> int:
    root = folder / "columns"
    return sum(1 for d in root.iterdir() if d.is_dir() and ".tmp-" not in d.name
               and not (d / "RETIRED").exists()) if root.exists() else 0


# ---------------------------------------------------------------- queries

def dev_queries() -> list[str]:
    path = ROOT / "tests" / "data" / "dev.jsonl"
    return [json.loads(line)["query"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def sample_queries(pool: synth.Pool, n: int, seed: int) -> list[dict]:
    """The dev queries plus ``n`` sampled ones, a third each: a real title's first 12 characters,
    2–3 consecutive words of a real passage, a real question of questions-train (when present)."""
    import jieba

    rng = random.Random(seed)
    out = [{"kind": "dev", "q": q} for q in dev_queries()]
    questions_path = SHARED / "eval" / "questions-train.jsonl"
    questions = ([json.loads(line)["query"] for line in questions_path.read_text(encoding="utf-8").splitlines()
                  if line.strip()] if questions_path.exists() else [])
    kinds = ["title", "words", "question"] if questions else ["title", "words"]
    texts = list(pool.passages)
    titles = sorted({t.title for t in pool.templates if t.title})
    for i in range(n):
        kind = kinds[i % len(kinds)]
        if kind == "title":
            q = re.sub(r"[《》“”（）()·]", "", rng.choice(titles))[:12]
        elif kind == "question":
            q = rng.choice(questions)
        else:
            q = ""
            while not q:
                words = [w for w in jieba.lcut(rng.choice(texts)[:120])
                         if len(w) >= 2 and re.search(r"[\u4e00-\u9fff]", w)]
                if len(words) >= 3:
                    start = rng.randrange(len(words) - 2)
                    q = " ".join(words[start:start + rng.choice((2, 3))])
        out.append({"kind": kind, "q": q})
    return out


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms) or [0.0]
    pick = lambda q: round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)  # noqa: E731
    return {"n": len(samples_ms), "p50_ms": pick(0.50), "p95_ms": pick(0.95), "p99_ms": pick(0.99),
            "max_ms": round(ordered[-1], 2)}


def query_worker(index: str, queries_path: str, out_path: str) -> None:
    """(Runs in its own process.) Open the index, time every query once, report with the index's
    own figures (passages, documents, segments, text terms, near-duplicate pairs)."""
    began = time.perf_counter()
    from kb.search import Searcher

    searcher = Searcher(index)
    opened = time.perf_counter()
    queries = json.loads(Path(queries_path).read_text(encoding="utf-8"))
    searcher.search(queries[0]["q"], limit=10)
    first = time.perf_counter()
    by_kind: dict[str, list[float]] = {}
    hits = 0
    for item in queries:
        t = time.perf_counter()
        found = searcher.search(item["q"], limit=10)
        by_kind.setdefault(item["kind"], []).append(1000 * (time.perf_counter() - t))
        hits += bool(found.hits)
    every = [v for values in by_kind.values() for v in values]
    stats = searcher.store.stats()
    cols = searcher.columns()
    report = {**percentiles(every), "by_kind": {k: percentiles(v) for k, v in by_kind.items()},
              "with_hits": hits, "open_s": round(opened - began, 3), "first_query_s": round(first - opened, 3),
              "process_rss_mb": round(status_kb(os.getpid(), "VmRSS") / 1024),
              "process_hwm_mb": round(status_kb(os.getpid(), "VmHWM") / 1024),
              "index": {**stats, "text_terms": len(cols.field_terms("text")),
                        "near_duplicate_pairs": sum(len(v) for v in searcher.links.pairs.values()) // 2}}
    Path(out_path).write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")


COLD = """
import json, sys, time
began = time.perf_counter()
from kb.search import Searcher
imported = time.perf_counter()
searcher = Searcher(sys.argv[1])
opened = time.perf_counter()
searcher.search(sys.argv[2], limit=10)
done = time.perf_counter()
print(json.dumps({"import_s": imported - began, "open_s": opened - imported, "first_query_s": done - opened}))
"""


def cold_starts(index: Path, query: str, runs: int = COLD_STARTS) -> dict:
    """New process → index open → first answer, ``runs`` times (page cache warm)."""
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", COLD, str(index), query], cwd=ROOT, capture_output=True,
                              text=True)
        wall = time.perf_counter() - began
        if done.returncode:
            return {"error": done.stderr.strip().splitlines()[-1:]}
        samples.append({"wall_s": round(wall, 3), **{k: round(v, 3) for k, v in json.loads(done.stdout).items()}})
    return {"runs": samples, "median_s": statistics.median(s["wall_s"] for s in samples),
            "median_open_s": statistics.median(s["open_s"] for s in samples),
            "median_first_query_s": statistics.median(s["first_query_s"] for s in samples)}


def serve_workers(index: Path, queries: list[dict], work: Path, workers: int = 2) -> dict:
    """``kb serve --workers N``, the queries over HTTP from HTTP_CLIENTS clients, then RSS, peak
    RSS and PSS of the master and of each worker."""
    server = Server(index, workers, 8, work / "serve.log")
    latencies: list[float] = []
    errors = 0

    def ask(q: str) -> tuple[float, bool]:
        t = time.perf_counter()
        try:
            with urllib.request.urlopen(f"{server.url}/api/search?q={quote(q)}&limit=10", timeout=120) as r:
                r.read()
                ok = r.status == 200
        except (urllib.error.URLError, OSError):
            ok = False
        return 1000 * (time.perf_counter() - t), ok

    try:
        with ThreadPoolExecutor(HTTP_CLIENTS) as pool:
            for ms, ok in pool.map(ask, [item["q"] for item in queries]):
                latencies.append(ms)
                errors += not ok
        master = server.proc.pid
        procs = process_tree(master)

        def describe(pid: int) -> dict:
            return {"pid": pid, "rss_mb": round(status_kb(pid, "VmRSS") / 1024),
                    "hwm_mb": round(status_kb(pid, "VmHWM") / 1024), "pss_mb": round(pss_kb(pid) / 1024)}

        report = {"workers": [describe(p) for p in procs if p != master], "master": describe(master),
                  "requests": len(latencies), "errors": errors, **percentiles(latencies)}
    finally:
        server.stop()
    return report


# ---------------------------------------------------------------- one size

def add_batches(index: Path, n: int, args, pool: synth.Pool, logs: Path, limit: int) -> dict:
    """``kb add`` of ADD_BATCHES new synthetic batches of ADD_BATCH_SHARE × n passages each into the
    index just built (n passages): what adding costs at that size. The batches are new documents
    (another seed), so none is an exact copy of one indexed."""
    extra = synth.write_corpus(pool, args.work / f"extra-{n}", ADD_BATCHES * round(n * ADD_BATCH_SHARE),
                               args.seed + 1, add_share=1.0, batches=ADD_BATCHES)
    batches = []
    for i, part in enumerate(p for p in extra["parts"] if p["passages"]):
        done = run_measured(kb_args("add", str(args.work / f"extra-{n}" / part["file"]), "--index", str(index)),
                            logs / f"add-{i + 1}.log", limit)
        done["passages"] = part["passages"]
        done["passages_per_s"] = round(part["passages"] / done["wall_s"], 1)
        batches.append(done)
        if done["returncode"] or done["stopped"]:
            break
    out: dict = {"into_passages": n, "batches": batches}
    if batches:
        out.update(mean_batch_s=round(statistics.fmean(b["wall_s"] for b in batches), 2),
                   peak_rss_mb=max(b["peak_rss_mb"] for b in batches),
                   passages_per_s=round(sum(b["passages"] for b in batches) / sum(b["wall_s"] for b in batches), 1))
        out["grown_sizes_mb"] = index_sizes(index)
        out["grown_segments"] = live_segments(index)
    return out


def measure_size(size: int | None, kind: str, args, pool: synth.Pool, queries_file: Path,
                 queries: list[dict], limit: int) -> dict:
    """Every figure of one corpus (``kind`` "synthetic" of ``size`` passages, or "real")."""
    steps: dict[str, float] = {}
    t = time.perf_counter()
    if kind == "real":
        folder = args.work / f"corpus-real-{size or 'all'}"
        manifest = synth.write_real(folder, size, args.seed)
    else:
        folder = args.work / f"corpus-{size}"
        manifest = synth.write_corpus(pool, folder, size, args.seed)
    steps["corpus_s"] = round(time.perf_counter() - t, 1)
    files = [str(folder / p["file"]) for p in manifest["parts"]]
    n = manifest["passages"]
    label = f"{kind}-{n}"
    logs = args.out / "logs" / label
    logs.mkdir(parents=True, exist_ok=True)
    result: dict = {"size": n, "kind": kind, "corpus": {k: manifest[k] for k in ("passages", "documents",
                                                                                  "characters", "generate_s")}}
    index = args.work / f"index-{label}"
    shutil.rmtree(index, ignore_errors=True)
    t = time.perf_counter()
    build = run_measured(kb_args("index", *files, "--index", str(index)), logs / "index.log", limit)
    steps["build_s"] = round(time.perf_counter() - t, 1)
    build["passages_per_s"] = round(n / build["wall_s"], 1)
    build["chars_per_s"] = round(manifest["characters"] / build["wall_s"])
    result["build"] = build
    if build["returncode"] or build["stopped"]:
        result["stopped"] = build["stopped"] or f"kb index failed (exit {build['returncode']}): {build['log_tail']}"
        shutil.rmtree(index, ignore_errors=True)
        result["steps"] = steps
        return result
    result["index"] = {"sizes_mb": index_sizes(index), "segments": live_segments(index)}
    if "query" not in args.skip:
        t = time.perf_counter()
        out = logs / "queries.json"
        done = run_measured([sys.executable, str(Path(__file__).resolve()), "_query", str(index), str(queries_file),
                             str(out)], logs / "query.log", limit)
        steps["query_s"] = round(time.perf_counter() - t, 1)
        if done["returncode"] == 0:
            measured = json.loads(out.read_text(encoding="utf-8"))
            result["index"].update(measured.pop("index"))
            result["query"] = measured
        else:
            result["query"] = {"error": done["stopped"] or done["log_tail"]}
    if "cold" not in args.skip:
        t = time.perf_counter()
        result["cold_start"] = cold_starts(index, queries[0]["q"])
        steps["cold_s"] = round(time.perf_counter() - t, 1)
    if "serve" not in args.skip:
        t = time.perf_counter()
        try:
            result["serve"] = serve_workers(index, queries * args.serve_rounds, logs)
        except RuntimeError as exc:
            result["serve"] = {"error": str(exc)}
        steps["serve_s"] = round(time.perf_counter() - t, 1)
    if "add" not in args.skip:
        t = time.perf_counter()
        result["add"] = add_batches(index, n, args, pool, logs, limit)
        steps["add_s"] = round(time.perf_counter() - t, 1)
        failed = [r for r in result["add"]["batches"] if r["returncode"] or r["stopped"]]
        if failed:
            result["stopped"] = failed[0]["stopped"] or f"kb add failed: {failed[0]['log_tail']}"
    if not args.keep:
        shutil.rmtree(index, ignore_errors=True)
    result["steps"] = steps
    result["total_s"] = round(sum(steps.values()), 1)
    return result


# ---------------------------------------------------------------- curves

def _get(result: dict, *path):
    value = result
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _max_worker(result: dict, key: str):
    workers = _get(result, "serve", "workers") or []
    return max((w[key] for w in workers), default=None)


# (key, label, unit, getter): every figure that gets a fit and a plot
FIGURES = [
    ("build_s", "full `kb index`, wall", "s", lambda r: _get(r, "build", "wall_s")),
    ("build_peak_mb", "peak RSS while building (all processes)", "MB", lambda r: _get(r, "build", "peak_rss_mb")),
    ("add_batch_s", "`kb add` of one batch (1 % of the size) into the index, mean wall", "s", lambda r: _get(r, "add", "mean_batch_s")),
    ("add_peak_mb", "peak RSS of `kb add`", "MB", lambda r: _get(r, "add", "peak_rss_mb")),
    ("index_mb", "index on disk, total", "MB", lambda r: _get(r, "index", "sizes_mb", "total")),
    ("whoosh_mb", "index on disk, Whoosh", "MB", lambda r: _get(r, "index", "sizes_mb", "whoosh")),
    ("columns_mb", "index on disk, columns", "MB", lambda r: _get(r, "index", "sizes_mb", "columns")),
    ("query_p50_ms", "query p50 (Python API)", "ms", lambda r: _get(r, "query", "p50_ms")),
    ("query_p95_ms", "query p95 (Python API)", "ms", lambda r: _get(r, "query", "p95_ms")),
    ("query_p99_ms", "query p99 (Python API)", "ms", lambda r: _get(r, "query", "p99_ms")),
    ("serve_worker_mb", "serving RSS per worker after the queries (largest)", "MB", lambda r: _max_worker(r, "rss_mb")),
    ("serve_worker_pss_mb", "serving PSS per worker (shared pages divided)", "MB", lambda r: _max_worker(r, "pss_mb")),
    ("cold_start_s", "cold start: new process, open, first answer", "s", lambda r: _get(r, "cold_start", "median_s")),
]
PLOTS = [  # (file name, title, figure keys drawn together)
    ("build_time", "Build time", ["build_s", "add_batch_s"]),
    ("build_memory", "Peak RSS while writing", ["build_peak_mb", "add_peak_mb"]),
    ("index_size", "Index size on disk", ["index_mb", "whoosh_mb", "columns_mb"]),
    ("query_latency", "Query latency, Python API", ["query_p50_ms", "query_p95_ms", "query_p99_ms"]),
    ("serving_memory", "Serving memory per worker", ["serve_worker_mb", "serve_worker_pss_mb"]),
    ("cold_start", "Cold start", ["cold_start_s"]),
]
MEMORY_KEYS = ("build_peak_mb", "add_peak_mb")


def points(results: list[dict], getter, kind: str = "synthetic") -> list[tuple[int, float]]:
    out = [(r["size"], getter(r)) for r in results if r["kind"] == kind]
    return sorted((n, float(v)) for n, v in out if v is not None and v > 0)


def fit_power(pts: list[tuple[int, float]]) -> dict | None:
    """Least squares in log-log: y = a·n^b, with the RMS residual (natural log) of this fit, of
    y = c·n (linear) and of y = c·n·ln n, and the local exponents between consecutive sizes."""
    import numpy as np

    if len(pts) < 2:
        return None
    n = np.array([p[0] for p in pts], dtype=float)
    y = np.array([p[1] for p in pts], dtype=float)
    b, log_a = np.polyfit(np.log(n), np.log(y), 1)
    rms = lambda pred: float(np.sqrt(np.mean((np.log(y) - np.log(pred)) ** 2)))  # noqa: E731
    c_lin = math.exp(float(np.mean(np.log(y) - np.log(n))))
    c_nlogn = math.exp(float(np.mean(np.log(y) - np.log(n * np.log(n)))))
    local = [round(math.log(pts[i + 1][1] / pts[i][1]) / math.log(pts[i + 1][0] / pts[i][0]), 2)
             for i in range(len(pts) - 1)]
    return {"a": float(math.exp(log_a)), "b": round(float(b), 3), "rms_power": round(rms(math.exp(log_a) * n ** b), 4),
            "rms_linear": round(rms(c_lin * n), 4), "rms_nlogn": round(rms(c_nlogn * n * np.log(n)), 4),
            "c_nlogn": c_nlogn, "local_b": local}


def predict(fit: dict, n: int) -> float:
    return fit["a"] * n ** fit["b"]


def crossing(fit: dict, limit: float) -> float | None:
    """The n at which the fitted cost reaches ``limit`` (None: it does not grow)."""
    if fit["b"] <= 0.05:
        return None
    return (limit / fit["a"]) ** (1 / fit["b"])


def machine_limits(results: list[dict], memory: int, disk_free: int) -> list[dict]:
    """Where each fitted curve reaches what this machine (or a user) allows."""
    rows = []
    checks = [("build_peak_mb", memory / MB, "memory while building"),
              ("add_peak_mb", memory / MB, "memory of `kb add`"),
              ("serve_worker_mb", memory / MB / 2, "memory of 2 serving workers"),
              ("query_p95_ms", LIMITS["query_p95_ms"], "query p95 = 1 s"),
              ("build_s", LIMITS["build_s"], "full rebuild = 8 h"),
              ("index_mb", disk_free / MB / 2, "disk (an index and its rebuild)")]
    getters = {key: getter for key, _, _, getter in FIGURES}
    for key, limit, what in checks:
        fit = fit_power(points(results, getters[key]))
        if fit:
            at = crossing(fit, limit)
            beyond = at is None or at > FAR  # the fit is (nearly) flat over the sizes measured
            rows.append({"figure": key, "limit": what, "limit_value": round(limit, 1), "b": fit["b"],
                         "passages_at_limit": None if beyond else int(at)})
    return rows


def next_size_needs(results: list[dict], n: int) -> dict[str, float]:
    """Memory (MB) the next size is expected to need, per figure, from the sizes measured."""
    getters = {key: getter for key, _, _, getter in FIGURES}
    out = {}
    for key in MEMORY_KEYS + ("serve_worker_mb",):
        pts = points(results, getters[key])
        if len(pts) >= 2:
            fit = fit_power(pts)
            out[key] = predict(fit, n) * (2 if key == "serve_worker_mb" else 1)
        elif pts:  # one size: assume linear growth
            out[key] = pts[-1][1] * n / pts[-1][0] * (2 if key == "serve_worker_mb" else 1)
    return out


def duration_estimate(results: list[dict], n: int) -> float | None:
    pts = points(results, lambda r: r.get("total_s"))
    if not pts:
        return None
    if len(pts) == 1:
        return pts[0][1] * n / pts[0][0]
    return predict(fit_power(pts), n)


# ---------------------------------------------------------------- reporting

def fmt(value, digits: int = 0) -> str:
    if value is None:
        return "–"
    if isinstance(value, (int, float)):
        return f"{value:,.{digits}f}"
    return str(value)


def table(results: list[dict], memory: int, disk_free: int) -> str:
    """The markdown report: build, disk, queries and serving per size; fits; limits."""
    rows = sorted(results, key=lambda r: (r["kind"] != "real", r["size"]))
    lines = ["| corpus | passages | documents | M chars | `kb index` s | passages/s | peak RSS MB | "
             "`kb add` batch s | add passages/s | add peak MB |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append("| " + " | ".join([r["kind"], fmt(r["size"]), fmt(_get(r, "corpus", "documents")),
                                         fmt((_get(r, "corpus", "characters") or 0) / 1e6, 1),
                                         fmt(_get(r, "build", "wall_s"), 1), fmt(_get(r, "build", "passages_per_s")),
                                         fmt(_get(r, "build", "peak_rss_mb")), fmt(_get(r, "add", "mean_batch_s"), 1),
                                         fmt(_get(r, "add", "passages_per_s")), fmt(_get(r, "add", "peak_rss_mb"))])
                     + " |")
    lines += ["", "| corpus | passages | Whoosh MB | columns MB | side files MB | total MB | segments | "
              "text terms | near-dup pairs | grown index MB (segments) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        sizes = _get(r, "index", "sizes_mb") or {}
        grown = _get(r, "add", "grown_sizes_mb") or {}
        lines.append("| " + " | ".join([r["kind"], fmt(r["size"]), fmt(sizes.get("whoosh"), 1), fmt(sizes.get("columns"), 1),
                                         fmt(sizes.get("side"), 1), fmt(sizes.get("total"), 1),
                                         fmt(_get(r, "index", "segments")), fmt(_get(r, "index", "text_terms")),
                                         fmt(_get(r, "index", "near_duplicate_pairs")),
                                         f"{fmt(grown.get('total'), 1)} ({fmt(_get(r, 'add', 'grown_segments'))})"])
                     + " |")
    lines += ["", "| corpus | passages | queries | p50 ms | p95 ms | p99 ms | max ms | p95 questions ms | "
              "cold start s (open / 1st query) | HTTP p50 / p95 ms | worker RSS MB | worker PSS MB | master RSS MB |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        workers = _get(r, "serve", "workers") or []
        lines.append("| " + " | ".join([
            r["kind"], fmt(r["size"]), fmt(_get(r, "query", "n")), fmt(_get(r, "query", "p50_ms"), 1),
            fmt(_get(r, "query", "p95_ms"), 1), fmt(_get(r, "query", "p99_ms"), 1), fmt(_get(r, "query", "max_ms"), 0),
            fmt(_get(r, "query", "by_kind", "question", "p95_ms"), 1),
            f"{fmt(_get(r, 'cold_start', 'median_s'), 2)} ({fmt(_get(r, 'cold_start', 'median_open_s'), 2)} / "
            f"{fmt(_get(r, 'cold_start', 'median_first_query_s'), 2)})",
            f"{fmt(_get(r, 'serve', 'p50_ms'), 0)} / {fmt(_get(r, 'serve', 'p95_ms'), 0)}",
            ", ".join(fmt(w["rss_mb"]) for w in workers) or "–", ", ".join(fmt(w["pss_mb"]) for w in workers) or "–",
            fmt(_get(r, "serve", "master", "rss_mb"))]) + " |")
    stopped = [r for r in rows if r.get("stopped")]
    if stopped:
        lines += [""] + [f"- {r['kind']} {fmt(r['size'])}: **{r['stopped']}**" for r in stopped]
    lines += ["", "Fitted growth over the synthetic sizes (y = a·n^b; RMS of the log residual for the power "
              "law, for c·n and for c·n·ln n; local exponents between consecutive sizes):", "",
              "| figure | b | RMS power | RMS linear | RMS n log n | local b |", "|---|---|---|---|---|---|"]
    for key, label, unit, getter in FIGURES:
        fit = fit_power(points(results, getter))
        if fit:
            lines.append(f"| {label} ({unit}) | {fit['b']} | {fit['rms_power']} | {fit['rms_linear']} | "
                         f"{fit['rms_nlogn']} | {', '.join(map(str, fit['local_b']))} |")
    limits = machine_limits(results, memory, disk_free)
    if limits:
        lines += ["", f"Where the fitted curves reach this machine's limits (memory budget {memory / GIB:.1f} GiB, "
                  f"{disk_free / GIB:.0f} GiB free disk):", "", "| figure | limit | b | passages at the limit |",
                  "|---|---|---|---|"]
        for row in limits:
            at = row["passages_at_limit"]
            lines.append(f"| {row['figure']} | {row['limit']} ({fmt(row['limit_value'])}) | {row['b']} | "
                         f"{fmt(at) if at is not None else 'beyond 10¹⁰ (flat so far)'} |")
    return "\n".join(lines) + "\n"


def plot(results: list[dict], folder: Path) -> list[Path]:
    """One PNG per figure group: measured points (synthetic ●, real ×), the fit a·n^b extended
    to 2 M passages, and an n·log n line through the same points for comparison."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    figures = {key: (label, unit, getter) for key, label, unit, getter in FIGURES}
    written = []
    for name, title, keys in PLOTS:
        fig, ax = plt.subplots(figsize=(7, 5))
        drawn = False
        notes = []
        for i, key in enumerate(keys):
            label, unit, getter = figures[key]
            pts = points(results, getter)
            real = points(results, getter, "real")
            color = f"C{i}"
            if pts:
                ax.plot(*zip(*pts), "o", color=color, label=label)
                drawn = True
            if real:
                ax.plot(*zip(*real), "x", color=color, markersize=9, label=f"{label} (real texts)")
                drawn = True
            fit = fit_power(pts)
            if fit:
                lo, hi = min(p[0] for p in pts), max(max(p[0] for p in pts), 2_000_000)
                n = np.geomspace(lo, hi, 50)
                ax.plot(n, fit["a"] * n ** fit["b"], "-", color=color, alpha=0.7,
                        label=f"fit {fit['a']:.3g}·n^{fit['b']:.2f}")
                ax.plot(n, fit["c_nlogn"] * n * np.log(n), ":", color=color, alpha=0.5, label="c·n·ln n")
                notes.append(f"{re.sub(r'^(query|serve)_|_(ms|mb|s)$', '', key)}: b = {fit['b']:.2f}")
        if not drawn:
            plt.close(fig)
            continue
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("passages")
        ax.set_ylabel(figures[keys[0]][1])
        ax.set_title(f"{title}\n{'; '.join(notes)}" if notes else title, fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
        path = folder / f"{name}.png"
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def git_commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() or "?"


def unigram_section(unigrams: dict, results: list[dict]) -> str:
    """The synthetic-vs-real comparison, the real-vs-real floor, and Heaps' law: the vocabulary
    a real collection of each size would have, beside the synthetic index's."""
    synthetic, control, heaps = unigrams["synthetic_vs_real"], unigrams["real_vs_real"], unigrams["heaps_real"]
    lines = [f"Unigrams (kb's analyzer; corpus {unigrams['corpus']}): synthetic vs real, and two disjoint "
             f"halves of the real passages as the floor sampling noise gives:", "",
             f"| comparison | passages | Spearman ρ, real top {synthetic['top']} | top-{synthetic['top']} overlap | "
             f"Jensen–Shannon bits | tokens / passage | vocabulary of the samples |", "|---|---|---|---|---|---|---|"]
    for name, row in (("synthetic vs real", synthetic), ("real vs real", control)):
        lines.append(f"| {name} | {row['passages'][1]:,} vs {row['passages'][0]:,} | {row['spearman_top']} | "
                     f"{row['top_overlap']} | {row['js_divergence_bits']} | {row['tokens_per_passage'][1]} vs "
                     f"{row['tokens_per_passage'][0]} | {row['vocabulary'][1]:,} vs {row['vocabulary'][0]:,} |")
    per_passage = synthetic["tokens_per_passage"][0]
    lines += ["", f"Heaps' law on the real passages: V = {heaps['K']}·N^{heaps['beta']} (N tokens). A real "
              f"collection keeps finding words; the synthetic one stops at the real vocabulary:", "",
              "| passages | text terms in the synthetic index | a real collection, by Heaps' law |", "|---|---|---|"]
    for r in sorted(results, key=lambda r: r["size"]):
        if r["kind"] == "synthetic" and _get(r, "index", "text_terms"):
            expected = heaps["K"] * (r["size"] * per_passage) ** heaps["beta"]
            lines.append(f"| {r['size']:,} | {r['index']['text_terms']:,} | ~{expected:,.0f} |")
    return "\n".join(lines) + "\n"


def write_reports(results: list[dict], args, memory: int, disk_free: int, header: dict) -> None:
    args.out.mkdir(parents=True, exist_ok=True)
    report = {**header, "results": results, "fits": {key: fit_power(points(results, getter))
                                                     for key, _, _, getter in FIGURES},
              "limits": machine_limits(results, memory, disk_free)}
    (args.out / "results.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    text = (f"Command: `{header['command']}`  \nCommit {header['commit']}, {header['machine']}, "
            f"started {header['started']}\n\n" + table(results, memory, disk_free))
    if header.get("unigrams"):
        text += "\n" + unigram_section(header["unigrams"], results)
    (args.out / "scale.md").write_text(text, encoding="utf-8")
    if args.plot:
        plot(results, args.plot_dir)


# ---------------------------------------------------------------- main

def parse_args(argv: list[str] | None = None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="170000,500000,1000000,2000000",
                        help="passages per synthetic corpus, comma-separated")
    parser.add_argument("--out", type=Path, default=BENCH / "out" / "scale", help="results folder")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "kb-scale",
                        help="corpora (kept, reused) and indexes (removed after each size)")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--queries", type=int, default=1000, help="sampled queries besides the dev ones")
    parser.add_argument("--anchor", default="", help="also measure the real documents: N passages, or 'all'")
    parser.add_argument("--memory-gb", type=float, default=round(0.9 * mem_total() / GIB, 1),
                        help="memory a size may use (default: 90 %% of this machine's)")
    parser.add_argument("--skip", default="", help="steps to leave out: query,cold,serve,add,check")
    parser.add_argument("--check-sample", type=int, default=20000,
                        help="passages per side in the unigram comparison (on the first synthetic size)")
    parser.add_argument("--serve-rounds", type=int, default=2,
                        help="times the query list is sent to `kb serve --workers 2` (2: ~1,000 per worker)")
    parser.add_argument("--plot", action="store_true", help="write the PNG plots")
    parser.add_argument("--plot-dir", type=Path, default=BENCH / "plots")
    parser.add_argument("--keep", action="store_true", help="keep the indexes in --work")
    parser.add_argument("--resume", action="store_true", help="reuse OUT/size-*.json of sizes already measured")
    args = parser.parse_args(argv)
    args.sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    return args


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_query":
        query_worker(*argv[1:4])
        return
    args = parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    memory = int(args.memory_gb * GIB)
    header = {"command": "python benchmarks/scale.py " + " ".join(argv), "commit": git_commit(),
              "machine": f"{platform.machine()}, {os.cpu_count()} cores, {mem_total() / GIB:.1f} GiB, "
                         f"Python {platform.python_version()}",
              "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "seed": args.seed,
              "memory_budget_gb": args.memory_gb}
    print(f"scale: reading the real texts …", file=sys.stderr)
    pool = synth.load_pool()
    queries = sample_queries(pool, args.queries, args.seed)
    queries_file = args.out / "queries.json"
    queries_file.write_text(json.dumps(queries, ensure_ascii=False, indent=0), encoding="utf-8")
    plan: list[tuple[int | None, str]] = []
    if args.anchor:
        plan.append((None if args.anchor == "all" else int(args.anchor), "real"))
    plan += [(n, "synthetic") for n in sorted(args.sizes)]
    results: list[dict] = []
    for size, kind in plan:
        saved = args.out / f"size-{kind}-{size or 'all'}.json"
        if args.resume and saved.exists():
            results.append(json.loads(saved.read_text(encoding="utf-8")))
            continue
        disk_free = shutil.disk_usage(args.work).free
        if kind == "synthetic":
            needs = next_size_needs(results, size)
            over = {k: v for k, v in needs.items() if v * MB > memory}
            index_fit = fit_power(points(results, lambda r: _get(r, "index", "sizes_mb", "total")))
            disk_need = predict(index_fit, size) * MB * 1.5 if index_fit else 0
            if over or disk_need > disk_free:
                reason = (f"not started: expected {', '.join(f'{k} {v / 1024:.1f} GiB' for k, v in over.items())} "
                          f"> budget {args.memory_gb} GiB" if over else
                          f"not started: expected index {disk_need / GIB:.1f} GiB > {disk_free / GIB:.1f} GiB free disk")
                print(f"scale: {size:,} passages {reason}", file=sys.stderr)
                results.append({"size": size, "kind": kind, "stopped": reason, "expected_mb": needs})
                break
            estimate = duration_estimate(results, size)
            if estimate:
                print(f"scale: {size:,} passages, expected to take ~{estimate / 60:.0f} min", file=sys.stderr)
        print(f"scale: measuring {kind} {size or 'all'} …", file=sys.stderr)
        result = measure_size(size, kind, args, pool, queries_file, queries, memory)
        result["measured_at"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        saved.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
        results.append(result)
        write_reports(results, args, memory, shutil.disk_usage(args.work).free, header)
        print(f"scale: {kind} {result['size']:,} done in {result.get('total_s', 0) / 60:.1f} min"
              + (f" — {result['stopped']}" if result.get("stopped") else ""), file=sys.stderr)
        if kind == "synthetic" and "unigrams" not in header and "check" not in args.skip:
            folder = args.work / f"corpus-{size}"
            print(f"scale: comparing the unigrams of {folder} with the real texts …", file=sys.stderr)
            header["unigrams"] = {"corpus": folder.name, **synth.check(folder, args.check_sample, args.seed)}
            write_reports(results, args, memory, shutil.disk_usage(args.work).free, header)
        if result.get("stopped") and kind == "synthetic":
            break
    write_reports(results, args, memory, shutil.disk_usage(args.work).free, header)
    print((args.out / "scale.md").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
