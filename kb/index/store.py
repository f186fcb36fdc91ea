"""IndexStore — the one owner of an index folder.

Everything that opens, creates, locks, commits, merges, checks or repairs an index goes through
here; the CLI, the ingest and the server never touch Whoosh's files themselves.

The folder::

    _MAIN_<gen>.toc, MAIN_<segment>.*   Whoosh: the table of contents of generation <gen> and its segments
    models.<gen>.json                   the practice-model catalogue as of generation <gen>
    terms.<gen>.txt                     terms harvested from the texts, as of generation <gen>
    similar.<gen>.json                  near-duplicate and version links (kb/index/similar.py), as of <gen>
    columns/<segment>/                  columnar copy of each segment (kb/index/postings.py)
    .cache/                             jieba's dictionary cache

**One commit is one generation.** Whoosh's TOC is the commit point (written to a temporary file
and renamed). The catalogue and the terms of a commit are written *before* it, under the write
lock, named with the generation the commit will have; a reader of generation G takes the newest
side file numbered ≤ G. So a process killed at any moment leaves the old generation with its own
catalogue and terms, or the new one with its own — never a mix — and side files of a generation
that never committed are overwritten by the next writer. Columns belong to segments, which never
change; they are written after the commit and, if a crash came first, by the next open.

**Readers.** A :class:`Generation` is one committed state, opened once per process and shared by
all threads: its columns, catalogue and terms are loaded once, and its Whoosh searchers (whose
files are read with seek+read, so one thread at a time) are lent from a small pool. Every
request takes the latest generation; the previous one is closed when its last request ends, so
the open files do not depend on the number of threads or of generations seen.

**Merges.** Segments sit in size tiers (each :data:`MERGE_FACTOR` times the one below); a commit
merges a tier into its new segment once the tier holds :data:`MERGE_FACTOR` segments, so a small
``kb add`` merges only small segments — a passage is rewritten about once a tier, as in Lucene's
log merge policy — and the count grows with the logarithm of the index. :data:`MAX_SEGMENTS` is
the backstop (the smallest are merged beyond it); mostly deleted segments are merged away;
``kb optimize`` merges all.

**Crashes.** ``KB_CRASH_AT=<point>`` (tests only) makes a writer kill itself at a named point;
see :func:`crash_point`. Worker processes die with their parent (``PR_SET_PDEATHSIG``);
``X.building-<pid>-*`` folders of dead builders are removed and an ``X.old`` left between the two
renames of a swap is put back at the next open.
"""
from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC, EmptyIndexError, FileIndex, LockError, clean_files

from kb.index import checking, postings
from kb.index.errors import (DAMAGE_ERRORS, IndexBusy, IndexMissing, IndexReadOnly, StoreError, damaged,
                             os_error, read_only)
from kb.index.generations import Generation, View, first_live_passage
from kb.index.locking import crash_point, die_with_parent, has_toc, recover, try_lock
from kb.index.merging import merge_policy
from kb.index.schema import CACHE_DIR, COMPOUND, INDEXNAME, make_schema
from kb.index.segmenter import prepare_segmenter
from kb.index.sidefiles import (CATALOGUE, SIMILAR, TERMS, drop_uncommitted, prune_side_files, read_catalogue,
                                read_terms, side_file, side_files, write_catalogue, write_links, write_terms)
from kb.text import segment

COLUMN_GRACE_SECONDS = 600    # columns of merged-away segments stay this long for running readers
WARM_SWITCH_SECONDS = 0.0005  # the interpreter's thread switch interval while a generation is warmed (default 5 ms)
STALE_SECONDS = 1.5           # a watching server reads the generation before a new commit this long at most
                              # while it warms the new one (issue 10: a commit is found within 2 s)


# ---------------------------------------------------------------- writing

def _documents(searcher) -> dict[str, dict]:
    """doc_id → {content_hash, source, title, place, year, text} of every stored document."""
    docs: dict[str, dict] = {}
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


def _sources(searcher) -> dict[str, str]:
    """doc_id → source, reading the first live passage of each doc id in the lexicon."""
    reader = searcher.reader()
    out: dict[str, str] = {}
    for term in reader.lexicon("doc_id"):
        doc_id = term.decode("utf-8") if isinstance(term, bytes) else term
        first = first_live_passage(reader, doc_id)
        if first is not None:
            out[doc_id] = reader.stored_fields(first).get("source", "")
    return out


