"""Stage 5 — search: query parsing, ranking, snippets.

Query syntax (any string is accepted; nothing here raises on user input):

* words — OR semantics; passages holding the query as a phrase, or its words close together, rank first;
* ``"…"`` / ``“…”`` — a phrase that must occur;
* ``-词`` — exclude passages whose text contains it;
* ``字段:值`` — filters: 地区/place, 单位/unit, 年份/year, 类型/type, 层级/level, 标题/title, 来源/source;
* synonyms and abbreviations from ``kb/data/synonyms.txt`` expand the query; question words
  from ``kb/data/stopwords.txt`` (怎么办, 如何 …) are ignored as loose terms;
* a query that reads as a question goes through :mod:`kb.question` (framing words out, learned
  and hand-written expansions), and its passages are scored by how many of its words they hold
  and by the learned weight of their document type.
"""
from __future__ import annotations

import html
import math
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from whoosh import query as Q

from kb import segment, similar
from kb.analysis import phrase_parts, query_words
from kb.models import Catalogue, Model
from kb.normalize import DATA_DIR, fold_variants, normalize
from kb.postings import DOC_FIELDS, IndexColumns, Joined, compact
from kb.question import Question, feedback_terms, understand
from kb.question import type_weights as question_type_weights
from kb.store import IndexStore, View

MAX_QUERY_CHARS = 200
SEARCH_FIELDS = ("text", "title", "unit", "place")
FIELD_ALIASES = {
    "地区": "place", "地点": "place", "地方": "place", "place": "place", "region": "place",
    "单位": "unit", "作者": "unit", "unit": "unit", "author": "unit",
    "年份": "year", "年": "year", "year": "year",
    "类型": "type", "type": "type",
    "层级": "level", "级别": "level", "level": "level",
    "标题": "title", "title": "title",
    "来源": "source", "source": "source",
}
FILTER_FIELD = re.compile(r"^(" + "|".join(sorted(map(re.escape, FIELD_ALIASES), key=len, reverse=True))
                          + r")[:：](.+)$", re.IGNORECASE)
QUOTE_PAIRS = {'"': '"', "“": "”", "”": "“", "「": "」", "『": "』"}
PHRASE_BOOST, NEAR_BOOST, NEAR_SLOP, SYNONYM_BOOST = 3.0, 1.5, 8, 0.8
EXPANSION_BOOST = 1.0   # a learned/hand expansion of weight 1 scores this much of a typed word
EXPANSION_FIELDS = ("text", "title")
COVERAGE_FLOOR = 0.05   # what a passage holding none of the question's words (only feedback terms) keeps
COVERAGE_POWER = 1.0    # questions: score × (share of the question's concepts held) ** this
QUESTION_SAME_DOC_DECAY = 1.0  # questions: several articles of one law may each answer
FEEDBACK_BOOST = 0.0    # long questions: a term of the first passages, at most this much of a word
QUESTION_META_BOOST = 0.1  # questions: a word in the title/unit/place weighs this much of one in the text
NEAR_SLOP_BYTES = 2 * NEAR_SLOP * 3  # about two characters a word part, three bytes a character


class Or(Q.Or):
    """Whoosh's Or with the union-tree matcher: its array matcher (chosen for small indexes)
    allocates a 2,048-slot array per clause and made nested queries ten times slower."""

    matcher_type = Q.Or.DEFAULT_MATCHER


# ---------------------------------------------------------------- data files

def _data_lines(name: str) -> list[str]:
    text = (Path(DATA_DIR) / name).read_text(encoding="utf-8")
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


@lru_cache(maxsize=1)
def synonym_groups() -> list[list[str]]:
    """Groups of interchangeable terms, normalized like queries."""
    return [[normalize(t) for t in line.split()] for line in _data_lines("synonyms.txt")
            if len(line.split()) > 1]


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    return frozenset(_data_lines("stopwords.txt"))


# ---------------------------------------------------------------- parsing

@dataclass
class ParsedQuery:
    raw: str
    text: str = ""                       # the loose words, normalized
    phrases: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    filters: dict[str, list[str]] = field(default_factory=dict)
    question: Question | None = None     # set when the loose words read as a question

    @property
    def empty(self) -> bool:
        return not (self.text.strip() or self.phrases)


def _split_quoted(raw: str) -> tuple[list[str], str]:
    """Pull quoted phrases out of ``raw``; an unbalanced quote just opens a phrase to the end."""
    phrases, rest, i = [], [], 0
    while i < len(raw):
        ch = raw[i]
        if ch in QUOTE_PAIRS:
            closer = QUOTE_PAIRS[ch]
            end = raw.find(closer, i + 1)
            if ch == "“" and end < 0:
                end = raw.find('"', i + 1)
            end = len(raw) if end < 0 else end
            phrases.append(raw[i + 1:end])
            rest.append(" ")
            i = end + 1
        else:
            rest.append(ch)
            i += 1
    return phrases, "".join(rest)


def parse(raw: str) -> ParsedQuery:
    """Parse a user query; never raises."""
    raw = (raw or "")[: MAX_QUERY_CHARS * 5]
    parsed = ParsedQuery(raw=raw)
    norm = normalize(raw.replace("\n", " "))
    phrases, rest = _split_quoted(norm)
    loose = []
    for piece in rest.split():
        match = FILTER_FIELD.match(piece)
        if match and match.group(2).strip("-:："):
            name = FIELD_ALIASES[match.group(1).lower()]
            parsed.filters.setdefault(name, []).append(match.group(2))
        elif piece.startswith("-") and len(piece) > 1 and segment.is_word(piece[1:]):
            parsed.excluded.append(piece[1:])
        else:
            loose.append(piece)
    parsed.phrases = [p.strip() for p in phrases if segment.is_word(p)]
    # "7 2 N" is one code: rejoin the loose pieces with spaces and let segment recognise it.
    parsed.text = " ".join(loose)
    parsed.question = understand(parsed.text, stopwords()) if parsed.text.strip() else None
    return parsed


# ---------------------------------------------------------------- query building

def _phrase_query(fieldname: str, text: str, slop: int = 1, boost: float = 1.0) -> Q.Query | None:
    parts = phrase_parts(text)
    if not parts:
        return None
    if len(parts) == 1:
        return Q.Term(fieldname, parts[0], boost=boost)
    return Q.Phrase(fieldname, parts, slop=slop, boost=boost)


