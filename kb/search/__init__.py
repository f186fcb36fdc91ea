"""Search, one stage a module, each returning data (HTML is the web's job):

* :mod:`~kb.search.query` — parse the user's query once (words, phrases, exclusions, filters, synonyms);
* :mod:`~kb.search.expand` — the question stage: learned type weights, pseudo-relevance feedback;
* :mod:`~kb.search.plan` — the units to score, their weights (the boosts), the field filters;
* :mod:`~kb.search.scoring` — idf, BM25, proximity, coverage … as small pure functions;
* :mod:`~kb.search.ranking` — term scores and masks over the index columns for one query;
* :mod:`~kb.search.snippets` — marks as spans and snippet windows;
* :mod:`~kb.search.facets` — facet counts and filter masks over the columns;
* :mod:`~kb.search.hits` — the hit and the search result;
* :mod:`~kb.search.related` — related passages, did-you-mean, related terms;
* :mod:`~kb.search.searcher` — :class:`Searcher`: plan → candidates → exact check → hits;

and beside them, what questions and users add:

* :mod:`~kb.search.question` — question understanding: framing words out, expansions, coverage;
* :mod:`~kb.search.learn` — ``kb learn``: the expansion table and type weights learned from judgments;
* :mod:`~kb.search.refine` — 在结果中检索 and the orders a result list can take;
* :mod:`~kb.search.evaluate` — the metrics of ``kb eval``.

Imports run one way: query → plan → scoring → ranking → searcher (hits, facets, related, expand
beside); ``from kb.search import …`` gives the public names.

May import: :mod:`kb.text`, :mod:`kb.index`, :mod:`kb.catalogue`.
"""
from kb.search.facets import FACETS, facet_counts, filter_passages
from kb.search.hits import EXTRA_FIELDS, HIT_FIELDS, SearchResult, hit_from_stored
from kb.search.plan import Plan, Unit, build_filter, plan
from kb.search.query import (MAX_QUERY_CHARS, ParsedQuery, as_parsed, content_words, parse, stopwords,
                             synonym_alternatives, synonym_groups)
from kb.search.related import (SUGGEST_CANDIDATES, SUGGEST_MAX_LEN, SUGGEST_WORDS, deletion_table, one_edit,
                               one_edit_terms, related_terms)
from kb.search.searcher import Searcher
from kb.search.snippets import make_snippet, mark_spans, pieces, snippet_fields, snippet_window

__all__ = [
    "EXTRA_FIELDS", "FACETS", "HIT_FIELDS", "MAX_QUERY_CHARS", "SUGGEST_CANDIDATES", "SUGGEST_MAX_LEN",
    "SUGGEST_WORDS", "ParsedQuery", "Plan", "SearchResult", "Searcher", "Unit", "as_parsed", "build_filter",
    "content_words", "deletion_table", "facet_counts", "filter_passages", "hit_from_stored",
    "make_snippet", "mark_spans", "one_edit", "one_edit_terms", "parse", "pieces", "plan", "related_terms",
    "snippet_fields", "snippet_window", "stopwords", "synonym_alternatives", "synonym_groups",
]
