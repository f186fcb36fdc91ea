"""Question understanding: a query asked in plain words becomes content words plus weighted
formal-wording expansions.

* A query reads as a question when it ends in a question mark or holds a framing word of
  ``kb/data/question_words.txt`` (请问, 怎么办, 可以吗, 是否 …), or is long (a sentence, not
  keywords). Framing words are dropped.
* Each remaining word may expand to formal words: learned ones from ``kb/data/expansions.tsv``
  (written by ``kb learn``: question word, formal word, probability) and hand-written ones from
  ``kb/data/expansions_hand.txt``. Expansion weights are below the user's own words.

Search calls :func:`understand`; what it did goes back to the user ("已扩展：欠钱 → 债务、借款").
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from kb.text import segment
from kb.text.analysis import query_words
from kb.text.normalize import DATA_DIR

QUESTION_WORDS_FILE = "question_words.txt"
EXPANSIONS_FILE = "expansions.tsv"
TYPES_FILE = "question_types.tsv"
HAND_FILE = "expansions_hand.txt"
NOT_EXPANSIONS_FILE = "expansion_stopwords.txt"
QUESTION_MARK = re.compile(r"[?？吗呢么][\s?？]*$")
LONG_QUESTION = 12          # characters (no spaces, no field filters) that make a sentence
HAND_PROBABILITY = 0.5      # weight of a hand-written expansion, on the learned table's scale
MAX_EXPANSIONS = 12         # expansion terms a question adds, best first
MIN_PROBABILITY = 0.02
FEEDBACK_MIN_WORDS = 4      # questions with this many content words get pseudo-relevance feedback
FEEDBACK_PASSAGES = 5       # from their first passages
FEEDBACK_TERMS = 8          # this many terms, each found in at least FEEDBACK_MIN_SHARE of them
FEEDBACK_MIN_PASSAGES = 2
NOT_TERM = re.compile(r"^第[一二三四五六七八九十百千零〇两\d]|^[一二三四五六七八九十百千零〇两\d]+[条款项章节编]?$")


def _lines(name: str, data_dir: Path | None = None) -> list[str]:
    path = Path(data_dir or DATA_DIR) / name
    if not path.exists():
        return []
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()
            if ln.strip() and not ln.lstrip().startswith("#")]


@lru_cache(maxsize=1)
def framing_words() -> tuple[frozenset[str], tuple[str, ...]]:
    """(words dropped when a segmented word equals them, longer phrases dropped as substrings)."""
    words = _lines(QUESTION_WORDS_FILE)
    phrases = tuple(sorted((w for w in words if len(w) >= 3), key=len, reverse=True))
    return frozenset(words), phrases


@lru_cache(maxsize=1)
def not_expansions() -> frozenset[str]:
    """Words a question is never expanded to (function words, fragments: 应予, 删除 …)."""
    return frozenset(_lines(NOT_EXPANSIONS_FILE))


def read_table(text: str) -> dict[str, list[tuple[str, float]]]:
    """A learned table (``word<TAB>formal word<TAB>probability`` a line) as word → expansions."""
    table: dict[str, list[tuple[str, float]]] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        try:
            table.setdefault(parts[0], []).append((parts[1], float(parts[2])))
        except ValueError:
            continue
    return table


def read_hand(lines: list[str]) -> dict[str, list[tuple[str, float]]]:
    table: dict[str, list[tuple[str, float]]] = {}
    for line in lines:
        word, *formal = line.split()
        table.setdefault(word, []).extend((f, HAND_PROBABILITY) for f in formal if f != word)
    return table


_learned: dict[str, list[tuple[str, float]]] | None = None  # set by use_table (evaluation)
_learned_types: dict[str, float] | None = None


def use_table(table: dict[str, list[tuple[str, float]]] | None,
              types: dict[str, float] | None = None) -> None:
    """Search with this learned table (and type weights) instead of ``kb/data/expansions.tsv``
    and ``question_types.tsv`` (None: the files again); the hand-written list still adds to it.
    For cross-validation, which learns them once per fold."""
    global _learned, _learned_types
    _learned, _learned_types = table, types
    reload()


@lru_cache(maxsize=1)
def type_weights() -> dict[str, float]:
    """Document type → weight (0–1) for questions, learned by ``kb learn`` from which types of
    document answer them (``*``: any other type); empty when never learned."""
    if _learned_types is not None:
        return dict(_learned_types)
    weights = {}
    for line in _lines(TYPES_FILE):
        name, _, value = line.partition("\t")
        try:
            weights[name.strip()] = max(0.0, min(1.0, float(value)))
        except ValueError:
            continue
    return weights


@lru_cache(maxsize=4)
def expansion_table(data_dir: str | None = None) -> dict[str, list[tuple[str, float]]]:
    """Learned and hand-written expansions merged (a hand pair keeps the larger weight)."""
    path = Path(data_dir or DATA_DIR) / EXPANSIONS_FILE
    if _learned is not None:
        table = {w: list(pairs) for w, pairs in _learned.items()}
    else:
        table = read_table(path.read_text(encoding="utf-8")) if path.exists() else {}
    for word, pairs in read_hand(_lines(HAND_FILE, data_dir and Path(data_dir))).items():
        merged = dict(table.get(word, []))
        for formal, prob in pairs:
            merged[formal] = max(prob, merged.get(formal, 0.0))
        table[word] = sorted(merged.items(), key=lambda kv: -kv[1])
    return table


def reload() -> None:
    """Forget the cached data files (after ``kb learn`` rewrote the table)."""
    framing_words.cache_clear()
    not_expansions.cache_clear()
    expansion_table.cache_clear()
    type_weights.cache_clear()


def is_question(text: str, tokens: list[str] | None = None) -> bool:
    """Does the query read as a question (rather than keywords)? ``tokens``: the words of
    ``text`` as :func:`kb.text.segment.segment` cuts them, when the caller has them already."""
    if QUESTION_MARK.search(text):
        return True
    words, phrases = framing_words()
    if any(p in text for p in phrases):
        return True
    compact = "".join(text.split())
    if len(compact) >= LONG_QUESTION and " " not in text.strip():
        return True
    if tokens is None:
        tokens = [w.text for w in segment.segment(text)]
    return any(w in words and len(w) >= 2 for w in tokens)


def question_words(text: str, stops: frozenset[str] = frozenset()) -> list[str]:
    """Content words of a question: framing phrases and words, stop words and punctuation out;
    each word once, in order."""
    words, phrases = framing_words()
    for phrase in phrases:
        text = text.replace(phrase, " ")
    out: list[str] = []
    for word in query_words(text):
        if word in words or word in stops or not segment.is_word(word) or word in out:
            continue
        out.append(word)
    return out


@dataclass
class Expansion:
    """A formal word added for some of the user's words, with its weight (below 1)."""

    term: str
    weight: float
    sources: list[str] = field(default_factory=list)


