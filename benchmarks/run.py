"""kb at scale, side by side with its peers, in one run on one machine.

    pip install -e '.[bench]'
    python benchmarks/run.py                # full run: corpus/ + ../shared/corpus-ext, CMRC 2018
    python benchmarks/run.py --quick        # a smoke run on a slice (minutes, not half an hour)
    python benchmarks/run.py --only cmrc    # CMRC 2018 MRR@10 of kb and the peers alone (minutes)
    python benchmarks/run.py --only latency --index DIR   # in-process query latency on an existing index

Measures index build (wall time, characters/s, ratio to raw jieba.lcut, peak RSS, size on disk),
query latency (Python API, and HTTP against `kb serve` with 1/8/32 clients on 127.0.0.1),
the same corpus and queries on the peers (the toy Whoosh + jieba ChineseAnalyzer, tantivy over
jieba tokens, bm25s), retrieval quality on CMRC 2018 (MRR@10, Recall@10) and the dev set with the
distractor corpus indexed. Prints the tables and writes benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
OUT = ROOT / "benchmarks" / "out"
sys.path.insert(0, str(ROOT))


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99), "max": ordered[-1] * 1000}


def timed(fn, queries):
    samples, results = [], []
    for q in queries:
        began = time.perf_counter()
        results.append(fn(q))
        samples.append(time.perf_counter() - began)
    return samples, results


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# ------------------------------------------------------------------ corpus and queries

def load_passages(quick: bool):
    from kb.cli.common import expand_paths, read_all

    paths = [ROOT / "corpus"] + ([] if quick else [SHARED / "corpus-ext"])
    files, problems = expand_paths(paths)
    docs = read_all(files, problems)
    if quick:  # a slice of the laws keeps the smoke run short
        from kb.ingest.readers import jsonl, make_documents, ReadError

        docs += [d for i, d in enumerate(jsonl.read(SHARED / "corpus-ext" / "laws.jsonl.gz", make_documents, ReadError))
                 if i < 150]
    passages = [(p.passage_id, d.source, p.text) for d in docs for p in d.passages]
    return docs, passages


def sample_queries(docs, passages, n: int = 1000) -> list[str]:
    """Half titles (their first words), half runs of 2–3 words from random passages."""
    import jieba

    rng = random.Random(42)
    titles = [d.title for d in docs if d.title]
    out = [re.sub(r"[《》“”（）()]", "", t)[:12] for t in rng.sample(titles, min(n // 2, len(titles)))]
    while len(out) < n:
        words = [w for w in jieba.lcut(rng.choice(passages)[2][:120]) if len(w) >= 2 and re.search(r"[\u4e00-\u9fff]", w)]
        if len(words) >= 3:
            start = rng.randrange(len(words) - 2)
            out.append(" ".join(words[start:start + rng.choice((2, 3))]))
    return out


def dev_queries() -> list[str]:
    return [json.loads(l)["query"] for l in (SHARED / "eval" / "dev.jsonl").read_text(encoding="utf-8").splitlines() if l.strip()]


# ------------------------------------------------------------------ peers

class ToyWhoosh:
    """What everyone builds first: jieba's ChineseAnalyzer in a plain Whoosh index."""

    name = "toy Whoosh + jieba ChineseAnalyzer"

    def build(self, passages, folder: Path):
        from jieba.analyse import ChineseAnalyzer
        from whoosh import index
        from whoosh.fields import ID, TEXT, Schema

        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        ix = index.create_in(str(folder), Schema(pid=ID(stored=True), source=ID(stored=True),
                                                 text=TEXT(analyzer=ChineseAnalyzer())))
        with ix.writer(limitmb=256) as writer:
            for pid, source, text in passages:
                writer.add_document(pid=pid, source=source, text=text)
        self.ix = ix
        self.searcher = ix.searcher()
        from whoosh.qparser import OrGroup, QueryParser

        self.parser = QueryParser("text", ix.schema, group=OrGroup)

    def search(self, q: str, k: int = 10):
        return [(r["pid"], r["source"]) for r in self.searcher.search(self.parser.parse(q), limit=k)]


