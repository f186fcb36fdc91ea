"""Planning a parsed query: the units to score, their weights (all the boosts live here), the
strings to require and exclude, a question's concepts, and the field filters."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from whoosh import query as Q

from kb.text import segment
from kb.text.analysis import phrase_parts
from kb.index.postings import compact
from kb.search.question import Question
from kb.search.query import ParsedQuery

SEARCH_FIELDS = ("text", "title", "unit", "place")
PHRASE_BOOST, PROXIMITY_BOOST, SYNONYM_BOOST = 3.0, 1.5, 0.8
PROXIMITY_SLOP = 8      # words, between the words of a query in a passage
PROXIMITY_SLOP_BYTES = 2 * PROXIMITY_SLOP * 3  # about two characters a word part, three bytes a character
EXPANSION_BOOST = 1.0   # a learned/hand expansion of weight 1 scores this much of a typed word
EXPANSION_FIELDS = ("text", "title")
FEEDBACK_BOOST = 0.0    # long questions: a term of the first passages, at most this much of a word
QUESTION_META_BOOST = 0.5  # questions: a word in the title/unit/place weighs this much of one in the text
# (0.1 scored 0.002 more MRR@10 on the training questions but cost CMRC 2018 0.004: benchmarks/RESULTS.md)
QUESTION_SAME_DOC_DECAY = 1.0  # questions: several articles of one law may each answer


class Or(Q.Or):
    """Whoosh's Or with the union-tree matcher: its array matcher (chosen for small indexes)
    allocates a 2,048-slot array per clause and made nested queries ten times slower."""

    matcher_type = Q.Or.DEFAULT_MATCHER


@dataclass(frozen=True)
class Unit:
    """One scored clause: ``boost`` × the BM25 scores of ``terms`` in ``field``; when ``check``
    is set, only for passages whose field holds it: a phrase, the string itself; with
    ``proximity``, its space-separated words in order, close together."""

    field: str
    terms: tuple[str, ...]
    boost: float = 1.0
    check: str = ""
    proximity: bool = False

    def unweighted(self) -> Unit:
        """The same unit with boost 1 (units alike merge under it)."""
        return Unit(self.field, self.terms, 1.0, self.check, self.proximity)


@dataclass
class Plan:
    """What a parsed query scores (units, summed), requires (each group: one unit must hold)
    and excludes (strings a passage's text must not contain)."""

    units: list[Unit] = field(default_factory=list)
    required: list[list[Unit]] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    concepts: list[tuple[str, list[Unit]]] = field(default_factory=list)  # question: word, its units
    same_doc_decay: float | None = None  # None: the searcher's default
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
            like = unit.unweighted()
            boosts[like] = boosts.get(like, 0.0) + unit.boost
        return [Unit(u.field, u.terms, boost, u.check, u.proximity) for u, boost in boosts.items()]


def word_units(word: str, fields=SEARCH_FIELDS) -> list[Unit]:
    """A word in each field: the whole term, plus its parts as a phrase (documents may split it)."""
    parts = tuple(p.lower() for p, _ in segment.finest(word))
    units = []
    for name in fields:
        units.append(Unit(name, (word,)))
        if len(parts) > 1:
            units.append(Unit(name, parts, check=compact(word)))
    return units


def phrase_units(text: str, fields=SEARCH_FIELDS, boost: float = 1.0,
                 parts: tuple[str, ...] | None = None) -> list[Unit]:
    """A string as a phrase in each field (a single part: a plain term); ``parts``: its
    :func:`~kb.text.analysis.phrase_parts`, when known."""
    parts = tuple(phrase_parts(text)) if parts is None else parts
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
    words = parsed.words
    for word in words:
        out.units += word_units(word) if parsed.question is None else question_word_units(word)
    if parsed.question is not None:
        cut = {e.term: tuple(phrase_parts(e.term)) for e in parsed.question.expansions}  # once each
        out.units += question_units(parsed.question, cut)
        out.concepts = [(word, word_units(word, ("text",)) + expansion_units(parsed.question, word, cut))
                        for word in words]
        out.same_doc_decay = QUESTION_SAME_DOC_DECAY
    for group in parsed.synonyms:
        for member in group:
            out.units += phrase_units(member, boost=SYNONYM_BOOST)
    if words:
        parts = tuple(phrase_parts(" ".join(words)))
        if len(parts) > 1:
            joined = compact("".join(words))
            out.units.append(Unit("text", parts, PHRASE_BOOST, joined))
            spread = " ".join(c for c in map(compact, words) if c)
            out.units.append(Unit("text", parts, PROXIMITY_BOOST, spread, proximity=True))
            out.units.append(Unit("title", parts, PHRASE_BOOST, joined))
    out.required = [units for units in (phrase_units(p) for p in parsed.phrases) if units]
    out.excluded = [compact(e) for e in parsed.excluded if compact(e)]
    return out


def question_word_units(word: str) -> list[Unit]:
    """A question's word: as any word, with the metadata fields weighing less (a question names
    what it asks about, which the law's title only sometimes shares)."""
    return [u if u.field == "text" else Unit(u.field, u.terms, u.boost * QUESTION_META_BOOST, u.check)
            for u in word_units(word)]


def expansion_units(question: Question, word: str, cut: dict[str, tuple[str, ...]] | None = None) -> list[Unit]:
    """The text units of the expansions of one of the question's words (boost 1); ``cut``:
    the expansions' phrase parts, when known."""
    cut = cut or {}
    return [u for e in question.expansions if word in e.sources
            for u in phrase_units(e.term, ("text",), parts=cut.get(e.term))]


def question_units(question: Question, cut: dict[str, tuple[str, ...]] | None = None) -> list[Unit]:
    """The expansions and feedback terms of a question, each weighing less than a typed word."""
    cut = cut or {}
    units = []
    for exp in question.expansions:
        units += phrase_units(exp.term, EXPANSION_FIELDS, EXPANSION_BOOST * exp.weight, cut.get(exp.term))
    for term, weight in question.feedback:
        units += phrase_units(term, ("text",), FEEDBACK_BOOST * weight)
    return units


# ---------------------------------------------------------------- filters

def _phrase_query(fieldname: str, text: str) -> Q.Query | None:
    parts = phrase_parts(text)
    if not parts:
        return None
    if len(parts) == 1:
        return Q.Term(fieldname, parts[0])
    return Q.Phrase(fieldname, parts, slop=1)


def _filter_clause(name: str, value: str) -> Q.Query:
    value = value.strip()
    if name == "year":
        years = [int(y) for y in re.findall(r"\d{4}", value)]
        if not years:
            return Q.NullQuery
        return Q.NumericRange("year", min(years), max(years))
    if name in ("type", "level", "source", "models"):
        return Q.Term(name, value)
    return _phrase_query(name, value) or Q.NullQuery


def build_filter(filters: dict[str, list[str]]) -> Q.Query | None:
    """The Whoosh query of the field filters: alternatives of one field OR-ed, fields AND-ed."""
    clauses = []
    for name, values in filters.items():
        alternatives = [c for c in (_filter_clause(name, v) for v in values if v.strip()) if c]
        if alternatives:
            clauses.append(alternatives[0] if len(alternatives) == 1 else Or(alternatives))
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else Q.And(clauses)