@dataclass
class Question:
    """What question understanding made of a query."""

    words: list[str]                                   # the user's content words
    expansions: list[Expansion] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)   # framing words taken out
    feedback: list[tuple[str, float]] = field(default_factory=list)  # terms of the first passages

    @property
    def wants_feedback(self) -> bool:
        return len(self.words) >= FEEDBACK_MIN_WORDS and not self.feedback

    def summary(self) -> str:
        """已扩展：欠钱 → 债务、借款；老公 → 配偶 (empty if nothing was expanded)."""
        by_source: dict[str, list[str]] = {}
        for exp in self.expansions:
            by_source.setdefault(exp.sources[0], []).append(exp.term)
        parts = [f"{w} → {'、'.join(t)}" for w, t in by_source.items()]
        if self.feedback:
            parts.append("相关段落用词 → " + "、".join(t for t, _ in self.feedback))
        return "已扩展：" + "；".join(parts) if parts else ""

    def to_dict(self) -> dict:
        return {"words": self.words, "dropped": self.dropped,
                "expansions": [{"term": e.term, "weight": round(e.weight, 3), "from": e.sources}
                               for e in self.expansions],
                "feedback": [{"term": t, "weight": round(w, 3)} for t, w in self.feedback],
                "summary": self.summary()}


def expand(words: list[str], table: dict[str, list[tuple[str, float]]],
           limit: int = MAX_EXPANSIONS) -> list[Expansion]:
    """Formal words for ``words``: per candidate the summed probabilities over the question's
    words, the best ``limit`` kept; words the user typed, and those of
    ``kb/data/expansion_stopwords.txt``, are never added."""
    gathered: dict[str, Expansion] = {}
    typed = set(words)
    skipped = not_expansions()
    for word in words:
        for formal, prob in table.get(word, []):
            if formal in typed or formal in skipped or prob < MIN_PROBABILITY:
                continue
            exp = gathered.setdefault(formal, Expansion(formal, 0.0))
            exp.weight += prob
            exp.sources.append(word)
    chosen = sorted(gathered.values(), key=lambda e: -e.weight)[:limit]
    for exp in chosen:
        exp.weight = min(1.0, exp.weight)
    return chosen


def understand(text: str, stops: frozenset[str] = frozenset(),
               tokens: list[str] | None = None) -> Question | None:
    """Question understanding of a query's loose text; None when it does not read as a question.
    ``tokens``: the words of ``text`` as :func:`kb.text.segment.segment` cuts them, if known."""
    if not text.strip() or not is_question(text, tokens):
        return None
    words = question_words(text, stops)
    if not words:
        return None
    everything = query_words(text) if tokens is None else [w.lower() for w in tokens]
    dropped = [w for w in everything if w not in words and segment.is_word(w)]
    return Question(words, expand(words, expansion_table()), dropped)


def passage_terms(text: str, stops: frozenset[str] = frozenset()) -> set[str]:
    """The words of a passage that could expand a question (no numbers, article numbers,
    single characters, stop or framing words)."""
    framing = framing_words()[0]
    return {w for w in query_words(text)
            if len(w) >= 2 and segment.CJK.search(w) and w not in stops and w not in framing
            and not NOT_TERM.match(w)}


def feedback_terms(texts: list[str], idf, exclude: set[str], stops: frozenset[str] = frozenset(),
                   limit: int = FEEDBACK_TERMS) -> list[tuple[str, float]]:
    """Pseudo-relevance feedback: the terms shared by the first passages, weighted by how many
    of them hold the term times its idf, scaled to at most 1."""
    counts = Counter(t for text in texts for t in passage_terms(text, stops))
    weighted = sorted(((n * idf(t), t) for t, n in counts.items()
                       if n >= FEEDBACK_MIN_PASSAGES and t not in exclude), reverse=True)[:limit]
    if not weighted:
        return []
    top = weighted[0][0] or 1.0
    return [(t, w / top) for w, t in weighted]
