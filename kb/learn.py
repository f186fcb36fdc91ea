"""Learning the question → formal wording table behind ``kb learn``.

From (question, answering passage) pairs — judged questions (``articles``: evidence strings and
the sources holding them, looked up in the index) and the searches users followed by adding a
passage to the basket — an IBM Model 1 alignment estimates t(formal word | question word): each
word of the answering passage is explained by a word of the question or by none (the null word
takes what every passage says). The table keeps, per question word seen in enough pairs, its
most probable formal words; it is written as plain text (``kb/data/expansions.tsv``) so it can be
read and corrected.
"""
from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Callable, Iterable

from kb import segment
from kb.analysis import query_words
from kb.question import EXPANSIONS_FILE, passage_terms, question_words

NULL = ""
ITERATIONS = 6
MIN_PAIRS = 2            # a question word must occur in this many pairs to get expansions
KEEP = 8                 # formal words kept per question word
MIN_T = 0.03             # and only those at least this probable
WORD_CHARS = re.compile(r"[\W_]+")

Pair = tuple[str, str]


def compact(text: str) -> str:
    return WORD_CHARS.sub("", text)


def judged_pairs(lines: Iterable[str], passages_of: Callable[[str], list[str]]) -> list[Pair]:
    """(question, passage text) pairs of a judgment file whose lines carry ``articles``; the
    passage is the first one of a listed source whose text holds the evidence."""
    pairs = []
    for line in lines:
        if not line.strip():
            continue
        item = json.loads(line)
        for evidence, sources in item.get("articles", []):
            key = compact(evidence)
            text = next((t for src in sources for t in passages_of(src) if key in compact(t)), None)
            if text:
                pairs.append((item["query"], text))
    return pairs


def align(pairs: list[tuple[list[str], set[str]]], iterations: int = ITERATIONS
          ) -> dict[str, dict[str, float]]:
    """IBM Model 1: t[question word][passage word], by expectation maximisation."""
    vocabulary = {a for _, answer in pairs for a in answer}
    start = 1.0 / max(1, len(vocabulary))
    t: dict[tuple[str, str], float] = {}
    for _ in range(iterations):
        counts: dict[tuple[str, str], float] = defaultdict(float)
        totals: dict[str, float] = defaultdict(float)
        for question, answer in pairs:
            sources = question + [NULL]
            for a in answer:
                probs = [t.get((q, a), start) for q in sources]
                denom = sum(probs)
                for q, p in zip(sources, probs):
                    share = p / denom
                    counts[q, a] += share
                    totals[q] += share
        t = {(q, a): c / totals[q] for (q, a), c in counts.items()}
    table: dict[str, dict[str, float]] = defaultdict(dict)
    for (q, a), p in t.items():
        table[q][a] = p
    return table


def learn(pairs: list[Pair], stops: frozenset[str] = frozenset(), keep: int = KEEP,
          min_t: float = MIN_T, min_pairs: int = MIN_PAIRS) -> dict[str, list[tuple[str, float]]]:
    """The expansion table learned from (question, answering passage) pairs."""
    prepared = [([w for w in question_words(q, stops) if len(w) >= 2], passage_terms(text, stops))
                for q, text in pairs]
    prepared = [(q, a) for q, a in prepared if q and a]
    seen = Counter(w for q, _ in prepared for w in set(q))
    out = {}
    for word, row in align(prepared).items():
        if word == NULL or seen[word] < min_pairs:
            continue
        best = sorted(((a, p) for a, p in row.items() if a != word and p >= min_t),
                      key=lambda ap: -ap[1])[:keep]
        if best:
            out[word] = best
    return out


def format_table(table: dict[str, list[tuple[str, float]]], note: str = "") -> str:
    head = ["# 学习所得的问句扩展表（kb learn 生成）：问句词<TAB>法规用词<TAB>概率。",
            "# Learned expansions (written by `kb learn`): question word, formal word, t(formal|question).",
            "# 可以删改，但下次 kb learn 会重写；手写的扩展请放 expansions_hand.txt。"]
    if note:
        head.append(f"# {note}")
    rows = [f"{w}\t{a}\t{p:.4f}" for w in sorted(table) for a, p in table[w]]
    return "\n".join(head + rows) + "\n"


def write_table(table: dict[str, list[tuple[str, float]]], data_dir: Path, note: str = "") -> Path:
    path = Path(data_dir) / EXPANSIONS_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(format_table(table, note), encoding="utf-8")
    tmp.replace(path)
    return path
