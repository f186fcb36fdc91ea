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

from kb.search.question import EXPANSIONS_FILE, TYPES_FILE, passage_terms, question_words

NULL = ""
ITERATIONS = 6
MIN_PAIRS = 3            # a question word must occur in this many pairs to get expansions
KEEP = 6                 # formal words kept per question word
MIN_T = 0.03             # and only those at least this probable
MIN_SUPPORT = 2          # an expansion must come with its word in this many different questions
COMMON_SHARE = 0.01      # a word in more than this share of the index's passages says nothing
WORD_CHARS = re.compile(r"[\W_]+")

Pair = tuple[str, str]


def compact(text: str) -> str:
    return WORD_CHARS.sub("", text)


def judged_pairs(lines: Iterable[str], passages_of: Callable[[str], list[dict]]
                 ) -> list[tuple[str, dict]]:
    """(question, stored passage) pairs of a judgment file whose lines carry ``articles``; the
    passage is the first one of a listed source whose text holds the evidence."""
    pairs = []
    for line in lines:
        if not line.strip():
            continue
        item = json.loads(line)
        for evidence, sources in item.get("articles", []):
            key = compact(evidence)
            found = next((p for src in sources for p in passages_of(src)
                          if key in compact(p.get("text", ""))), None)
            if found:
                pairs.append((item["query"], found))
    return pairs


TYPE_POWER = 0.25        # type weight = (answer share / passage share) ** this, scaled to max 1
TYPE_FLOOR = 0.1


def type_weights(answer_types: Counter, passage_types: Counter, power: float = TYPE_POWER
                 ) -> dict[str, float]:
    """Per document type of the index, how much likelier its passages answer a question than
    their share of the index says (add-one smoothed), to a power, scaled so the best type
    weighs 1 (at least TYPE_FLOOR); other types (``*``) weigh 1."""
    answers, passages = sum(answer_types.values()), sum(passage_types.values())
    if not answers or not passages:
        return {}
    kinds = len(passage_types) + 1
    lift = {t: ((answer_types.get(t, 0) + 1) / (answers + kinds)) / ((n + 1) / (passages + kinds))
            for t, n in passage_types.items() if t}
    top = max(lift.values())
    weights = {t: max(TYPE_FLOOR, (v / top) ** power) for t, v in lift.items()}
    weights["*"] = 1.0  # a type the index did not hold when learning is left alone
    return weights


def answer_types(pairs: list[tuple[str, dict]]) -> Counter:
    return Counter(p.get("type") or "" for _, p in pairs)


def index_types(cols) -> Counter:
    """Passages per document type in an index (its columns)."""
    import numpy as np

    codes, values = cols.facets["type"]
    counts = np.bincount(codes[cols.alive & (codes >= 0)], minlength=len(values))
    return Counter({v: int(n) for v, n in zip(values, counts.tolist()) if v and n})


def format_types(weights: dict[str, float], note: str = "") -> str:
    head = ["# 问句的文档类型权重（kb learn 生成）：类型<TAB>权重。只用于读作问句的查询。",
            "# Document type weights for questions (written by `kb learn`), from the types that answered them."]
    if note:
        head.append(f"# {note}")
    rows = [f"{t}\t{w:.4f}" for t, w in sorted(weights.items(), key=lambda kv: -kv[1])]
    return "\n".join(head + rows) + "\n"


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


def common_terms(pairs: list[Pair], frequency: Callable[[str], int], passages: int,
                 share: float = COMMON_SHARE) -> frozenset[str]:
    """Words of the answering passages found in more than ``share`` of the index's passages
    (``frequency``: a word's passage count): 应当, 违反, 相应 … would expand every question."""
    words = {w for _, text in pairs for w in passage_terms(text)}
    return frozenset(w for w in words if frequency(w) > share * passages)


def learn(pairs: list[Pair], stops: frozenset[str] = frozenset(), keep: int = KEEP,
          min_t: float = MIN_T, min_pairs: int = MIN_PAIRS, common: frozenset[str] = frozenset()
          ) -> dict[str, list[tuple[str, float]]]:
    """The expansion table learned from (question, answering passage) pairs; ``common`` words
    are never learned as expansions."""
    prepared = [([w for w in question_words(q, stops) if len(w) >= 2],
                 passage_terms(text, stops) - common) for q, text in pairs]
    prepared = [(q, a) for q, a in prepared if q and a]
    seen = Counter(w for q, _ in prepared for w in set(q))
    support: dict[tuple[str, str], set[int]] = defaultdict(set)  # (word, formal) → questions
    for number, (question, answer) in enumerate(prepared):
        key = " ".join(question)
        for q in question:
            for a in answer:
                support[q, a].add(hash(key))
    out = {}
    for word, row in align(prepared).items():
        if word == NULL or seen[word] < min_pairs:
            continue
        best = sorted(((a, p) for a, p in row.items() if a != word and p >= min_t
                       and len(support.get((word, a), ())) >= MIN_SUPPORT),
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


def write_file(path: Path, text: str) -> Path:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def write_table(table: dict[str, list[tuple[str, float]]], data_dir: Path, note: str = "") -> Path:
    return write_file(Path(data_dir) / EXPANSIONS_FILE, format_table(table, note))


def write_types(weights: dict[str, float], data_dir: Path, note: str = "") -> Path:
    return write_file(Path(data_dir) / TYPES_FILE, format_types(weights, note))
