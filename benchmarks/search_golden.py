"""Dump what search returns for a fixed set of queries, to check that a refactor changes nothing.

    python benchmarks/search_golden.py --out /tmp/golden-main.jsonl     # on the old code
    python benchmarks/search_golden.py --out /tmp/golden-new.jsonl      # on the new code
    cmp /tmp/golden-main.jsonl /tmp/golden-new.jsonl

The index (corpus/ plus tests/data/laws-sample.jsonl.gz) is built once into ``--index``. Per
query: the top 10 (passage_id, exact score to 6 digits), each hit's snippet as marked HTML, the
total, facets, did-you-mean, related terms, the question record, the named models; for the first
hit, its related passages; and a refined search (在结果中检索, newest first). Queries: the dev set,
a few of each syntax, and the first ``--questions`` training questions.
"""
from __future__ import annotations

import argparse
import html
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
try:  # the installed kb, or the one PYTHONPATH names (to dump another checkout's results)
    import kb  # noqa: F401
except ImportError:
    sys.path.insert(0, str(ROOT))

SYNTAX = ["党建", "社区 治理", '"社会治理"', "业委会 -红色", "党建 地区:西藏", "两楼连动", "7 2 N",
          "7+2+N", "著眼於", "業主委員會", "地区:上海", "类型:经验案例 党建", "年份:2019 社区",
          "老旧小区没有物业怎么办", "请问在职党员回社区报到有什么要求？", "网络贷款的利率太高怎么办",
          "欠钱不还怎么办？", "中华人民共和国 民法典", "个体工商户", "社区網格化管理", "ＡＢＣ", "", "-党建",
          "党" * 201, "标题:民法典 配偶"]


def build(index: Path) -> None:
    from kb.ingest.pipeline import rebuild
    from kb.ingest.readers import read_path

    docs = [d for p in sorted((ROOT / "corpus").glob("*.txt")) for d in read_path(p)]
    docs += list(read_path(ROOT / "tests" / "data" / "laws-sample.jsonl.gz"))
    rebuild(index, docs)


def exact_scores():
    """Record each hit's unrounded score: wrap the function that makes a hit (old or new layout)."""
    import importlib

    for module_name, name in (("kb.search.hits", "hit_from_stored"), ("kb.search.searcher", "hit_from_stored"),
                              ("kb.search", "hit_from_stored")):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        original = getattr(module, name, None)
        if original is None:
            continue

        def wrapped(stored, score, *args, _original=original, **kw):
            hit = _original(stored, score, *args, **kw)
            hit["_exact"] = round(float(score), 6)
            return hit

        for other in [m for k, m in sys.modules.items() if k.startswith("kb.") and m is not None]:
            if getattr(other, name, None) is original:
                setattr(other, name, wrapped)
        return


def snippet_html(hit: dict) -> str:
    """The snippet as marked HTML, whether search gave HTML (old) or text plus spans (new)."""
    if "marks" not in hit:
        return hit["snippet"]
    text, out, pos = hit["snippet"], [], 0
    for start, end in hit["marks"]:
        out += [html.escape(text[pos:start]), "<mark>", html.escape(text[start:end]), "</mark>"]
        pos = end
    return "".join(out) + html.escape(text[pos:])


def hit_row(hit: dict) -> list:
    return [hit["passage_id"], hit.get("_exact", hit["score"]), hit["score"], snippet_html(hit),
            hit.get("collapsed"), hit.get("version")]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, default=Path("/tmp/kb-golden-index"))
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--questions", type=int, default=200)
    ap.add_argument("--rebuild", action="store_true")
    args = ap.parse_args()
    if args.rebuild or not args.index.exists():
        build(args.index)
    from kb.search.refine import refined_search
    from kb.search import Searcher, related_terms

    exact_scores()
    queries = [json.loads(l)["query"] for l in (ROOT / "tests/data/dev.jsonl").read_text("utf-8").splitlines() if l.strip()]
    queries += SYNTAX
    train = ROOT.parent / "shared" / "eval" / "questions-train.jsonl"
    if train.exists():
        lines = train.read_text("utf-8").splitlines()[: args.questions]
        queries += [json.loads(l)["query"] for l in lines if l.strip()]
    with Searcher(args.index) as s, args.out.open("w", encoding="utf-8") as out:
        for q in queries:
            r = s.search(q, limit=10, facets=True)
            row = {"q": q, "error": r.error, "total": r.total, "hits": [hit_row(h) for h in r.hits],
                   "facets": {k: [list(x) for x in v] for k, v in r.facets.items()},
                   "suggestions": s.suggestions(q),
                   "related_terms": related_terms(r.query.text or " ".join(r.query.phrases), s.terms),
                   "question": r.query.question.to_dict() if r.query.question else None,
                   "models": [m.model_id for m in r.models]}
            if r.hits:
                rel = s.related(r.hits[0]["passage_id"]) or []
                row["related"] = [hit_row(h) for h in rel]
                page2 = s.search(q, limit=5, page=2)
                row["page2"] = [hit_row(h) for h in page2.hits]
                refined = refined_search(s, q, ["社区"], "newest", limit=5)
                row["refined"] = [hit_row(h) for h in refined.hits]
            out.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    import kb

    print(f"{len(queries)} queries → {args.out} (kb from {Path(kb.__file__).parent})")


if __name__ == "__main__":
    main()
