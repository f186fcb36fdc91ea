"""Incremental ingest: `kb add` and `kb remove` on an existing index.

* one writer at a time through Whoosh's lock: a second `kb add` waits up to ``lock_timeout``
  seconds, then says the index is busy;
* each batch is one Whoosh commit, which is atomic: a process killed at any moment leaves the
  index at its last commit, and re-running the command completes the work;
* a content hash per document: an unchanged file is skipped, a changed one replaces its passages;
* an exact copy (the same text after normalization, whitespace aside) of an indexed document is
  skipped and reported; near-duplicates and versions are indexed and linked (kb/similar.py, the
  rule `kb index` applies too); the links are saved under the writer lock before the last commit.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

__all__ = ["IndexBusy", "Outcome", "add", "remove"]

from whoosh import index as windex

from kb import models, postings, segment, similar
from kb.documents import Document
from kb.index import (TERMS_FILE, IndexBusy, acquire, load_terms, make_schema, passage_records,
                      prepare_segmenter)

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


def open_or_create(index_dir: Path):
    index_dir = Path(index_dir)
    if windex.exists_in(str(index_dir)):
        prepare_segmenter(index_dir)
        return windex.open_dir(str(index_dir))
    index_dir.mkdir(parents=True, exist_ok=True)
    prepare_segmenter(index_dir)
    return windex.create_in(str(index_dir), make_schema())


def indexed_documents(ix) -> dict[str, dict]:
    """doc_id → {content_hash, source, title, place, year, text (passages)} for every indexed document."""
    docs: dict[str, dict] = {}
    with ix.searcher() as searcher:
        for fields in searcher.all_stored_fields():
            entry = docs.setdefault(fields["doc_id"], {"content_hash": fields.get("content_hash", ""),
                                                       "source": fields.get("source", ""),
                                                       "title": fields.get("title", ""),
                                                       "place": fields.get("place", ""),
                                                       "year": fields.get("year"), "parts": []})
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
    """Add or replace documents; unchanged ones and exact copies are skipped, near-duplicates
    indexed and linked."""
    index_dir = Path(index_dir)
    ix = open_or_create(index_dir)
    outcome = Outcome()
    existing = indexed_documents(ix)
    links = _current_links(index_dir, existing)

    def unchanged(doc: Document) -> bool:
        return doc.doc_id in existing and existing[doc.doc_id]["content_hash"] == doc.content_hash

    decided = similar.sort_out(links, docs, unchanged, on_doc)
    pending = decided.admitted
    replaced = {d.doc_id for d in pending if d.doc_id in existing}
    outcome.unchanged, outcome.copies, outcome.similar = decided.unchanged, decided.copies, decided.linked()
    for doc in pending:
        (outcome.replaced if doc.doc_id in replaced else outcome.added).append(doc.doc_id)
    if not pending and decided.links != links:  # entries made for documents indexed without them
        _save_links(ix, index_dir, decided.links, lock_timeout)
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
            if start + BATCH >= len(pending):
                _write_links(index_dir, similar.merged(decided.links, _saved_links(index_dir)))
            writer.commit()
        except BaseException:
            writer.cancel()
            raise
        postings.update(index_dir, ix)
    ix.close()
    return outcome


def _current_links(index_dir: Path, existing: dict[str, dict]) -> similar.Links:
    """The saved links of the documents indexed, or links worked out from their stored text."""
    saved = _saved_links(index_dir)
    if saved is not None:
        return similar.within(saved, existing.__contains__)
    return similar.rebuilt(similar.text_entry(doc_id, e["text"], e["title"], e["place"], e["year"])
                           for doc_id, e in existing.items())


def _save_links(ix, index_dir: Path, links: similar.Links, lock_timeout: float) -> None:
    writer = acquire(ix, lock_timeout)  # the lock, so a concurrent writer's links are not lost
    try:
        _write_links(index_dir, similar.merged(links, _saved_links(index_dir)))
    finally:
        writer.cancel()


def _saved_links(index_dir: Path) -> similar.Links | None:
    """similar.json of the index (the one place ingest reads it)."""
    return similar.load(index_dir)


def _write_links(index_dir: Path, links: similar.Links) -> None:
    """similar.json of the index, written atomically; callers hold the writer lock and commit
    right after (the one place ingest writes it)."""
    similar.save(index_dir, links)


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
        known = indexed_documents(ix)
        for ref in refs:
            name = Path(ref).name
            stem = Path(ref).stem
            matches = [d for d, e in known.items()
                       if d in (ref, stem) or e["source"] in (ref, name) or d.startswith(f"{stem}-")]
            for doc_id in matches:
                writer.delete_by_term("doc_id", doc_id)
                outcome.removed.append(doc_id)
        saved = _saved_links(index_dir)
        if saved is not None and outcome.removed:
            _write_links(index_dir, similar.without(saved, outcome.removed))
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