class Tantivy:
    name = "tantivy over jieba tokens"

    def build(self, passages, folder: Path):
        import jieba
        import tantivy

        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("pid", stored=True, tokenizer_name="raw")
        builder.add_text_field("source", stored=True, tokenizer_name="raw")
        builder.add_text_field("body", stored=False, tokenizer_name="whitespace")
        self.schema = builder.build()
        self.index = tantivy.Index(self.schema, path=str(folder))
        writer = self.index.writer(heap_size=256_000_000, num_threads=2)
        for pid, source, text in passages:
            writer.add_document(tantivy.Document(pid=pid, source=source, body=" ".join(jieba.lcut(text))))
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()
        self.searcher = self.index.searcher()

    def search(self, q: str, k: int = 10):
        import jieba

        words = [w for w in jieba.lcut(q) if w.strip() and not re.fullmatch(r"[\W_]+", w)]
        if not words:
            return []
        query = self.index.parse_query(" OR ".join('"%s"' % w.replace('"', "") for w in words), ["body"])
        hits = self.searcher.search(query, k).hits
        return [(self.searcher.doc(a)["pid"][0], self.searcher.doc(a)["source"][0]) for _, a in hits]


class BM25S:
    name = "bm25s over jieba tokens"

    def build(self, passages, folder: Path):
        import bm25s
        import jieba

        self.meta = [(pid, source) for pid, source, _ in passages]
        tokens = [jieba.lcut(text) for _, _, text in passages]
        self.retriever = bm25s.BM25()
        self.retriever.index(tokens, show_progress=False)

    def search(self, q: str, k: int = 10):
        import jieba

        words = [w for w in jieba.lcut(q) if w.strip()]
        if not words:
            return []
        docs, _ = self.retriever.retrieve([words], k=min(k, len(self.meta)), show_progress=False)
        return [self.meta[i] for i in docs[0]]


def java_home() -> None:
    """JAVA_HOME for Anserini (Java 21 or newer): kept if set, else the newest JDK under /usr/lib/jvm."""
    if os.environ.get("JAVA_HOME"):
        return
    found = []
    for release in Path("/usr/lib/jvm").glob("*/release"):
        m = re.search(r'JAVA_VERSION="(\d+)', release.read_text(errors="replace"))
        if m and int(m.group(1)) >= 21:
            found.append((int(m.group(1)), release.parent))
    if found:
        os.environ["JAVA_HOME"] = str(max(found)[1])


class Lucene:
    """Lucene BM25 (k1 0.9, b 0.4) over CJK bigrams: Anserini's `zh` analyzer, through Pyserini's
    LuceneIndexer and Anserini's SimpleSearcher (Pyserini's own LuceneSearcher wraps the same class,
    but importing it pulls torch). Needs `pip install pyjnius` + `pip install --no-deps pyserini`, Java ≥ 21."""

    name = "Lucene BM25 over CJK bigrams (Anserini/Pyserini)"

    def build(self, passages, folder: Path):
        java_home()
        from pyserini.index.lucene import LuceneIndexer
        from pyserini.pyclass import autoclass

        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.meta = [(pid, source) for pid, source, _ in passages]
        indexer = LuceneIndexer(str(folder), args=["-index", str(folder), "-language", "zh"], threads=2)
        for i, (_, _, text) in enumerate(passages):
            indexer.add_doc_dict({"id": str(i), "contents": text})
        indexer.close()
        self.searcher = autoclass("io.anserini.search.SimpleSearcher")(str(folder))
        self.searcher.set_language("zh")

    def search(self, q: str, k: int = 10):
        if not q.strip():
            return []
        return [self.meta[int(h.docid)] for h in self.searcher.search(q, k)]


class Kb:
    name = "kb"

    def build(self, passages=None, folder: Path = None, docs=None):
        from kb.ingest.pipeline import rebuild as build

        build(folder, docs)
        from kb.search import Searcher

        self.searcher = Searcher(folder)

    def search(self, q: str, k: int = 10):
        return [(h["passage_id"], h["source"]) for h in self.searcher.search(q, limit=k).hits]


# ------------------------------------------------------------------ measurements

def build_kb_subprocess(paths: list[Path], folder: Path) -> dict:
    """`kb index` in a subprocess: wall time and the peak RSS of it and its workers."""
    shutil.rmtree(folder, ignore_errors=True)
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "kb.cli", "index", *map(str, paths), "--index", str(folder)],
                          cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"wall": wall, "peak_rss_mb": rss, "size_mb": du(folder) / 2**20}


