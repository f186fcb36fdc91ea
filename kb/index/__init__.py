"""The index — one owner of an index folder, Whoosh the index of record, columns for scoring.

* :mod:`~kb.index.schema.store` — :class:`~kb.index.schema.store.IndexStore`: open/create, transactions, commit, rebuild;
  the only module that opens an index folder (CLI, ingest and server all go through it);
* :mod:`~kb.index.schema.generations` — committed states shared by all threads, searchers lent per request;
* :mod:`~kb.index.schema.merging` — the tiered merge policy;
* :mod:`~kb.index.schema.sidefiles` — the catalogue, terms and links of each generation, written whole or not at all;
* :mod:`~kb.index.schema.locking` — the write lock, recovery after a kill, the test-only crash points;
* :mod:`~kb.index.schema.segmenter` — jieba set up per process for the index it reads;
* :mod:`~kb.index.schema.checking` — ``kb check`` (and ``--repair``);
* :mod:`~kb.index.schema.errors` — what can go wrong, one line each;
* :mod:`~kb.index.schema.schema` — the Whoosh schema, passage records, the writer's settings;
* :mod:`~kb.index.schema.postings` — the columnar copy of each segment that search scores over;
* :mod:`~kb.index.schema.similar` — near-duplicates and versions (MinHash), linked at index time.

May import: :mod:`kb.text`.
"""
