"""Soak test: a served index under steady search load while documents are added and removed.

    python benchmarks/soak.py [--index DIR] [--minutes 30] [--clients 32] [--workers 1]
                              [--every 60] [--docs 200] [--json OUT]

With ``--every 0`` it is a plain load test (req/s, p50/p95 for N clients and W workers).

Copies the index (default: builds one from corpus/) to a temporary folder, serves it with
`kb serve` on 127.0.0.1 (a free port), and runs ``--clients`` threads on /api/search. Every
``--every`` seconds it writes ``--docs`` new documents (each with a unique code), runs `kb add`,
measures the time until the new documents are found, then `kb remove`s the previous batch and
measures the time until it is gone. Every 10 s it samples the server's open files and RSS (the
master and all its workers). Reports requests, errors, 5xx, latency, samples with their slope
per minute, and the commit-to-visible times. Bounded: stops after ``--minutes``; loopback only.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ["社区治理", "网格化管理", "党建引领", "物业管理", "居民议事", "志愿服务", "老旧小区改造",
           "\"社区\" -物业", "地区:上海 党建", "基层治理 创新", "社区 党委", "村民委员会"]
# (no query without hits: their did-you-mean step has its own cost bound, issue 16)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def kb(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kb.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (gunicorn's master and workers)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out


def sample(pid: int) -> tuple[int, float]:
    """(open files, RSS in MB) summed over the server's processes."""
    files, rss = 0, 0.0
    for p in process_tree(pid):
        try:
            files += len(os.listdir(f"/proc/{p}/fd"))
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1]) / 1024
        except OSError:
            continue
    return files, rss


