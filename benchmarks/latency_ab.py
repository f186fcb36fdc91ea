"""In-process query latency of the kb checkout on PYTHONPATH over one index — for comparing two
commits on the same index and machine, alternated:

    PYTHONPATH=/path/to/old/checkout python benchmarks/latency_ab.py INDEX
    PYTHONPATH=. python benchmarks/latency_ab.py INDEX

Queries: the dev set, the soak queries and the first 300 training questions (../shared/eval),
2 warm rounds of `Searcher.search(q, limit=10)`; prints p50/p95/p99 in ms as one JSON line."""
import json
import os
import sys
import time
from pathlib import Path

import kb
from kb.search import Searcher
SHARED = Path(os.environ.get("KB_SHARED") or Path(__file__).resolve().parents[2] / "shared")
index = Path(sys.argv[1])
queries = [json.loads(l)["query"] for l in open(SHARED / "eval" / "dev.jsonl", encoding="utf-8")]
queries += ["社区治理", "网格化管理", "党建引领", "物业管理", "居民议事", "志愿服务", "老旧小区改造",
            "\"社区\" -物业", "地区:上海 党建", "基层治理 创新", "社区 党委", "村民委员会"]
queries += [json.loads(l)["query"] for l in list(open(SHARED / "eval" / "questions-train.jsonl", encoding="utf-8"))[:300]]
s = Searcher(index)
for q in queries[:20]:
    s.search(q, limit=10)
times = []
for _ in range(2):
    for q in queries:
        t = time.perf_counter(); s.search(q, limit=10); times.append(time.perf_counter() - t)
times.sort()
pick = lambda f: round(1000 * times[min(len(times) - 1, int(f * len(times)))], 1)
print(json.dumps({"code": str(Path(kb.__file__).parent.parent), "queries": len(queries), "p50": pick(.5), "p95": pick(.95), "p99": pick(.99)}))
