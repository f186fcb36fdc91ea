"""Multi-worker load: req/s and latency of `kb serve --workers W` at C clients, measured with wrk.

    python benchmarks/workers.py --index DIR [--workers 1,2] [--clients 1,8,32] [--seconds 30]
                                 [--json OUT]

The load comes from ``wrk`` (Debian package ``wrk``: a C load generator on its own event loop),
not from Python threads: on a 2-core machine a Python client pool costs a core of its own and
would measure the client. Each of ``--clients`` connections sends /api/search requests cycling
through the soak test's query list (all have hits). For every (workers, clients) pair: a 5 s
warm-up, then ``--seconds`` of load; reports req/s, p50/p95/p99, non-2xx responses and socket
errors, and the open files and RSS summed over gunicorn's master and workers after the run.
Serves a copy-free, read-only load on 127.0.0.1 only.
"""
from __future__ import annotations

import argparse
import json
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
from soak import QUERIES, Server, process_tree, sample  # noqa: E402 — the same server, queries, sampling


def memory(pid: int) -> dict:
    """RSS of each server process and the PSS sum: pages shared copy-on-write between gunicorn's
    master and workers count once in PSS, once per process in an RSS sum."""
    rss, pss = [], 0.0
    for p in process_tree(pid):
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss.append(round(int(line.split()[1]) / 1024))
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1]) / 1024
        except OSError:
            continue
    return {"rss_each_mb": rss, "rss_sum_mb": sum(rss), "pss_sum_mb": round(pss)}

LUA = """
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format("KBSTATS %%d %%d %%d %%d %%d %%d %%.1f %%.1f %%.1f\\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write,
    summary.errors.timeout, summary.errors.status, summary.duration,
    0, latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


def lua_script(folder: Path) -> Path:
    """A wrk script that cycles through the soak queries (URL-encoded)."""
    paths = ", ".join(f'"/api/search?q={quote(q)}&limit=20"' for q in QUERIES)
    script = folder / "queries.lua"
    script.write_text(LUA % paths, encoding="utf-8")
    return script


def run_wrk(url: str, script: Path, clients: int, seconds: int) -> dict:
    """One wrk run; its Lua ``done`` hook prints the figures on a KBSTATS line."""
    threads = min(2, clients)
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(clients), "-d", f"{seconds}s",
                          "--timeout", "30s", "-s", str(script), url], capture_output=True, text=True,
                         check=True).stdout
    line = next(l for l in out.splitlines() if l.startswith("KBSTATS"))
    requests, socket_errors, timeouts, non_2xx, duration_us, _, p50, p95, p99 = line.split()[1:]
    return {"requests": int(requests), "socket_errors": int(socket_errors), "timeouts": int(timeouts),
            "non_2xx": int(non_2xx), "req_per_s": round(int(requests) / (int(duration_us) / 1e6), 1),
            "p50_ms": float(p50), "p95_ms": float(p95), "p99_ms": float(p99)}


def measure(index: Path, workers: int, clients: list[int], seconds: int, threads: int,
            work: Path) -> list[dict]:
    server = Server(index, workers, threads, work / f"serve-w{workers}.log")
    script = lua_script(work)
    rows = []
    try:
        idle_files, idle_rss = sample(server.proc.pid)
        for c in clients:
            run_wrk(server.url, script, c, 5)  # warm-up: every worker opens its searchers
            row = run_wrk(server.url, script, c, seconds)
            files, _ = sample(server.proc.pid)
            row.update(workers=workers, clients=c, open_files=files, idle_open_files=idle_files,
                       idle_rss_mb=round(idle_rss), **memory(server.proc.pid))
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        server.stop()
    return rows


def table(rows: list[dict]) -> str:
    head = ("| workers | clients | req/s | p50 ms | p95 ms | p99 ms | non-2xx | socket errors "
            "| open files | RSS MB master, workers | RSS sum MB | PSS sum MB |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|")
    body = [f"| {r['workers']} | {r['clients']} | {r['req_per_s']} | {r['p50_ms']} | {r['p95_ms']} | "
            f"{r['p99_ms']} | {r['non_2xx']} | {r['socket_errors'] + r['timeouts']} | {r['open_files']} | "
            f"{', '.join(map(str, r['rss_each_mb']))} | {r['rss_sum_mb']} | {r['pss_sum_mb']} |" for r in rows]
    return "\n".join([head, *body])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads per worker")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk / 需要 wrk：apt-get install wrk")
    clients = [int(c) for c in args.clients.split(",")]
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="kb-workers-") as tmp:
        for w in (int(w) for w in args.workers.split(",")):
            rows += measure(args.index, w, clients, args.seconds, args.threads, Path(tmp))
    print(table(rows))
    by = {(r["workers"], r["clients"]): r for r in rows}
    top = max(clients)
    if (1, top) in by and (2, top) in by:
        print(f"2 workers / 1 worker at {top} clients: "
              f"{by[(2, top)]['req_per_s'] / by[(1, top)]['req_per_s']:.2f}x")
    if args.json:
        args.json.write_text(json.dumps({"machine": platform.machine(), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
