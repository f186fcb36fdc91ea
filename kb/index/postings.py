"""Stage 4b — columns: a columnar copy of each Whoosh segment, for scoring with numpy.

Whoosh stays the index: it holds the lexicon, positions, stored fields and deletions, and every
write goes through it. Its pure-Python matchers, though, walk posting lists one posting at a time,
which costs seconds per query at 100k+ passages. So, as bm25s does, each segment also gets its
postings as flat arrays, written once when the segment appears (segments never change after they
are written; deletions are read from Whoosh at query time):

    columns/<segment id>/<field>.terms.npy    sorted UTF-8 terms (fixed-width bytes)
    columns/<segment id>/<field>.offsets.npy  int64, term i owns postings offsets[i]:offsets[i+1]
    columns/<segment id>/<field>.docs.npy     int32 segment-local document numbers
    columns/<segment id>/<field>.weights.npy  float16 Whoosh weights (term frequency × field boost)
    columns/<segment id>/<field>.lengths.npy  float32 field length per document (scored fields), as
                                              Whoosh stores it (one byte: BM25's length norm uses it)
    columns/<segment id>/<field>.tokens.npy   int32 exact token count per document (scored fields):
                                              the live average length is summed from these
    columns/<segment id>/<facet>.codes.npy    int32 value number per document (-1: none)
    columns/<segment id>/<field>.compact.bin  stored text, compacted (see compact()), UTF-8,
    columns/<segment id>/<field>.compact.npy  and its int64 offsets (phrases are checked in it)
    columns/<segment id>/<facet>.values.json  the values the codes number

Term lists and offsets are memory-mapped (a look-up touches a few pages); postings and text are
read in slices with pread, so their pages stay in the OS cache rather than in a server's memory.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import re
import shutil
import tempfile
import time
from array import array
from bisect import bisect_right
from concurrent.futures import ProcessPoolExecutor
from itertools import accumulate
from pathlib import Path

import numpy as np

from kb.text.normalize import fold_variants

COLUMNS_DIR = "columns"
SCORED_FIELDS = ("text", "title", "unit", "place")
DOC_FIELDS = ("title", "unit", "place")  # the same on every passage of a document
LISTED_FIELDS = SCORED_FIELDS + ("models", "doc_id")   # fields whose postings are copied
FACET_FIELDS = ("province", "city", "district", "level", "year", "type")
NO_YEAR = 2**31 - 1  # Whoosh's sortable-column value for a passage without a year
VERSION = "5"  # 4: compact text folds variants (著眼 → 着眼); 5: exact token counts (live statistics)
PARALLEL_MIN_DOCS = 20_000  # segments at least this big get their columns written in parallel
_NOT_WORD = re.compile(r"[^\w+]+")


# ---------------------------------------------------------------- writing

def _raw_matcher(reader, fieldname: str, term: bytes):
    """The postings of one term, deletions included (they are masked at query time)."""
    terms = getattr(reader, "_terms", None)
    if terms is not None:
        return terms.matcher(fieldname, term, reader.schema[fieldname].format)
    return reader.postings(fieldname, term)


def _collect(matcher, docs: array, weights: array) -> None:
    """Append a matcher's postings, a block at a time where the codec allows it."""
    blockwise = all(hasattr(matcher, a) for a in ("_read_ids", "_read_weights", "_next_block"))
    while matcher.is_active():
        if blockwise and matcher._i == 0:
            matcher._read_ids()
            matcher._read_weights()
            docs.extend(matcher._ids)
            weights.extend(matcher._weights)
            matcher._next_block()
        else:
            docs.append(matcher.id())
            weights.append(matcher.weight())
            matcher.next()


def _read_field(reader, fieldname: str) -> tuple[list[bytes], np.ndarray, np.ndarray, np.ndarray]:
    """(sorted terms, offsets, documents, weights) of a field, read from the segment's postings."""
    terms: list[bytes] = []
    offsets = array("q", [0])
    docs, weights = array("i"), array("f")
    for term in reader.lexicon(fieldname):
        _collect(_raw_matcher(reader, fieldname, term), docs, weights)
        terms.append(term)
        offsets.append(len(docs))
    return (terms, np.frombuffer(offsets, dtype=np.int64), np.frombuffer(docs, dtype=np.int32),
            np.frombuffer(weights, dtype=np.float32))


