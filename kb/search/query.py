"""Parsing a user's query, once a request: words, phrases, exclusions, field filters, synonyms.

Query syntax (any string is accepted; nothing here raises on user input):

* words — OR semantics; passages holding the query as a phrase, or its words close together, rank first;
* ``"…"`` / ``“…”`` — a phrase that must occur;
* ``-词`` — exclude passages whose text contains it;
* ``字段:值`` — filters: 地区/place, 单位/unit, 年份/year, 类型/type, 层级/level, 标题/title, 来源/source;
* synonyms and abbreviations from ``kb/data/synonyms.txt`` expand the query; question words
  from ``kb/data/stopwords.txt`` (怎么办, 如何 …) are ignored as loose terms;
* a query that reads as a question goes through :mod:`kb.search.question` (framing words out, learned
  and hand-written expansions).

The :class:`ParsedQuery` is normalized and segmented here and nowhere else: ranking, snippets,
did-you-mean, related terms and the catalogue all read its cached words.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

from kb.text import segment
from kb.text.analysis import query_words
from kb.text.normalize import DATA_DIR, normalize
from kb.search.question import Question, understand

MAX_QUERY_CHARS = 200
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
    """Words ignored as loose query terms (``kb/data/stopwords.txt``)."""
    return frozenset(_data_lines("stopwords.txt"))


# ---------------------------------------------------------------- the parsed query

def keep_content(words: list[str]) -> list[str]:
    """``words`` without stop words (all of them if nothing else is left)."""
    stops = stopwords()
    kept = [w for w in words if w not in stops]
    return kept or words


def content_words(text: str) -> list[str]:
    """The words of ``text`` that count (stop words out)."""
    return keep_content(query_words(text))


def synonym_alternatives(text: str) -> list[list[str]]:
    """Synonym groups whose members occur in ``text``."""
    compact = text.replace(" ", "")
    return [group for group in synonym_groups() if any(m and m in compact for m in group)]


@dataclass
class ParsedQuery:
    """A query taken apart once: everything after :func:`parse` reads these fields and the
    cached words below instead of normalizing or segmenting the query again."""

    raw: str
    normalized: str = ""                 # the whole query, normalized
    text: str = ""                       # the loose words, normalized
    tokens: list[str] = field(default_factory=list)  # the loose text as segment.segment cuts it
    phrases: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    filters: dict[str, list[str]] = field(default_factory=dict)
    question: Question | None = None     # set when the loose words read as a question

    @cached_property
    def keywords(self) -> list[str]:
        """The loose text's words, stop words out (as if it were not a question)."""
        return keep_content([t.lower() for t in self.tokens])

    @cached_property
    def words(self) -> list[str]:
        """The words that score: a question's content words, else :attr:`keywords`."""
        if not self.text:
            return []
        return self.question.words if self.question is not None else self.keywords

    @cached_property
    def synonyms(self) -> list[list[str]]:
        """Synonym groups met in the loose text."""
        return synonym_alternatives(self.text)

    @cached_property
    def marked_terms(self) -> frozenset[str]:
        """Whole terms to mark in snippets: the words, a question's expansions, the phrases'
        words and whole synonyms (旧小区 must not light up every 小区)."""
        terms = set(self.words)
        if self.question is not None:
            terms |= {e.term for e in self.question.expansions}
        for phrase in self.phrases:
            terms |= set(query_words(phrase))
        for group in self.synonyms:
            for member in group:
                words = query_words(member)
                if len(words) == 1:
                    terms |= set(words)
        return frozenset(t for t in terms if segment.is_word(t))

    @property
    def named(self) -> str:
        """The loose text and the phrases: what the query names (models, related terms)."""
        return " ".join([self.text, *self.phrases]).strip()

    @property
    def topic(self) -> str:
        """The loose text, else the phrases (did-you-mean, related terms on an empty page)."""
        return self.text or " ".join(self.phrases)


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
    norm = parsed.normalized = normalize(raw.replace("\n", " "))
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
    parsed.tokens = [w.text for w in segment.segment(parsed.text)] if parsed.text else []
    parsed.question = understand(parsed.text, stopwords(), parsed.tokens) if parsed.text else None
    return parsed


def as_parsed(query: str | ParsedQuery) -> ParsedQuery:
    """A parsed query, parsing a string (callers holding one pass it on instead)."""
    return query if isinstance(query, ParsedQuery) else parse(query)
