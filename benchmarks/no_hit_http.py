"""Time /api/search and the search page for normal and no-hit queries over HTTP (loopback)."""
import random
import statistics
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

base = sys.argv[1]
rng = random.Random(7)
latin = " ".join("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(5)) for _ in range(34))[:200]
queries = {"normal 行政处罚 听证": "行政处罚 听证", "typo 行政处仿": "行政处仿", "200-char no-hit": latin}


def get(path):
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(base + path, timeout=300) as r:
            r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        status = e.code
    return time.perf_counter() - t, status


get("/api/search?q=" + quote("预热"))
for name, q in queries.items():
    for kind, path in (("api", "/api/search?q="), ("page", "/?q=")):
        runs = [get(path + quote(q)) for _ in range(3)]
        print(f"{name:22s} {kind:4s} median {statistics.median(t for t, _ in runs) * 1000:8.0f} ms  status {runs[0][1]}")
with ThreadPoolExecutor(4) as pool:
    t = time.perf_counter()
    times = list(pool.map(lambda _: get("/api/search?q=" + quote(latin))[0], range(4)))
    print(f"4 parallel no-hit api: each {max(times) * 1000:.0f} ms at most, all in {(time.perf_counter() - t) * 1000:.0f} ms")
