"""Incremental ingest: `kb add` and `kb remove` on an existing index, and `kb index`'s rebuild.

* one writer at a time through the index's lock (kb/index/store.py): a second `kb add` waits up to
  ``lock_timeout`` seconds, then says the index is busy;
* each batch is one commit, which is atomic: a process killed at any moment leaves the index at
  its last commit, and re-running the command completes the work;
* a content hash per document: an unchanged file is skipped, a changed one replaces its passages;
* an exact copy (the same text after normalization, whitespace aside) of an indexed document is
  skipped and reported; near-duplicates and versions are indexed and linked (kb/index/similar.py, the
  rule `kb index` applies too); the links are committed with every batch, like the catalogue.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping

__all__ = ["IndexBusy", "Outcome", "add", "remove", "rebuild"]

from kb.catalogue import models
from kb.text import segment
from kb.index import similar, store
from kb.text.documents import Document, match_refs, unique_ids
from kb.index.errors import IndexBusy
from kb.index.schema import PARALLEL_MIN_PASSAGES, passage_records
from kb.index.store import IndexStore, Transaction

BATCH = 200


@dataclass
class Outcome:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    copies: list[tuple[str, str]] = field(default_factory=list)  # (skipped doc, the doc it copies)
    similar: list[str] = field(default_factory=list)  # added documents linked to near-duplicates
    removed: list[str] = field(default_factory=list)
    passages: int = 0
    sources: dict[str, str] = field(default_factory=dict)  # doc id (as indexed) → its source file
    similar_to: dict[str, list[str]] = field(default_factory=dict)  # added doc → its near-duplicates


def _catalogue_for(tx: Transaction, fresh: list[models.Model], batch: list[Document],
                   dropped: set[str]) -> dict[str, list[str]]:
    """Models of the new documents join the commit's catalogue; those of replaced/removed ones leave."""
    kept = [models.Model(**m) for m in tx.catalogue if m.get("doc_id") not in dropped]
    by_passage = models.attach_mentions(kept + fresh, batch)
    tx.catalogue = [m.to_dict() for m in kept + fresh]
    return by_passage


def _commit_links(tx: Transaction, links: similar.Links) -> None:
    """The commit carries ``links``, merged with what another writer committed meanwhile."""
    tx.links = similar.to_json(similar.merged(links, similar.load_file(tx.saved_links())))


def _write_batch(index: IndexStore, batch: list[Document], replaced: set[str], links: similar.Links,
                 lock_timeout: float) -> int:
    """One commit: the batch's passages, models, harvested terms and links, visible together or not at all."""
    terms = set().union(*(segment.harvest_terms(d.text) for d in batch))
    segment.add_terms(terms)  # models and passages are cut with the batch's own terms
    fresh = [m for doc in batch for m in models.extract(doc)]
    with index.transaction(lock_timeout) as tx:
        tx.add_terms(terms)
        models_of = _catalogue_for(tx, fresh, batch, {d.doc_id for d in batch if d.doc_id in replaced})
        for doc in batch:
            tx.delete(doc.doc_id)
            tx.add(passage_records(doc, models_of))
        _commit_links(tx, links)
    return tx.passages


class Indexed(Mapping):
    """The documents an index holds, looked up one by one — doc id → {source, content_hash, …}
    (their stored fields, no text) — so an update reads what it adds, never every stored passage."""

    def __init__(self, view):
        self._view = view
        self._seen: dict[str, dict | None] = {}

    def __getitem__(self, doc_id: str) -> dict:
        if doc_id not in self._seen:
            self._seen[doc_id] = self._view.document(doc_id)
        found = self._seen[doc_id]
        if found is None:
            raise KeyError(doc_id)
        return found

    def __contains__(self, doc_id: object) -> bool:
        if doc_id in self._seen:
            return self._seen[doc_id] is not None
        return isinstance(doc_id, str) and self._view.has_document(doc_id)

    def __iter__(self):  # every indexed document (not needed by an add: here for the Mapping)
        for doc_id in self._view.searcher.lexicon("doc_id"):
            doc_id = doc_id.decode("utf-8") if isinstance(doc_id, bytes) else doc_id
            if doc_id in self:
                yield doc_id

    def __len__(self) -> int:
        return sum(1 for _ in self)


class Sources(Mapping):
    """doc id → source of the indexed documents (what :func:`kb.text.documents.unique_ids` asks)."""

    def __init__(self, indexed: Indexed):
        self._indexed = indexed

    def __getitem__(self, doc_id: str) -> str:
        return self._indexed[doc_id].get("source", "")

    def __iter__(self):
        return iter(self._indexed)

    def __len__(self) -> int:
        return len(self._indexed)


