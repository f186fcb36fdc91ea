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

import ctypes
import math
from array import array
import errno
import json
import logging
import os
import pickle
import re
import shutil
import signal
import struct
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np
from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC, EmptyIndexError, FileIndex, LockError, clean_files
from whoosh.searching import Searcher as WhooshSearcher

from kb.index import postings
from kb.text import segment
from kb.index.schema import (CACHE_DIR, COMPOUND, IndexBusy, IndexMissing, StoreError, default_index_dir,
                      make_schema, type_weights)

INDEXNAME = "MAIN"
CATALOGUE = "models"
TERMS = "terms"
SIMILAR = "similar"
LEGACY_CATALOGUE, LEGACY_TERMS = "models.json", "terms.txt"
LEGACY = {CATALOGUE: LEGACY_CATALOGUE, TERMS: LEGACY_TERMS, SIMILAR: "similar.json"}
MAX_SEGMENTS = int(os.environ.get("KB_MAX_SEGMENTS") or 16)  # a commit merges the smallest beyond this many
MERGE_FACTOR = 4          # a size tier with this many segments is merged into the commit's segment
TIER_BASE = 4096          # passages: the lowest tier holds segments smaller than this
MOSTLY_DELETED = 0.3      # a segment with this share of deleted passages is merged away
SEARCHERS_PER_GENERATION = 4  # Whoosh searchers lent to requests, per generation and process
COLUMN_GRACE_SECONDS = 600    # columns of merged-away segments stay this long for running readers
CRASH_ENV = "KB_CRASH_AT"
CRASH_POINTS = ("after-catalogue", "mid-merge", "after-commit", "between-renames", "enospc")
_SIDE = re.compile(r"^(models|terms|similar)\.(\d+)\.(json|txt)$")

__all__ = ["IndexStore", "Generation", "View", "Transaction", "StoreError", "IndexBusy",
           "IndexMissing", "IndexDamaged", "IndexReadOnly", "DiskFull", "rebuild", "exists",
           "crash_point", "die_with_parent", "atomic_write", "default_index_dir"]


# ---------------------------------------------------------------- errors (one line each)

class IndexDamaged(StoreError):
    pass


class IndexReadOnly(StoreError):
    pass


class DiskFull(StoreError):
    pass


# what Whoosh raises when it reads a truncated or garbled file
DAMAGE_ERRORS = (EOFError, struct.error, pickle.UnpicklingError, ValueError, TypeError, IndexError,
                 KeyError, AttributeError, AssertionError, OverflowError, MemoryError,
                 whoosh_index.IndexError, whoosh_index.IndexVersionError)


def read_only(folder: Path) -> IndexReadOnly:
    return IndexReadOnly(f"{folder}: 索引目录不可写，请检查权限或换一个目录（--index）/ "
                         f"the index folder is not writable: check its permissions or use --index")


def os_error(folder: Path, exc: OSError) -> StoreError:
    """The one line for an OSError met while writing ``folder``."""
    if exc.errno == errno.ENOSPC:
        return DiskFull(f"{folder}: 磁盘已满，本次写入未生效，已清理；请腾出空间后重试 / "
                        f"disk full: nothing was written, leftovers removed; free some space and retry")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return read_only(folder)
    return StoreError(f"{folder}: {exc.strerror or exc}")


def damaged(folder: Path, what: str) -> IndexDamaged:
    return IndexDamaged(f"{folder}: 索引文件损坏（{what}），请运行 kb check --repair，"
                        f"仍不行则用 kb index 重建 / the index is damaged ({what}): run "
                        f"`kb check --repair`, or rebuild with `kb index`")


# ---------------------------------------------------------------- small process helpers

_crash_counts: dict[str, int] = {}


def crash_point(name: str) -> None:
    """Test-only switch: ``KB_CRASH_AT=name`` kills this process right here (as ``kill -9``
    would), ``KB_CRASH_AT=name:n`` the n-th time it gets here; ``KB_CRASH_AT=enospc`` makes the
    commit fail as on a full disk, after the passages were written."""
    wanted = os.environ.get(CRASH_ENV)
    if not wanted or wanted.partition(":")[0] != name:
        return
    _crash_counts[name] = _crash_counts.get(name, 0) + 1
    if _crash_counts[name] < int(wanted.partition(":")[2] or 1):
        return
    if name == "enospc":
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    os.kill(os.getpid(), signal.SIGKILL)