def _hand_out_whole_documents(writer) -> None:
    """Whoosh's multi-process writer hands its buffer to a sub-process only from inside
    add_document, never while a group is open — so with one group a document it would never hand
    it out at all. Hand it out here, between documents, once a batch is full."""
    buffer = getattr(writer, "docbuffer", None)
    if buffer is not None and len(buffer) >= writer.batchsize:
        writer._enqueue()


def add_new_fields(writer) -> None:
    """Fields a newer kb stores (a passage's page, ``ocr``) join an older index's schema."""
    current = make_schema()
    for name in current.names():
        if name not in writer.schema:
            writer.add_field(name, current[name])


def _commit_with(writer, segments: list) -> None:
    """``SegmentWriter.commit(merge=False)`` with ``segments`` (written by other processes) after
    the index's own segments and the writer's."""
    final = writer._merge_segments(None, None, False)
    if writer._added:
        final.append(writer._finalize_segment())
    else:
        writer._close_segment()
    writer._commit_toc(final + list(segments))
    writer._finish()


class Transaction:
    """One commit: passages deleted and added, the catalogue and the terms replaced — all visible
    together at the commit or not at all."""

    def __init__(self, store: "IndexStore", ix: FileIndex, writer, catalogue: list[dict], terms: list[str]):
        self.store, self.ix, self.writer = store, ix, writer
        self.generation: int = writer.generation
        self.catalogue: list[dict] = catalogue  # assign a new list to change it
        self._terms = set(terms)
        self._new_terms: set[str] = set()
        self._catalogue_in = catalogue
        self.links: dict | None = None  # the similar-document links to commit (kb.index.similar.to_json)
        self.passages = 0
        self.optimize = False
        self._segments: list = []

    def sources(self) -> dict[str, str]:
        """doc_id → source of every indexed document (under the lock): one stored record read per
        document, from the doc id term list — not every passage."""
        with self.ix.searcher() as searcher:
            return _sources(searcher)

    def delete(self, doc_id: str) -> None:
        self.writer.delete_by_term("doc_id", doc_id)

    def saved_links(self) -> Path | None:
        """The links file of the generation this commit starts from (kb.index.similar reads it)."""
        return side_file(self.store.folder, SIMILAR, self.generation - 1)

    def add(self, records: Iterable[dict]) -> int:
        """Add one document's passage records (see kb.index.schema.passage_records); returns how many.
        They form one Whoosh group: a parallel build keeps them in one segment."""
        count = 0
        with self.writer.group():
            for record in records:
                self.writer.add_document(**record)
                count += 1
        _hand_out_whole_documents(self.writer)
        self.passages += count
        return count

    def add_terms(self, terms: Iterable[str], segmenter: bool = True) -> set[str]:
        """Harvested terms join the index's term list (and this process's jieba, so these texts
        are cut with them; ``segmenter=False``: the caller's workers cut them). Returns the new ones."""
        fresh = set(terms) - self._terms
        if fresh:
            self._new_terms |= fresh
            self._terms |= fresh
            if segmenter:
                segment.add_terms(fresh)
        return fresh

    def add_segments(self, segments: list, passages: int) -> None:
        """Whoosh segments written beside this transaction (kb/ingest/build.py) join the commit,
        after the index's own, in the order given; nothing is merged."""
        self._segments.extend(segments)
        self.passages += passages

    # -- the commit
    def _write_side_files(self) -> None:
        folder, gen = self.store.folder, self.generation
        drop_uncommitted(folder, gen)  # left by a writer that never committed
        existing = side_files(folder)
        if self.catalogue is not self._catalogue_in or self._catalogue_in and not existing[CATALOGUE]:
            write_catalogue(folder, gen, self.catalogue)
        if self._new_terms or self._terms and not existing[TERMS]:
            write_terms(folder, gen, self._terms)
        if self.links is not None:
            write_links(folder, gen, self.links)

    def _commit(self) -> None:
        crash_point("enospc")
        self._write_side_files()
        crash_point("after-catalogue")
        if self._segments:
            _commit_with(self.writer, self._segments)
        elif self.optimize:
            self.writer.commit(optimize=True)
        elif getattr(self.writer, "_added_sub", False):
            self.writer.commit(merge=False)  # a parallel build of a fresh index
        else:
            self.writer.commit(mergetype=merge_policy)
        crash_point("after-commit")
        self.store._after_commit(self.ix)