def _write_field(reader, fieldname: str, folder: Path, n_passages: int, given: tuple | None = None) -> None:
    """``given``: the field's (terms, offsets, documents, weights) as the segment's writer had them
    (kb/index/bulk.py), instead of reading them back."""
    terms, offsets, docs, weights = given if given is not None else _read_field(reader, fieldname)
    width = max((len(t) for t in terms), default=1)
    np.save(folder / f"{fieldname}.terms.npy", np.array(terms, dtype=f"S{width}"))
    np.save(folder / f"{fieldname}.offsets.npy", np.asarray(offsets, dtype=np.int64))
    np.save(folder / f"{fieldname}.docs.npy", np.asarray(docs, dtype=np.int32))
    np.save(folder / f"{fieldname}.weights.npy", np.asarray(weights, dtype=np.float32).astype(np.float16))
    if fieldname in SCORED_FIELDS:
        lengths = np.array([reader.doc_field_length(n, fieldname) or 0 for n in range(n_passages)],
                           dtype=np.float32)
        np.save(folder / f"{fieldname}.lengths.npy", lengths)
        np.save(folder / f"{fieldname}.tokens.npy", _token_counts(reader, fieldname, docs, weights, n_passages))


def _token_counts(reader, fieldname: str, docs, weights, n_passages: int) -> np.ndarray:
    """Exact tokens per document: its weights summed (a weight is frequency × field boost).
    Whoosh's own per-document length is rounded to a byte; its segment total is exact but a
    merge re-adds the rounded lengths, so the live average is summed from these instead."""
    boost = float(getattr(reader.schema[fieldname].format, "field_boost", 1.0) or 1.0)
    summed = np.bincount(np.asarray(docs, dtype=np.int32), np.asarray(weights, dtype=np.float32),
                         minlength=n_passages)
    return np.rint(summed / boost).astype(np.int32)


def _write_facet(reader, fieldname: str, folder: Path, n_passages: int) -> None:
    values: dict = {}
    codes = np.full(n_passages, -1, dtype=np.int32)
    if reader.has_column(fieldname):
        column = reader.column_reader(fieldname)
        for n in range(n_passages):
            value = column[n]
            if value in (None, "", b"", NO_YEAR):
                continue
            if isinstance(value, bytes):
                value = value.decode("utf-8")
            codes[n] = values.setdefault(value, len(values))
    np.save(folder / f"{fieldname}.codes.npy", codes)
    (folder / f"{fieldname}.values.json").write_text(json.dumps(list(values), ensure_ascii=False),
                                                     encoding="utf-8")


def compact(text: str) -> str:
    """Lower-cased, variants folded like the index terms (著眼 → 着眼), only letters, digits and
    ``+`` kept: the form phrases are checked in (like positions in the index, punctuation and
    spaces between words do not count)."""
    return _NOT_WORD.sub("", fold_variants((text or "").lower()))


def _write_compact(reader, folder: Path, n_passages: int) -> None:
    blobs = {name: bytearray() for name in SCORED_FIELDS}
    offsets = {name: array("q", [0]) for name in SCORED_FIELDS}
    for n in range(n_passages):
        stored = reader.stored_fields(n)
        for name in SCORED_FIELDS:
            blobs[name] += compact(stored.get(name, "")).encode("utf-8")
            offsets[name].append(len(blobs[name]))
    for name in SCORED_FIELDS:
        (folder / f"{name}.compact.bin").write_bytes(bytes(blobs[name]))
        np.save(folder / f"{name}.compact.npy", np.frombuffer(offsets[name], dtype=np.int64))


