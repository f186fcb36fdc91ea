"""Judged-query evaluation behind ``kb eval``.

Judgment files hold one JSON object a line: ``id``, ``query``, ``relevant: [{source, grade,
evidence}]``. Metrics over the top 10 passages:

* nDCG@10 — graded, each source counted at the rank of its first passage;
* Recall@10 — share of relevant sources among the top 10 passages;
* hit@1 / hit@5 — a passage from a relevant source containing that source's ``evidence``
  is at rank 1 / within the top 5.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from kb.text.normalize import normalize

K = 10


@dataclass
class Judged:
    id: str
    query: str
    relevant: list[dict[str, Any]]


def load_judgments(path: Path | str) -> list[Judged]:
    out = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            out.append(Judged(str(obj["id"]), str(obj["query"]), list(obj["relevant"])))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: 评测行无效 / bad judgment line ({exc})") from exc
    return out


def _compact(text: str) -> str:
    return "".join(normalize(text).split())


def passage_hit(result: dict, judged: Judged) -> bool:
    text = _compact(result["text"])
    return any(result["source"] == rel["source"] and _compact(rel.get("evidence", "")) in text
               for rel in judged.relevant)


def ndcg(results: list[dict], judged: Judged, k: int = K) -> float:
    grades = {rel["source"]: float(rel.get("grade", 1)) for rel in judged.relevant}
    seen, dcg = set(), 0.0
    for rank, result in enumerate(results[:k], 1):
        source = result["source"]
        if source in grades and source not in seen:
            dcg += (2 ** grades[source] - 1) / math.log2(rank + 1)
        seen.add(source)
    ideal = sorted(grades.values(), reverse=True)[:k]
    idcg = sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall(results: list[dict], judged: Judged, k: int = K) -> float:
    relevant = {rel["source"] for rel in judged.relevant}
    found = {r["source"] for r in results[:k]} & relevant
    return len(found) / len(relevant) if relevant else 0.0


def evaluate(run: Iterable[tuple[Judged, list[dict]]]) -> dict[str, float]:
    rows = [(j, r) for j, r in run]
    n = len(rows) or 1
    return {
        "ndcg@10": sum(ndcg(r, j) for j, r in rows) / n,
        "recall@10": sum(recall(r, j) for j, r in rows) / n,
        "hit@1": sum(bool(r) and passage_hit(r[0], j) for j, r in rows) / n,
        "hit@5": sum(any(passage_hit(x, j) for x in r[:5]) for j, r in rows) / n,
        "queries": len(rows),
    }


def format_metrics(metrics: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.4f}" for k, v in metrics.items() if k != "queries") + \
        f" (queries={metrics['queries']})"