class IndexStore:
    """The one owner of an index folder (see the module docstring)."""

    def __init__(self, folder: Path | str, create: bool = False):
        self.folder = Path(folder)
        recover(self.folder)
        if not has_toc(self.folder):
            if not create:
                raise IndexMissing(f"{self.folder}: 没有索引，请先运行 kb index / no index here, "
                                   f"run `kb index` first")
            self._create()
        self._storage = FileStorage(str(self.folder))
        try:
            self._ix = FileIndex(self._storage, indexname=INDEXNAME)
        except DAMAGE_ERRORS + (EmptyIndexError,) as exc:
            raise damaged(self.folder, f"目录表 table of contents: {type(exc).__name__}") from None
        self._lock = threading.Lock()
        self._current: Generation | None = None
        self.warmers: list[Callable[[View], None]] = []  # upper layers' warm-up of a new generation
        self.opened_segments: dict[str, postings.SegmentColumns] = {}  # shared by this process's generations
        self._watch_stop = threading.Event()
        self._watching = False  # set by watch(): requests read the latest warmed generation
        self._refresh_lock = threading.Lock()
        self._pending: dict[tuple[int, int], float] = {}  # (generation, inode) → when a request first saw it

    def _create(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            FileStorage(str(self.folder)).create_index(make_schema(), indexname=INDEXNAME)
        except PermissionError:
            raise self._read_only() from None
        except OSError as exc:
            raise self._os_error(exc) from None

    def _read_only(self) -> IndexReadOnly:
        return read_only(self.folder)

    def _os_error(self, exc: OSError) -> StoreError:
        return os_error(self.folder, exc)

    # ------------------------------------------------------------ generations

    def latest_generation(self) -> int:
        return TOC._latest_generation(self._storage, INDEXNAME)

    def generation(self) -> Generation:
        """The generation requests read (opened once per process, shared by all threads).

        A process that only reads, or writes, reads the latest commit. A serving process (one that
        runs :meth:`watch`) reads the latest *warmed* commit: its watcher opens and warms each new
        one — columns, links, catalogue, the big posting lists — and then swaps it in, so no
        request pays for opening it; meanwhile requests read the generation before, for at most
        :data:`STALE_SECONDS` (after that a request opens the new one itself). A new commit whose
        table of contents cannot be read is reported at once, as in a reading process."""
        current = self._current
        try:
            inode = self.folder.stat().st_ino
            latest = self.latest_generation()
        except OSError:
            recover(self.folder)
            if current is not None:
                return current
            raise IndexMissing(f"{self.folder}: 没有索引 / no index here") from None
        if current is not None and current.number == latest and current.inode == inode:
            return current
        if self._watching and current is not None and self._warming_meanwhile(latest, inode):
            return current
        with self._lock:
            current = self._current
            if current is not None and current.number == latest and current.inode == inode:
                return current
            fresh = Generation(self, self._read_toc(latest), inode)
            self._current = fresh
        if current is not None:
            current.retire()
        return fresh

    def _warming_meanwhile(self, latest: int, inode: int) -> bool:
        """Is the watcher still within its time to warm commit ``latest`` (its table of contents
        read once here, so a damaged one is reported to the request at once)?"""
        key = (latest, inode)
        seen = self._pending.get(key)
        if seen is None:
            self._read_toc(latest)
            seen = self._pending.setdefault(key, time.monotonic())
        return time.monotonic() - seen < STALE_SECONDS

    @property
    def current(self) -> Generation | None:
        """The generation this process opened last (None before the first); nothing is opened."""
        return self._current

    def refresh(self) -> Generation:
        """Open and warm the latest committed generation now, in this thread, then make it the
        one requests read (the server's watcher, and a writer in a serving process before it
        reports its commit done)."""
        with self._refresh_lock:
            current = self._current
            inode = self.folder.stat().st_ino
            latest = self.latest_generation()
            if current is not None and current.number == latest and current.inode == inode:
                if not current.warmed:  # a request opened it first (it waited too long for us)
                    self._warm(current)
                return current
            fresh = Generation(self, self._read_toc(latest), inode)
            try:
                self._warm(fresh)
            except BaseException:
                fresh.close()
                raise
            with self._lock:
                before, self._current = self._current, fresh
            self._pending = {k: v for k, v in self._pending.items() if k[0] > latest}
            if before is not None and before is not fresh:
                before.retire()
            return fresh

    def watch(self, every: float = 0.2) -> threading.Thread:
        """Look for new commits every ``every`` seconds in a daemon thread and open, warm and swap
        in each as it lands (:meth:`refresh`), so a serving process answers a commit another
        process made at the speed of the one before."""
        self._watching = True

        def loop() -> None:
            while not self._watch_stop.wait(every):
                try:
                    self.refresh()
                except Exception:  # noqa: BLE001 — a request meets the same error and reports it
                    pass

        thread = threading.Thread(target=loop, daemon=True, name="kb-watch")
        thread.start()
        return thread

    def _warm(self, gen: Generation) -> None:
        """Build a generation's columns and run the warmers on it (requests may read it meanwhile)."""
        gen._enter()
        try:
            view = View(gen, gen.lend())
        except BaseException:
            gen._leave()
            raise
        interval = sys.getswitchinterval()
        sys.setswitchinterval(WARM_SWITCH_SECONDS)  # requests meanwhile wait less for the interpreter
        try:
            view.columns()
            for warmer in self.warmers:
                warmer(view)
            gen.warmed = True
        finally:
            sys.setswitchinterval(interval)
            view.close()

    def _read_toc(self, gen: int) -> TOC:
        if gen < 0:
            raise IndexMissing(f"{self.folder}: 没有索引，请先运行 kb index / no index here, run `kb index` first")
        try:
            return TOC.read(self._storage, INDEXNAME, gen)
        except FileNotFoundError:
            raise
        except (EmptyIndexError,) as exc:
            raise IndexMissing(f"{self.folder}: 没有索引 / no index here ({exc})") from None
        except DAMAGE_ERRORS + (OSError,) as exc:
            raise damaged(self.folder, f"_MAIN_{gen}.toc: {type(exc).__name__}") from None

    def check_toc(self) -> None:
        """Raise a one-line StoreError if the latest table of contents cannot be read."""
        self._read_toc(self.latest_generation())

    def open_view(self) -> View:
        """The latest generation and a searcher of it; close() the view when the request ends."""
        for attempt in range(5):
            gen = self.generation()
            gen._enter()
            try:
                return View(gen, gen.lend())
            except FileNotFoundError:  # a commit cleaned its files away meanwhile: take the newer one
                gen._leave()
                if self._watching:
                    try:
                        self.refresh()
                    except Exception:  # noqa: BLE001 — the next attempt reports what is wrong
                        pass
                time.sleep(0.05 * (attempt + 1))
            except BaseException:
                gen._leave()
                raise
        raise damaged(self.folder, "段文件缺失 missing segment files")

    @contextmanager
    def reading(self) -> Iterator[View]:
        view = self.open_view()
        try:
            yield view
        finally:
            view.close()

    def stats(self) -> dict[str, int]:
        """generation, documents, passages, segments of the latest generation."""
        with self.reading() as view:
            out = view.generation.stats()
            cols = view.columns()
            out["documents"] = int(cols.doc_live.sum())
        return out

    def documents(self) -> dict[str, dict]:
        """doc_id → {content_hash, source, text} of every document of the latest generation."""
        with self.reading() as view:
            return _documents(view.searcher)

    def close(self) -> None:
        self._watch_stop.set()
        current, self._current = self._current, None
        if current is not None:
            current.retire()

    # ------------------------------------------------------------ writing

    def _writer(self, timeout: float, procs: int = 1):
        deadline = time.monotonic() + timeout
        options = {"limitmb": 128, "compound": COMPOUND}
        if procs > 1:
            options.update(procs=procs, multisegment=True)
        while True:
            try:
                return self._ix.writer(**options)
            except LockError:
                if time.monotonic() >= deadline:
                    raise IndexBusy("索引正忙：另一个写入（kb add/remove/index）尚未结束，请稍后再试 / "
                                    "the index is busy with another writer, try again later") from None
                time.sleep(0.2)
            except PermissionError:
                raise self._read_only() from None
            except OSError as exc:
                raise self._os_error(exc) from None

    @contextmanager
    def transaction(self, lock_timeout: float = 60.0, procs: int = 1, segmenter: bool = True) -> Iterator[Transaction]:
        """Take the write lock and yield a :class:`Transaction`; commit when the block ends
        without an exception, otherwise leave the index exactly as it was. ``segmenter=False``:
        this process cuts no text (a rebuild's workers do), so jieba is not loaded here."""
        if not os.access(self.folder, os.W_OK):
            raise self._read_only()
        if segmenter:
            prepare_segmenter(self.folder, [], ("setup",))
        writer = self._writer(lock_timeout, procs)
        try:
            add_new_fields(writer)
            self._clean_leftovers(writer.generation - 1, writing=writer)
            gen = writer.generation - 1
            catalogue = read_catalogue(side_file(self.folder, CATALOGUE, gen))
            terms = read_terms(side_file(self.folder, TERMS, gen))
            tx = Transaction(self, self._ix, writer, catalogue, terms)
            yield tx
            tx._commit()
        except BaseException as exc:
            self._abort(writer)
            if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError):
                raise self._os_error(exc) from None
            raise

    def _abort(self, writer) -> None:
        """Cancel a writer and remove whatever it wrote (still under the lock)."""
        gen = writer.generation
        try:
            writer.cancel()
        except Exception:  # noqa: BLE001 — a failed cancel must not hide the first error
            lock = getattr(writer, "writelock", None)
            try:
                if lock is not None:
                    lock.release()
            except Exception:  # noqa: BLE001
                pass
        holder = try_lock(self.folder)
        if holder is None:
            return
        try:
            drop_uncommitted(self.folder, gen)
            self._clean_leftovers(gen - 1)
        finally:
            holder.release()

    def _clean_leftovers(self, gen: int, writing=None) -> None:
        """Files of writers that never committed: partial segments, temporary TOCs and folders
        (``writing``: a writer of ours is open; its own segment and temporary folder stay)."""
        if gen >= 0:
            own = [writing.newsegment] if writing is not None and getattr(writing, "newsegment", None) else []
            try:
                clean_files(self._storage, INDEXNAME, gen, list(self._read_toc(gen).segments) + own)
            except (StoreError, FileNotFoundError):
                pass
        for name in os.listdir(self.folder):
            path = self.folder / name
            if writing is not None and name == f"{INDEXNAME}.tmp":
                continue
            if name.endswith(".tmp") and path.is_dir() or re.match(r"_MAIN_\d+\.toc\.", name):
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
            elif name.startswith((f".{CATALOGUE}.", f".{TERMS}.", f".{SIMILAR}.", ".models-", ".terms-",
                                  ".similar-")):
                path.unlink(missing_ok=True)
        for partial in (self.folder / CACHE_DIR).glob("tmp*"):  # jieba's cache, half written
            partial.unlink(missing_ok=True)

    def _after_commit(self, ix: FileIndex) -> None:
        """Columns for the new segments; side files no reader can need any more."""
        self.write_columns()
        prune_side_files(self.folder, self.latest_generation())

    def write_columns(self) -> None:
        """Give every segment of the latest generation its columns (parallel for big ones);
        columns of merged-away segments go after a grace period (running readers may use them)."""
        postings.update(self.folder, self._ix, grace=COLUMN_GRACE_SECONDS, initializer=die_with_parent)

    def optimize(self, lock_timeout: float = 60.0) -> dict[str, int]:
        """Merge every segment into one."""
        with self.transaction(lock_timeout) as tx:
            tx.optimize = True
        return self.generation().stats()

    # ------------------------------------------------------------ checking

    def check(self, repair: bool = False) -> list[str]:
        """Verify every segment, its columns and the catalogue (kb.index.checking)."""
        return checking.check(self, repair)