def _any_field(make, text: str, fields=SEARCH_FIELDS) -> Q.Query | None:
    clauses = [q for q in (make(f, text) for f in fields) if q is not None]
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else Or(clauses)


def content_words(text: str, question: Question | None = None) -> list[str]:
    if question is not None:
        return question.words
    stops = stopwords()
    words = query_words(text)
    kept = [w for w in words if w not in stops]
    return kept or words


def synonym_alternatives(text: str) -> list[list[str]]:
    """Synonym groups whose members occur in ``text``."""
    compact = text.replace(" ", "")
    return [group for group in synonym_groups() if any(m and m in compact for m in group)]


def highlight_terms(parsed: ParsedQuery) -> set[str]:
    """Whole terms to mark in snippets."""
    terms = set(content_words(parsed.text, parsed.question)) if parsed.text.strip() else set()
    if parsed.question is not None:
        terms |= {e.term for e in parsed.question.expansions}
    for phrase in parsed.phrases:
        terms |= set(query_words(phrase))
    for group in synonym_alternatives(parsed.text):
        for member in group:
            words = query_words(member)
            if len(words) == 1:  # whole synonyms only: 旧小区 must not light up every 小区
                terms |= set(words)
    return {t for t in terms if segment.is_word(t)}


@dataclass(frozen=True)
class Unit:
    """One scored clause: ``boost`` × the BM25 scores of ``terms`` in ``field``; when ``check``
    is set, only for passages whose field holds it (a phrase: the string itself; proximity:
    its words in order, close together)."""

    field: str
    terms: tuple[str, ...]
    boost: float = 1.0
    check: str = ""
    near: bool = False


@dataclass
class Plan:
    """What a parsed query scores (units, summed), requires (each group: one unit must hold)
    and excludes (strings a passage's text must not contain)."""

    units: list[Unit] = field(default_factory=list)
    required: list[list[Unit]] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    concepts: list[tuple[str, list[Unit]]] = field(default_factory=list)  # question: word, its units
    same_doc_decay: float | None = None  # None: SAME_DOC_DECAY
    prior: np.ndarray | None = None      # questions: per passage, the learned weight of its type

    @property
    def empty(self) -> bool:
        return not (self.units or self.required)

    @cached_property
    def scored(self) -> list[Unit]:
        """Every unit that scores (required ones too), those alike merged by adding boosts
        (worked out once a query: every batch of candidates uses it)."""
        boosts: dict[Unit, float] = {}
        for unit in self.units + [u for group in self.required for u in group]:
            like = Unit(unit.field, unit.terms, 1.0, unit.check, unit.near)
            boosts[like] = boosts.get(like, 0.0) + unit.boost
        return [Unit(u.field, u.terms, boost, u.check, u.near) for u, boost in boosts.items()]


def _word_units(word: str, fields=SEARCH_FIELDS) -> list[Unit]:
    """A word in each field: the whole term, plus its parts as a phrase (documents may split it)."""
    parts = tuple(p.lower() for p, _ in segment.finest(word))
    units = []
    for name in fields:
        units.append(Unit(name, (word,)))
        if len(parts) > 1:
            units.append(Unit(name, parts, check=compact(word)))
    return units


def _phrase_units(text: str, fields=SEARCH_FIELDS, boost: float = 1.0) -> list[Unit]:
    parts = tuple(phrase_parts(text))
    if not parts:
        return []
    check = compact(text) if len(parts) > 1 else ""
    return [Unit(name, parts, boost, check) for name in fields]


def plan(parsed: ParsedQuery) -> Plan:
    """The ranking of a parsed query: per word, its term and its parts as a phrase in every
    field; synonyms (×0.8); the whole query as a phrase in text and title (×3) and its words
    close together (×1.5). Quoted phrases are required, ``-词`` excluded. A question: its
    words weigh 0.1 in title/unit/place, its expansions are added below its own words, and
    its words (each with its expansions) become the concepts whose coverage scales the score."""
    out = Plan()
    words = content_words(parsed.text, parsed.question) if parsed.text.strip() else []
    for word in words:
        out.units += _word_units(word) if parsed.question is None else question_word_units(word)
    if parsed.question is not None:
        out.units += question_units(parsed.question)
        out.concepts = [(word, _word_units(word, ("text",)) + expansion_units(parsed.question, word))
                        for word in words]
        out.same_doc_decay = QUESTION_SAME_DOC_DECAY
    for group in synonym_alternatives(parsed.text):
        for member in group:
            out.units += _phrase_units(member, boost=SYNONYM_BOOST)
    if words:
        parts = tuple(phrase_parts(" ".join(words)))
        if len(parts) > 1:
            joined = compact("".join(words))
            out.units.append(Unit("text", parts, PHRASE_BOOST, joined))
            spread = " ".join(c for c in map(compact, words) if c)
            out.units.append(Unit("text", parts, NEAR_BOOST, spread, near=True))
            out.units.append(Unit("title", parts, PHRASE_BOOST, joined))
    out.required = [units for units in (_phrase_units(p) for p in parsed.phrases) if units]
    out.excluded = [compact(e) for e in parsed.excluded if compact(e)]
    return out


def question_word_units(word: str) -> list[Unit]:
    """A question's word: as any word, with the metadata fields weighing less (a question names
    what it asks about, which the law's title only sometimes shares)."""
    return [u if u.field == "text" else Unit(u.field, u.terms, u.boost * QUESTION_META_BOOST, u.check)
            for u in _word_units(word)]


def expansion_units(question: Question, word: str) -> list[Unit]:
    """The text units of the expansions of one of the question's words (boost 1)."""
    return [u for e in question.expansions if word in e.sources
            for u in _phrase_units(e.term, ("text",))]


def question_units(question: Question) -> list[Unit]:
    """The expansions and feedback terms of a question, each weighing less than a typed word."""
    units = []
    for exp in question.expansions:
        units += _phrase_units(exp.term, EXPANSION_FIELDS, EXPANSION_BOOST * exp.weight)
    for term, weight in question.feedback:
        units += _phrase_units(term, ("text",), FEEDBACK_BOOST * weight)
    return units