def write_segment(reader, folder: Path, listed: dict[str, tuple] | None = None) -> None:
    """Write the columns of one segment reader into ``folder`` (atomically: a temporary folder
    renamed into place; a concurrent writer of the same segment simply loses the race).
    ``listed``: field → (terms, offsets, documents, weights) from the segment's writer
    (kb/index/bulk.py: the postings it has just written; other fields are read back)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".tmp-", dir=folder.parent))
    try:
        n_passages = reader.doc_count_all()
        for fieldname in LISTED_FIELDS:
            if fieldname in reader.schema:
                _write_field(reader, fieldname, tmp, n_passages, (listed or {}).get(fieldname))
        for fieldname in FACET_FIELDS:
            if fieldname in reader.schema:
                _write_facet(reader, fieldname, tmp, n_passages)
        _write_compact(reader, tmp, n_passages)
        (tmp / "VERSION").write_text(VERSION)
        try:
            tmp.rename(folder)
        except OSError:
            if not (folder / "VERSION").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def segment_folder(index_dir: Path, reader) -> Path:
    return Path(index_dir) / COLUMNS_DIR / reader.segment().segment_id()


def _version(folder: Path) -> str:
    try:
        return (folder / "VERSION").read_text()
    except OSError:
        return ""


def _current(folder: Path) -> bool:
    return _version(folder) == VERSION


def _add_token_counts(folder: Path, schema) -> None:
    """Version 4 → 5 in place: the token counts from the columns' own postings (weights are
    frequency × field boost, exact in float16 at these sizes), each file renamed into place."""
    try:
        for fieldname in SCORED_FIELDS:
            n = len(np.load(folder / f"{fieldname}.lengths.npy", mmap_mode="r"))
            docs = np.load(folder / f"{fieldname}.docs.npy")
            weights = np.load(folder / f"{fieldname}.weights.npy").astype(np.float32)
            boost = float(getattr(schema[fieldname].format, "field_boost", 1.0) or 1.0)
            tokens = np.rint(np.bincount(docs, weights, minlength=n) / boost).astype(np.int32)
            tmp = folder / f".{fieldname}.tokens.{os.getpid()}.npy"
            np.save(tmp, tokens)
            os.replace(tmp, folder / f"{fieldname}.tokens.npy")
        tmp = folder / f".VERSION.{os.getpid()}"
        tmp.write_text("5")
        os.replace(tmp, folder / "VERSION")
    except (OSError, ValueError, KeyError):
        pass  # rewritten whole below


def _write_by_id(index_dir: str, segment_id: str) -> None:
    """Worker: open the index and write the columns of one of its segments."""
    from whoosh import index as windex

    with windex.open_dir(index_dir).reader() as reader:
        for leaf, _ in reader.leaf_readers():
            if leaf.segment().segment_id() == segment_id:
                write_segment(leaf, segment_folder(Path(index_dir), leaf))


def update(index_dir: Path | str, ix, grace: float = 0.0, initializer=None) -> None:
    """Give every segment of ``ix`` its columns; drop the columns of segments merged away (after
    ``grace`` seconds: a reader of an older generation may still read them).
    ``initializer`` runs first in each worker process (the store makes them die with this one).
    Big segments (a parallel build makes one per core) are written in parallel processes."""
    index_dir = Path(index_dir)
    with ix.reader() as reader:
        live, missing = set(), []
        for leaf, _ in reader.leaf_readers():
            if leaf.doc_count_all() == 0:
                continue
            folder = segment_folder(index_dir, leaf)
            live.add(folder.name)
            if _version(folder) == "4":
                _add_token_counts(folder, leaf.schema)
            if not _current(folder):
                shutil.rmtree(folder, ignore_errors=True)
                missing.append(leaf)
        big = [leaf for leaf in missing if leaf.doc_count_all() >= PARALLEL_MIN_DOCS]
        if len(big) > 1 and (os.cpu_count() or 1) > 1:
            context = multiprocessing.get_context("spawn")  # no fork of a process with threads
            with ProcessPoolExecutor(min(len(big), os.cpu_count() or 1), mp_context=context,
                                     initializer=initializer) as pool:
                for done in [pool.submit(_write_by_id, str(index_dir), leaf.segment().segment_id())
                             for leaf in big]:
                    done.result()
            missing = [leaf for leaf in missing if leaf not in big]
        for leaf in missing:
            write_segment(leaf, segment_folder(index_dir, leaf))
    sweep(index_dir, live, grace)


def sweep(index_dir: Path, live: set[str], grace: float = 0.0) -> None:
    """Remove column folders of segments not in ``live``: marked first, removed ``grace`` seconds later."""
    root = Path(index_dir) / COLUMNS_DIR
    if not root.exists():
        return
    now = time.time()
    for stale in root.iterdir():
        if stale.name in live:
            continue
        if ".tmp-" in stale.name:
            if now - stale.stat().st_mtime > 3600:  # left by a killed writer
                shutil.rmtree(stale, ignore_errors=True)
            continue
        marker = stale / "RETIRED"
        if grace <= 0 or marker.exists() and now - marker.stat().st_mtime >= grace:
            shutil.rmtree(stale, ignore_errors=True)
        elif not marker.exists():
            try:
                marker.touch()
            except OSError:
                pass


def check_segment(folder: Path, n_passages: int) -> str:
    """What is wrong with a segment's columns ('' if nothing): every file there, readable, and
    of the lengths the segment implies."""
    if not _current(folder):
        return "缺失或版本不符 / missing or outdated"
    try:
        for fieldname in LISTED_FIELDS:
            offsets = np.load(folder / f"{fieldname}.offsets.npy", mmap_mode="r")
            terms = np.load(folder / f"{fieldname}.terms.npy", mmap_mode="r")
            docs = FileSlices.npy(folder / f"{fieldname}.docs.npy")
            weights = FileSlices.npy(folder / f"{fieldname}.weights.npy")
            if len(offsets) != len(terms) + 1 or len(docs) != int(offsets[-1]) or len(weights) != len(docs):
                return f"{fieldname}: 长度不符 / wrong length"
            if len(docs) and int(docs.all().max()) >= n_passages:
                return f"{fieldname}.docs: 文档号越界 / document number out of range"
        for fieldname in SCORED_FIELDS:
            if len(np.load(folder / f"{fieldname}.lengths.npy", mmap_mode="r")) != n_passages:
                return f"{fieldname}.lengths: 长度不符 / wrong length"
            if len(np.load(folder / f"{fieldname}.tokens.npy", mmap_mode="r")) != n_passages:
                return f"{fieldname}.tokens: 长度不符 / wrong length"
            offsets = np.load(folder / f"{fieldname}.compact.npy", mmap_mode="r")
            if len(offsets) != n_passages + 1 or int(offsets[-1]) != os.path.getsize(folder / f"{fieldname}.compact.bin"):
                return f"{fieldname}.compact: 长度不符 / wrong length"
        for fieldname in FACET_FIELDS:
            codes = np.load(folder / f"{fieldname}.codes.npy", mmap_mode="r")
            values = json.loads((folder / f"{fieldname}.values.json").read_text(encoding="utf-8"))
            if len(codes) != n_passages or (len(codes) and int(codes.max()) >= len(values)):
                return f"{fieldname}.codes: 长度不符 / wrong length"
    except (OSError, ValueError, EOFError) as exc:
        return f"无法读取 / unreadable ({type(exc).__name__}: {getattr(exc, 'filename', None) or exc})"
    return ""


# ---------------------------------------------------------------- reading

class FileSlices:
    """Slices of a file read with ``pread``: the pages stay in the OS cache instead of counting
    in the process's memory as a mapping's would (a server reads many scattered slices)."""

    def __init__(self, path: Path, offset: int = 0, dtype=None, length: int | None = None):
        self.fd = os.open(path, os.O_RDONLY)
        self.offset, self.dtype = offset, dtype
        self.itemsize = 1 if dtype is None else np.dtype(dtype).itemsize
        self.length = length if length is not None else os.fstat(self.fd).st_size - offset

    @classmethod
    def npy(cls, path: Path) -> "FileSlices":
        """The data of a one-dimensional ``.npy`` file."""
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read_header(f)
            return cls(path, f.tell(), dtype, shape[0] if shape else 0)

    def __len__(self) -> int:
        return self.length

    def read(self, start: int, end: int):
        """Items ``start:end`` (an array, or bytes for a plain file)."""
        data = os.pread(self.fd, (end - start) * self.itemsize, self.offset + start * self.itemsize)
        return data if self.dtype is None else np.frombuffer(data, dtype=self.dtype)

    def all(self):
        return self.read(0, self.length)

    def __del__(self):
        try:
            os.close(self.fd)
        except (OSError, AttributeError):
            pass


class SegmentColumns:
    """The columns of one segment: term lists and offsets memory-mapped (a few pages a look-up),
    postings and text read in slices as queries need them."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._fields: dict[str, tuple] = {}
        self._blobs: dict[str, tuple] = {}
        self._memo: dict[tuple, object] = {}  # what every generation holding the segment derives

    def memo(self, key: tuple, make):
        """``make()`` once a segment (a segment never changes; generations share its objects)."""
        value = self._memo.get(key)
        if value is None:
            value = self._memo[key] = make()
        return value

    def _load(self, name: str, mmap: bool = True) -> np.ndarray:
        if not mmap:
            return np.load(self.folder / name)
        # a plain ndarray over the mapping: np.memmap's Python-level slicing costs more than the work
        return np.load(self.folder / name, mmap_mode="r").view(np.ndarray)

    def _field(self, fieldname: str):
        if fieldname not in self._fields:
            try:
                self._fields[fieldname] = (self._load(f"{fieldname}.terms.npy"),
                                           self._load(f"{fieldname}.offsets.npy"),
                                           FileSlices.npy(self.folder / f"{fieldname}.docs.npy"),
                                           FileSlices.npy(self.folder / f"{fieldname}.weights.npy"))
            except FileNotFoundError:
                self._fields[fieldname] = None
        return self._fields[fieldname]

    def term_index(self, fieldname: str, term: bytes) -> int:
        """The term's number in the field, or -1."""
        field = self._field(fieldname)
        if field is None:
            return -1
        terms = field[0]
        if len(term) > terms.dtype.itemsize or not len(terms):
            return -1
        i = int(np.searchsorted(terms, term))
        return i if i < len(terms) and terms[i] == term else -1

    def postings(self, fieldname: str, term: bytes) -> tuple[np.ndarray, np.ndarray] | None:
        """(segment-local doc numbers, weights) of a term, or None."""
        i = self.term_index(fieldname, term)
        if i < 0:
            return None
        _, offsets, docs, weights = self._field(fieldname)
        start, end = int(offsets[i]), int(offsets[i + 1])
        return docs.read(start, end), weights.read(start, end)

    def terms(self, fieldname: str):
        field = self._field(fieldname)
        return [] if field is None else field[0]

    def lengths(self, fieldname: str) -> np.ndarray:
        return self.memo(("lengths", fieldname), lambda: self._load(f"{fieldname}.lengths.npy", mmap=False))

    def tokens(self, fieldname: str) -> np.ndarray:
        return self.memo(("tokens", fieldname), lambda: self._load(f"{fieldname}.tokens.npy"))

    def __len__(self) -> int:
        return len(self.lengths("text"))

    def doc_numbers(self) -> tuple[np.ndarray, int]:
        """Per passage, its document's number within the segment (-1: none), and the count."""
        def make():
            numbers = np.full(len(self), -1, dtype=np.int64)
            field = self._field("doc_id")
            if field is None:
                return numbers, 0
            terms, offsets, docs, _ = field
            numbers[np.asarray(docs.all(), dtype=np.int64)] = np.repeat(np.arange(len(terms), dtype=np.int64),
                                                                      np.diff(offsets))
            return numbers, len(terms)
        return self.memo(("doc numbers",), make)

    def doc_level(self, fieldname: str):
        """A metadata field's postings by document: (offsets, document numbers within the
        segment, weights), one entry per document instead of one per passage (passages of a
        document lie together); None if the field has none."""
        def make():
            field = self._field(fieldname)
            if field is None or not len(field[2]):
                return False
            _, offsets, docs, weights = field
            docs, weights = docs.all(), weights.all()
            codes = self.doc_numbers()[0][np.asarray(docs, dtype=np.int64)]
            first = np.ones(len(codes), dtype=bool)
            first[1:] = codes[1:] != codes[:-1]
            first[np.asarray(offsets[:-1])[np.diff(offsets) > 0]] = True  # every term starts afresh
            kept = np.concatenate(([0], np.cumsum(first)))
            return kept[np.asarray(offsets)], codes[first], np.asarray(weights)[first].astype(np.float32)
        return self.memo(("doc level", fieldname), make) or None

    def blob(self, fieldname: str) -> tuple[FileSlices, np.ndarray]:
        """(compacted UTF-8 text of a field for all documents, offsets)."""
        if fieldname not in self._blobs:
            self._blobs[fieldname] = (FileSlices(self.folder / f"{fieldname}.compact.bin"),
                                      self._load(f"{fieldname}.compact.npy"))
        return self._blobs[fieldname]

    def facet(self, fieldname: str) -> tuple[np.ndarray, list]:
        def make():
            codes = self._load(f"{fieldname}.codes.npy", mmap=False)
            return codes, json.loads((self.folder / f"{fieldname}.values.json").read_text(encoding="utf-8"))
        return self.memo(("facet", fieldname), make)


