"""One search: parse → plan → candidates (a bound over the postings) → exact check → hits.

:class:`Searcher` owns nothing but the thread's view of an index generation; each stage is a
module of :mod:`kb.search` returning data (HTML is the web's job)."""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from kb.index import similar
from kb.catalogue.catalogue import Catalogue
from kb.catalogue.models import Model
from kb.index.postings import DOC_FIELDS, IndexColumns, Joined
from kb.search import expand, facets, related, sparse
from kb.search.hits import SearchResult, hit_from_stored
from kb.search.plan import FEEDBACK_BOOST, Plan, Unit, build_filter, plan
from kb.search.query import MAX_QUERY_CHARS, ParsedQuery, as_parsed, parse
from kb.search.ranking import Ranking, TermCache
from kb.search.scoring import best, collapse, coverage, coverage_factor, diversify, holding
from kb.search.sparse import Sparse
from kb.index.store import IndexStore, View

SUPERSEDED_DECAY = 0.9  # an older version of a document (kb/index/similar.py) ranks a little lower
BOUND_SLACK = 1.0001  # float32 sums in another order may differ in the last bits
CANDIDATES, MAX_READ = 60, 180  # first batch scored exactly; enough read (see Searcher._rescore)
MAX_LIMIT = 200
WARM_QUERIES = ("党建", "老旧小区没有物业怎么办")  # a keyword and a question: what a new generation runs first


