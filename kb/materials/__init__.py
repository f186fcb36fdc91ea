"""Materials for trainers — the basket, the 专题汇编 and its references.

* :mod:`~kb.materials.basket` — the material basket (SQLite), per browser;
* :mod:`~kb.materials.handout` — a handout assembled from a basket or a theme: sections, models, results;
* :mod:`~kb.materials.export` — a handout as .docx or .md;
* :mod:`~kb.materials.citation` — GB/T 7714-2015 references and in-text markers.

May import: :mod:`kb.text`, :mod:`kb.catalogue` (a handout is given search results; it does not search).
"""
