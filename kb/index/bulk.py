"""A Whoosh segment written in bulk: the same files, byte for byte, as Whoosh's own SegmentWriter.

Whoosh stays the index of record; what changes is how a fresh segment's postings reach its files.
Whoosh's writer spends most of a build in per-token and per-posting Python: the analyzer's chain
of generators and Token objects, a tuple per posting in an external-sort pool (spilled to runs and
merged with heapq past ``limitmb``), then one ``add_posting`` call per posting. Here:

* the text fields analysed by kb's analyzer (``JiebaTokenizer | SubwordFilter | LowercaseFilter``)
  are analysed by :func:`kb_positions`, the same tokens and positions without Token objects; a
  short value (a title, a unit, a place: the same on every passage of a document) is analysed once;
* postings are kept as flat arrays (term number, document, weight, encoded positions), sorted
  once with numpy when the segment is written, and handed to Whoosh's own postings writer a block
  at a time (its block, term-info and term-table code writes them: the format is Whoosh's);
* the per-document part (stored fields, lengths, sortable columns) goes through Whoosh's
  per-document writer exactly as in ``SegmentWriter.add_document``.

``tests/test_bulk.py`` checks that every file of a segment equals the one Whoosh writes for the same
records. The postings are also handed out as arrays (:meth:`BulkSegmentWriter.listed`) so kb's
columns (kb/index/postings.py) are written from them instead of being read back from the segment.
"""
from __future__ import annotations

from array import array
from pathlib import Path
from struct import Struct
from typing import Iterable

import numpy as np
from whoosh.analysis import LowercaseFilter
from whoosh.analysis.analyzers import CompositeAnalyzer
from whoosh.codec.whoosh3 import W3TermInfo
from whoosh.compat import dumps
from whoosh.formats import Positions
from whoosh.system import emptybytes
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import SegmentWriter

from kb.text import segment
from kb.text.analysis import JiebaTokenizer, SubwordFilter

_PACK_UINT = Struct("!I").pack
_ONE = _PACK_UINT(1)
_WINDOW = 1 << 18  # postings converted to Python lists at a time when a field is written
_SHORT = 64  # values up to this long are analysed once per segment (titles, units, places)


def is_kb_analyzer(analyzer) -> bool:
    return isinstance(analyzer, CompositeAnalyzer) and [type(x) for x in analyzer.items] == [
        JiebaTokenizer, SubwordFilter, LowercaseFilter]


def kb_positions(value: str) -> dict[str, list[int]]:
    """term → positions of ``value`` as kb's analyzer gives them in index mode (words, then
    their parts; positions count the finest parts; lower-cased), in order of first occurrence."""
    poses: dict[str, list[int]] = {}
    base = 0
    index_word = segment.index_word
    for text in segment.segment_texts(value):
        key, parts, width = index_word(text)
        got = poses.get(key)
        if got is None:
            poses[key] = [base]
        else:
            got.append(base)
        for key, slot in parts:
            got = poses.get(key)
            if got is None:
                poses[key] = [base + slot]
            else:
                got.append(base + slot)
        base += width
    return poses


