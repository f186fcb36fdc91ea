"""Time search + did-you-mean for normal and no-hit queries (the API's /api/search path)."""
import random
import sys
import time

from kb.search import Searcher

index = sys.argv[1]
s = Searcher(index)
rng = random.Random(7)
common = [chr(c) for c in range(0x4e00, 0x9fa5)]
queries = {
    "normal 社区治理": "社区治理",
    "normal 行政处罚 听证": "行政处罚 听证",
    "typo 两楼连动": "两楼连动",
    "200 rare CJK": "".join(rng.choice(common[15000:]) for _ in range(200)),
    "200 CJK words spaced": " ".join("".join(rng.choice(common) for _ in range(3)) for _ in range(50))[:200],
    "200 latin words": " ".join("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(5)) for _ in range(34))[:200],
}
s.search("预热", limit=20, facets=True)
for name, q in queries.items():
    times = []
    for _ in range(3):
        t = time.perf_counter()
        r = s.search(q, limit=20, facets=True)
        t1 = time.perf_counter()
        sugg = s.suggestions(q) if not r.hits else []
        t2 = time.perf_counter()
        times.append((t1 - t, t2 - t1))
    best = min(times, key=lambda x: x[0] + x[1])
    print(f"{name:24s} hits={r.total:6d} search={best[0]*1000:8.1f} ms  suggestions={best[1]*1000:8.1f} ms  {sugg[:2]}")