def jieba_throughput(passages) -> float:
    import jieba

    jieba.initialize()
    chars = sum(len(t) for _, _, t in passages)
    began = time.perf_counter()
    for _, _, text in passages:
        jieba.lcut(text)
    return chars / (time.perf_counter() - began)


def start_server(index_dir: Path, query: str, *extra: str) -> tuple[subprocess.Popen, str, float]:
    """`kb serve` on a free port of 127.0.0.1: (process, base URL, seconds to its first answer)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    began = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "kb.cli", "serve", "--port", str(port), *extra,
                               "--index", str(index_dir)], cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL,
                              env={**os.environ, "KB_BASKET_DB": str(OUT / "bench-basket.sqlite")})
    base = f"http://127.0.0.1:{port}"
    while True:
        try:
            urllib.request.urlopen(base + "/api/search?q=" + urllib.parse.quote(query), timeout=5).read()
            return server, base, time.perf_counter() - began
        except OSError:
            if time.perf_counter() - began > 120:
                server.kill()
                raise SystemExit("kb serve did not start")
            time.sleep(0.05)


def http_latency(index_dir: Path, queries: list[str], clients: int, requests: int) -> dict:
    """`kb serve` on a free port; `clients` threads share `requests` bounded GETs on 127.0.0.1."""
    server, base, cold = start_server(index_dir, "党建", "--threads", "32")
    samples, errors, lock = [], 0, threading.Lock()
    todo = iter(range(requests))

    def worker():
        nonlocal errors
        for i in todo:
            url = base + "/api/search?limit=10&q=" + urllib.parse.quote(queries[i % len(queries)])
            began = time.perf_counter()
            try:
                urllib.request.urlopen(url, timeout=30).read()
                ok = True
            except OSError:
                ok = False
            with lock:
                samples.append(time.perf_counter() - began)
                errors += not ok

    began = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    rss = 0.0
    try:
        import psutil

        rss = psutil.Process(server.pid).memory_info().rss / 2**20
    except Exception:  # noqa: BLE001
        pass
    server.terminate()
    server.wait(timeout=30)
    return {**percentiles(samples), "qps": len(samples) / wall, "errors": errors, "server_rss_mb": rss,
            "cold_start_s": cold}


def cold_start_shipped(repeats: int = 3) -> dict:
    """`kb serve` on the shipped corpus: seconds from process start to the first answer, and its RSS
    then (the index is built beforehand, not timed; each start is a new process)."""
    import psutil

    folder = OUT / "kb-shipped"
    shutil.rmtree(folder, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "kb.cli", "index", str(ROOT / "corpus"), "--index", str(folder)],
                   cwd=ROOT, check=True, capture_output=True)
    starts, rss = [], []
    for _ in range(repeats):
        server, _, seconds = start_server(folder, "两楼联动")
        starts.append(seconds)
        rss.append(psutil.Process(server.pid).memory_info().rss / 2**20)
        server.terminate()
        server.wait(timeout=30)
    return {"median_s": sorted(starts)[len(starts) // 2], "max_s": max(starts), "rss_mb": max(rss), "runs": repeats}


def cmrc(engines: list, quick: bool) -> dict[str, dict]:
    """MRR@10 and Recall@10 over CMRC 2018 (dev) for every engine."""
    folder = SHARED / "bench" / "cmrc2018"
    records = [json.loads(l) for l in (folder / "cmrc2018_dev_passages.jsonl").read_text(encoding="utf-8").splitlines()]
    queries = [l.split("\t", 1) for l in (folder / "cmrc2018_dev_queries.tsv").read_text(encoding="utf-8").splitlines() if l.strip()]
    qrels = {l.split("\t")[0]: l.split("\t")[2] for l in (folder / "cmrc2018_dev_qrels.tsv").read_text(encoding="utf-8").splitlines() if l.strip()}
    if quick:
        queries = queries[:300]
    from kb.ingest.readers import ReadError, jsonl, make_documents

    tmp = OUT / "cmrc.jsonl"
    tmp.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    docs = list(jsonl.read(tmp, make_documents, ReadError))
    passages = [(p.passage_id, d.source, p.text) for d in docs for p in d.passages]
    out = {}
    for engine in engines:
        if isinstance(engine, Kb):
            engine.build(folder=OUT / "cmrc-kb", docs=docs)
        else:
            engine.build(passages, OUT / f"cmrc-{engine.__class__.__name__}")
        mrr = recall = 0.0
        for qid, question in queries:
            sources = []
            for _, source in engine.search(question, 30):
                if source not in sources:
                    sources.append(source)
            sources = sources[:10]
            if qrels.get(qid) in sources:
                mrr += 1 / (sources.index(qrels[qid]) + 1)
                recall += 1
        out[engine.name] = {"mrr@10": mrr / len(queries), "recall@10": recall / len(queries), "queries": len(queries)}
        print(f"  CMRC {engine.name}: {out[engine.name]}", flush=True)
    return out


PEERS = {"toy": ToyWhoosh(), "tantivy": Tantivy(), "bm25s": BM25S(), "lucene": Lucene()}


def only_cmrc(args) -> None:
    """`--only cmrc`: the CMRC 2018 table alone, printed and kept in benchmarks/out/cmrc.json."""
    began = time.perf_counter()
    engines = [Kb(), *[type(PEERS[key])() for key in args.peers.split(",") if key]]
    got = cmrc(engines, args.quick)
    print("\n| CMRC 2018 (dev) | MRR@10 | Recall@10 | questions |\n|---|---|---|---|")
    for name, c in got.items():
        print(f"| {name} | {c['mrr@10']:.3f} | {c['recall@10']:.3f} | {c['queries']} |")
    print(f"\n({time.perf_counter() - began:.0f} s, commit {args.commit})")
    (OUT / "cmrc.json").write_text(json.dumps(got, ensure_ascii=False, indent=1), encoding="utf-8")


def only_latency(args) -> None:
    """`--only latency --index DIR`: kb's in-process query latency on an index built beforehand
    (e.g. `kb index corpus ../shared/corpus-ext --index DIR`), with the full run's queries
    (dev + the same seeded sample of the corpus; the corpus is read, not indexed)."""
    from kb.search import Searcher

    docs, passages = load_passages(args.quick)
    queries = dev_queries() + sample_queries(docs, passages, args.queries if not args.quick else 200)
    searcher = Searcher(args.index)
    searcher.search("党建")  # the one warm-up query of the full run, so the figures compare
    samples, _ = timed(lambda q: searcher.search(q, limit=10), queries)
    p = percentiles(samples)
    try:
        from kb.index.store import IndexStore

        stats = IndexStore(args.index).stats()
    except Exception as exc:  # noqa: BLE001 — only a caption
        stats = {"error": str(exc)}
    print(f"\n| query latency (ms, {len(queries)} queries: dev + sampled) | p50 | p95 | p99 | max |\n|---|---|---|---|---|")
    print(f"| kb (Python API), {args.index} | {p['p50']:.1f} | {p['p95']:.1f} | {p['p99']:.1f} | {p['max']:.0f} |")
    print(f"\n(index: {stats or '?'}; commit {args.commit}; load average {os.getloadavg()[0]:.1f})")
    (OUT / "latency.json").write_text(json.dumps({"index": str(args.index), "queries": len(queries), **p},
                                                 indent=1), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--requests", type=int, default=300, help="HTTP requests per concurrency level")
    ap.add_argument("--queries", type=int, default=1000, help="queries sampled from the corpus")
    ap.add_argument("--reuse-index", action="store_true",
                    help="keep benchmarks/out/kb-index from an earlier run (its build is not re-measured)")
    ap.add_argument("--peers", default="toy,tantivy,bm25s",
                    help="peers to run, comma-separated (toy, tantivy, bm25s, lucene)")
    ap.add_argument("--skip-cmrc", action="store_true", help="leave out the CMRC 2018 quality table")
    ap.add_argument("--only", choices=("cmrc", "latency"),
                    help="one measurement alone, printed (RESULTS.md is not written)")
    ap.add_argument("--index", type=Path, help="with --only latency: an existing kb index to query")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.only:
        args.commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                     text=True).stdout.strip()
        if args.only == "latency" and not args.index:
            ap.error("--only latency needs --index DIR")
        (only_cmrc if args.only == "cmrc" else only_latency)(args)
        return
    report: dict = {"date": time.strftime("%Y-%m-%d %H:%M"), "quick": args.quick,
                    "command": " ".join(["python benchmarks/run.py", *sys.argv[1:]]),
                    "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
                    "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                             text=True).stdout.strip()}
    print("loading corpus …", flush=True)
    docs, passages = load_passages(args.quick)
    chars = sum(len(t) for _, _, t in passages)
    report["corpus"] = {"documents": len(docs), "passages": len(passages), "chars": chars}
    print(report["corpus"], flush=True)
    kb_dir = OUT / ("kb-index-quick" if args.quick else "kb-index")  # a quick run keeps the full index
    reuse = args.reuse_index and (kb_dir / "models.json").exists()
    jieba_cps = float("nan") if reuse else jieba_throughput(passages)  # only the build ratio needs it
    print(f"raw jieba.lcut: {jieba_cps:,.0f} chars/s", flush=True)

    if reuse:
        built = {"wall": float("nan"), "peak_rss_mb": float("nan"), "size_mb": du(kb_dir) / 2**20, "reused": True}
    elif args.quick:
        began = time.perf_counter()
        Kb().build(folder=kb_dir, docs=docs)
        built = {"wall": time.perf_counter() - began, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                 "size_mb": du(kb_dir) / 2**20}
    else:
        built = build_kb_subprocess([ROOT / "corpus", SHARED / "corpus-ext"], kb_dir)
    built["chars_per_s"] = chars / built["wall"]
    built["ratio_to_jieba"] = built["chars_per_s"] / jieba_cps
    report["build"] = {"kb": built}
    print("kb build:", built, flush=True)

    queries = dev_queries() + sample_queries(docs, passages, args.queries if not args.quick else 200)
    from kb.search import Searcher

    kb_searcher = Searcher(kb_dir)
    kb_searcher.search("党建")
    samples, _ = timed(lambda q: kb_searcher.search(q, limit=10), queries)
    report["latency"] = {"kb (Python API)": percentiles(samples)}
    report["queries"] = len(queries)
    print("kb latency:", report["latency"]["kb (Python API)"], flush=True)

    chosen = args.peers.split(",")
    peers = [p for key, p in PEERS.items() if key in chosen]
    for peer in peers:
        began = time.perf_counter()
        peer.build(passages, OUT / f"peer-{peer.__class__.__name__}")
        wall = time.perf_counter() - began
        report["build"][peer.name] = {"wall": wall, "chars_per_s": chars / wall, "ratio_to_jieba": chars / wall / jieba_cps}
        samples, _ = timed(lambda q: peer.search(q), queries)
        report["latency"][peer.name] = percentiles(samples)
        print(peer.name, report["build"][peer.name], report["latency"][peer.name], flush=True)
        peer.searcher = None

    report["http"] = {}
    for clients in (1, 8, 32):
        report["http"][clients] = http_latency(kb_dir, queries, clients, args.requests)
        print(f"http {clients} clients:", report["http"][clients], flush=True)

    report["cold_start_shipped"] = cold_start_shipped()
    print("cold start on the shipped corpus:", report["cold_start_shipped"], flush=True)

    from kb.search import evaluate as ev

    judged = ev.load_judgments(SHARED / "eval" / "dev.jsonl")
    run = [(j, [{"source": h["source"], "text": h["passage"]} for h in kb_searcher.search(j.query, limit=10).hits])
           for j in judged]
    report["dev_with_distractors"] = ev.evaluate(run)
    print("dev with distractors:", report["dev_with_distractors"], flush=True)

    report["cmrc"] = {} if args.skip_cmrc else cmrc([Kb(), *[type(p)() for p in peers]], args.quick)
    (OUT / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    write_results(report)


def targets(report: dict) -> list[tuple[str, str, bool]]:
    """Each target of the issue against this run's figures."""
    lat, build, http = report["latency"], report["build"], report["http"]
    kb, bm25s, tantivy = lat["kb (Python API)"], lat.get(BM25S.name), lat.get(Tantivy.name)
    peers = {n: c["mrr@10"] for n, c in report["cmrc"].items() if n != "kb"}
    out = []
    if not build["kb"].get("reused"):
        out.append(("build ≥ 0.6× raw jieba.lcut", f"{build['kb']['ratio_to_jieba']:.2f}×",
                    build["kb"]["ratio_to_jieba"] >= 0.6))
    if bm25s:
        out.append(("query p95 ≤ bm25s p95", f"{kb['p95']:.1f} ms vs {bm25s['p95']:.1f} ms", kb["p95"] <= bm25s["p95"]))
    if tantivy:
        out.append(("query p95 ≤ 25× tantivy p95", f"{kb['p95']:.1f} ms vs 25 × {tantivy['p95']:.2f} ms",
                    kb["p95"] <= 25 * tantivy["p95"]))
    out.append(("no query over 1 s (Python API)", f"max {kb['max']:.0f} ms", kb["max"] <= 1000))
    worst = max(h["server_rss_mb"] for h in http.values())
    out.append((f"server RSS ≤ 400 MB at {report['corpus']['passages']:,} passages", f"{worst:.0f} MB", worst <= 400))
    cold = report["cold_start_shipped"]["max_s"]
    out.append(("cold `kb serve` on the shipped corpus ≤ 5 s", f"{cold:.1f} s", cold <= 5))
    if peers and "kb" in report["cmrc"]:
        best = max(peers.values())
        out.append(("CMRC MRR@10 ≥ best peer", f"{report['cmrc']['kb']['mrr@10']:.3f} vs {best:.3f}",
                    report["cmrc"]["kb"]["mrr@10"] >= best))
    return out