class BulkSegmentWriter(SegmentWriter):
    """A SegmentWriter for one new segment (no merging, no deletions): add documents, then
    :meth:`finish` returns the segment, its files written as Whoosh would write them."""

    def __init__(self, ix, **kwargs):
        kwargs.setdefault("_lk", False)
        super().__init__(ix, **kwargs)
        self._fast = {name for name in self.schema.names()
                      if self.schema[name].indexed and isinstance(self.schema[name].format, Positions)
                      and type(self.schema[name].format) is Positions
                      and is_kb_analyzer(getattr(self.schema[name], "analyzer", None))}
        self._terms: dict[str, dict[bytes, int]] = {}  # field → term → number (first seen)
        self._post_field: dict[str, tuple[array, array, array, array]] = {}  # field → (term, doc, weight, value code)
        self._lengths: dict[str, array] = {}  # scorable field → token count per document
        self._short: dict[tuple[str, str], list] = {}
        self._single: dict[int, bytes] = {}  # position → pickle of a posting at that one position
        self._multi: list[tuple[bytes, bytes]] = []  # other encoded values, two pieces each
        self._listed: dict[str, tuple] | None = None

    # ------------------------------------------------------------ adding

    def _code(self, positions: list[int]) -> int:
        """A posting's encoded positions (``Positions.encode``) as a number: a position ``p`` ≥ 0
        for one position, else -2 - its entry in the table of longer encodings (two pieces each).
        The bytes are made when the posting's block is written, a new object each: Whoosh pickles
        a block's values together, and one object twice would be pickled as a back-reference."""
        if len(positions) == 1:
            pos = positions[0]
            if pos not in self._single:
                self._single[pos] = dumps([pos], 2)
            return pos
        deltas, last = [], 0
        for pos in positions:
            deltas.append(pos - last)
            last = pos
        self._multi.append((_PACK_UINT(len(deltas)), dumps(deltas, 2)))
        return -1 - len(self._multi)

    def _value_code(self, vbytes: bytes) -> int:
        """A value Whoosh's ``field.index`` gave, as a code (-1: empty)."""
        if not vbytes:
            return -1
        self._multi.append((vbytes[:1], vbytes[1:]) if len(vbytes) > 1 else (vbytes, b""))
        return -1 - len(self._multi)

    def _value(self, code: int) -> bytes:
        if code >= 0:
            return _ONE + self._single[code]
        first, rest = self._multi[-2 - code]
        return first + rest

    def _fast_items(self, fieldname: str, field, value: str) -> tuple[list, list, list, list]:
        """(terms, frequencies, weights, codes of the encoded positions) of a kb-analysed value."""
        short = len(value) <= _SHORT
        if short:
            got = self._short.get((fieldname, value))
            if got is not None:
                return got
        fb = field.format.field_boost
        encode = self._code
        analysed = kb_positions(value)
        terms = [term.encode("utf-8") for term in analysed]
        freqs = [len(poses) for poses in analysed.values()]
        items = (terms, freqs, [f * 1.0 * fb for f in freqs], [encode(poses) for poses in analysed.values()])
        if short:
            if len(self._short) > 100_000:
                self._short.clear()
            self._short[(fieldname, value)] = items
        return items

    def _other_items(self, fieldname: str, field, value) -> tuple[list, list, list, list]:
        """Whoosh's own ``field.index`` as parallel lists; kept per value when no posting carries a
        value (IDs, numbers: the same on every passage of a document)."""
        key = (fieldname, value) if isinstance(value, (str, int)) else None
        if key is not None:
            got = self._short.get(key)
            if got is not None:
                return got
        items = list(field.index(value))
        out = ([i[0] for i in items], [i[1] for i in items], [i[2] for i in items],
               [self._value_code(i[3]) for i in items])
        if key is not None and all(code == -1 for code in out[3]):
            if len(self._short) > 100_000:
                self._short.clear()
            self._short[key] = out
        return out

    def _postings_of(self, fieldname: str):
        got = self._post_field.get(fieldname)
        if got is None:
            got = self._post_field[fieldname] = (array("i"), array("i"), array("d"), array("i"))
            self._terms[fieldname] = {}
        return got

    def add_document(self, **fields):
        """``SegmentWriter.add_document``, with postings kept as arrays (see the module docstring)."""
        self._check_state()
        perdocwriter = self.perdocwriter
        schema = self.schema
        docnum = self.docnum

        docboost = self._doc_boost(fields)
        fieldnames = sorted([name for name in fields.keys() if not name.startswith("_")])
        self._check_fields(schema, fieldnames)

        perdocwriter.start_doc(docnum)
        try:
            for fieldname in fieldnames:
                value = fields.get(fieldname)
                if value is None:
                    continue
                field = schema[fieldname]

                length = 0
                if field.indexed:
                    fieldboost = self._field_boost(fields, fieldname, docboost)
                    fast = fieldname in self._fast and isinstance(value, str)
                    terms, freqs, weights_, codes = (self._fast_items if fast else self._other_items)(
                        fieldname, field, value)
                    if fieldboost != 1.0:
                        weights_ = [w * fieldboost for w in weights_]
                    tids, docs, weights, values = self._postings_of(fieldname)
                    numbers = self._terms[fieldname]
                    setdefault = numbers.setdefault
                    tids.extend([setdefault(t, len(numbers)) for t in terms])
                    docs.extend([docnum] * len(terms))
                    weights.extend(weights_)
                    values.extend(codes)
                    if field.scorable:
                        length = sum(freqs)
                        lengths = self._lengths.get(fieldname)
                        if lengths is None:
                            lengths = self._lengths[fieldname] = array("i")
                        lengths.extend([0] * (docnum + 1 - len(lengths)))
                        lengths[docnum] = length

                if field.separate_spelling() or field.vector:
                    raise NotImplementedError("spelling and vector fields are written by Whoosh's writer")

                customval = fields.get("_stored_%s" % fieldname, value)
                sv = customval if field.stored else None
                perdocwriter.add_field(fieldname, field, sv, length)

                column = field.column_type
                if column and customval is not None:
                    cv = field.to_column_value(customval)
                    perdocwriter.add_column_value(fieldname, column, cv)
        except Exception as ex:
            perdocwriter.cancel_doc()
            raise ex

        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1

    def add_reader(self, reader):  # pragma: no cover - a bulk segment merges nothing
        raise NotImplementedError("BulkSegmentWriter writes fresh segments only")

    # ------------------------------------------------------------ writing

    def _quantized(self, fieldname: str, n: int) -> list:
        """Per document, the field length Whoosh's reader gives back (a byte's worth), None for 0."""
        lengths = self._lengths.get(fieldname)
        if lengths is None:
            return [0] * n  # not scorable: Whoosh's reader answers the default
        out = [None] * n
        for docnum, length in enumerate(lengths):
            if length:
                lbyte = length_to_byte(length)
                out[docnum] = byte_to_length(lbyte) if lbyte else None
        return out

    def _flush_segment(self):
        self.perdocwriter.close()
        n = self.docnum
        fieldwriter = self.fieldwriter
        listed: dict[str, tuple] = {}
        for fieldname in sorted(self._post_field):
            tids, docs, weights, values = self._post_field[fieldname]
            if not len(tids):
                continue
            field = self.schema[fieldname]
            numbers = self._terms[fieldname]
            terms = sorted(numbers)
            rank = np.empty(len(terms), dtype=np.int64)
            rank[np.fromiter((numbers[t] for t in terms), dtype=np.int64, count=len(terms))] = np.arange(len(terms))
            tid_arr = np.frombuffer(tids, dtype=np.int32)
            order = np.argsort(rank[tid_arr], kind="stable")  # by term, documents ascending within
            doc_arr = np.frombuffer(docs, dtype=np.int32)[order]
            weight_arr = np.frombuffer(weights, dtype=np.float64)[order]
            counts = np.bincount(rank[tid_arr], minlength=len(terms))
            offsets = np.concatenate(([0], np.cumsum(counts)))
            lengths = self._quantized(fieldname, n)
            self._write_field(fieldwriter, fieldname, field, terms, offsets, doc_arr, weight_arr,
                              np.frombuffer(values, dtype=np.int32)[order], lengths, self._value)
            listed[fieldname] = (terms, offsets, doc_arr, weight_arr.astype(np.float32))
        fieldwriter.close()
        self._listed = listed
        self._post_field.clear()
        self._terms.clear()
        self._short.clear()
        self._multi.clear()

    @staticmethod
    def _write_field(fieldwriter, fieldname, field, terms, offsets, docs, weights, codes, lengths, value) -> None:
        """Whoosh's ``FieldWriter.add_postings`` for one field, a block at a time."""
        fieldwriter.start_field(fieldname, field)
        bounds = offsets.tolist()
        window = [0, 0, [], [], []]  # postings [start, end) as lists: documents, weights, codes

        def lists(start: int, end: int):
            """The postings [start, end) as Python lists, converted a window at a time (the
            field's whole postings as Python objects would be the writer's peak memory)."""
            if end > window[1]:
                stop = max(end, min(start + _WINDOW, len(docs)))
                window[:] = [start, stop, docs[start:stop].tolist(), weights[start:stop].tolist(), codes[start:stop].tolist()]
            base = window[0]
            return (window[2][start - base:end - base], window[3][start - base:end - base],
                    window[4][start - base:end - base])

        for k, btext in enumerate(terms):
            start, end = bounds[k], bounds[k + 1]
            fieldwriter.start_term(btext)
            pw = fieldwriter._postwriter
            limit = pw._blocklimit
            for cs in range(start, end, limit):
                if cs > start:
                    pw._write_block()
                ce = min(cs + limit, end)
                ids, ws, cs_codes = lists(cs, ce)
                pw._ids = array("I", ids)
                pw._weights = array("f", ws)
                pw._values = [value(c) for c in cs_codes if c != -1]
                pw._maxweight = max(0, max(ws))
                truthy = [x for x in [lengths[d] for d in ids] if x]
                pw._minlength = min(truthy) if truthy else None
                pw._maxlength = max(0, max(truthy)) if truthy else 0
            fieldwriter.finish_term()
        fieldwriter.finish_field()

    def finish(self):
        """Write the segment's files and return the segment (not committed: the caller adds it to a TOC)."""
        segment_ = self._finalize_segment()
        return segment_

    def listed(self) -> dict[str, tuple]:
        """field → (sorted term bytes, offsets, documents, float32 weights) of the segment written."""
        return self._listed or {}


