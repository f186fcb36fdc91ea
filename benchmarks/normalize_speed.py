"""normalize's characters/s beside raw jieba.lcut, on simplified and traditional text.

    python benchmarks/normalize_speed.py            # corpus/ seeds + ../shared/corpus-ext
    python benchmarks/normalize_speed.py --quick    # corpus/ seeds only
    PYTHONPATH=/tmp/old python benchmarks/normalize_speed.py --baseline old_normalize

Each row times kb.text.normalize.normalize and jieba.lcut over the same texts (best of ``--repeat``
passes, caches warm); ``--baseline MODULE`` also times that module's normalize(), interleaved with
kb's (e.g. a copy of an older kb/text/normalize.py). Prints a Markdown table for benchmarks/RESULTS.md.
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

from kb.text.normalize import normalize, traditional_chars  # noqa: E402


def corpus_ext(name: str, limit: int | None = None) -> list[str]:
    path = SHARED / "corpus-ext" / name
    if not path.exists():
        return []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line)["text"] for _, line in zip(range(limit or 10**9), f)]


def samples(quick: bool) -> dict[str, list[str]]:
    seeds = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "corpus").glob("*.txt"))]
    out = {"seeds, traditional": [s for s in seeds if _mostly_traditional(s)],
           "seeds, simplified": [s for s in seeds if not _mostly_traditional(s)]}
    if not quick:
        reports = corpus_ext("reports.jsonl.gz")
        out["reports (1954–2025), traditional"] = [r for r in reports if _mostly_traditional(r)]
        out["reports (1954–2025), simplified"] = [r for r in reports if not _mostly_traditional(r)]
        out["laws, first 500"] = corpus_ext("laws.jsonl.gz", 500)
    return {name: texts for name, texts in out.items() if texts}


def _mostly_traditional(text: str) -> bool:
    """More than one character in twenty is traditional (a stray 乾 or 噁 does not count)."""
    return sum(ch in traditional_chars() for ch in text) > len(text) / 20


def seconds(fn, texts: list[str]) -> float:
    began = time.perf_counter()
    for text in texts:
        fn(text)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="corpus/ seeds only")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", metavar="MODULE",
                        help="also time this module's normalize() (e.g. an older copy), interleaved")
    args = parser.parse_args()
    import jieba

    jieba.setLogLevel(60)
    jieba.lcut("预热")
    timed = {"normalize": normalize}
    if args.baseline:
        timed["baseline normalize"] = importlib.import_module(args.baseline).normalize
    for fn in timed.values():
        fn("預熱")
    print("| text | characters | " + " | ".join(f"{name} chars/s" for name in timed)
          + " | jieba.lcut chars/s |")
    print("|---|---:|" + "---:|" * (len(timed) + 1))
    for name, texts in samples(args.quick).items():
        best = {key: float("inf") for key in timed}
        for _ in range(args.repeat):  # interleaved, so a busy moment hits both alike
            for key, fn in timed.items():
                best[key] = min(best[key], seconds(fn, texts))
        chars = sum(map(len, texts))
        cut = chars / seconds(jieba.lcut, texts)
        cells = " | ".join(f"{chars / best[key] / 1e3:,.0f} k" for key in timed)
        print(f"| {name} | {chars:,} | {cells} | {cut / 1e3:,.0f} k |")


if __name__ == "__main__":
    main()
