"""Readers: a :class:`Generation` is one committed state of the index, opened once per process and
shared by all threads; a :class:`View` is what one request reads (a generation and a searcher
lent for the request).

A generation loads its columns, catalogue and terms once; its Whoosh searchers (whose files are
read with seek+read, so one thread at a time) are lent from a small pool. Every request takes the
latest generation; the previous one is closed when its last request ends, so the open files do
not depend on the number of threads or of generations seen.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from whoosh.index import TOC, FileIndex
from whoosh.reading import TermNotFound
from whoosh.searching import Searcher as WhooshSearcher

from kb.index import postings
from kb.index.errors import DAMAGE_ERRORS, damaged
from kb.index.schema import type_weights
from kb.index.segmenter import prepare_segmenter
from kb.index.sidefiles import CATALOGUE, SIMILAR, TERMS, read_catalogue, read_terms, side_file

if TYPE_CHECKING:
    from kb.index.store import IndexStore

SEARCHERS_PER_GENERATION = 4  # Whoosh searchers lent to requests, per generation and process


class Generation:
    """One committed state of the index, shared by all threads of a process."""

    def __init__(self, store: "IndexStore", toc: TOC, inode: int):
        self.store, self.toc, self.inode = store, toc, inode
        self.number: int = toc.generation
        self.schema = toc.schema
        self.segments = list(toc.segments)
        folder = store.folder
        try:
            self.catalogue: list[dict] = read_catalogue(side_file(folder, CATALOGUE, self.number))
            self.terms: list[str] = read_terms(side_file(folder, TERMS, self.number))
            self.links_path: Path | None = side_file(folder, SIMILAR, self.number)  # read by kb.index.similar
        except (OSError, ValueError) as exc:
            raise damaged(folder, f"目录或词表 catalogue/terms: {exc}") from None
        self.cache: dict[str, Any] = {}  # per-generation objects built by upper layers
        self._lock = threading.Condition()
        self._idle: list[WhooshSearcher] = []
        self._lent = 0
        self._refs = 0
        self._retired = False
        self._columns = None
        self.warmed = False  # set once IndexStore has warmed it (columns built, warmers run)
        prepare_segmenter(folder, self.terms, (str(folder), inode, self.number))

    # -- searchers
    def _open_searcher(self) -> WhooshSearcher:
        storage = self.store._storage
        try:
            reader = FileIndex._reader(storage, self.schema, list(self.segments), self.number)
        except FileNotFoundError:
            raise
        except DAMAGE_ERRORS + (OSError,) as exc:
            raise damaged(self.store.folder, f"段 segment: {type(exc).__name__}") from None
        return WhooshSearcher(reader, fromindex=self.store._ix)

    def lend(self, timeout: float = 30.0) -> WhooshSearcher:
        with self._lock:
            deadline = time.monotonic() + timeout
            while not self._idle and self._lent >= SEARCHERS_PER_GENERATION:
                if not self._lock.wait(max(0.0, deadline - time.monotonic())):
                    break
            self._lent += 1
            if self._idle:
                return self._idle.pop()
        try:
            return self._open_searcher()
        except BaseException:
            with self._lock:
                self._lent -= 1
                self._lock.notify()
            raise

    def give_back(self, searcher: WhooshSearcher) -> None:
        with self._lock:
            self._lent -= 1
            if self._retired or len(self._idle) >= SEARCHERS_PER_GENERATION:
                searcher.close()
            else:
                self._idle.append(searcher)
            self._lock.notify()

    @property
    def has_columns(self) -> bool:
        """Are this generation's columns built (a warmed generation's are)?"""
        return self._columns is not None

    def columns(self, reader) -> postings.IndexColumns:
        """The columns of this generation (built once, from any reader of it)."""
        with self._lock:
            if self._columns is None:
                opened = self.store.opened_segments
                try:
                    self._columns = postings.IndexColumns(self.store.folder, reader, type_weights(), opened)
                except FileNotFoundError:
                    raise
                except DAMAGE_ERRORS as exc:
                    raise damaged(self.store.folder, f"列 columns: {type(exc).__name__}") from None
                current = {seg.folder.name for seg, _ in self._columns.segments}
                for name in [n for n in opened if n not in current]:  # merged away: let them go
                    opened.pop(name, None)
            return self._columns

    # -- lifetime
    def _enter(self) -> None:
        with self._lock:
            self._refs += 1

    def _leave(self) -> None:
        with self._lock:
            self._refs -= 1
            done = self._retired and self._refs == 0
        if done:  # the last request of a retired generation: free it off the request's path
            threading.Thread(target=self.close, daemon=True, name="kb-close").start()

    def retire(self) -> None:
        with self._lock:
            self._retired = True
            done = self._refs == 0
        if done:
            self.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
            columns, self._columns = self._columns, None
            derived = list(self.cache.values())
            self.cache.clear()
        for searcher in idle:
            searcher.close()
        if columns is not None:
            derived += list(columns.cache.values())
            columns.cache.clear()
        _release(derived)

    def stats(self) -> dict[str, int]:
        return {"generation": self.number, "segments": len(self.segments),
                "passages": sum(s.doc_count() for s in self.segments)}


def first_live_passage(reader, doc_id: str) -> int | None:
    """The lowest live passage number of ``doc_id`` in a Whoosh reader (a term look-up), or None."""
    try:
        matcher = reader.postings("doc_id", doc_id)
    except TermNotFound:
        return None
    return matcher.id() if matcher.is_active() else None


def _release(objects: list) -> None:
    """Drop a closed generation's derived objects one at a time, letting other threads run between
    them: freeing a score cache of 64 MB in one go holds the interpreter for milliseconds, and
    the requests of the generation after it would wait that long."""
    while objects:
        held = objects.pop()
        drain = getattr(held, "drain", None)
        if drain is not None:
            drain()
        del held
        time.sleep(0)


class View:
    """What one request reads: a generation and a Whoosh searcher lent for the request."""

    def __init__(self, generation: Generation, searcher: WhooshSearcher):
        self.generation, self.searcher = generation, searcher
        self._closed = False

    @property
    def number(self) -> int:
        return self.generation.number

    @property
    def catalogue(self) -> list[dict]:
        return self.generation.catalogue

    @property
    def terms(self) -> list[str]:
        return self.generation.terms

    @property
    def links_path(self) -> Path | None:
        """The generation's similar-document links file (kb/index/similar.py reads it), if any."""
        return self.generation.links_path

    def columns(self) -> postings.IndexColumns:
        return self.generation.columns(self.searcher.reader())

    def document(self, doc_id: str) -> dict | None:
        """The stored fields of ``doc_id``'s first live passage (its document's fields are the same
        on every passage), or None if it is not indexed: one term look-up, not a scan — what
        ``kb add`` asks of the documents it adds."""
        first = self._first_passage(doc_id)
        return None if first is None else self.searcher.reader().stored_fields(first)

    def has_document(self, doc_id: str) -> bool:
        """Does this generation hold a live passage of ``doc_id`` (a term look-up, no stored field read)?"""
        return self._first_passage(doc_id) is not None

    def doc_ids(self) -> set[str]:
        """Every doc id in the index's lexicon: those indexed, and those removed since the last
        merge of their segment (a term list read, no stored field)."""
        return {t.decode("utf-8") if isinstance(t, bytes) else t for t in self.searcher.lexicon("doc_id")}

    def _first_passage(self, doc_id: str) -> int | None:
        return first_live_passage(self.searcher.reader(), doc_id)

    def derived(self, key: str, make: Callable[[], Any]) -> Any:
        """A per-generation object built once (e.g. the catalogue's look-up tables)."""
        cache = self.generation.cache
        if key not in cache:
            cache[key] = make()
        return cache[key]

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.generation.give_back(self.searcher)
            self.generation._leave()