def write_new_segment(folder: Path, records: Iterable[dict], terms: list[str]):
    """A new segment of the index in ``folder`` (not yet committed: the caller adds it to a table of
    contents, see ``Transaction.add_segments``) holding ``records``, and its columns, written from
    the postings at hand; jieba is set up for ``folder`` with the harvested ``terms`` first.
    Returns (the Whoosh segment, the records written)."""
    from whoosh.filedb.filestore import FileStorage
    from whoosh.index import FileIndex
    from whoosh.reading import SegmentReader

    from kb.index import postings
    from kb.index.schema import COMPOUND, INDEXNAME
    from kb.index.segmenter import prepare_segmenter

    prepare_segmenter(folder, terms, ("new segment", str(folder), len(terms)))
    storage = FileStorage(str(folder))
    writer = BulkSegmentWriter(FileIndex(storage, indexname=INDEXNAME), compound=COMPOUND)
    count = 0
    try:
        for record in records:
            writer.add_document(**record)
            count += 1
        seg = writer.finish()
    except BaseException:
        writer.cancel()
        raise
    reader = SegmentReader(storage, writer.schema, seg)
    try:
        postings.write_segment(reader, postings.segment_folder(folder, reader), listed=writer.listed())
    finally:
        reader.close()
    return seg, count
