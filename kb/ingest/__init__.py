"""Ingest — files in, documents out, into the index.

* :mod:`~kb.ingest.readers` — one module per format (txt in any encoding, docx, pdf, html, jsonl, images),
  OCR of scans, sidecar metadata;
* :mod:`~kb.ingest.pipeline` — documents → store: ``rebuild`` (kb index), ``add`` and ``remove``; exact
  copies skipped, near-duplicates and versions linked, the practice catalogue kept current;
* :mod:`~kb.ingest.jobs` — upload jobs (queued → reading → OCR → indexed) with their progress, in SQLite.

May import: :mod:`kb.text`, :mod:`kb.index`, :mod:`kb.catalogue`.
"""