class Searcher:
    """Searches one index folder through its :class:`~kb.index.store.IndexStore`.

    A thread reads one generation at a time: :meth:`pin` (the web app does it per request) takes
    the latest one, :meth:`unpin` gives it back; a thread that never pins keeps the generation it
    first read until it pins."""

    def __init__(self, index_dir):
        self.index_dir = Path(index_dir)
        self.store = IndexStore(self.index_dir)
        self.store.generation()  # jieba gets the index's terms before the first query is cut
        self._local = threading.local()
        self._hot: TermCache | None = None  # the big posting lists the latest generation's queries used
        self.store.warmers.append(self._warm)

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

    @property
    def searcher(self):
        """The Whoosh searcher of the generation this thread reads."""
        return self.view().searcher

    def close(self) -> None:
        self.unpin()
        self.store.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def columns(self) -> IndexColumns:
        """The columns of the generation this thread reads (built once per generation)."""
        return self.view().columns()

    def _warm(self, view: View) -> None:
        """Make a new generation as fast as the one it replaces (the store runs this before any
        request reads it): its columns, links and catalogue, the big posting lists the queries of
        the current one used, and a keyword search and a question."""
        previous = getattr(self._local, "view", None)
        self._local.view = view
        try:
            cols = self.columns()
            self._clusters(cols)
            self.catalogue  # noqa: B018 — built once a generation
            hot, ranking = self._hot, Ranking(cols, cols.cache.setdefault("terms", TermCache()))
            for key in hot.keys() if hot is not None else []:
                if key[0] == "scores":
                    ranking.term(key[1], key[2])
            for query in WARM_QUERIES:
                self.search(query, facets=True)
        finally:
            self._local.view = previous

    # ------------------------------------------------------------ linked documents

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
        stamp, links, groups, versions = self._link_state()
        key = ("clusters", stamp)
        if key not in cols.cache:
            cluster = np.full(cols.n_passages, -1, dtype=np.int32) if groups else None
            for k, group in enumerate(groups):
                for doc_id in group:
                    cluster[cols.postings("doc_id", doc_id)[0]] = k
            old = [d for d, group in versions.items() if links.entries[d].date != links.entries[group[0]].date]
            superseded = np.zeros(cols.n_passages, dtype=bool) if old else None
            for doc_id in old:
                superseded[cols.postings("doc_id", doc_id)[0]] = True
            cols.cache[key] = (cluster, superseded)
        return (*cols.cache[key], groups)

    def _collapsed(self, hit: dict[str, Any], passage: int, cluster: np.ndarray | None,
                   groups: list[list[str]], matches: np.ndarray, cols: IndexColumns) -> None:
        """The documents collapsed under a hit: its cluster's other documents that match too
        (``matches``: the matching passages, ascending)."""
        hit["collapsed"], hit["similar"], hit["version"] = 0, [], None
        if cluster is None or cluster[passage] < 0:
            return
        others = []
        for doc_id in groups[int(cluster[passage])]:
            if doc_id != hit["doc_id"] and sparse.member(cols.postings("doc_id", doc_id)[0], matches).any():
                others.append(doc_id)
        _stamp, links, _clusters, versions = self._link_state()
        hit["similar"] = similar.collapsed_rows(links, hit["doc_id"], others, versions)
        hit["collapsed"] = len(hit["similar"])
        hit["version"] = similar.describe(links, hit["doc_id"], self._indexed, versions)["current"]

    # ------------------------------------------------------------ searching

    def search(self, raw: str, limit: int = 10, page: int = 1,
               filters: dict[str, list[str]] | None = None, facets: bool = False) -> SearchResult:
        """Ranked passages for ``raw``; ``filters`` add to the query's own ``字段:值`` filters.

        Two stages: numpy sums every unit's term scores over the passages its postings name (an
        upper bound; the work follows the postings: :mod:`kb.search.sparse`), then the best
        candidates are checked against their stored text (phrases, proximity, required and
        excluded strings) and scored exactly."""
        began = time.perf_counter()
        if len(raw or "") > MAX_QUERY_CHARS:
            return SearchResult(parse(""), [], 0, 0.0,
                                error=f"查询过长（超过{MAX_QUERY_CHARS}字），请缩短后再试。")
        parsed = parse(raw)
        for name, values in (filters or {}).items():
            parsed.filters.setdefault(name, []).extend(v for v in values if v)
        found = self._run(parsed, max(1, min(limit, MAX_LIMIT)), max(1, page), facets)
        found.elapsed = time.perf_counter() - began
        return found

    def _run(self, parsed: ParsedQuery, limit: int, page: int, with_facets: bool) -> SearchResult:
        """One search of a parsed query (a long question may search twice: pseudo-relevance
        feedback adds the terms its first passages share)."""
        wanted = plan(parsed)
        filter_q = build_filter(parsed.filters)
        if wanted.empty and filter_q is None:
            return SearchResult(parsed, [], 0, 0.0)
        cols = self.columns()
        ranking = Ranking(cols, cols.cache.setdefault("terms", TermCache()))
        self._hot = ranking.shared
        matches = self._matches(wanted, parsed, ranking, filter_q)
        total = len(matches)
        cluster, superseded, groups = self._clusters(cols)
        ranked, checked = self._rescore(wanted, ranking, matches, page * limit, cluster, superseded)
        question = parsed.question
        if FEEDBACK_BOOST > 0 and question is not None and question.wants_feedback:
            texts = [self._stored(p).get("text", "") for _, p in ranked[:expand.FEEDBACK_PASSAGES]]
            terms = expand.feedback(question, texts, lambda t: ranking.idf("text", t))
            if terms:  # search again with them
                question.feedback = terms
                return self._run(parsed, limit, page, with_facets)
        if checked >= total:
            total = len(ranked)
        elif len(ranked) < checked:  # some candidates failed a check: estimate
            total = max(len(ranked), round(total * len(ranked) / checked))
        hits = []
        for score, passage in ranked[(page - 1) * limit: page * limit]:
            hits.append(hit_from_stored(self._stored(passage), score, parsed.marked_terms))
            self._collapsed(hits[-1], passage, cluster, groups, matches.passages, cols)
        found = SearchResult(parsed, hits, max(total, len(ranked)), 0.0)
        named = parsed.named
        found.models = self.catalogue.named_in(named, normalized=True)[:3] if named else []
        if with_facets:
            found.facets = facets.facet_counts(cols, matches.passages)
        return found

    def _matches(self, wanted: Plan, parsed: ParsedQuery, ranking: Ranking, filter_q) -> Sparse:
        """The live passages the query may match, each with its bound (the candidates): the union
        of the posting lists of its units — never a pass over the whole collection."""
        cols = ranking.cols
        allowed = None if filter_q is None else facets.filter_passages(self.searcher, filter_q, cols)
        if wanted.empty:  # filters alone: every passage they allow, in index order
            return Sparse(allowed, np.ones(len(allowed), dtype=np.float32))
        units = wanted.scored
        ranking.meta = ranking.metadata([u for u in units if u.field in DOC_FIELDS])
        bound = ranking.upper([u for u in units if u.field not in DOC_FIELDS], then=ranking.meta)
        passages, upper = bound.passages, bound.values
        if allowed is not None:
            inside = sparse.member(passages, allowed, cols.n_passages)
            passages, upper = passages[inside], upper[inside]
        if parsed.question is not None:
            wanted.prior = expand.question_prior(cols)
            if wanted.prior is not None:
                upper *= wanted.prior[passages]
        keep = upper > 0
        for group in wanted.required:
            keep &= np.logical_or.reduce([ranking.may_hold(u, passages) for u in group])
        return Sparse(passages[keep], upper[keep])

    def _rescore(self, wanted: Plan, ranking: Ranking, matches: Sparse, shown: int,
                 cluster: np.ndarray | None, superseded: np.ndarray | None) -> tuple[list[tuple[float, int]], int]:
        """Exact scores of candidates taken best bound first, in growing batches, until the
        ``shown`` best after :func:`diversify` are certain: no unread candidate's bound reaches
        them (a bound is never below the exact score, and diversifying only lowers scores) —
        or, for queries of common words whose phrase bonuses make the bounds loose, once
        MAX_READ candidates have been read. A superseded version scores a little less (so the
        现行 one leads its versions) and near-duplicates are collapsed under their best hit
        (:func:`collapse`); both only lower or drop scores, so the bound test stays sound.
        Returns (diversified (score, passage number)…, read)."""
        cols = ranking.cols
        upper, available = matches.values, len(matches)
        order = best(upper, min(available, 4 * CANDIDATES))
        scored: list[tuple[float, int]] = []
        read, batch = 0, CANDIDATES
        while True:
            cands = order[read:read + batch]
            read += len(cands)
            scored += [(score * SUPERSEDED_DECAY if superseded is not None and superseded[p] else score, p)
                       for score, p in self._exact(wanted, ranking, matches.passages[cands], upper[cands])]
            ranked = collapse(diversify(scored, lambda p: cols.doc_codes[p], wanted.same_doc_decay),
                              cluster, cols.doc_codes)
            if read >= available:
                return ranked, read
            if read >= len(order):  # the next batch needs more candidates in order
                order = best(upper, min(available, 4 * len(order)))
            if len(ranked) >= shown and (ranked[shown - 1][0] >= upper[order[read]] * BOUND_SLACK
                                         or read >= MAX_READ):
                return ranked, read
            batch *= 2

    def _exact(self, wanted: Plan, ranking: Ranking, cands: np.ndarray,
               bounds: np.ndarray) -> list[tuple[float, int]]:
        """(exact score, passage number) of the candidates (with their ``bounds``) that pass the
        plan's checks."""
        if wanted.empty:
            return [(float(b), int(p)) for b, p in zip(bounds, cands)]
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
        scores = ranking.meta.at(cands)  # title/unit/place: exact already
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
                part *= ranking.may_hold(unit, cands)
            if unit.check and part.any():
                part *= holding(unit, text(unit.field), part > 0)
            if wanted.concepts:
                held[unit.unweighted()] = part > 0
            scores += part
        if wanted.concepts:
            share = coverage(wanted.concepts, held, lambda w: ranking.idf("text", w))
            if share is not None:  # never above 1: the bound stays a bound
                scores = scores * coverage_factor(share)
        if wanted.prior is not None:
            scores = scores * wanted.prior[cands]
        return [(float(score), int(p)) for score, p, ok in zip(scores, cands, keep) if ok and score > 0]

    # ------------------------------------------------------------ passages and documents

    def _stored(self, passage: int) -> dict[str, Any]:
        return self.searcher.stored_fields(int(passage))

    def _passage_number(self, passage_id: str) -> int:
        return self.searcher.document_number(passage_id=passage_id)

    def passage(self, passage_id: str) -> dict[str, Any] | None:
        stored = self.searcher.document(passage_id=passage_id)
        return dict(stored) if stored else None

    def document(self, doc_id: str) -> list[dict[str, Any]]:
        """All stored passages of a document, in order (empty if unknown)."""
        found = [dict(r) for r in self.searcher.documents(doc_id=doc_id)]
        return sorted(found, key=lambda r: r.get("order", 0))

    def related(self, passage_id: str, limit: int = 5) -> list[dict[str, Any]] | None:
        """The most similar passages from other documents, leaving out the document's
        near-duplicates and versions (kb/index/similar.py: the page lists those); None if the
        passage is unknown (see :func:`kb.search.related.related_passages`)."""
        source = self.passage(passage_id)
        if source is None:
            return None
        cols = self.columns()
        return related.related_passages(source, self._passage_number(passage_id), cols,
                                        self._clusters(cols)[0], self._stored, limit)

    def suggestions(self, query: str | ParsedQuery, limit: int = 2) -> list[str]:
        """Did-you-mean for a query (pass the parsed one a search returned; see
        :func:`kb.search.related.suggestions`)."""
        reader = self.searcher.reader()
        return related.suggestions(as_parsed(query), self.columns(),
                                   lambda term: reader.doc_frequency("text", term), limit)