def die_with_parent() -> None:
    """Ask Linux to kill this (worker) process when its parent dies (PR_SET_PDEATHSIG); a no-op
    elsewhere. A plain libc call, so no package is needed for it."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the parent died before we asked
        os._exit(1)


def _patch_whoosh_workers() -> None:
    """Whoosh's parallel writer forks worker processes; make them die with the writer."""
    from whoosh.multiproc import SubWriterTask

    if getattr(SubWriterTask.run, "_kb_dies_with_parent", False):
        return
    original = SubWriterTask.run

    def run(self):
        die_with_parent()
        return original(self)

    run._kb_dies_with_parent = True
    SubWriterTask.run = run


_patch_whoosh_workers()


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write a file whole or not at all: a temporary file beside it, flushed, renamed over it."""
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def pid_alive(pid: int | None) -> bool:
    """Whether a process with this id runs (on this machine; another user's counts)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def exists(folder: Path | str) -> bool:
    """True if ``folder`` holds a committed index (after recovering an interrupted swap)."""
    folder = Path(folder)
    _recover(folder)
    return _has_toc(folder)


def _has_toc(folder: Path) -> bool:
    try:
        return any(TOC._pattern(INDEXNAME).match(n) for n in os.listdir(folder))
    except OSError:
        return False


def _recover(folder: Path) -> None:
    """Undo what a killed ``kb index`` left: ``X.old`` without ``X`` (killed between the two
    renames of a swap) is put back; ``X.old`` beside a good ``X`` and ``X.building-<pid>-*``
    folders of dead processes are removed. Best effort (a read-only mount is left as it is)."""
    retired = folder.with_name(folder.name + ".old")
    try:
        if retired.is_dir():
            holder = _try_lock(retired)
            if holder is not None:  # no swap in progress
                try:
                    if not _has_toc(folder) and _has_toc(retired):
                        if folder.exists():
                            shutil.rmtree(folder)
                        retired.rename(folder)
                    elif _has_toc(folder):
                        shutil.rmtree(retired, ignore_errors=True)
                finally:
                    holder.release()
        for staging in folder.parent.glob(folder.name + ".building-*"):
            match = re.match(r".*\.building-(\d+)-", staging.name)
            if match and not pid_alive(int(match.group(1))):
                shutil.rmtree(staging, ignore_errors=True)
    except OSError:
        pass


def _try_lock(folder: Path):
    """Whoosh's write lock of ``folder`` if free, else None."""
    try:
        lock = FileStorage(str(folder)).lock(INDEXNAME + "_WRITELOCK")
        return lock if lock.acquire(blocking=False) else None
    except OSError:
        return None


# ---------------------------------------------------------------- segmenter set-up

_segmenter_lock = threading.Lock()
_segmenter_ready: list[bool] = []
_terms_applied: set[tuple] = set()


def _cache_dir(folder: Path) -> Path:
    """jieba's dictionary cache: in the index if it can be written there, else the user's cache."""
    own = folder / CACHE_DIR
    if own.is_dir() and os.access(own, os.W_OK) or not own.exists() and os.access(folder, os.W_OK):
        return own
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    fallback = Path(base) / "kb"
    try:
        fallback.mkdir(parents=True, exist_ok=True)
        return fallback
    except OSError:
        return Path(tempfile.gettempdir()) / "kb-cache"


def warm_segmenter(folder: Path | str) -> None:
    """Load jieba's dictionaries for this process without opening the index — a pre-fork server
    calls it in its master so the workers share those pages instead of loading one copy each."""
    with _segmenter_lock:
        _setup_segmenter(Path(folder))


def _setup_segmenter(folder: Path) -> None:
    if not _segmenter_ready:
        quiet = logging.getLogger("jieba")
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)  # a cache jieba cannot write is only slower, not an error
        try:
            segment.setup(cache_dir=_cache_dir(folder))
        finally:
            quiet.setLevel(level)
        _segmenter_ready.append(True)


def _prepare_segmenter(folder: Path, terms: list[str], key: tuple) -> None:
    """jieba is process-wide: set it up once, then add each generation's harvested terms once."""
    with _segmenter_lock:
        _setup_segmenter(folder)
        if key not in _terms_applied:
            segment.add_terms(terms)
            _terms_applied.add(key)


# ---------------------------------------------------------------- side files

def _side_files(folder: Path) -> dict[str, dict[int, Path]]:
    found: dict[str, dict[int, Path]] = {CATALOGUE: {}, TERMS: {}, SIMILAR: {}}
    try:
        names = os.listdir(folder)
    except OSError:
        return found
    for name in names:
        match = _SIDE.match(name)
        if match:
            found[match.group(1)][int(match.group(2))] = folder / name
    return found


