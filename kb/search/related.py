"""Beyond the ranked list: passages related to a passage, did-you-mean, related terms."""
from __future__ import annotations

import re
from typing import Any, Callable

import numpy as np

from kb.text import segment
from kb.text.normalize import normalize
from kb.index.postings import IndexColumns
from kb.search.hits import hit_from_stored
from kb.search.plan import Unit, phrase_units
from kb.search.query import ParsedQuery, content_words, stopwords, synonym_alternatives
from kb.search.ranking import Ranking
from kb.search.scoring import best

RELATED_TERMS = 20
SUGGEST_WORDS = 8         # unknown words of one query tried for did-you-mean
SUGGEST_CANDIDATES = 300  # index terms examined per word (a check costs a microsecond)
SUGGEST_MAX_LEN = 12      # longer "words" are not typos of a term
CJK_ONLY = re.compile(r"^[\u3400-\u9fff]+$")


# ---------------------------------------------------------------- related passages

def related_passages(source: dict[str, Any], passage: int, cols: IndexColumns, cluster: np.ndarray | None,
                     stored_of: Callable[[int], dict[str, Any]], limit: int = 5) -> list[dict[str, Any]]:
    """The passages most like ``source`` (passage number ``passage``) from other documents:
    more-like-this over its segmented text (its highest tf·idf terms), leaving out the passages
    of its document's cluster of near-duplicates and versions (``cluster``)."""
    counts: dict[str, int] = {}
    for word in segment.segment(source.get("text", "")):
        term = word.text.lower()
        if len(term) >= 2 and segment.CJK.search(term) and term not in stopwords():
            counts[term] = counts.get(term, 0) + 1
    ranking = Ranking(cols)
    weighted = sorted(((tf * ranking.idf("text", term), term) for term, tf in counts.items()),
                      reverse=True)[:RELATED_TERMS]
    if not weighted:
        return []
    top_weight = weighted[0][0] or 1.0
    found = ranking.upper([Unit("text", (term,), w / top_weight) for w, term in weighted])
    own = cols.doc_codes[passage]
    keep = (found.values > 0) & (cols.doc_codes[found.passages] != own)
    if cluster is not None and cluster[passage] >= 0:  # not its near-duplicates or versions
        keep &= cluster[found.passages] != cluster[passage]
    passages, scores = found.passages[keep], found.values[keep]
    terms = {term for _, term in weighted}
    chosen, seen = [], set()
    for k in best(scores, limit * 20):
        number = int(passages[k])
        if cols.doc_codes[number] not in seen:
            seen.add(cols.doc_codes[number])
            chosen.append((number, float(scores[k])))
            if len(chosen) == limit:
                break
    return [hit_from_stored(stored_of(n), score, terms) for n, score in chosen]


# ---------------------------------------------------------------- did-you-mean

def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def deletion_table(terms: list[str]) -> dict[str, list[str]]:
    """Each term, and each of its one-character deletions, → the terms (SymSpell's index): a word
    one edit from a term shares a key with it, so candidates cost a few dictionary look-ups."""
    table: dict[str, list[str]] = {}
    for term in terms:
        if 2 <= len(term) <= SUGGEST_MAX_LEN + 1:
            for key in _deletions(term) | {term}:
                table.setdefault(key, []).append(term)
    return table


def neighbours(cols: IndexColumns) -> dict[str, list[str]]:
    """The deletion table of the text field's terms (per index generation, shared by threads)."""
    table = cols.cache.get("neighbours")
    if table is None:
        table = cols.cache["neighbours"] = deletion_table(cols.field_terms("text"))
    return table


def one_edit(a: str, b: str) -> bool:
    """True if ``b`` is ``a`` with one character substituted, inserted or deleted."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) == 1
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = next((k for k, (x, y) in enumerate(zip(short, long_)) if x != y), len(short))
    return short[i:] == long_[i + 1:]


def one_edit_terms(word: str, table: dict[str, list[str]]) -> list[str]:
    """Index terms (two characters or more) one edit from ``word``; at most SUGGEST_CANDIDATES
    are examined."""
    found: list[str] = []
    examined = 0
    for key in sorted(_deletions(word) | {word}):
        for term in table.get(key, ()):
            examined += 1
            if examined > SUGGEST_CANDIDATES:
                return found
            if len(term) >= 2 and term not in found and one_edit(word, term):
                found.append(term)
    return found


def occurs(cols: IndexColumns, text: str) -> bool:
    """True if ``text`` occurs as a phrase somewhere (a suggestion must lead to results)."""
    units = phrase_units(text, ("text",))
    if not units:
        return False
    unit = units[0]
    found = Ranking(cols).present(unit)  # live passages only
    if not unit.check:
        return bool(len(found))
    return bool(cols.joined("text", found[:500]).contains(unit.check.encode("utf-8")).any())


def suggestions(parsed: ParsedQuery, cols: IndexColumns, frequency: Callable[[str], int],
                limit: int = 2) -> list[str]:
    """Did-you-mean: the query with unknown words replaced by the most frequent index term
    one edit away (两楼连动 → 两楼联动); ``frequency`` gives a term's passage frequency.

    Bounded work whatever the query: at most SUGGEST_WORDS unknown words are tried, each with
    one look-up per one-character deletion in a table built once per index generation, and
    at most SUGGEST_CANDIDATES index terms examined per word."""
    table = neighbours(cols)

    def closest(word: str, n: int) -> list[str]:
        return sorted(one_edit_terms(word, table), key=lambda c: (-frequency(c), c))[:n]

    text = parsed.topic
    out: list[str] = []
    whole = "".join(text.split()).lower()
    if 2 <= len(whole) <= SUGGEST_MAX_LEN and not frequency(whole):
        out += closest(whole, limit)
    words, changed, tried = [], False, 0
    for word in (parsed.keywords if parsed.text else content_words(text)):
        best: list[str] = []
        if tried < SUGGEST_WORDS and 2 <= len(word) <= SUGGEST_MAX_LEN and not frequency(word):
            tried += 1
            best = closest(word, 1)
        changed |= bool(best)
        words.append(best[0] if best else word)
    if changed:
        out.append("".join(words) if CJK_ONLY.match("".join(words)) else " ".join(words))
    unique = [c for i, c in enumerate(out) if c not in out[:i] and c != whole]
    return [c for c in unique[:SUGGEST_WORDS] if occurs(cols, c)][:limit]


# ---------------------------------------------------------------- related terms

def related_terms(query: str | ParsedQuery, vocabulary: list[str], limit: int = 8) -> list[str]:
    """Synonyms and harvested terms sharing a two-character piece with the query (a parsed
    query: its loose text, else its phrases)."""
    if isinstance(query, ParsedQuery):
        text = query.topic
        groups = query.synonyms if query.text else synonym_alternatives(text)
    else:
        text = normalize(query or "")
        groups = synonym_alternatives(text)
    out = [m for group in groups for m in group if m not in text]
    grams = {text[i:i + 2] for i in range(len(text) - 1) if segment.is_word(text[i:i + 2])}
    out += [t for t in vocabulary if t not in text and any(g in t for g in grams)]
    seen: list[str] = []
    for term in out:
        if term not in seen:
            seen.append(term)
    return seen[:limit]