def slope_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, per minute."""
    if len(points) < 2:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return 60 * sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0


class Server:
    def __init__(self, index: Path, workers: int, threads: int, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log.open("w")
        env = {**os.environ, "KB_BASKET_DB": str(log.with_name("basket.sqlite"))}
        self.proc = subprocess.Popen([sys.executable, "-m", "kb.cli", "serve", "--host", "127.0.0.1",
                                      "--port", str(self.port), "--workers", str(workers), "--threads",
                                      str(threads), "--index", str(index)], cwd=ROOT, env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 180
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("kb serve exited; see " + str(log))
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=5)
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("kb serve did not answer")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def search(url: str, q: str, timeout: float = 60) -> tuple[int, dict | None]:
    try:
        with urllib.request.urlopen(f"{url}/api/search?q={quote(q)}&limit=20", timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None


class Load:
    """``clients`` threads searching until stopped; counts requests, errors, 5xx, latencies."""

    def __init__(self, url: str, clients: int):
        self.url, self.stop_flag = url, threading.Event()
        self.lock = threading.Lock()
        self.requests = self.errors = self.server_errors = 0
        self.latencies: list[float] = []
        self.problems: list[str] = []
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(clients)]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def run(self, seed: int) -> None:
        rng = random.Random(seed)
        while not self.stop_flag.is_set():
            began = time.perf_counter()
            try:
                status, _ = search(self.url, rng.choice(QUERIES))
                bad = status >= 500
                error = status != 200
            except Exception as exc:  # noqa: BLE001 — every failure is counted and reported
                status, bad, error = 0, False, True
                with self.lock:
                    if len(self.problems) < 20:
                        self.problems.append(f"{type(exc).__name__}: {exc}")
            with self.lock:
                self.requests += 1
                self.errors += error
                self.server_errors += bad
                self.latencies.append(time.perf_counter() - began)

    def finish(self) -> None:
        self.stop_flag.set()
        for t in self.threads:
            t.join(timeout=120)


def write_batch(folder: Path, tag: str, count: int, pool: list[str], rng: random.Random) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    codes = []
    for i in range(count):
        code = f"SK{tag}X{i:04d}Q"
        codes.append(code)
        (folder / f"soak-{tag}-{i}.txt").write_text(
            f"浸泡测试材料{tag}-{i}：唯一码{code}。\n" + "".join(rng.sample(pool, 5)), encoding="utf-8")
    return codes


def until(predicate, limit: float = 60.0) -> float:
    """Seconds until ``predicate()`` holds (polling every 50 ms), or -1 after ``limit``."""
    began = time.perf_counter()
    while time.perf_counter() - began < limit:
        if predicate():
            return time.perf_counter() - began
        time.sleep(0.05)
    return -1.0


def found(url: str, code: str) -> bool:
    status, body = search(url, code)
    return status == 200 and bool(body and body["hits"])


def sentence_pool() -> list[str]:
    sys.path.insert(0, str(ROOT))
    from kb.text.documents import sentences
    from kb.text.normalize import normalize

    text = "\n".join(normalize(p.read_text(encoding="utf-8")) for p in sorted((ROOT / "corpus").glob("*.txt")))
    return [s for line in text.split("\n") for s in sentences(line) if len(s) >= 30]


def soak(index: Path | None, minutes: float, clients: int, workers: int, threads: int, every: float,
         docs: int, work: Path) -> dict:
    target = work / "index"
    if index:
        shutil.copytree(index, target)
    else:
        built = kb("index", str(ROOT / "corpus"), "--index", str(target))
        if built.returncode:
            raise RuntimeError(built.stderr)
    server = Server(target, workers, threads, work / "serve.log")
    load = Load(server.url, clients)
    rng = random.Random(7)
    pool = sentence_pool()
    files: list[tuple[float, float]] = []
    rss: list[tuple[float, float]] = []
    visible, gone, writes = [], [], []
    began = time.monotonic()
    stop_at = began + minutes * 60
    next_sample, next_write, batch_no, previous = began, began + min(every, 10), 0, None
    load.start()
    try:
        while time.monotonic() < stop_at:
            now = time.monotonic()
            if now >= next_sample:
                f, r = sample(server.proc.pid)
                files.append((now - began, f))
                rss.append((now - began, r))
                next_sample += 10
            if every > 0 and now >= next_write:
                batch_no += 1
                folder = work / f"batch{batch_no}"
                codes = write_batch(folder, str(batch_no), docs, pool, rng)
                added = kb("add", str(folder), "--index", str(target))
                writes.append({"batch": batch_no, "add_rc": added.returncode})
                visible.append(until(lambda: found(server.url, codes[-1])))
                if previous is not None:
                    removed = kb("remove", *[p.stem for p in sorted(previous[0].glob("*.txt"))],
                                 "--index", str(target))
                    writes[-1]["remove_rc"] = removed.returncode
                    gone.append(until(lambda: not found(server.url, previous[1][0])))
                previous = (folder, codes)
                next_write = time.monotonic() + every
            time.sleep(0.2)
    finally:
        load.finish()
        f, r = sample(server.proc.pid)
        files.append((time.monotonic() - began, f))
        rss.append((time.monotonic() - began, r))
        server.stop()
    log = (work / "serve.log").read_text(encoding="utf-8", errors="replace").splitlines()
    failures = [line for line in log if '" 5' in line or "Traceback" in line or "Error" in line][:20]
    lat = sorted(load.latencies) or [0.0]
    return {
        "minutes": minutes, "clients": clients, "workers": workers, "threads": threads,
        "requests": load.requests, "errors": load.errors, "server_errors_5xx": load.server_errors,
        "problems": load.problems, "server_log_failures": failures,
        "req_per_s": round(load.requests / max(1e-9, minutes * 60), 1),
        "p50_ms": round(1000 * lat[len(lat) // 2], 1), "p95_ms": round(1000 * lat[int(len(lat) * 0.95)], 1),
        "open_files": [int(v) for _, v in files], "open_files_slope_per_min": round(slope_per_minute(files), 2),
        "rss_mb": [round(v) for _, v in rss], "rss_slope_mb_per_min": round(slope_per_minute(rss), 2),
        "commit_to_found_s": [round(v, 2) for v in visible], "remove_to_gone_s": [round(v, 2) for v in gone],
        "writes": writes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, help="index to copy (default: build one from corpus/)")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--every", type=float, default=60.0,
                        help="seconds between write rounds (0: no writes — a plain load test)")
    parser.add_argument("--docs", type=int, default=200, help="documents added per round")
    parser.add_argument("--json", type=Path, help="write the report here as well")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kb-soak-") as tmp:
        report = soak(args.index, args.minutes, args.clients, args.workers, args.threads, args.every,
                      args.docs, Path(tmp))
    text = json.dumps(report, ensure_ascii=False, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text, encoding="utf-8")
    sys.exit(1 if report["errors"] or report["server_errors_5xx"] else 0)


if __name__ == "__main__":
    main()