def _current_links(index: IndexStore, view) -> similar.Links:
    """The committed links of the documents indexed, or links worked out from their stored text
    (an index made by an older kb: read whole once; the commit then saves the links)."""
    saved = similar.load_file(view.links_path)
    if saved is not None:  # a generation's links describe its documents; the lexicon guards a stray one
        return similar.within(saved, view.doc_ids().__contains__)
    return similar.rebuilt(similar.text_entry(doc_id, e["text"], e["title"], e["place"], e["year"])
                           for doc_id, e in index.documents().items())


def add(index_dir: Path, docs: Iterable[Document], lock_timeout: float = 60.0,
        on_doc: Callable[[Document], None] | None = None) -> Outcome:
    """Add or replace documents; unchanged ones and exact copies are skipped, near-duplicates
    indexed and linked."""
    index = IndexStore(index_dir, create=True)
    outcome = Outcome()
    with index.reading() as view:
        existing = Indexed(view)
        docs = list(unique_ids(docs, Sources(existing)))
        outcome.sources = {doc.doc_id: doc.source for doc in docs}
        links = _current_links(index, view)

        def unchanged(doc: Document) -> bool:
            return doc.doc_id in existing and existing[doc.doc_id].get("content_hash", "") == doc.content_hash

        decided = similar.sort_out(links, docs, unchanged, on_doc)
    pending = decided.admitted
    replaced = {d.doc_id for d in pending if d.doc_id in existing}
    outcome.unchanged, outcome.copies, outcome.similar = decided.unchanged, decided.copies, decided.linked()
    outcome.similar_to = {doc_id: sorted(decided.links.similar_to(doc_id)) for doc_id in outcome.similar}
    for doc in pending:
        (outcome.replaced if doc.doc_id in replaced else outcome.added).append(doc.doc_id)
    if not pending and decided.links != links:  # entries made for documents indexed without them
        with index.transaction(lock_timeout) as tx:
            _commit_links(tx, decided.links)
    for start in range(0, len(pending), BATCH):
        outcome.passages += _write_batch(index, pending[start:start + BATCH], replaced, decided.links,
                                         lock_timeout)
    index.close()
    return outcome


def remove(index_dir: Path, refs: Iterable[str], lock_timeout: float = 60.0) -> Outcome:
    """Remove documents by doc id, by source file name, or by a path (its file name)."""
    index = IndexStore(index_dir)
    outcome = Outcome()
    with index.transaction(lock_timeout) as tx:
        known = tx.sources()
        for ref in refs:
            for doc_id in match_refs(known, ref):
                tx.delete(doc_id)
                outcome.removed.append(doc_id)
        if outcome.removed:
            tx.catalogue = [m for m in tx.catalogue if m.get("doc_id") not in outcome.removed]
            saved = similar.load_file(tx.saved_links())
            if saved is not None:
                tx.links = similar.to_json(similar.without(saved, outcome.removed))
    index.close()
    return outcome


def rebuild(index_dir: Path | str, docs: list[Document], on_doc: Callable[[Document], None] | None = None,
            lock_timeout: float = 60.0, on_copy: Callable[[str, str], None] | None = None) -> int:
    """`kb index`: a fresh index of ``docs`` swapped in whole; returns the passages written.
    Exact copies are left out (``on_copy(copy, original)`` hears of each), near-duplicates linked —
    the rule `kb add` applies."""
    decided = similar.sort_out(similar.Links(), docs)
    for copy, original in decided.copies:
        if on_copy:
            on_copy(copy, original)
    docs = decided.admitted
    terms: set[str] = set()
    for doc in docs:
        terms |= segment.harvest_terms(doc.text)
    big = sum(len(d.passages) for d in docs) >= PARALLEL_MIN_PASSAGES
    written = []

    def fill(tx: Transaction) -> None:
        tx.add_terms(terms)
        catalogue, models_of = models.build_catalogue(docs)
        tx.catalogue = [m.to_dict() for m in catalogue]
        for doc in docs:
            tx.add(passage_records(doc, models_of))
            if on_doc:
                on_doc(doc)
        tx.links = similar.to_json(decided.links)
        written.append(tx.passages)

    store.rebuild(index_dir, fill, procs=(os.cpu_count() or 1) if big else 1, lock_timeout=lock_timeout)
    return written[0]
