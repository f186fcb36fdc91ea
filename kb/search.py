"""Stage 5 — search: query parsing, ranking, snippets.

Query syntax (any string is accepted; nothing here raises on user input):

* words — OR semantics; passages holding the query as a phrase, or its words close together, rank first;
* ``"…"`` / ``“…”`` — a phrase that must occur;
* ``-词`` — exclude passages containing it;
* ``字段:值`` — filters: 地区/place, 单位/unit, 年份/year, 类型/type, 层级/level, 标题/title, 来源/source;
* synonyms and abbreviations from ``kb/data/synonyms.txt`` expand the query; question words
  from ``kb/data/stopwords.txt`` (怎么办, 如何 …) are ignored as loose terms.
"""
from __future__ import annotations

import html
import re
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from whoosh import query as Q
from whoosh import sorting

from kb import segment
from kb.analysis import KbAnalyzer, phrase_parts, query_words
from kb.index import open_index, scoring
from kb.models import CATALOGUE_FILE, Catalogue
from kb.normalize import DATA_DIR, normalize

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
    return parsed


# ---------------------------------------------------------------- query building

def _word_query(fieldname: str, word: str) -> Q.Query:
    """A word in one field: the whole term, or its parts as a phrase (documents may split it)."""
    parts = [p.lower() for p, _ in segment.finest(word)]
    term = Q.Term(fieldname, word)
    if len(parts) <= 1:
        return term
    return Or([term, Q.Phrase(fieldname, parts)])


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


def content_words(text: str) -> list[str]:
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
    terms = set(content_words(parsed.text)) if parsed.text.strip() else set()
    for phrase in parsed.phrases:
        terms |= set(query_words(phrase))
    for group in synonym_alternatives(parsed.text):
        for member in group:
            words = query_words(member)
            if len(words) == 1:  # whole synonyms only: 旧小区 must not light up every 小区
                terms |= set(words)
    return {t for t in terms if segment.is_word(t)}


def build_query(parsed: ParsedQuery) -> Q.Query:
    """The Whoosh query for a parsed user query (Q.NullQuery when nothing is searchable)."""
    optional: list[Q.Query] = []
    words = content_words(parsed.text) if parsed.text.strip() else []
    for word in words:
        clause = _any_field(_word_query, word)
        if clause is not None:
            optional.append(clause)
    for group in synonym_alternatives(parsed.text):
        alts = [q for q in (_any_field(lambda f, t: _phrase_query(f, t, slop=1), m) for m in group) if q]
        if alts:
            optional.append(Or(alts, boost=SYNONYM_BOOST))
    if words:
        parts = phrase_parts(" ".join(words))
        if len(parts) > 1:
            optional.append(Q.Phrase("text", parts, slop=1, boost=PHRASE_BOOST))
            optional.append(Q.Phrase("text", parts, slop=NEAR_SLOP, boost=NEAR_BOOST))
            optional.append(Q.Phrase("title", parts, slop=1, boost=PHRASE_BOOST))
    required = [q for q in (_any_field(lambda f, t: _phrase_query(f, t, slop=1), p)
                            for p in parsed.phrases) if q]
    if required and optional:
        query: Q.Query = Q.AndMaybe(Q.And(required), Or(optional))
    elif required:
        query = Q.And(required)
    elif optional:
        query = Or(optional)
    else:
        return Q.NullQuery
    excluded = [q for q in (_any_field(lambda f, t: _phrase_query(f, t, slop=1), e, ("text",))
                            for e in parsed.excluded) if q]
    if excluded:
        query = Q.AndNot(query, Or(excluded))
    return query


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

_analyzer = None


def mark_spans(text: str, terms: set[str]) -> list[tuple[int, int]]:
    """Character spans of whole query terms in ``text``, longest first, adjacent ones merged."""
    if not terms or not text:
        return []
    candidates = {(t.startchar, t.endchar) for t in _analyzer_instance()(text, chars=True, positions=True,
                                                               mode="index") if t.text in terms}
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
EXTRA_FIELDS = ("level", "heading", "order", "province", "city", "district", "street", "community",
                "collection")