def coverage(concepts: list[tuple[str, list[Unit]]], held: dict[Unit, np.ndarray],
             weight_of) -> np.ndarray | None:
    """Per candidate, the idf-weighted share of the question's words it holds (None: no
    concepts). ``held`` maps a unit (boost 1) to which candidates it scored for."""
    if len(concepts) < 2:
        return None
    total, acc = 0.0, None
    for word, units in concepts:
        weight = weight_of(word)
        found = [held[u] for u in units if u in held]
        if not found:
            continue
        has = np.logical_or.reduce(found)
        acc = has * weight if acc is None else acc + has * weight
        total += weight
    return None if acc is None or total <= 0 else acc / total


def near(text: bytes, words: list[bytes], slop: int) -> bool:
    """True if ``words`` occur in ``text`` in order with at most ``slop`` bytes between
    neighbours in all."""
    if not words or not all(w in text for w in words):
        return False
    start = text.find(words[0])
    while start >= 0:
        pos, gaps, ok = start + len(words[0]), 0, True
        for word in words[1:]:
            nxt = text.find(word, pos)
            if nxt < 0:
                return False
            gaps += nxt - pos
            if gaps > slop:
                ok = False
                break
            pos = nxt + len(word)
        if ok:
            return True
        start = text.find(words[0], start + 1)
    return False


def holding(unit: Unit, texts: Joined, among: np.ndarray | None = None) -> np.ndarray:
    """Which of the texts (compacted, one per candidate) satisfy the unit's check; with
    ``among``, a proximity check only looks at those texts (the others come out False)."""
    if unit.near:
        words = [w.encode("utf-8") for w in unit.check.split(" ")]
        out = np.zeros(len(texts.pieces), dtype=bool)
        for i in (range(len(texts.pieces)) if among is None else np.flatnonzero(among).tolist()):
            out[i] = near(texts.pieces[i], words, NEAR_SLOP_BYTES)
        return out
    return texts.contains(unit.check.encode("utf-8"))


def _filter_clause(name: str, value: str) -> Q.Query | None:
    value = value.strip()
    if name == "year":
        years = [int(y) for y in re.findall(r"\d{4}", value)]
        if not years:
            return Q.NullQuery
        return Q.NumericRange("year", min(years), max(years))
    if name in ("type", "level", "source", "models"):
        return Q.Term(name, value)
    if name == "place":
        return _any_field(lambda f, t: _phrase_query(f, t, slop=1),
                          value, ("place",)) or Q.NullQuery
    return _phrase_query(name, value, slop=1) or Q.NullQuery


def build_filter(filters: dict[str, list[str]]) -> Q.Query | None:
    clauses = []
    for name, values in filters.items():
        alternatives = [c for c in (_filter_clause(name, v) for v in values if v.strip()) if c]
        if alternatives:
            clauses.append(alternatives[0] if len(alternatives) == 1 else Or(alternatives))
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else Q.And(clauses)


# ---------------------------------------------------------------- snippets

def mark_spans(text: str, terms: set[str]) -> list[tuple[int, int]]:
    """Character spans of the query terms in ``text`` (codes in any spelling: ``7 2 N`` for
    ``7+2+N``), longest first, adjacent ones merged. Plain string search: segmenting every
    shown passage again would cost more than the search itself."""
    if not terms or not text:
        return []
    low = text.lower()
    if len(low) != len(text):  # a few characters lower-case to two
        low = "".join(ch.lower()[:1] for ch in text)
    low = fold_variants(low)  # the terms are folded (着眼 marks 著眼); same length
    candidates = {(m.start(), m.end()) for m in segment.code_pattern().finditer(text)
                  if segment.canonical_code(m.group(0)).lower() in terms}
    for term in terms:
        if "+" in term:
            continue
        start = low.find(term)
        while start >= 0:
            candidates.add((start, start + len(term)))
            start = low.find(term, start + 1)
    chosen: list[tuple[int, int]] = []
    for start, end in sorted(candidates, key=lambda s: (-(s[1] - s[0]), s[0])):
        if all(end <= s or start >= e for s, e in chosen):
            chosen.append((start, end))
    chosen.sort()
    merged: list[list[int]] = []
    for start, end in chosen:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def render_marks(text: str, spans: list[tuple[int, int]], start: int = 0, end: int | None = None,
                 open_tag: str = "<mark>", close_tag: str = "</mark>", escape=html.escape) -> str:
    """``text[start:end]`` escaped, with the spans wrapped in mark tags."""
    end = len(text) if end is None else end
    out, pos = [], start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        out.append(escape(text[pos:s]))
        out.append(open_tag + escape(text[s:e]) + close_tag)
        pos = e
    out.append(escape(text[pos:end]))
    return "".join(out)


def snippet_window(text: str, spans: list[tuple[int, int]], width: int = 160) -> tuple[int, int]:
    """About ``width`` characters holding the most marked text; never cuts through a mark."""
    if len(text) <= width:
        return 0, len(text)
    best, best_score = 0, -1
    for s, _ in spans or [(0, 0)]:
        start = max(0, min(s - 20, len(text) - width))
        score = sum(min(e, start + width) - max(s2, start) for s2, e in spans
                    if e > start and s2 < start + width)
        if score > best_score:
            best, best_score = start, score
    end = best + width
    for s, e in spans:
        if s < best < e:
            best = s
        if s < end < e:
            end = e
    return best, min(end, len(text))


def make_snippet(text: str, terms: set[str], width: int = 160, **tags) -> str:
    spans = mark_spans(text, terms)
    start, end = snippet_window(text, spans, width)
    body = render_marks(text, spans, start, end, **tags)
    return ("…" if start > 0 else "") + body + ("…" if end < len(text) else "")


# ---------------------------------------------------------------- searching

HIT_FIELDS = ("doc_id", "source", "title", "unit", "place", "year", "type", "passage_id")
EXTRA_FIELDS = ("level", "heading", "article", "path", "page", "page_end", "ocr", "order", "province", "city", "district", "street",
                "community", "collection")
FACETS = ("province", "city", "district", "level", "year", "type", "models")
SAME_DOC_DECAY = 0.6
SUPERSEDED_DECAY = 0.9  # an older version of a document (kb/similar.py) ranks a little lower
BOUND_SLACK = 1.0001  # float32 sums in another order may differ in the last bits
CANDIDATES, MAX_READ = 60, 180  # first batch scored exactly; enough read (see Searcher._rescore)
RELATED_TERMS = 20
FEEDBACK_PASSAGES = 5


