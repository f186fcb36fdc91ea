"""The practice-model catalogue — named practices (两楼联动, 7+2+N, 红色业委会 …) found in the texts,
with their parts, definition, places and passages.

* :mod:`~kb.catalogue.models` — the :class:`~kb.catalogue.models.Model` record and the extraction rules
  (quoted names, numbered names, chains, parts, definitions, units), one record a document;
* :mod:`~kb.catalogue.catalogue` — :class:`~kb.catalogue.catalogue.Catalogue`: one practice across
  documents merged into one model, and the look-ups pages, the API and search use;
* :mod:`~kb.catalogue.gold` — precision and recall against the hand-judged models.

May import: :mod:`kb.text`.
"""