# ---------------------------------------------------------------- a full rebuild

def rebuild(folder: Path | str, fill: Callable[[Transaction], None], procs: int = 1,
            lock_timeout: float = 60.0, segmenter: bool = True) -> None:
    """Build a fresh index in a staging folder beside ``folder`` (``fill`` writes it in one
    transaction) and swap it in while holding the live index's lock, so no ``kb add`` runs
    mid-swap. A failure or a kill leaves the old index as it was."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    recover(folder)
    staging = Path(tempfile.mkdtemp(prefix=f"{folder.name}.building-{os.getpid()}-", dir=folder.parent))
    try:
        old_cache = folder / CACHE_DIR
        if old_cache.is_dir():
            shutil.copytree(old_cache, staging / CACHE_DIR)
        store = IndexStore(staging, create=True)
        with store.transaction(lock_timeout, procs=procs, segmenter=segmenter) as tx:
            fill(tx)
        store.close()
        holder = None
        if has_toc(folder):
            holder = IndexStore(folder)._writer(lock_timeout)
        try:
            _swap_in(staging, folder)
        finally:
            if holder is not None:
                try:
                    holder.cancel()
                except OSError:  # its folder was retired by the swap; the lock goes with it
                    pass
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError):
            raise os_error(folder, exc) from None
        raise


def _swap_in(staging: Path, folder: Path) -> None:
    retired = None
    if folder.exists():
        retired = folder.with_name(folder.name + ".old")
        shutil.rmtree(retired, ignore_errors=True)
        folder.rename(retired)
    crash_point("between-renames")
    staging.rename(folder)
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)
