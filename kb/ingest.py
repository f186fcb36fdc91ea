"""Incremental ingest: `kb add` and `kb remove` on an existing index.

* one writer at a time through Whoosh's lock: a second `kb add` waits up to ``lock_timeout``
  seconds, then says the index is busy;
* each batch is one Whoosh commit, which is atomic: a process killed at any moment leaves the
  index at its last commit, and re-running the command completes the work;
* a content hash per document: an unchanged file is skipped, a changed one replaces its passages;
* near-duplicates (the same article in traditional and simplified script, or with different
  boilerplate) are found by MinHash over character shingles of the normalized text (datasketch)
  and reported; the document already indexed is kept.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

__all__ = ["IndexBusy", "Outcome", "add", "remove", "rebuild"]

from kb import models, segment, store
from kb.documents import Document, match_refs, unique_ids
from kb.index import PARALLEL_MIN_PASSAGES, IndexBusy, passage_records
from kb.store import IndexStore, Transaction

SHINGLE, PERMUTATIONS, DUPLICATE_JACCARD = 5, 64, 0.8
BATCH = 200


@dataclass
class Outcome:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (new doc, kept doc)
    removed: list[str] = field(default_factory=list)
    passages: int = 0


def minhash(text: str):
    from datasketch import MinHash

    compact = "".join(text.split())
    shingles = {compact[i:i + SHINGLE] for i in range(max(1, len(compact) - SHINGLE + 1))}
    signature = MinHash(num_perm=PERMUTATIONS, seed=7)
    signature.update_batch([s.encode("utf-8") for s in shingles])
    return signature


def _catalogue_for(tx: Transaction, fresh: list[models.Model], batch: list[Document],
                   dropped: set[str]) -> dict[str, list[str]]:
    """Models of the new documents join the commit's catalogue; those of replaced/removed ones leave."""
    kept = [models.Model(**m) for m in tx.catalogue if m.get("doc_id") not in dropped]
    by_passage = models.attach_mentions(kept + fresh, batch)
    tx.catalogue = [m.to_dict() for m in kept + fresh]
    return by_passage


def _write_batch(index: IndexStore, batch: list[Document], replaced: set[str], lock_timeout: float) -> int:
    """One commit: the batch's passages, models and harvested terms, visible together or not at all."""
    terms = set().union(*(segment.harvest_terms(d.text) for d in batch))
    segment.add_terms(terms)  # models and passages are cut with the batch's own terms
    fresh = [m for doc in batch for m in models.extract(doc)]
    with index.transaction(lock_timeout) as tx:
        tx.add_terms(terms)
        models_of = _catalogue_for(tx, fresh, batch, {d.doc_id for d in batch if d.doc_id in replaced})
        for doc in batch:
            tx.delete(doc.doc_id)
            tx.add(passage_records(doc, models_of))
    return tx.passages


def add(index_dir: Path, docs: Iterable[Document], lock_timeout: float = 60.0,
        on_doc: Callable[[Document], None] | None = None) -> Outcome:
    """Add or replace documents; unchanged ones and near-duplicates are skipped."""
    from datasketch import MinHashLSH

    index = IndexStore(index_dir, create=True)
    outcome = Outcome()
    existing = index.documents()
    docs = unique_ids(docs, {doc_id: entry["source"] for doc_id, entry in existing.items()})
    lsh = MinHashLSH(threshold=DUPLICATE_JACCARD, num_perm=PERMUTATIONS)
    signatures = {}
    for doc_id, entry in existing.items():
        signatures[doc_id] = minhash(entry["text"])
        lsh.insert(doc_id, signatures[doc_id])
    pending: list[Document] = []
    replaced: set[str] = set()
    for doc in docs:
        old = existing.get(doc.doc_id)
        if old and old["content_hash"] == doc.content_hash:
            outcome.unchanged.append(doc.doc_id)
        else:
            signature = minhash(doc.text)
            twins = [d for d in lsh.query(signature) if d != doc.doc_id
                     and signature.jaccard(signatures[d]) >= DUPLICATE_JACCARD]
            if twins:
                outcome.duplicates.append((doc.doc_id, twins[0]))
            else:
                (outcome.replaced if old else outcome.added).append(doc.doc_id)
                if old:
                    replaced.add(doc.doc_id)
                    lsh.remove(doc.doc_id)
                signatures[doc.doc_id] = signature
                lsh.insert(doc.doc_id, signature)
                pending.append(doc)
        if on_doc:
            on_doc(doc)
    for start in range(0, len(pending), BATCH):
        outcome.passages += _write_batch(index, pending[start:start + BATCH], replaced, lock_timeout)
    index.close()
    return outcome


def remove(index_dir: Path, refs: Iterable[str], lock_timeout: float = 60.0) -> Outcome:
    """Remove documents by doc id, by source file name, or by a path (its file name)."""
    index = IndexStore(index_dir)
    outcome = Outcome()
    with index.transaction(lock_timeout) as tx:
        known = {doc_id: entry["source"] for doc_id, entry in tx.documents().items()}
        for ref in refs:
            for doc_id in match_refs(known, ref):
                tx.delete(doc_id)
                outcome.removed.append(doc_id)
        if outcome.removed:
            tx.catalogue = [m for m in tx.catalogue if m.get("doc_id") not in outcome.removed]
    index.close()
    return outcome


def rebuild(index_dir: Path | str, docs: list[Document], on_doc: Callable[[Document], None] | None = None,
            lock_timeout: float = 60.0) -> int:
    """`kb index`: a fresh index of ``docs`` swapped in whole; returns the passages written."""
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
        written.append(tx.passages)

    store.rebuild(index_dir, fill, procs=(os.cpu_count() or 1) if big else 1, lock_timeout=lock_timeout)
    return written[0]