def open_segment(index_dir: Path, leaf, opened: dict[str, SegmentColumns] | None = None) -> SegmentColumns:
    """The columns of a segment reader, written first if missing (an index from an older kb);
    ``opened``: segments already open (by an earlier generation), reused as they are."""
    folder = segment_folder(index_dir, leaf)
    if opened is not None and folder.name in opened:
        return opened[folder.name]
    if _version(folder) == "4":
        _add_token_counts(folder, leaf.schema)
    if not _current(folder):
        shutil.rmtree(folder, ignore_errors=True)
        write_segment(leaf, folder)
    seg = SegmentColumns(folder)
    if opened is not None:
        opened[folder.name] = seg
    return seg


class Joined:
    """Texts (UTF-8) joined by NUL bytes, so one ``bytes.find`` scans them all."""

    def __init__(self, pieces: list[bytes]):
        self.pieces = pieces
        self.data = b"\0".join(pieces)
        self.starts = [0, *accumulate(len(p) + 1 for p in pieces)]

    def contains(self, needle: bytes) -> np.ndarray:
        """Which texts contain ``needle``."""
        found = np.zeros(len(self.pieces), dtype=bool)
        if not needle:
            found[:] = True
            return found
        starts = self.starts
        pos = self.data.find(needle)
        while pos >= 0:
            i = bisect_right(starts, pos) - 1
            found[i] = True
            pos = self.data.find(needle, starts[i + 1])
        return found