def diversify(scored: list[tuple[float, Any]], doc_of, decay: float | None = None
              ) -> list[tuple[float, Any]]:
    """Each further passage of the same document (``doc_of(item)``) scores a little less, so one
    long document does not fill the page; the best passage of every document keeps its score."""
    seen: dict[Any, int] = {}
    out = []
    decay = SAME_DOC_DECAY if decay is None else decay
    for score, item in sorted(scored, key=lambda x: -x[0]):
        doc = doc_of(item)
        out.append((score * decay ** seen.get(doc, 0), item))
        seen[doc] = seen.get(doc, 0) + 1
    return sorted(out, key=lambda x: -x[0])


def collapse(ranked: list[tuple[float, Any]], cluster: np.ndarray | None,
             doc_codes: np.ndarray) -> list[tuple[float, Any]]:
    """Near-duplicates collapsed under their best hit: of each cluster of linked documents
    (``cluster[docnum]`` ≥ 0) only the passages of its best-ranked document stay."""
    if cluster is None:
        return ranked
    leaders: dict[int, int] = {}
    out = []
    for score, docnum in ranked:
        k = int(cluster[docnum])
        if k < 0 or leaders.setdefault(k, int(doc_codes[docnum])) == int(doc_codes[docnum]):
            out.append((score, docnum))
    return out


@dataclass
class SearchResult:
    query: ParsedQuery
    hits: list[dict[str, Any]]
    total: int
    elapsed: float
    error: str = ""
    facets: dict[str, list[tuple[Any, int]]] = field(default_factory=dict)
    models: list[Any] = field(default_factory=list)


def hit_from_stored(stored: dict[str, Any], score: float, terms: set[str]) -> dict[str, Any]:
    hit = {k: stored.get(k, "" if k != "year" else None) for k in HIT_FIELDS}
    hit["passage"] = stored.get("text", "")
    hit["snippet"] = make_snippet(hit["passage"], terms)
    hit["score"] = round(float(score), 4)
    for extra in EXTRA_FIELDS:
        hit[extra] = stored.get(extra, "")
    return hit


class TermCache:
    """Scores and masks of the most used big posting lists, shared by the queries of one index
    generation, within a byte budget (the costly lists — 中华人民共和国 in 70k law passages — are
    the ones every query about laws repeats)."""

    MIN_POSTINGS, BUDGET = 4096, 32 * 2**20

    def __init__(self):
        self._items: OrderedDict[tuple, Any] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: tuple, value, size: int) -> None:
        with self._lock:
            if key in self._items or size > self.BUDGET // 4:
                return
            self._items[key] = (value, size)
            self._bytes += size
            while self._bytes > self.BUDGET:
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= dropped