def _side_file(folder: Path, kind: str, generation: int) -> Path | None:
    """The newest side file of ``kind`` numbered ≤ ``generation`` (or the unnumbered legacy one)."""
    numbered = {g: p for g, p in _side_files(folder)[kind].items() if g <= generation}
    if numbered:
        return numbered[max(numbered)]
    legacy = folder / LEGACY[kind]
    return legacy if legacy.exists() else None


def _read_catalogue(path: Path | None) -> list[dict]:
    if path is None:
        return []
    records = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(records, list):
        raise ValueError("catalogue is not a list")
    return records


def _read_terms(path: Path | None) -> list[str]:
    if path is None:
        return []
    return [t for t in path.read_text(encoding="utf-8").split("\n") if t]


# ---------------------------------------------------------------- reading

class Generation:
    """One committed state of the index, shared by all threads of a process."""

    def __init__(self, store: "IndexStore", toc: TOC, inode: int):
        self.store, self.toc, self.inode = store, toc, inode
        self.number: int = toc.generation
        self.schema = toc.schema
        self.segments = list(toc.segments)
        folder = store.folder
        try:
            self.catalogue: list[dict] = _read_catalogue(_side_file(folder, CATALOGUE, self.number))
            self.terms: list[str] = _read_terms(_side_file(folder, TERMS, self.number))
            self.links_path: Path | None = _side_file(folder, SIMILAR, self.number)  # read by kb.index.similar
        except (OSError, ValueError) as exc:
            raise damaged(folder, f"目录或词表 catalogue/terms: {exc}") from None
        self.cache: dict[str, Any] = {}  # per-generation objects built by upper layers
        self._lock = threading.Condition()
        self._idle: list[WhooshSearcher] = []
        self._lent = 0
        self._refs = 0
        self._retired = False
        self._columns = None
        _prepare_segmenter(folder, self.terms, (str(folder), inode, self.number))

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

    def columns(self, reader) -> postings.IndexColumns:
        """The columns of this generation (built once, from any reader of it)."""
        with self._lock:
            if self._columns is None:
                try:
                    self._columns = postings.IndexColumns(self.store.folder, reader, type_weights())
                except FileNotFoundError:
                    raise
                except DAMAGE_ERRORS as exc:
                    raise damaged(self.store.folder, f"列 columns: {type(exc).__name__}") from None
            return self._columns

    # -- lifetime
    def _enter(self) -> None:
        with self._lock:
            self._refs += 1

    def _leave(self) -> None:
        with self._lock:
            self._refs -= 1
            done = self._retired and self._refs == 0
        if done:
            self.close()

    def retire(self) -> None:
        with self._lock:
            self._retired = True
            done = self._refs == 0
        if done:
            self.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
            self._columns = None
            self.cache.clear()
        for searcher in idle:
            searcher.close()

    def stats(self) -> dict[str, int]:
        return {"generation": self.number, "segments": len(self.segments),
                "passages": sum(s.doc_count() for s in self.segments)}


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


def size_tier(passages: int) -> int:
    """0 below TIER_BASE passages, then one tier more for each MERGE_FACTOR-fold."""
    if passages < TIER_BASE:
        return 0
    return 1 + int(math.log(passages / TIER_BASE, MERGE_FACTOR))


def segments_to_merge(new_passages: int, segments: list[tuple[int, int]]) -> set[int]:
    """Which of the existing segments (``(live, all)`` passage counts, by position) the commit's
    new segment of ``new_passages`` takes in: the mostly deleted ones; every segment of a tier at
    or below the new segment's once that makes MERGE_FACTOR segments (again as the merged segment
    grows); then the smallest beyond MAX_SEGMENTS."""
    merge = {i for i, (live, total) in enumerate(segments) if live == 0 or total - live > MOSTLY_DELETED * total}
    size = new_passages + sum(segments[i][0] for i in merge)
    while True:
        low = {i for i, (live, _) in enumerate(segments)
               if i not in merge and size_tier(live) <= size_tier(size)}
        if len(low) + 1 < MERGE_FACTOR:
            break
        merge |= low
        size += sum(segments[i][0] for i in low)
    rest = sorted((i for i in range(len(segments)) if i not in merge), key=lambda i: segments[i][0])
    while len(rest) + 1 > MAX_SEGMENTS:
        merge.add(rest.pop(0))
    return merge


