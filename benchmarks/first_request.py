"""The first searches after `kb serve` starts, against later ones (issue 26: warm each worker at start).

    python benchmarks/first_request.py --index index --workers 2 [--runs 3]

Each run starts `kb serve` on a free port, waits for /healthz, then sends 8 different searches one
after another (so each of the 2 workers gets its first ones) and prints, per request, the time the
server reports (``elapsed_ms``) and the client's round trip. Prints one JSON object per run.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ["两楼联动", "红色业委会", "7+2+N", "老旧小区没有物业怎么办", "在职党员回社区报到", "社区 治理", "网格化管理", "党建 地区:上海"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_run(index: Path, workers: int, basket: Path) -> dict:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "kb.cli", "serve", "--port", str(port), "--workers", str(workers),
                             "--index", str(index)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "KB_BASKET_DB": str(basket)})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=5).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        rows = []
        for q in QUERIES:
            began = time.perf_counter()
            body = json.loads(urllib.request.urlopen(f"{base}/api/search?q={quote(q)}", timeout=60).read())
            rows.append({"q": q, "server_ms": body["elapsed_ms"], "client_ms": round((time.perf_counter() - began) * 1000, 1)})
        return {"workers": workers, "requests": rows}
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, default=ROOT / "index")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--basket", type=Path, default=Path("/tmp/kb-first-request-basket.sqlite"))
    args = ap.parse_args()
    for _ in range(args.runs):
        print(json.dumps(one_run(args.index, args.workers, args.basket), ensure_ascii=False))


if __name__ == "__main__":
    main()