class Ranking:
    """BM25 (Whoosh's BM25F formula, per field, weights already carrying the field boosts) times
    the document-type prior, computed with numpy over the index columns for one query."""

    K1, B = 1.2, 0.75

    def __init__(self, cols: IndexColumns, shared: TermCache | None = None):
        self.cols = cols
        self.shared = shared or TermCache()
        self._scores: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        self._has: dict[tuple[str, str], np.ndarray] = {}
        self._present: dict[tuple, np.ndarray] = {}
        self.meta = np.zeros(cols.ndocs, dtype=np.float32)  # per passage, set by Searcher.search
        self._no_doc_term = (np.zeros(cols.ndoc_codes + 1, dtype=np.float32),
                             np.zeros(cols.ndoc_codes + 1, dtype=bool))

    def term(self, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(doc numbers ascending, scores) of one term in one field."""
        key = (fieldname, term)
        if key not in self._scores:
            cached = self.shared.get(("scores",) + key)
            self._scores[key] = cached[0] if cached else self._compute(fieldname, term)
        return self._scores[key]

    def _compute(self, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        cols = self.cols
        docs, weights = cols.postings(fieldname, term)
        if not len(docs):
            return docs, weights
        docs = docs.astype(np.intp)  # numpy converts other index types on every use
        idf = math.log(cols.ndocs / (len(docs) + 1)) + 1
        norm = (1 - self.B) + self.B / cols.avg_length[fieldname] * cols.lengths[fieldname][docs]
        scores = (idf * (self.K1 + 1)) * weights / (weights + self.K1 * norm) * cols.prior[docs]
        scores = scores.astype(np.float32, copy=False)
        if len(docs) >= TermCache.MIN_POSTINGS:
            self.shared.put(("scores", fieldname, term), (docs, scores), scores.nbytes)
        return docs, scores

    def idf(self, fieldname: str, term: str) -> float:
        return math.log(self.cols.ndocs / (len(self.term(fieldname, term)[0]) + 1)) + 1

    def upper(self, units: list[Unit]) -> np.ndarray:
        """Per document, the sum of the units that can hold — every term present — with their
        checks not yet applied: an upper bound of the exact score, which ranks the candidates.
        A document no unit can match scores 0."""
        acc = np.zeros(self.cols.ndocs, dtype=np.float32)
        boosts: dict[tuple[str, tuple[str, ...]], float] = {}
        for unit in units:  # units sharing field and terms (phrase, proximity) add up in one pass
            key = (unit.field, unit.terms)
            boosts[key] = boosts.get(key, 0.0) + unit.boost
        for (fieldname, terms), boost in boosts.items():
            if len(terms) == 1:
                docs, scores = self.term(fieldname, terms[0])
                np.add.at(acc, docs, boost * scores)
                continue
            present = self.present(Unit(fieldname, terms))
            idx = np.flatnonzero(present)
            for term in terms:  # each term's scores where all the terms are present
                docs, scores = self.term(fieldname, term)
                if 4 * len(idx) < len(docs):  # few such documents: look them up
                    np.add.at(acc, idx, boost * self.lookup(docs, scores, idx))
                else:
                    np.add.at(acc, docs, boost * scores * present[docs])
        return acc

    @staticmethod
    def lookup(docs: np.ndarray, scores: np.ndarray, cands: np.ndarray) -> np.ndarray:
        """``scores`` of ``cands`` in the sorted posting list ``docs`` (0 where absent)."""
        if not len(docs):
            return np.zeros(len(cands), dtype=np.float32)
        idx = np.minimum(np.searchsorted(docs, cands), len(docs) - 1)
        return np.where(docs[idx] == cands, scores[idx], np.float32(0))

    def has(self, fieldname: str, term: str) -> np.ndarray:
        """Documents holding ``term`` in ``fieldname`` (cached per query)."""
        key = (fieldname, term)
        if key not in self._has:
            cached = self.shared.get(("has",) + key)
            if cached:
                self._has[key] = cached[0]
            else:
                docs = self.term(fieldname, term)[0]
                mask = np.zeros(self.cols.ndocs, dtype=bool)
                mask[docs] = True
                if len(docs) >= TermCache.MIN_POSTINGS:
                    self.shared.put(("has",) + key, mask, mask.nbytes)
                self._has[key] = mask
        return self._has[key]

    def present(self, unit: Unit) -> np.ndarray:
        """Documents holding every term of the unit in its field (cached per query)."""
        key = (unit.field, unit.terms)
        if key not in self._present:
            mask = self.has(unit.field, unit.terms[0]).copy()
            for term in unit.terms[1:]:
                mask &= self.has(unit.field, term)
            self._present[key] = mask
        return self._present[key]


    # ---------------------------------------------------------- metadata, per document

    def doc_term(self, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(score, holds) per document code of a title/unit/place term: the same BM25 every
        passage of the document would get (passage-level statistics), computed once a document."""
        key = ("doc", fieldname, term)
        if key not in self._scores:
            cols = self.cols
            codes, weights, df = cols.doc_postings(fieldname, term)
            if not len(codes):
                self._scores[key] = self._no_doc_term
                return self._no_doc_term
            scores = np.zeros(cols.ndoc_codes + 1, dtype=np.float32)
            holds = np.zeros(cols.ndoc_codes + 1, dtype=bool)
            if len(codes):
                first = cols.first_passage[codes]
                idf = math.log(cols.ndocs / (df + 1)) + 1
                norm = (1 - self.B) + self.B / cols.avg_length[fieldname] * cols.lengths[fieldname][first]
                scores[codes] = (idf * (self.K1 + 1)) * weights / (weights + self.K1 * norm) * cols.prior[first]
                holds[codes] = True
            self._scores[key] = (scores, holds)
        return self._scores[key]

    def doc_holds(self, unit: Unit) -> np.ndarray:
        """Per document code: does the metadata unit hold — every term present and its check
        true on the field (checked once a document, on its first passage)?"""
        key = ("doc", unit.field, unit.terms, unit.check, unit.near)
        if key not in self._present:
            if any(self.doc_term(unit.field, t) is self._no_doc_term for t in unit.terms):
                self._present[key] = self._no_doc_term[1]
                return self._present[key]
            mask = self.doc_term(unit.field, unit.terms[0])[1].copy()
            for term in unit.terms[1:]:
                mask &= self.doc_term(unit.field, term)[1]
            if unit.check and mask.any():
                codes = np.flatnonzero(mask)
                texts = self.cols.joined(unit.field, self.cols.first_passage[codes])
                mask[codes] = holding(unit, texts)
            self._present[key] = mask
        return self._present[key]

    def may_hold(self, unit: Unit, passages: np.ndarray | None = None) -> np.ndarray:
        """May the unit hold, per passage (or for ``passages`` only)? Exact for metadata units;
        for text units, every term is present (the check itself waits for the candidates' text)."""
        if unit.field in DOC_FIELDS:
            docs = self.cols.passage_doc if passages is None else self.cols.passage_doc[passages]
            return self.doc_holds(unit)[docs]
        present = self.present(unit)
        return present if passages is None else present[passages]

    def metadata(self, units: list[Unit]) -> np.ndarray:
        """The exact score per passage of the title/unit/place units."""
        acc = np.zeros(self.cols.ndoc_codes + 1, dtype=np.float32)
        for unit in units:
            holds = self.doc_holds(unit)
            if holds is not self._no_doc_term[1] and holds.any():
                for term in unit.terms:
                    acc += unit.boost * self.doc_term(unit.field, term)[0] * holds
        return acc[self.cols.passage_doc]


def top(scores: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    """Doc numbers of the ``n`` best scores among ``mask``, best first (ties: lower number)."""
    idx = np.flatnonzero(mask)
    if len(idx) > n:
        idx = idx[np.argpartition(-scores[idx], n - 1)[:n]]
    return idx[np.lexsort((idx, -scores[idx]))]


class Searcher:
    """Searches one index folder through its :class:`~kb.store.IndexStore`.

    A thread reads one generation at a time: :meth:`pin` (the web app does it per request) takes
    the latest one, :meth:`unpin` gives it back; a thread that never pins keeps the generation it
    first read until :meth:`refresh`."""

    def __init__(self, index_dir):
        self.index_dir = Path(index_dir)
        self.store = IndexStore(self.index_dir)
        self.store.generation()  # jieba gets the index's terms before the first query is cut
        self._local = threading.local()

    def view(self) -> View:
        current = getattr(self._local, "view", None)
        if current is None:
            current = self._local.view = self.store.open_view()
        return current

    def pin(self) -> View:
        """Read the latest generation in this thread until :meth:`unpin`."""
        self.unpin()
        return self.view()

    def unpin(self) -> None:
        current = getattr(self._local, "view", None)
        if current is not None:
            self._local.view = None
            current.close()

    refresh = pin

    @property
    def generation(self) -> int:
        return self.view().number

    @property
    def catalogue(self) -> Catalogue:
        """The model catalogue of the generation this thread reads."""
        view = self.view()
        return view.derived("catalogue", lambda: Catalogue(models=[Model(**m) for m in view.catalogue]))

    @property
    def terms(self) -> list[str]:
        """Terms harvested from the indexed texts (for related-term suggestions)."""
        return self.view().terms

    def _link_state(self) -> tuple[int, similar.Links, list[list[str]], dict[str, list[str]]]:
        """(generation, links, clusters, versions) of the generation this thread reads."""
        view = self.view()

        def load() -> tuple[int, similar.Links, list[list[str]], dict[str, list[str]]]:
            links = similar.load_file(view.links_path) or similar.Links()
            groups = similar.versions(links)
            return view.number, links, similar.clusters(links, groups), groups

        return view.derived("similar", load)

    @property
    def links(self) -> similar.Links:
        """Exact-copy keys, near-duplicate pairs and dates of the indexed documents."""
        return self._link_state()[1]

    def similar_of(self, doc_id: str) -> dict[str, Any]:
        """A document's date, near-duplicates and versions (documents still indexed only)."""
        _stamp, links, _clusters, groups = self._link_state()
        return similar.describe(links, doc_id, self._indexed, groups)

    def _indexed(self, doc_id: str) -> bool:
        return self.searcher.document_number(doc_id=doc_id) is not None

    def _clusters(self, cols: IndexColumns) -> tuple[np.ndarray | None, np.ndarray | None, list[list[str]]]:
        """Per passage, the number of its document's cluster of linked documents (-1: none), and
        whether its document is a superseded version (None when there are none)."""
        stamp, _links, groups, versions = self._link_state()
        key = ("clusters", stamp)
        if key not in cols.cache:
            cluster = np.full(cols.ndocs, -1, dtype=np.int32) if groups else None
            for k, group in enumerate(groups):
                for doc_id in group:
                    cluster[cols.postings("doc_id", doc_id)[0]] = k
            old = [d for d, group in versions.items() if _links.entries[d].date != _links.entries[group[0]].date]
            superseded = np.zeros(cols.ndocs, dtype=bool) if old else None
            for doc_id in old:
                superseded[cols.postings("doc_id", doc_id)[0]] = True
            cols.cache[key] = (cluster, superseded)
        return (*cols.cache[key], groups)

    def _collapsed(self, hit: dict[str, Any], docnum: int, cluster: np.ndarray | None,
                   groups: list[list[str]], mask: np.ndarray, cols: IndexColumns) -> None:
        """The documents collapsed under a hit: its cluster's other documents that match too."""
        hit["collapsed"], hit["similar"], hit["version"] = 0, [], None
        if cluster is None or cluster[docnum] < 0:
            return
        others = []
        for doc_id in groups[int(cluster[docnum])]:
            if doc_id != hit["doc_id"] and mask[cols.postings("doc_id", doc_id)[0]].any():
                others.append(doc_id)
        _stamp, links, _clusters, versions = self._link_state()
        hit["similar"] = similar.collapsed_rows(links, hit["doc_id"], others, versions)
        hit["collapsed"] = len(hit["similar"])
        hit["version"] = similar.describe(links, hit["doc_id"], self._indexed, versions)["current"]

    @property
    def searcher(self):
        return self.view().searcher

    def close(self) -> None:
        self.unpin()
        self.store.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------ columns

    def columns(self) -> IndexColumns:
        """The columns of the generation this thread reads (built once per generation)."""
        return self.view().columns()

    def _filter_mask(self, filter_q: Q.Query, cols: IndexColumns) -> np.ndarray:
        filters = cols.cache.setdefault("filters", {})  # per index generation, shared by threads
        key = repr(filter_q)
        mask = filters.get(key)
        if mask is None:
            mask = np.zeros(cols.ndocs, dtype=bool)
            docs = np.fromiter(self.searcher.docs_for_query(filter_q), dtype=np.int64)
            mask[docs[docs < cols.ndocs]] = True
            if len(filters) > 64:
                filters.clear()
            filters[key] = mask
        return mask

    def _stored(self, docnum: int) -> dict[str, Any]:
        return self.searcher.stored_fields(int(docnum))

    # ------------------------------------------------------------ searching

    def search(self, raw: str, limit: int = 10, page: int = 1,
               filters: dict[str, list[str]] | None = None, facets: bool = False,
               _feedback: list[tuple[str, float]] | None = None) -> SearchResult:
        """Ranked passages for ``raw``; ``filters`` add to the query's own ``字段:值`` filters.

        Two stages: numpy sums every unit's term scores over the whole index (an upper bound),
        then the best candidates are checked against their stored text (phrases, proximity,
        required and excluded strings) and scored exactly."""
        began = time.perf_counter()
        if len(raw or "") > MAX_QUERY_CHARS:
            return SearchResult(parse(""), [], 0, 0.0,
                                error=f"查询过长（超过{MAX_QUERY_CHARS}字），请缩短后再试。")
        parsed = parse(raw)
        if _feedback and parsed.question is not None:
            parsed.question.feedback = _feedback
        for name, values in (filters or {}).items():
            parsed.filters.setdefault(name, []).extend(v for v in values if v)
        wanted = plan(parsed)
        filter_q = build_filter(parsed.filters)
        if wanted.empty and filter_q is None:
            return SearchResult(parsed, [], 0, time.perf_counter() - began)
        page = max(1, page)
        limit = max(1, min(limit, 200))
        cols = self.columns()
        ranking = Ranking(cols, cols.cache.setdefault("terms", TermCache()))
        mask = cols.alive.copy()
        if filter_q is not None:
            mask &= self._filter_mask(filter_q, cols)
        if wanted.empty:  # filters alone: every passage they allow, in index order
            upper = mask.astype(np.float32)
        else:
            units = wanted.scored
            ranking.meta = ranking.metadata([u for u in units if u.field in DOC_FIELDS])
            upper = ranking.upper([u for u in units if u.field not in DOC_FIELDS]) + ranking.meta
            if parsed.question is not None:
                wanted.prior = self._question_prior(cols)
                if wanted.prior is not None:
                    upper *= wanted.prior
            mask &= upper > 0
            for group in wanted.required:
                mask &= np.logical_or.reduce([ranking.may_hold(u) for u in group])
        total = int(mask.sum())
        cluster, superseded, groups = self._clusters(cols)
        ranked, checked = self._rescore(wanted, ranking, upper, mask, cols, page * limit, cluster, superseded)
        if (FEEDBACK_BOOST > 0 and parsed.question is not None and parsed.question.wants_feedback
                and _feedback is None):
            terms = self._feedback_terms(parsed.question, ranked, ranking)
            if terms:  # search again with them (pseudo-relevance feedback)
                return self.search(raw, limit, page, filters, facets, _feedback=terms)
        if checked >= total:
            total = len(ranked)
        elif len(ranked) < checked:  # some candidates failed a check: estimate
            total = max(len(ranked), round(total * len(ranked) / checked))
        terms = highlight_terms(parsed)
        hits = []
        for score, docnum in ranked[(page - 1) * limit: page * limit]:
            hits.append(hit_from_stored(self._stored(docnum), score, terms))
            self._collapsed(hits[-1], docnum, cluster, groups, mask, cols)
        found = SearchResult(parsed, hits, max(total, len(ranked)), 0.0)
        named = " ".join([parsed.text, *parsed.phrases]).strip()
        found.models = self.catalogue.named_in(named)[:3] if named else []
        if facets:
            found.facets = self._facets(cols, mask)
        found.elapsed = time.perf_counter() - began
        return found

    def _rescore(self, wanted: Plan, ranking: Ranking, upper: np.ndarray, mask: np.ndarray,
                 cols: IndexColumns, shown: int,
                 cluster: np.ndarray | None = None,
                 superseded: np.ndarray | None = None) -> tuple[list[tuple[float, int]], int]:
        """Exact scores of candidates taken best bound first, in growing batches, until the
        ``shown`` best after :func:`diversify` are certain: no unread candidate's bound reaches
        them (a bound is never below the exact score, and diversifying only lowers scores) —
        or, for queries of common words whose phrase bonuses make the bounds loose, once
        MAX_READ candidates have been read. A superseded version scores a little less (so the
        现行 one leads its versions) and near-duplicates are collapsed under their best hit
        (:func:`collapse`); both only lower or drop scores, so the bound test stays sound.
        Returns (diversified (score, doc number)…, read)."""
        available = int(mask.sum())
        order = top(upper, mask, min(available, 4 * CANDIDATES))
        scored: list[tuple[float, int]] = []
        read, batch = 0, CANDIDATES
        while True:
            cands = order[read:read + batch]
            read += len(cands)
            scored += [(score * SUPERSEDED_DECAY if superseded is not None and superseded[d] else score, d)
                       for score, d in self._exact(wanted, ranking, cands, upper)]
            ranked = collapse(diversify(scored, lambda docnum: cols.doc_codes[docnum], wanted.same_doc_decay),
                              cluster, cols.doc_codes)
            if read >= available:
                return ranked, read
            if read >= len(order):  # the next batch needs more candidates in order
                order = top(upper, mask, min(available, 4 * len(order)))
            if len(ranked) >= shown and (ranked[shown - 1][0] >= upper[order[read]] * BOUND_SLACK
                                         or read >= MAX_READ):
                return ranked, read
            batch *= 2

    def _exact(self, wanted: Plan, ranking: Ranking, cands: np.ndarray,
               upper: np.ndarray) -> list[tuple[float, int]]:
        if wanted.empty:
            return [(float(upper[d]), int(d)) for d in cands]
        cols = ranking.cols
        texts: dict[str, Joined] = {}

        def text(name: str) -> Joined:
            if name not in texts:
                texts[name] = cols.joined(name, cands)
            return texts[name]

        keep = np.ones(len(cands), dtype=bool)
        for excluded in wanted.excluded:
            keep &= ~text("text").contains(excluded.encode("utf-8"))
        for group in wanted.required:
            keep &= np.logical_or.reduce([ranking.may_hold(u, cands) & holding(u, text(u.field))
                                          if u.field not in DOC_FIELDS else ranking.may_hold(u, cands)
                                          for u in group])
        scores = ranking.meta[cands]  # title/unit/place: exact already
        values: dict[tuple[str, str], np.ndarray] = {}  # a term's scores at the candidates
        held: dict[Unit, np.ndarray] = {}  # question concepts: which candidates a unit scored for
        for unit in wanted.scored:
            if unit.field in DOC_FIELDS:
                continue
            part = np.zeros(len(cands), dtype=np.float32)
            for term in unit.terms:
                if (unit.field, term) not in values:
                    values[unit.field, term] = ranking.lookup(*ranking.term(unit.field, term), cands)
                part += values[unit.field, term]
            part *= unit.boost
            if len(unit.terms) > 1:  # a phrase needs all its terms, as in the bound
                part *= ranking.present(unit)[cands]
            if unit.check and part.any():
                part *= holding(unit, text(unit.field), part > 0)
            if wanted.concepts:
                held[Unit(unit.field, unit.terms, 1.0, unit.check, unit.near)] = part > 0
            scores += part
        if wanted.concepts:
            share = coverage(wanted.concepts, held, lambda w: ranking.idf("text", w))
            if share is not None:  # never above 1: the bound stays a bound
                scores = scores * (COVERAGE_FLOOR + (1 - COVERAGE_FLOOR) * share ** COVERAGE_POWER)
        if wanted.prior is not None:
            scores = scores * wanted.prior[cands]
        return [(float(score), int(d)) for score, d, ok in zip(scores, cands, keep) if ok and score > 0]

    def _question_prior(self, cols: IndexColumns) -> np.ndarray | None:
        """Per passage, the learned question weight of its document type (None: none learned)."""
        weights = question_type_weights()
        if not weights:
            return None
        key = ("question prior", tuple(sorted(weights.items())))
        if key not in cols.cache:
            codes, values = cols.facets["type"]
            default = weights.get("*", 1.0)
            table = np.array([weights.get(v, default) for v in values] + [default], dtype=np.float32)
            cols.cache[key] = table[codes]
        return cols.cache[key]

    def _feedback_terms(self, question: Question, ranked: list[tuple[float, int]],
                        ranking: Ranking) -> list[tuple[str, float]]:
        texts = [self._stored(docnum).get("text", "") for _, docnum in ranked[:FEEDBACK_PASSAGES]]
        typed = set(question.words) | {e.term for e in question.expansions}
        return feedback_terms(texts, lambda t: ranking.idf("text", t), typed, stopwords())

    def _facets(self, cols: IndexColumns, mask: np.ndarray) -> dict[str, list[tuple[Any, int]]]:
        out: dict[str, list[tuple[Any, int]]] = {}
        for name in FACETS:
            if name == "models":
                terms, docs, owner = self._model_postings(cols)
                counted = np.bincount(owner[mask[docs]], minlength=len(terms))
                counts = list(zip(terms, counted.tolist()))
            else:
                codes, values = cols.facets[name]
                counted = np.bincount(codes[mask & (codes >= 0)], minlength=len(values))
                counts = list(zip(values, counted.tolist()))
            out[name] = sorted(((k, v) for k, v in counts if v and k not in (None, "")),
                               key=lambda kv: (-kv[1], str(kv[0])))
        return out

    def _model_postings(self, cols: IndexColumns) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Every (passage, model) pair of the index: model names, passages, model numbers."""
        cache = cols.cache
        if "models" not in cache:
            terms = cols.field_terms("models")
            pairs = [cols.postings("models", term)[0] for term in terms]
            docs = np.concatenate(pairs).astype(np.intp) if pairs else np.zeros(0, dtype=np.intp)
            owner = np.repeat(np.arange(len(terms)), [len(p) for p in pairs])
            cache["models"] = (terms, docs, owner)
        return cache["models"]

    def passage(self, passage_id: str) -> dict[str, Any] | None:
        stored = self.searcher.document(passage_id=passage_id)
        return dict(stored) if stored else None

    def document(self, doc_id: str) -> list[dict[str, Any]]:
        """All stored passages of a document, in order (empty if unknown)."""
        found = [dict(r) for r in self.searcher.documents(doc_id=doc_id)]
        return sorted(found, key=lambda r: r.get("order", 0))

    def related(self, passage_id: str, limit: int = 5) -> list[dict[str, Any]] | None:
        """The most similar passages from other documents (more-like-this over the segmented
        text: the passage's highest tf·idf terms), leaving out the document's near-duplicates and
        versions (kb/similar.py: the page lists those). None if the passage is unknown."""
        source = self.passage(passage_id)
        if source is None:
            return None
        counts: dict[str, int] = {}
        for word in segment.segment(source.get("text", "")):
            term = word.text.lower()
            if len(term) >= 2 and segment.CJK.search(term) and term not in stopwords():
                counts[term] = counts.get(term, 0) + 1
        cols = self.columns()
        ranking = Ranking(cols)
        weighted = sorted(((tf * self._idf(cols, term), term) for term, tf in counts.items()),
                          reverse=True)[:RELATED_TERMS]
        if not weighted:
            return []
        top_weight = weighted[0][0] or 1.0
        scores = ranking.upper([Unit("text", (term,), w / top_weight) for w, term in weighted])
        docnum = self._docnum(passage_id)
        own = cols.doc_codes[docnum]
        mask = cols.alive & (scores > 0) & (cols.doc_codes != own)
        cluster = self._clusters(cols)[0]
        if cluster is not None and cluster[docnum] >= 0:  # not its near-duplicates or versions
            mask &= cluster != cluster[docnum]
        terms = {term for _, term in weighted}
        chosen, seen = [], set()
        for docnum in top(scores, mask, limit * 20):
            if cols.doc_codes[docnum] not in seen:
                seen.add(cols.doc_codes[docnum])
                chosen.append(docnum)
                if len(chosen) == limit:
                    break
        return [hit_from_stored(self._stored(d), float(scores[d]), terms) for d in chosen]

    def _idf(self, cols: IndexColumns, term: str) -> float:
        return math.log(cols.ndocs / (len(cols.postings("text", term)[0]) + 1)) + 1

    def _docnum(self, passage_id: str) -> int:
        return self.searcher.document_number(passage_id=passage_id)

    def suggestions(self, raw: str, limit: int = 2) -> list[str]:
        """Did-you-mean: the query with unknown words replaced by the most frequent index term
        one edit away (两楼连动 → 两楼联动).

        Bounded work whatever the query: at most SUGGEST_WORDS unknown words are tried, each with
        one look-up per one-character deletion in a table built once per index generation, and
        at most SUGGEST_CANDIDATES index terms examined per word."""
        parsed = parse(raw)
        text = parsed.text or " ".join(parsed.phrases)
        out: list[str] = []
        whole = "".join(text.split()).lower()
        if 2 <= len(whole) <= SUGGEST_MAX_LEN and not self._frequency(whole):
            out += self._closest(whole, limit)
        words, changed, tried = [], False, 0
        for word in content_words(text):
            best: list[str] = []
            if tried < SUGGEST_WORDS and 2 <= len(word) <= SUGGEST_MAX_LEN and not self._frequency(word):
                tried += 1
                best = self._closest(word, 1)
            changed |= bool(best)
            words.append(best[0] if best else word)
        if changed:
            out.append("".join(words) if CJK_ONLY.match("".join(words)) else " ".join(words))
        unique = [c for i, c in enumerate(out) if c not in out[:i] and c != whole]
        return [c for c in unique[:SUGGEST_WORDS] if self._occurs(c)][:limit]

    def _occurs(self, text: str) -> bool:
        """True if ``text`` occurs as a phrase somewhere (a suggestion must lead to results)."""
        units = _phrase_units(text, ("text",))
        if not units:
            return False
        cols = self.columns()
        unit = units[0]
        found = Ranking(cols).present(unit) & cols.alive
        if not unit.check:
            return bool(found.any())
        return bool(cols.joined("text", np.flatnonzero(found)[:500]).contains(unit.check.encode("utf-8")).any())

    def _frequency(self, term: str) -> int:
        return self.searcher.reader().doc_frequency("text", term)

    def _neighbours(self) -> dict[str, list[str]]:
        """The deletion table of the text field's terms (per index generation, shared by threads)."""
        cols = self.columns()
        table = cols.cache.get("neighbours")
        if table is None:
            table = cols.cache["neighbours"] = deletion_table(cols.field_terms("text"))
        return table

    def _closest(self, word: str, limit: int) -> list[str]:
        candidates = one_edit_terms(word, self._neighbours())
        return sorted(candidates, key=lambda c: (-self._frequency(c), c))[:limit]


SUGGEST_WORDS = 8         # unknown words of one query tried for did-you-mean
SUGGEST_CANDIDATES = 300  # index terms examined per word (a check costs a microsecond)
SUGGEST_MAX_LEN = 12      # longer "words" are not typos of a term


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


CJK_ONLY = re.compile(r"^[\u3400-\u9fff]+$")


def related_terms(raw: str, vocabulary: list[str], limit: int = 8) -> list[str]:
    """Synonyms and harvested terms sharing a two-character piece with the query."""
    text = normalize(raw or "")
    out = [m for group in synonym_alternatives(text) for m in group if m not in text]
    grams = {text[i:i + 2] for i in range(len(text) - 1) if segment.is_word(text[i:i + 2])}
    out += [t for t in vocabulary if t not in text and any(g in t for g in grams)]
    seen: list[str] = []
    for term in out:
        if term not in seen:
            seen.append(term)
    return seen[:limit]