FACETS = ("province", "city", "district", "level", "year", "type", "models")
POOL, SAME_DOC_DECAY = 50, 0.6
RELATED_TERMS = 20
NO_YEAR = 2**31 - 1  # Whoosh's sortable-column value for a passage without a year


def diversify(scored: list[tuple[float, Any]]) -> list[tuple[float, Any]]:
    """Each further passage of the same document scores a little less, so one long document
    does not fill the page; the best passage of every document keeps its score."""
    seen: dict[str, int] = {}
    out = []
    for score, result in scored:
        doc_id = result["doc_id"]
        out.append((score * SAME_DOC_DECAY ** seen.get(doc_id, 0), result))
        seen[doc_id] = seen.get(doc_id, 0) + 1
    return sorted(out, key=lambda x: -x[0])


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


class Searcher:
    """Searches one index directory. Each thread gets its own Whoosh searcher;
    :meth:`refresh` makes it see commits made since it opened."""

    def __init__(self, index_dir):
        self.index_dir = Path(index_dir)
        self.ix = open_index(self.index_dir)
        self._local = threading.local()
        self._catalogue: tuple[float, Catalogue] | None = None
        self._opened_inode = self.index_dir.stat().st_ino
        self._generation = 0
        self._reopen_lock = threading.Lock()

    @property
    def catalogue(self) -> Catalogue:
        """The model catalogue built with the index (reloaded when the index is rebuilt)."""
        path = self.index_dir / CATALOGUE_FILE
        stamp = path.stat().st_mtime if path.exists() else 0.0
        if self._catalogue is None or self._catalogue[0] != stamp:
            self._catalogue = (stamp, Catalogue(self.index_dir))
        return self._catalogue[1]

    @property
    def searcher(self):
        current = getattr(self._local, "searcher", None)
        if current is None:
            current = self._local.searcher = self.ix.searcher(weighting=scoring())
            self._local.generation = self._generation
        return current

    def refresh(self) -> None:
        """See the latest commit; reopen the index if `kb index` swapped in a new build."""
        inode = self._inode()
        if inode != self._opened_inode:
            with self._reopen_lock:
                if inode != self._opened_inode:
                    self.ix = open_index(self.index_dir)
                    self._opened_inode = inode
                    self._generation += 1
        if getattr(self._local, "generation", None) != self._generation:
            self._local.searcher = self.ix.searcher(weighting=scoring())
            self._local.generation = self._generation
        else:
            self._local.searcher = self.searcher.refresh()

    def _inode(self) -> int:
        try:
            return self.index_dir.stat().st_ino
        except OSError:
            return self._opened_inode

    def close(self) -> None:
        current = getattr(self._local, "searcher", None)
        if current is not None:
            current.close()
        self.ix.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def search(self, raw: str, limit: int = 10, page: int = 1,
               filters: dict[str, list[str]] | None = None, facets: bool = False) -> SearchResult:
        """Ranked passages for ``raw``; ``filters`` add to the query's own ``字段:值`` filters."""
        began = time.perf_counter()
        if len(raw or "") > MAX_QUERY_CHARS:
            return SearchResult(parse(""), [], 0, 0.0,
                                error=f"查询过长（超过{MAX_QUERY_CHARS}字），请缩短后再试。")
        parsed = parse(raw)
        for name, values in (filters or {}).items():
            parsed.filters.setdefault(name, []).extend(v for v in values if v)
        query = build_query(parsed)
        filter_q = build_filter(parsed.filters)
        if query is Q.NullQuery and filter_q is not None:
            query = Q.Every()
        if query is Q.NullQuery:
            return SearchResult(parsed, [], 0, time.perf_counter() - began)
        page = max(1, page)
        limit = max(1, min(limit, 200))
        options: dict[str, Any] = {"filter": filter_q}
        if facets:
            options["groupedby"] = {name: sorting.FieldFacet(name, allow_overlap=name == "models")
                                    for name in FACETS}
            options["maptype"] = sorting.Count
        results = self.searcher.search(query, limit=max(POOL, page * limit * 3), **options)
        ranked = diversify([(r.score or 0.0, r) for r in results])
        terms = highlight_terms(parsed)
        hits = [hit_from_stored(r.fields(), score, terms)
                for score, r in ranked[(page - 1) * limit: page * limit]]
        # an exact count re-runs an OR query over every match: estimate unless it is already known
        total = len(results) if results.has_exact_length() else results.estimated_length()
        found = SearchResult(parsed, hits, max(total, len(ranked)), 0.0)
        named = " ".join([parsed.text, *parsed.phrases]).strip()
        found.models = self.catalogue.named_in(named)[:3] if named else []
        if facets:
            found.facets = {name: sorted(((k, v) for k, v in results.groups(name).items()
                                          if k not in (None, "") and k != NO_YEAR),
                                         key=lambda kv: (-kv[1], str(kv[0])))
                            for name in FACETS}
        found.elapsed = time.perf_counter() - began
        return found

    def passage(self, passage_id: str) -> dict[str, Any] | None:
        stored = self.searcher.document(passage_id=passage_id)
        return dict(stored) if stored else None

    def document(self, doc_id: str) -> list[dict[str, Any]]:
        """All stored passages of a document, in order (empty if unknown)."""
        found = [dict(r) for r in self.searcher.documents(doc_id=doc_id)]
        return sorted(found, key=lambda r: r.get("order", 0))

    def related(self, passage_id: str, limit: int = 5) -> list[dict[str, Any]] | None:
        """The most similar passages from other documents (more-like-this over the segmented
        text: the passage's highest tf·idf terms). None if the passage is unknown."""
        source = self.passage(passage_id)
        if source is None:
            return None
        counts: dict[str, int] = {}
        for word in segment.segment(source.get("text", "")):
            term = word.text.lower()
            if len(term) >= 2 and segment.CJK.search(term) and term not in stopwords():
                counts[term] = counts.get(term, 0) + 1
        weighted = sorted(((tf * self.searcher.idf("text", term), term) for term, tf in counts.items()),
                          reverse=True)[:RELATED_TERMS]
        if not weighted:
            return []
        top_weight = weighted[0][0] or 1.0
        query = Q.AndNot(Or([Q.Term("text", term, boost=w / top_weight) for w, term in weighted]),
                         Q.Term("doc_id", source["doc_id"]))
        terms = {term for _, term in weighted}
        best: dict[str, tuple[float, Any]] = {}
        for r in self.searcher.search(query, limit=limit * 6):
            best.setdefault(r["doc_id"], (r.score or 0.0, r))
        chosen = sorted(best.values(), key=lambda x: -x[0])[:limit]
        return [hit_from_stored(r.fields(), score, terms) for score, r in chosen]

    def suggestions(self, raw: str, limit: int = 2) -> list[str]:
        """Did-you-mean: the query with unknown words replaced by the most frequent index term
        one edit away (两楼连动 → 两楼联动)."""
        parsed = parse(raw)
        text = parsed.text or " ".join(parsed.phrases)
        out: list[str] = []
        whole = "".join(text.split()).lower()
        if 2 <= len(whole) <= 12 and not self._frequency(whole):
            out += self._closest(whole, limit)
        words, changed = [], False
        for word in content_words(text):
            best = self._closest(word, 1) if len(word) >= 2 and not self._frequency(word) else []
            changed |= bool(best)
            words.append(best[0] if best else word)
        if changed:
            out.append("".join(words) if CJK_ONLY.match("".join(words)) else " ".join(words))
        unique = [c for i, c in enumerate(out) if c not in out[:i] and c != whole]
        return [c for c in unique if self._occurs(c)][:limit]

    def _occurs(self, text: str) -> bool:
        """True if ``text`` occurs as a phrase somewhere (a suggestion must lead to results)."""
        query = _phrase_query("text", text, slop=1)
        return query is not None and self.searcher.search(query, limit=1).scored_length() > 0

    def _frequency(self, term: str) -> int:
        return self.searcher.reader().doc_frequency("text", term)

    def _closest(self, word: str, limit: int) -> list[str]:
        candidates = [c for c in self.searcher.suggest("text", word, limit=20, maxdist=1)
                      if len(c) >= 2 and c != word]
        return sorted(candidates, key=lambda c: -self._frequency(c))[:limit]


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


def _analyzer_instance():
    global _analyzer
    if _analyzer is None:
        _analyzer = KbAnalyzer()
    return _analyzer
