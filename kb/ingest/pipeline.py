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
import shutil
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping

__all__ = ["IndexBusy", "NothingToIndex", "Outcome", "add", "remove", "rebuild"]

from kb.catalogue import models
from kb.text import segment
from kb.index import similar, store
from kb.ingest import build
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


class NothingToIndex(ValueError):
    """``kb index`` was given no document (raised before any index is touched)."""


class _Inline:
    """An executor that runs each task at once, in this process (a small build)."""

    def submit(self, fn, *args) -> Future:
        done: Future = Future()
        done.set_result(fn(*args))
        return done

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


def _pool(workers: int):
    import multiprocessing

    from kb.index.locking import die_with_parent

    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),  # no fork of threads
                               initializer=die_with_parent)


def rebuild(index_dir: Path | str, docs: Iterable[Document], on_doc: Callable[[Document], None] | None = None,
            lock_timeout: float = 60.0, on_copy: Callable[[str, str], None] | None = None,
            require_documents: bool = False) -> int:
    """`kb index`: a fresh index of ``docs`` (any iterable: it is read once, as a stream) swapped
    in whole; returns the passages written. ``on_doc`` hears of each document as it is read.
    Exact copies are left out (``on_copy(copy, original)`` hears of each), near-duplicates linked —
    the rule `kb add` applies. From PARALLEL_MIN_PASSAGES passages on, every core works
    (kb/ingest/build.py); ``require_documents``: raise :class:`NothingToIndex` if ``docs`` is empty."""
    written = []

    def fill(tx: Transaction) -> None:
        written.append(_build(tx, iter(docs), on_doc, on_copy, require_documents))

    store.rebuild(index_dir, fill, procs=1, lock_timeout=lock_timeout, segmenter=False)
    return written[0]


def _build(tx: Transaction, docs: Iterator[Document], on_doc, on_copy, require_documents: bool) -> int:
    spill_dir = tx.store.folder / build.SPILL_DIR
    shutil.rmtree(spill_dir, ignore_errors=True)
    spill_dir.mkdir()
    cpus = os.cpu_count() or 1
    executor = None
    closed: list[Path] = []  # spilled, waiting for the executor to exist
    examined: list[tuple[Path, Future]] = []
    seen = 0
    try:
        batch: list[Document] = []
        batch_passages = 0

        def close() -> None:
            path = spill_dir / f"{len(closed) + len(examined):06d}.pkl"
            build.spill(batch, path)
            closed.append(path)

        def submit() -> None:
            while closed:
                path = closed.pop(0)
                examined.append((path, executor.submit(build.examine, str(path))))

        any_doc = False
        for doc in docs:
            any_doc = True
            if on_doc:
                on_doc(doc)
            batch.append(doc)
            batch_passages += len(doc.passages)
            seen += len(doc.passages)
            if batch_passages >= build.BATCH_PASSAGES:
                close()
                batch, batch_passages = [], 0
            if executor is None and seen >= PARALLEL_MIN_PASSAGES and cpus > 1:
                executor = _pool(cpus)
            if executor is not None:
                submit()
        if not any_doc and require_documents:
            raise NothingToIndex("nothing to index")
        if batch:
            close()
        parallel = executor is not None
        if executor is None:
            executor = _Inline()
        submit()
        return _write(tx, executor, [(path, done.result()) for path, done in examined],
                      cpus if parallel else 1, on_copy)
    finally:
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(spill_dir, ignore_errors=True)


def _write(tx: Transaction, executor, batches: list[tuple[Path, list[build.Examined]]], workers: int,
           on_copy) -> int:
    """After the first pass: the copy rule, terms, catalogue; then the segments, in input order."""
    entries: dict[str, similar.Entry] = {}
    by_key: dict[str, str] = {}
    changed: list[str] = []
    skip: dict[str, set[int]] = {}
    admitted: list[build.Examined] = []
    sizes: list[tuple[str, int, int]] = []
    for path, examined in batches:
        passages = chars = 0
        for i, ex in enumerate(examined):  # similar.sort_out's rule, on entries made by the workers
            twin = similar.admit(entries, by_key, ex.doc_id, ex.entry)
            if twin is not None:
                skip.setdefault(str(path), set()).add(i)
                if on_copy:
                    on_copy(ex.doc_id, twin)
                continue
            changed.append(ex.doc_id)
            admitted.append(ex)
            passages += ex.passages
            chars += ex.chars
        sizes.append((str(path), passages, chars))
    links = similar.relink(similar.Links(entries, {}), changed)
    terms: set[str] = set()
    for ex in admitted:
        terms |= ex.terms
    fresh = list(tx.add_terms(terms, segmenter=False))
    catalogue = [m for ex in admitted for m in ex.models]
    table = build.mention_table(catalogue)
    folder = str(tx.store.folder)
    tasks = [executor.submit(build.write, folder, group, {p: skip[p] for p in group if p in skip}, fresh, table)
             for group in build.plan_segments(sizes, workers)]
    segments, events, count = [], [], 0
    for task in tasks:
        seg, passages, seen = task.result()
        segments.append(seg)
        events.extend(seen)
        count += passages
    build.replay_mentions(catalogue, events)
    tx.catalogue = [m.to_dict() for m in catalogue]
    tx.links = similar.to_json(links)
    tx.add_segments(segments, count)
    return tx.passages