def ranges(starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """The positions ``starts[i] .. starts[i] + sizes[i] - 1`` of every i, concatenated."""
    if not len(starts):
        return np.zeros(0, dtype=np.intp)
    shift = starts - np.concatenate(([0], np.cumsum(sizes)[:-1]))
    return np.repeat(shift, sizes) + np.arange(int(sizes.sum()))


class IndexColumns:
    """One reader generation of the whole index: its segments' columns joined, global passage
    number = segment offset + local (Whoosh document) number, with deletions and per-passage
    priors as arrays. ``doc_codes`` numbers the documents the passages belong to."""

    def __init__(self, index_dir: Path | str, reader, prior_of: dict[str, float] | None = None,
                 opened: dict[str, SegmentColumns] | None = None):
        """``opened``: the segments an earlier generation opened (the store keeps them), reused with
        what they derived — a generation after a small commit builds only what is new."""
        self.cache: dict = {}  # what searches derive from this generation (filters, score cache)
        self.n_passages = reader.doc_count_all()
        self.segments: list[tuple[SegmentColumns, int]] = []
        self.alive = np.ones(self.n_passages, dtype=bool)
        for leaf, offset in reader.leaf_readers():
            if leaf.doc_count_all() == 0:
                continue
            self.segments.append((open_segment(Path(index_dir), leaf, opened), offset))
            if leaf.has_deletions():
                deleted = np.fromiter(leaf.deleted_docs_set, dtype=np.int64)
                self.alive[deleted + offset] = False
        self._starts = np.array([offset for _, offset in self.segments], dtype=np.int64)
        self.lengths = {f: self._joined(lambda seg, f=f: seg.lengths(f), np.float32) for f in SCORED_FIELDS}
        # ranking statistics over the live passages only, so a merge (which drops deleted
        # passages) never changes a score: N, and the average field length from exact counts
        self.n_live = int(self.alive.sum())
        self.avg_length = {f: (float(self._live_tokens(f)) / self.n_live if self.n_live else 0.0) or 1.0
                           for f in SCORED_FIELDS}
        self.facets = {f: self._joined_facet(f) for f in FACET_FIELDS}
        self.doc_codes = self._doc_codes()
        self.prior = np.ones(self.n_passages, dtype=np.float32)
        if prior_of:
            codes, values = self.facets["type"]
            default = prior_of.get("*", 1.0)
            table = np.array([prior_of.get(v, default) for v in values] + [default], dtype=np.float32)
            self.prior = table[codes]  # code -1 picks the trailing default
        # documents: their first passage (metadata fields are the same on all their passages)
        self.ndoc_codes = int(self.doc_codes.max()) + 1 if self.n_passages else 0
        self.first_passage = np.zeros(self.ndoc_codes, dtype=np.int64)
        numbered = np.flatnonzero(self.doc_codes >= 0)[::-1]
        self.first_passage[self.doc_codes[numbered]] = numbered
        self.passage_doc = np.where(self.doc_codes >= 0, self.doc_codes, self.ndoc_codes)  # spare slot
        # per document code: its passages (ascending), and how many of them are deleted
        numbered = self.doc_codes >= 0
        self._doc_order = np.argsort(self.doc_codes, kind="stable")[int((~numbered).sum()):]
        counts = np.bincount(self.doc_codes[numbered], minlength=self.ndoc_codes)
        self._doc_ptr = np.concatenate(([0], np.cumsum(counts)))
        self.doc_dead = np.bincount(self.doc_codes[numbered & ~self.alive], minlength=self.ndoc_codes)
        self.doc_live = self.doc_dead < counts

    def _live_tokens(self, fieldname: str) -> int:
        """Tokens of a field summed over the live passages."""
        total = 0
        for seg, offset in self.segments:
            tokens = seg.tokens(fieldname)
            total += int(tokens[self.alive[offset:offset + len(tokens)]].sum(dtype=np.int64))
        return total

    def doc_passages(self, codes: np.ndarray) -> np.ndarray:
        """The passages of documents ``codes`` (ascending)."""
        if not len(codes):
            return np.zeros(0, dtype=np.intp)
        starts = self._doc_ptr[codes]
        picks = ranges(starts, self._doc_ptr[np.asarray(codes) + 1] - starts)
        return np.sort(self._doc_order[picks]).astype(np.intp, copy=False)

    def _joined(self, load, dtype) -> np.ndarray:
        out = np.zeros(self.n_passages, dtype=dtype)
        for seg, offset in self.segments:
            part = load(seg)
            out[offset:offset + len(part)] = part
        return out

    def _joined_facet(self, fieldname: str) -> tuple[np.ndarray, list]:
        codes = np.full(self.n_passages, -1, dtype=np.int32)
        index: dict = {}
        for seg, offset in self.segments:
            local, local_values = seg.facet(fieldname)
            remap = np.array([index.setdefault(v, len(index)) for v in local_values] + [-1], dtype=np.int32)
            codes[offset:offset + len(local)] = remap[local]
        return codes, list(index)

    def _doc_codes(self) -> np.ndarray:
        """A number per document and segment (passages of one document share it): a segment's
        own numbers after those of the segments before it."""
        codes = np.full(self.n_passages, -1, dtype=np.int64)
        self._bases, base = [], 0
        for seg, offset in self.segments:  # per segment: a replaced document's old version stays apart
            numbers, count = seg.doc_numbers()
            codes[offset:offset + len(numbers)] = np.where(numbers >= 0, numbers + base, -1)
            self._bases.append(base)
            base += count
        return codes

    def doc_postings(self, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray, int]:
        """(doc codes, weights, passages holding it) of a metadata term over all segments."""
        key = term.encode("utf-8")
        codes, weights, df = [], [], 0
        for (seg, _), base in zip(self.segments, self._bases):
            i = seg.term_index(fieldname, key)
            level = seg.doc_level(fieldname) if i >= 0 else None
            if level is None:
                continue
            doffsets, dcodes, dweights = level
            codes.append(dcodes[doffsets[i]:doffsets[i + 1]] + base)
            weights.append(dweights[doffsets[i]:doffsets[i + 1]])
            offsets = seg._field(fieldname)[1]
            df += int(offsets[i + 1] - offsets[i])
        if not codes:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), 0
        if len(codes) == 1:
            return codes[0], weights[0], df
        return np.concatenate(codes), np.concatenate(weights), df

    def joined(self, fieldname: str, passages: np.ndarray) -> "Joined":
        """The compacted field of each of ``passages``, UTF-8, as one byte string."""
        seg_of = np.searchsorted(self._starts, passages, side="right") - 1
        pieces = [b""] * len(passages)
        for i, (seg, offset) in enumerate(self.segments):
            which = np.flatnonzero(seg_of == i)
            if not len(which):
                continue
            blob, offsets = seg.blob(fieldname)
            local = passages[which] - offset
            for k, start, end in zip(which.tolist(), offsets[local].tolist(), offsets[local + 1].tolist()):
                pieces[k] = blob.read(start, end)
        return Joined(pieces)

    def postings(self, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(global passage numbers ascending, weights) of a term over all segments, deletions
        included."""
        key = term.encode("utf-8")
        passages, weights = [], []
        for seg, offset in self.segments:
            got = seg.postings(fieldname, key)
            if got is not None:
                passages.append(got[0] + np.int32(offset) if offset else got[0])
                weights.append(got[1].astype(np.float32))
        if not passages:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
        if len(passages) == 1:
            return passages[0], weights[0]
        return np.concatenate(passages), np.concatenate(weights)

    def field_terms(self, fieldname: str) -> list[str]:
        out: set[str] = set()
        for seg, _ in self.segments:
            out.update(t.decode("utf-8") for t in seg.terms(fieldname))
        return sorted(out)
