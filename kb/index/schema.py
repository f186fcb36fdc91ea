"""Stage 4 — index: the Whoosh schema, what a passage record holds, and the writer's settings.

Only kb/index/store.py (the owner of an index folder) opens, creates, locks or writes an index.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3PerDocReader, _lenfield
from whoosh.util.numeric import byte_to_length
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

from kb.text.analysis import KbAnalyzer
from kb.text.documents import Document
from kb.text.normalize import DATA_DIR

def _read_lengths_once(self, docnum: int, fieldname: str, default=0):
    """Whoosh's W3PerDocReader.doc_field_length, reading each field's length column once.

    Writing a segment asks for the field length of every posting; Whoosh answers each call with a
    column read (and a stat() for fields that keep no lengths): a sixth of the whole build time.
    Same answers, from a per-reader array."""
    cache = self.__dict__.setdefault("_kb_lengths", {})
    if fieldname not in cache:
        reader = self._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
        cache[fieldname] = None if reader is None else reader.load()
    lengths = cache[fieldname]
    if docnum > self._doccount:
        raise IndexError("Asked for docnum %r of %d" % (docnum, self._doccount))
    if lengths is None:
        return default
    lbyte = lengths[docnum] if docnum < len(lengths) else 0
    return _BYTE_TO_LENGTH[lbyte] if lbyte else None


_BYTE_TO_LENGTH = [byte_to_length(b) for b in range(256)]
W3PerDocReader.doc_field_length = _read_lengths_once

DEFAULT_INDEX = "index"
INDEXNAME = "MAIN"  # Whoosh's name for the index in the folder: _MAIN_<gen>.toc, MAIN_<segment>.*
CACHE_DIR = ".cache"
PARALLEL_MIN_PASSAGES = 5000  # below this a second process costs more than it saves
FIELD_BOOSTS = {"title": 2.0, "unit": 1.5, "place": 1.0, "text": 1.0}
# One file per segment part, not Whoosh's compound file: a reader of a compound segment copies
# its parts (the postings!) into memory, once per searcher — per server thread.
COMPOUND = False


def default_index_dir() -> Path:
    return Path(os.environ.get("KB_INDEX") or DEFAULT_INDEX)


def make_schema() -> Schema:
    analyzer = KbAnalyzer()
    return Schema(
        passage_id=ID(stored=True, unique=True),
        doc_id=ID(stored=True),
        source=ID(stored=True),
        order=NUMERIC(int, stored=True),
        title=TEXT(analyzer=analyzer, stored=True, field_boost=FIELD_BOOSTS["title"]),
        unit=TEXT(analyzer=analyzer, stored=True, field_boost=FIELD_BOOSTS["unit"]),
        place=TEXT(analyzer=analyzer, stored=True),
        province=ID(stored=True, sortable=True), city=ID(stored=True, sortable=True),
        district=ID(stored=True, sortable=True), street=ID(stored=True),
        community=ID(stored=True), level=ID(stored=True, sortable=True),
        year=NUMERIC(int, stored=True, sortable=True),
        type=ID(stored=True, sortable=True),
        collection=STORED, note=STORED, heading=STORED, cite=STORED, author=STORED, article=STORED,
        path=STORED, page=STORED, page_end=STORED, ocr=STORED,
        content_hash=ID(stored=True),
        models=KEYWORD(stored=True, commas=True, scorable=False),
        text=TEXT(analyzer=analyzer, stored=True),
    )


@lru_cache(maxsize=1)
def type_weights() -> dict[str, float]:
    """``kb/data/type_weights.txt``: document type → score multiplier (``*`` = any other type)."""
    weights = {}
    for line in (DATA_DIR / "type_weights.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("\t")
            weights[name.strip()] = max(0.0, min(1.0, float(value)))
    return weights


def passage_records(doc: Document, models_of: dict[str, list[str]] | None = None) -> Iterator[dict]:
    meta = doc.metadata()
    models_of = models_of or {}
    for passage in doc.passages:
        record = {k: meta[k] for k in ("doc_id", "source", "title", "unit", "author", "place", "province",
                                       "city", "district", "street", "community", "level", "type",
                                       "collection", "note", "content_hash") if meta.get(k)}
        if doc.year:
            record["year"] = doc.year
        if doc.cite:
            record["cite"] = dict(doc.cite)
        record.update(passage_id=passage.passage_id, order=passage.order, text=passage.text,
                      heading=passage.heading)
        if passage.article:
            record["article"] = passage.article
        if passage.path:
            record["path"] = passage.path
        if passage.page:
            record.update(page=passage.page, page_end=passage.page_end)
        if doc.ocr:
            record["ocr"] = True
        if models_of.get(passage.passage_id):
            record["models"] = ",".join(models_of[passage.passage_id])
        yield record
