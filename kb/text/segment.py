"""Stage 2 — segment: jieba with kb's domain dictionary, model-code variants and harvested terms.

* ``kb/data/dictionary.txt`` (jieba user-dict format) is loaded once.
* Model codes (``7+2+N``, ``1+4Z+3N`` …, every dictionary entry made of letters/digits joined by
  ``+``) are recognised in any spelling — ``7 2 N``, ``7＋2＋N``, ``7+2+n`` — and yield the
  canonical code, so documents and queries agree.
* Terms the corpus puts in “…” are harvested into the dictionary at index time
  (:func:`harvest_terms`); the index keeps them so queries segment the same way.
* Variants that conversion keeps apart are folded before cutting (著眼 → 着眼, not 著作), so
  either spelling finds both; the source text is not changed.
* :func:`decompose` splits a compound word into its finest dictionary parts, so a long term never
  hides its parts (``微权力治理12345模式`` still matches ``12345模式``).
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator

import sys


def _import_jieba():
    """jieba 0.42 imports pkg_resources (setuptools' deprecated resource API, ~0.15 s: a fifth of
    kb's start-up) only to open its own dictionary file; where pkg_resources is not already loaded,
    jieba is imported without it and takes its own fallback, opening the file by path. Every
    ``kb`` command starts that much sooner; the dictionary and the cuts are the same."""
    if "pkg_resources" in sys.modules:
        import jieba
        return jieba
    sys.modules["pkg_resources"] = None  # makes ``import pkg_resources`` raise ImportError
    try:
        import jieba
    finally:
        del sys.modules["pkg_resources"]
    return jieba


jieba = _import_jieba()

from kb.text.normalize import fold_variants  # noqa: E402

try:  # jieba's algorithm and dictionary in Rust (jieba-rs): the same cuts, ~16× faster
    import rjieba
except ImportError:  # pragma: no cover - rjieba is a dependency; jieba alone gives the same tokens
    rjieba = None

DATA_DIR = Path(__file__).parent.parent / "data"
jieba.setLogLevel(logging.WARNING)
# Where jieba-rs splits differently from jieba: runs of letters/digits joined by . % _ - # & +
# (jieba cuts 5.10.3 as 5.10 / . / 3, jieba-rs keeps it whole). Such text goes to jieba itself.
JIEBA_ONLY = re.compile(r"[0-9A-Za-z][.%_\-#&+]|[.%_\-#&+][0-9A-Za-z]")

CODE_SHAPE = re.compile(r"^[0-9A-Za-z]+(\+[0-9A-Za-z]+)+$|^\d{4,6}$")
WORD_CHAR = re.compile(r"[0-9A-Za-z\u3400-\u9fff]")
CJK = re.compile(r"[\u3400-\u9fff]")
QUOTED = re.compile(r"[“「]([^“”「」\n]{2,40})[”」]")
TERM_SPLIT = re.compile(r"[、，,；;：:\s/]+")
HARVESTABLE = re.compile(r"^[0-9A-Za-z+\u3400-\u9fff]+$")
HARVEST_MIN, HARVEST_MAX = 2, 12


@dataclass
class Word:
    """A segmented word: text, character span in the source, and its finest parts."""

    text: str
    start: int
    end: int
    parts: list["Word"] = field(default_factory=list)


def _dictionary_lines() -> list[str]:
    text = (DATA_DIR / "dictionary.txt").read_text(encoding="utf-8")
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def dictionary_words() -> list[str]:
    """The words of ``kb/data/dictionary.txt``."""
    return [line.split()[0] for line in _dictionary_lines()]


@lru_cache(maxsize=1)
def _codes() -> dict[str, str]:
    """lower-case code → canonical spelling, for every code-shaped dictionary word."""
    return {w.lower(): w for w in dictionary_words() if CODE_SHAPE.match(w)}


_state = {"ready": False, "extra": set(), "fast": None}


def setup(cache_dir: Path | str | None = None) -> None:
    """Load jieba's dictionary (cached in ``cache_dir``) and kb's domain dictionary, once."""
    if _state["ready"]:
        return
    if cache_dir is not None:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        jieba.dt.tmp_dir = str(cache_dir)
    jieba.dt.initialize()
    _state["fast"] = rjieba.Jieba() if rjieba is not None else None
    for line in _dictionary_lines():
        word, *rest = line.split()
        freq = int(rest[0]) if rest and rest[0].isdigit() else None
        tag = rest[-1] if rest and not rest[-1].isdigit() else None
        _add_word(word, freq, tag)
    _state["ready"] = True


def _add_word(word: str, freq: int | None = None, tag: str | None = None) -> None:
    """Add a word to jieba and the same word, with jieba's resulting frequency, to jieba-rs."""
    jieba.add_word(word, freq, tag)
    if _state["fast"] is not None:
        for _ in range(1000):  # a server thread may be cutting with jieba-rs right now
            try:
                _state["fast"].add_word(word, jieba.dt.FREQ[word], None)
                break
            except RuntimeError:  # "Already borrowed" (PyO3): try again in a moment
                time.sleep(0.001)


def add_terms(terms: Iterable[str]) -> None:
    """Add harvested terms to the live dictionary (idempotent)."""
    setup()
    new = [t for t in terms if t not in _state["extra"]]
    for term in new:
        if not jieba.dt.FREQ.get(term):
            _add_word(term)
        _state["extra"].add(term)
    if new:
        for cached in (decompose, finest, expansion, index_word, _segment_short):
            cached.cache_clear()


def harvest_terms(text: str) -> set[str]:
    """Quoted terms (“兼合式”, “两楼联动、两头延伸” → 两楼联动, 两头延伸) of sane length."""
    terms = set()
    for match in QUOTED.finditer(text):
        for piece in TERM_SPLIT.split(match.group(1)):
            if (HARVEST_MIN <= len(piece) <= HARVEST_MAX and HARVESTABLE.match(piece)
                    and CJK.search(piece)):
                terms.add(fold_variants(piece))
    return terms


@lru_cache(maxsize=1)
def code_pattern() -> re.Pattern[str]:
    """A regex matching every spelling variant of every dictionary code."""
    alternatives = []
    for code in sorted(_codes().values(), key=len, reverse=True):
        parts = [re.escape(p) for p in code.split("+")]
        sep = r"(?:\s*[+＋]\s*|[ \t\u3000]+)" if len(parts) >= 3 else r"\s*[+＋]\s*"
        alternatives.append(sep.join(parts))
    alternatives.append(r"[0-9A-Za-z]+(?:[+＋][0-9A-Za-z]+)+")  # any other code: 1+6+X, 3+2
    body = "|".join(alternatives)
    return re.compile(r"(?<![0-9A-Za-z+＋])(?:" + body + r")(?![0-9A-Za-z+＋])", re.IGNORECASE)


def canonical_code(matched: str) -> str:
    """The dictionary spelling of a matched code variant (``7 2 n`` → ``7+2+N``)."""
    key = re.sub(r"\s*[+＋]\s*|\s+", "+", matched.strip())
    return _codes().get(key.lower(), key)


def is_word(text: str) -> bool:
    """True for tokens that carry meaning (letters, digits or CJK), not punctuation/space."""
    return bool(WORD_CHAR.search(text))


def _route(word: str) -> list[str]:
    """Best dictionary segmentation of ``word`` that does not keep ``word`` whole."""
    dt = jieba.dt
    dag = dt.get_DAG(word)
    dag[0] = [end for end in dag[0] if end != len(word) - 1] or [0]
    route: dict[int, tuple[float, int]] = {}
    dt.calc(word, dag, route)
    pieces, i = [], 0
    while i < len(word):
        j = route[i][1] + 1
        piece = word[i:j]
        if pieces and len(piece) == 1 and piece.isascii() and piece.isalnum() \
                and pieces[-1].isascii() and pieces[-1].isalnum():
            pieces[-1] += piece  # keep runs of digits/letters together (12345, APP)
        else:
            pieces.append(piece)
        i = j
    return pieces


@lru_cache(maxsize=200_000)
def decompose(word: str) -> tuple[tuple[str, int], ...]:
    """Sub-words of a compound as (text, offset) pairs, outermost first, recursively.

    Codes split at ``+`` (1+4Z+3N → 1, 4Z, 3N); CJK words of three or more characters split into
    their best dictionary route without the whole word. Empty for words with no parts.
    """
    if "+" in word:
        pieces = [p for p in word.split("+") if p]
    elif len(word) >= 3 and CJK.search(word):
        pieces = _route(word)
    else:
        return ()
    if len(pieces) <= 1:
        return ()
    out, offset = [], 0
    for piece in pieces:
        offset = word.index(piece, offset)
        out.append((piece, offset))
        out.extend((sub, offset + o) for sub, o in decompose(piece))
        offset += len(piece)
    return tuple(out)


@lru_cache(maxsize=200_000)
def expansion(word: str) -> tuple[tuple[tuple[str, int, int], ...], int]:
    """Parts of ``word`` as (text, char offset, position offset) and its width in finest parts.

    Positions count finest parts: a compound and each part sit at the position of their first
    finest part, so phrases over parts match inside compounds.
    """
    parts = decompose(word)
    if not parts:
        return (), 1
    leaf_offsets = sorted(offset for _, offset in finest(word))
    slot = {offset: k for k, offset in enumerate(leaf_offsets)}
    return tuple((text, offset, slot.get(offset, 0)) for text, offset in parts), len(leaf_offsets)


@lru_cache(maxsize=200_000)
def index_word(word: str) -> tuple[str, tuple[tuple[str, int], ...], int]:
    """What the index writer needs of a word (kb/index/bulk.py): its term, its parts' (term,
    position offset) and its width in finest parts — :func:`expansion`, lower-cased."""
    parts, width = expansion(word)
    return word.lower(), tuple((part.lower(), slot) for part, _offset, slot in parts), width


@lru_cache(maxsize=200_000)
def finest(word: str) -> list[tuple[str, int]]:
    """The leaves of :func:`decompose`: the smallest parts, in order (or the word itself)."""
    parts = decompose(word)
    if not parts:
        return [(word, 0)]
    leaves = []
    for i, (text, offset) in enumerate(parts):
        end = offset + len(text)
        nested = any(o >= offset and o + len(t) <= end and (o, t) != (offset, text)
                     for t, o in parts[i + 1:])
        if not nested:
            leaves.append((text, offset))
    return leaves


def cut(text: str) -> list[str]:
    """jieba's accurate-mode cut (HMM on), computed by jieba-rs where it agrees with jieba."""
    fast = _state["fast"]
    if fast is None or JIEBA_ONLY.search(text):
        return list(jieba.dt.cut(text, HMM=True))
    try:
        return fast.cut(text, True)
    except RuntimeError:  # jieba-rs is taking a new word in another thread ("Already borrowed")
        return list(jieba.dt.cut(text, HMM=True))


def _jieba_words(text: str, base: int) -> Iterator[Word]:
    pos = base
    for piece in cut(text):
        start, pos = pos, pos + len(piece)
        if is_word(piece):
            yield Word(piece, start, pos)


def segment(text: str) -> list[Word]:
    """Accurate-mode words of ``text`` with character spans; codes come out canonical and
    variants folded (著眼 → 着眼, see :func:`kb.text.normalize.fold_variants`; spans stay true)."""
    text = fold_variants(text)
    if len(text) <= 64:  # titles, units and places repeat on every passage
        return _segment_short(text)
    return _segment(text)


@lru_cache(maxsize=50_000)
def _segment_short(text: str) -> list[Word]:
    return _segment(text)


def segment_texts(text: str) -> list[str]:
    """The texts of :func:`segment`'s words, without spans (the index writer's path: no Word
    objects, and whether a piece is a word is looked up, not matched, for pieces seen before)."""
    text = fold_variants(text)
    if len(text) <= 64:
        return [w.text for w in _segment_short(text)]
    setup()
    out: list[str] = []
    last = 0
    for match in code_pattern().finditer(text):
        _word_texts(text[last:match.start()], out)
        out.append(canonical_code(match.group(0)))
        last = match.end()
    _word_texts(text[last:], out)
    return out


_IS_WORD: dict[str, bool] = {}


def _word_texts(text: str, out: list[str]) -> None:
    known = _IS_WORD
    if len(known) > 500_000:
        known.clear()
    for piece in cut(text):
        word = known.get(piece)
        if word is None:
            word = known[piece] = is_word(piece)
        if word:
            out.append(piece)


def _segment(text: str) -> list[Word]:
    setup()
    words: list[Word] = []
    last = 0
    for match in code_pattern().finditer(text):
        words.extend(_jieba_words(text[last:match.start()], last))
        words.append(Word(canonical_code(match.group(0)), match.start(), match.end()))
        last = match.end()
    words.extend(_jieba_words(text[last:], last))
    return words