def _hand_out_whole_documents(writer) -> None:
    """Whoosh's multi-process writer hands its buffer to a sub-process only from inside
    add_document, never while a group is open — so with one group a document it would never hand
    it out at all. Hand it out here, between documents, once a batch is full."""
    buffer = getattr(writer, "docbuffer", None)
    if buffer is not None and len(buffer) >= writer.batchsize:
        writer._enqueue()


def merge_policy(writer, segments: list) -> list:
    """Whoosh's merge hook: merge the segments :func:`segments_to_merge` names into the segment
    being written; returns the segments kept."""
    from whoosh.reading import SegmentReader

    chosen = segments_to_merge(getattr(writer, "docnum", 0),
                               [(s.doc_count(), s.doc_count_all()) for s in segments])
    keep = [s for i, s in enumerate(segments) if i not in chosen and s.doc_count() > 0]
    merge = [s for i, s in enumerate(segments) if i in chosen and s.doc_count() > 0]
    for n, seg in enumerate(merge):
        reader = SegmentReader(writer.storage, writer.schema, seg)
        writer.add_reader(reader)
        reader.close()
        if n == 0:
            crash_point("mid-merge")
    return keep


def add_new_fields(writer) -> None:
    """Fields a newer kb stores (a passage's page, ``ocr``) join an older index's schema."""
    current = make_schema()
    for name in current.names():
        if name not in writer.schema:
            writer.add_field(name, current[name])


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

    def documents(self) -> dict[str, dict]:
        """doc_id → {content_hash, source, text} of every indexed document (under the lock)."""
        with self.ix.searcher() as searcher:
            return _documents(searcher)

    def delete(self, doc_id: str) -> None:
        self.writer.delete_by_term("doc_id", doc_id)

    def saved_links(self) -> Path | None:
        """The links file of the generation this commit starts from (kb.index.similar reads it)."""
        return _side_file(self.store.folder, SIMILAR, self.generation - 1)

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

    def add_terms(self, terms: Iterable[str]) -> None:
        """Harvested terms join the index's term list (and jieba, so these texts are cut with them)."""
        fresh = set(terms) - self._terms
        if fresh:
            self._new_terms |= fresh
            self._terms |= fresh
            segment.add_terms(fresh)

    # -- the commit
    def _write_side_files(self) -> None:
        folder, gen = self.store.folder, self.generation
        for kind, paths in _side_files(folder).items():  # left by a writer that never committed
            for number, path in paths.items():
                if number >= gen:
                    path.unlink(missing_ok=True)
        if self.catalogue is not self._catalogue_in or self._catalogue_in and not _side_files(folder)[CATALOGUE]:
            atomic_write(folder / f"{CATALOGUE}.{gen}.json",
                         json.dumps(self.catalogue, ensure_ascii=False, indent=1))
        if self._new_terms or self._terms and not _side_files(folder)[TERMS]:
            atomic_write(folder / f"{TERMS}.{gen}.txt", "\n".join(sorted(self._terms)))
        if self.links is not None:
            atomic_write(folder / f"{SIMILAR}.{gen}.json",
                         json.dumps(self.links, ensure_ascii=False, separators=(",", ":")))

    def _commit(self) -> None:
        crash_point("enospc")
        self._write_side_files()
        crash_point("after-catalogue")
        if self.optimize:
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
        _recover(self.folder)
        if not _has_toc(self.folder):
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
        self._checked = 0.0

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
        """The latest committed generation (opened once per process, shared by all threads)."""
        current = self._current
        try:
            inode = self.folder.stat().st_ino
            latest = self.latest_generation()
        except OSError:
            _recover(self.folder)
            if current is not None:
                return current
            raise IndexMissing(f"{self.folder}: 没有索引 / no index here") from None
        if current is not None and current.number == latest and current.inode == inode:
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
            out["documents"] = int(np.unique(cols.doc_codes[cols.alive]).size) if cols.n_passages else 0
        return out

    def documents(self) -> dict[str, dict]:
        """doc_id → {content_hash, source, text} of every document of the latest generation."""
        with self.reading() as view:
            return _documents(view.searcher)

    def close(self) -> None:
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
    def transaction(self, lock_timeout: float = 60.0, procs: int = 1) -> Iterator[Transaction]:
        """Take the write lock and yield a :class:`Transaction`; commit when the block ends
        without an exception, otherwise leave the index exactly as it was."""
        if not os.access(self.folder, os.W_OK):
            raise self._read_only()
        _prepare_segmenter(self.folder, [], ("setup",))
        writer = self._writer(lock_timeout, procs)
        try:
            add_new_fields(writer)
            self._clean_leftovers(writer.generation - 1, writing=writer)
            gen = writer.generation - 1
            catalogue = _read_catalogue(_side_file(self.folder, CATALOGUE, gen))
            terms = _read_terms(_side_file(self.folder, TERMS, gen))
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
        holder = _try_lock(self.folder)
        if holder is None:
            return
        try:
            for paths in _side_files(self.folder).values():
                for number, path in paths.items():
                    if number >= gen:
                        path.unlink(missing_ok=True)
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
        gen = self.latest_generation()
        for kind, paths in _side_files(self.folder).items():
            live = max((n for n in paths if n <= gen), default=None)
            for number, path in paths.items():
                if live is not None and number < live - 1:
                    path.unlink(missing_ok=True)
            if live is not None:
                legacy = self.folder / LEGACY[kind]
                legacy.unlink(missing_ok=True)

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
        """Verify every segment (postings, stored fields), its columns and the catalogue; with
        ``repair``, rebuild what the index itself can give (columns; catalogue entries of unknown
        documents dropped). Returns one line per problem found (and what was done)."""
        from whoosh.reading import SegmentReader

        problems: list[str] = []
        try:
            toc = self._read_toc(self.latest_generation())
        except StoreError as exc:
            return [str(exc)]
        doc_ids: set[str] = set()
        for seg in toc.segments:
            name = seg.segment_id()
            try:
                reader = SegmentReader(self._storage, toc.schema, seg)
                try:
                    for fieldname in ("text", "title", "doc_id"):
                        for term in reader.lexicon(fieldname):
                            postings._collect(postings._raw_matcher(reader, fieldname, term),
                                              array("i"), array("f"))
                    for n in range(reader.doc_count_all()):
                        if not reader.is_deleted(n):
                            doc_ids.add(reader.stored_fields(n)["doc_id"])
                finally:
                    reader.close()
            except Exception as exc:  # noqa: BLE001 — every failure is a finding
                problems.append(f"段 segment {name}: 无法读取 / unreadable ({type(exc).__name__}) — "
                                f"需用 kb index 重建 / rebuild with `kb index`")
                continue
            folder = self.folder / postings.COLUMNS_DIR / name
            bad = postings.check_segment(folder, seg.doc_count_all())
            if bad:
                problems.append(f"列 columns {name}: {bad}" + ("（已重建 / rebuilt）" if repair else ""))
                if repair:
                    reader = SegmentReader(self._storage, toc.schema, seg)
                    try:
                        shutil.rmtree(folder, ignore_errors=True)
                        postings.write_segment(reader, folder)
                    finally:
                        reader.close()
        try:
            catalogue = _read_catalogue(_side_file(self.folder, CATALOGUE, toc.generation))
        except (OSError, ValueError) as exc:
            problems.append(f"目录 catalogue: 无法读取 / unreadable ({exc})")
            catalogue = None
        if catalogue is not None:
            orphans = [m for m in catalogue if m.get("doc_id") not in doc_ids]
            if orphans:
                problems.append(f"目录 catalogue: {len(orphans)} 个模式属于不存在的文档 / models of "
                                f"unknown documents" + ("（已删除 / dropped）" if repair else ""))
        if repair and (catalogue is None or any(m.get("doc_id") not in doc_ids for m in catalogue)):
            with self.transaction() as tx:
                tx.catalogue = [m for m in (catalogue or []) if m.get("doc_id") in doc_ids]
        return problems


# ---------------------------------------------------------------- a full rebuild

def rebuild(folder: Path | str, fill: Callable[[Transaction], None], procs: int = 1,
            lock_timeout: float = 60.0) -> None:
    """Build a fresh index in a staging folder beside ``folder`` (``fill`` writes it in one
    transaction) and swap it in while holding the live index's lock, so no ``kb add`` runs
    mid-swap. A failure or a kill leaves the old index as it was."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    _recover(folder)
    staging = Path(tempfile.mkdtemp(prefix=f"{folder.name}.building-{os.getpid()}-", dir=folder.parent))
    try:
        old_cache = folder / CACHE_DIR
        if old_cache.is_dir():
            shutil.copytree(old_cache, staging / CACHE_DIR)
        store = IndexStore(staging, create=True)
        with store.transaction(lock_timeout, procs=procs) as tx:
            fill(tx)
        store.close()
        holder = None
        if _has_toc(folder):
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
