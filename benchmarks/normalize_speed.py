"""normalize's characters/s beside raw jieba.lcut, on simplified and traditional text.

    python benchmarks/normalize_speed.py            # corpus/ seeds + ../shared/corpus-ext
    python benchmarks/normalize_speed.py --quick    # corpus/ seeds only

Each row times kb.normalize.normalize and jieba.lcut over the same texts (best of ``--repeat``
passes, caches warm). Prints a Markdown table for benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import gzip
import importlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from kb.normalize import has_traditional, normalize, traditional_chars  # noqa: E402


def corpus_ext(name: str, limit: int | None = None) -> list[str]:
    path = SHARED / "corpus-ext" / name
    if not path.exists():
        return []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line)["text"] for _, line in zip(range(limit or 10**9), f)]


def samples(quick: bool) -> dict[str, list[str]]:
    seeds = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "corpus").glob("*.txt"))]
    out = {"seeds, traditional": [s for s in seeds if has_traditional(s)],
           "seeds, simplified": [s for s in seeds if not has_traditional(s)]}
    if not quick:
        reports = corpus_ext("reports.jsonl.gz")
        out["reports (1954–2025), traditional"] = [r for r in reports if _mostly_traditional(r)]
        out["reports (1954–2025), simplified"] = [r for r in reports if not _mostly_traditional(r)]
        out["laws, first 500"] = corpus_ext("laws.jsonl.gz", 500)
    return {name: texts for name, texts in out.items() if texts}


def _mostly_traditional(text: str) -> bool:
    """More than one character in twenty is traditional (a stray 乾 or 噁 does not count)."""
    return sum(ch in traditional_chars() for ch in text) > len(text) / 20


def rate(fn, texts: list[str], repeat: int) -> float:
    chars, best = sum(map(len, texts)), float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        for text in texts:
            fn(text)
        best = min(best, time.perf_counter() - began)
    return chars / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="corpus/ seeds only")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--module", default="kb.normalize",
                        help="module whose normalize() is timed (e.g. an older copy, to compare)")
    args = parser.parse_args()
    normalize = importlib.import_module(args.module).normalize
    import jieba

    jieba.setLogLevel(60)
    jieba.lcut("预热")
    normalize("預熱")
    print("| text | characters | normalize chars/s | jieba.lcut chars/s |")
    print("|---|---:|---:|---:|")
    for name, texts in samples(args.quick).items():
        norm = rate(normalize, texts, args.repeat)
        cut = rate(jieba.lcut, texts, 1)
        print(f"| {name} | {sum(map(len, texts)):,} | {norm / 1e3:,.0f} k | {cut / 1e3:,.0f} k |")


if __name__ == "__main__":
    main()