def write_results(report: dict) -> None:
    lines = [f"## Run of {report['date']} — commit {report['commit']} — {report['machine']}" + (" — QUICK" if report["quick"] else ""),
             "", "Command: `" + report["command"] + "`", "",
             f"Corpus: {report['corpus']['documents']:,} documents, {report['corpus']['passages']:,} passages, "
             f"{report['corpus']['chars']:,} characters.", "",
             "| index build | wall s | chars/s | × raw jieba.lcut | peak RSS MB | size MB |", "|---|---|---|---|---|---|"]
    for name, b in report["build"].items():
        lines.append(f"| {name} | {b['wall']:.0f} | {b['chars_per_s']:,.0f} | {b['ratio_to_jieba']:.2f} | "
                     f"{b.get('peak_rss_mb', 0):.0f} | {b.get('size_mb', 0):.0f} |")
    if report["build"]["kb"].get("reused"):
        lines += ["", "(kb's index was reused from an earlier run: its build was not measured in this run.)"]
    lines += ["", f"| query latency (ms, {report.get('queries', '?')} queries: dev + sampled) | p50 | p95 | p99 | max |",
              "|---|---|---|---|---|"]
    for name, p in report["latency"].items():
        lines.append(f"| {name} | {p['p50']:.1f} | {p['p95']:.1f} | {p['p99']:.1f} | {p['max']:.0f} |")
    lines += ["", "| HTTP `kb serve` | p50 ms | p95 ms | p99 ms | req/s | errors | server RSS MB | cold start s |",
              "|---|---|---|---|---|---|---|---|"]
    for clients, h in report["http"].items():
        lines.append(f"| {clients} clients | {h['p50']:.0f} | {h['p95']:.0f} | {h['p99']:.0f} | {h['qps']:.1f} | "
                     f"{h['errors']} | {h['server_rss_mb']:.0f} | {h['cold_start_s']:.1f} |")
    d = report["dev_with_distractors"]
    lines += ["", f"Dev set with the distractor corpus indexed: ndcg@10={d['ndcg@10']:.4f} recall@10={d['recall@10']:.4f} "
              f"hit@1={d['hit@1']:.4f} hit@5={d['hit@5']:.4f}", "",
              *(["| CMRC 2018 (dev) | MRR@10 | Recall@10 | questions |", "|---|---|---|---|"] if report["cmrc"] else [])]
    for name, c in report["cmrc"].items():
        lines.append(f"| {name} | {c['mrr@10']:.3f} | {c['recall@10']:.3f} | {c['queries']} |")
    c = report["cold_start_shipped"]
    lines += ["", f"Cold `kb serve` on the shipped corpus (new process → first answer, {c['runs']} starts): "
              f"median {c['median_s']:.1f} s, max {c['max_s']:.1f} s, RSS then {c['rss_mb']:.0f} MB."]
    lines += ["", "| target (issue 6) | measured | met |", "|---|---|---|"]
    lines += [f"| {name} | {value} | {'yes' if ok else 'no'} |" for name, value, ok in targets(report)]
    results = ROOT / "benchmarks" / "RESULTS.md"
    head = "# Benchmark results\n\nTables written by `benchmarks/run.py`; newest run first.\n\n"
    old = results.read_text(encoding="utf-8").split("\n", 4)[-1] if results.exists() else ""
    old = old[old.find("## Run"):] if "## Run" in old else ""
    results.write_text(head + "\n".join(lines) + "\n\n" + old, encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
