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
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

__all__ = ["IndexBusy", "Outcome", "add", "remove"]

from whoosh import index as windex

from kb import models, postings, segment
from kb.documents import Document, match_refs, unique_ids
from kb.index import (TERMS_FILE, IndexBusy, acquire, load_terms, make_schema, passage_records,
                      prepare_segmenter)

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


def open_or_create(index_dir: Path):
    index_dir = Path(index_dir)
    if windex.exists_in(str(index_dir)):
        prepare_segmenter(index_dir)
        return windex.open_dir(str(index_dir))
    index_dir.mkdir(parents=True, exist_ok=True)
    prepare_segmenter(index_dir)
    return windex.create_in(str(index_dir), make_schema())


def indexed_documents(ix) -> dict[str, dict]:
    """doc_id → {content_hash, source, text (first passages)} for every indexed document."""
    docs: dict[str, dict] = {}
    with ix.searcher() as searcher:
        for fields in searcher.all_stored_fields():
            entry = docs.setdefault(fields["doc_id"], {"content_hash": fields.get("content_hash", ""),
                                                       "source": fields.get("source", ""), "parts": []})
            entry["parts"].append((fields.get("order", 0), fields.get("text", "")))
    for entry in docs.values():
        entry["text"] = "\n".join(t for _, t in sorted(entry.pop("parts")))
    return docs


def _write_terms(index_dir: Path, terms: set[str]) -> None:
    """Add harvested terms to terms.txt atomically (a superset is harmless after a crash)."""
    old = set(load_terms(index_dir))
    if terms <= old:
        return
    fd, tmp = tempfile.mkstemp(dir=index_dir, prefix=".terms-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(sorted(old | terms)))
    os.replace(tmp, Path(index_dir) / TERMS_FILE)


def _update_catalogue(index_dir: Path, new_docs: list[Document], dropped: set[str]) -> dict[str, list[str]]:
    """Models of the new documents join the catalogue; those of replaced/removed ones leave."""
    kept = [m for m in models.load(index_dir) if m.doc_id not in dropped]
    fresh = [m for doc in new_docs for m in models.extract(doc)]
    by_passage = models.attach_mentions(kept + fresh, new_docs)
    models.save(index_dir, kept + fresh)
    return by_passage


def add(index_dir: Path, docs: Iterable[Document], lock_timeout: float = 60.0,
        on_doc: Callable[[Document], None] | None = None) -> Outcome:
    """Add or replace documents; unchanged ones and near-duplicates are skipped."""
    from datasketch import MinHashLSH

    index_dir = Path(index_dir)
    ix = open_or_create(index_dir)
    outcome = Outcome()
    existing = indexed_documents(ix)
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
        batch = pending[start:start + BATCH]
        terms = set().union(*(segment.harvest_terms(d.text) for d in batch))
        _write_terms(index_dir, terms)
        segment.add_terms(terms)
        models_of = _update_catalogue(index_dir, batch, {d.doc_id for d in batch if d.doc_id in replaced})
        writer = acquire(ix, lock_timeout)
        try:
            for doc in batch:
                writer.delete_by_term("doc_id", doc.doc_id)
            outcome.passages += _add_batch(writer, batch, models_of)
            writer.commit()
        except BaseException:
            writer.cancel()
            raise
        postings.update(index_dir, ix)
    ix.close()
    return outcome


def _add_batch(writer, docs: list[Document], models_of: dict[str, list[str]]) -> int:
    count = 0
    for doc in docs:
        for record in passage_records(doc, models_of):
            writer.add_document(**record)
            count += 1
    return count


def remove(index_dir: Path, refs: Iterable[str], lock_timeout: float = 60.0) -> Outcome:
    """Remove documents by doc id, by source file name, or by a path (its file name)."""
    index_dir = Path(index_dir)
    if not windex.exists_in(str(index_dir)):
        raise FileNotFoundError(f"{index_dir}: 没有索引 / no index here")
    ix = windex.open_dir(str(index_dir))
    outcome = Outcome()
    writer = acquire(ix, lock_timeout)
    try:
        known = {doc_id: entry["source"] for doc_id, entry in indexed_documents(ix).items()}
        for ref in refs:
            for doc_id in match_refs(known, ref):
                writer.delete_by_term("doc_id", doc_id)
                outcome.removed.append(doc_id)
        writer.commit()
    except BaseException:
        writer.cancel()
        raise
    postings.update(index_dir, ix)
    if outcome.removed:
        kept = [m for m in models.load(index_dir) if m.doc_id not in outcome.removed]
        models.save(index_dir, kept)
    ix.close()
    return outcome
