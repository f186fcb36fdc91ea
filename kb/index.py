"""Stage 4 — index: the Whoosh schema, opening/creating an index, and the single writer.

An index directory holds the Whoosh files, ``terms.txt`` (terms harvested from the corpus, loaded
into jieba before any query) and ``.cache/`` (jieba's dictionary cache, kept with the index rather
than in /tmp). A full build writes a fresh directory beside the old one and swaps it in only when
it is complete, so a failed build never damages the index in use.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable, Iterator

from whoosh import index as windex
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3PerDocReader, _lenfield
from whoosh.index import LockError
from whoosh.util.numeric import byte_to_length
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

from kb import models, postings, segment
from kb.analysis import KbAnalyzer
from kb.documents import Document
from kb.normalize import DATA_DIR

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
TERMS_FILE = "terms.txt"
CACHE_DIR = ".cache"
PARALLEL_MIN_PASSAGES = 5000  # below this a second process costs more than it saves
FIELD_BOOSTS = {"title": 2.0, "unit": 1.5, "place": 1.0, "text": 1.0}
# One file per segment part, not Whoosh's compound file: a reader of a compound segment copies
# its parts (the postings!) into memory, once per searcher — per server thread.
COMPOUND = False


class IndexMissing(Exception):
    """No index at the given directory."""


class IndexBusy(Exception):
    """Another writer holds the index lock."""


def acquire(ix, timeout: float = 60.0):
    """A writer (Whoosh's write lock), waiting up to ``timeout`` seconds for another to finish."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return ix.writer(limitmb=128, compound=COMPOUND)
        except LockError:
            if time.monotonic() >= deadline:
                raise IndexBusy("索引正忙：另一个写入（kb add/remove/index）尚未结束，请稍后再试 / "
                                "the index is busy with another writer, try again later") from None
            time.sleep(0.2)


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
        collection=STORED, note=STORED, heading=STORED, article=STORED, path=STORED,
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


def load_terms(index_dir: Path) -> list[str]:
    path = Path(index_dir) / TERMS_FILE
    if not path.exists():
        return []
    return [t for t in path.read_text(encoding="utf-8").split("\n") if t]


def prepare_segmenter(index_dir: Path) -> None:
    """jieba with kb's dictionary, the index's harvested terms, and its cache in the index."""
    segment.setup(cache_dir=Path(index_dir) / CACHE_DIR)
    segment.add_terms(load_terms(index_dir))


def open_index(index_dir: Path | str):
    index_dir = Path(index_dir)
    if not windex.exists_in(str(index_dir)):
        raise IndexMissing(f"{index_dir}: 没有索引，请先运行 kb index / no index here, run `kb index` first")
    prepare_segmenter(index_dir)
    return windex.open_dir(str(index_dir))


def passage_records(doc: Document, models_of: dict[str, list[str]] | None = None) -> Iterator[dict]:
    meta = doc.metadata()
    models_of = models_of or {}
    for passage in doc.passages:
        record = {k: meta[k] for k in ("doc_id", "source", "title", "unit", "place", "province",
                                       "city", "district", "street", "community", "level", "type",
                                       "collection", "note", "content_hash") if meta.get(k)}
        if doc.year:
            record["year"] = doc.year
        record.update(passage_id=passage.passage_id, order=passage.order, text=passage.text,
                      heading=passage.heading)
        if passage.article:
            record["article"] = passage.article
        if passage.path:
            record["path"] = passage.path
        if models_of.get(passage.passage_id):
            record["models"] = ",".join(models_of[passage.passage_id])
        yield record


def write_documents(ix, docs: Iterable[Document], on_doc: Callable[[Document], None] | None = None,
                    replace: bool = False, models_of: dict[str, list[str]] | None = None) -> int:
    """Add (or replace) documents in one commit; returns the number of passages written."""
    count = 0
    docs = list(docs)
    big = sum(len(d.passages) for d in docs) >= PARALLEL_MIN_PASSAGES
    options = {"procs": os.cpu_count() or 1, "multisegment": True, "limitmb": 128} if big else {"limitmb": 256}
    options["compound"] = COMPOUND
    with ix.writer(**options) as writer:
        for doc in docs:
            if replace:
                writer.delete_by_term("doc_id", doc.doc_id)
            for record in passage_records(doc, models_of):
                writer.add_document(**record)
                count += 1
            if on_doc:
                on_doc(doc)
    postings.update(Path(ix.storage.folder), ix)
    return count


def build(index_dir: Path | str, docs: list[Document],
          on_doc: Callable[[Document], None] | None = None, lock_timeout: float = 60.0) -> int:
    """Build a fresh index from ``docs`` and swap it in atomically; returns passages written."""
    index_dir = Path(index_dir)
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    terms: set[str] = set()
    for doc in docs:
        terms |= segment.harvest_terms(doc.text)
    staging = Path(tempfile.mkdtemp(prefix=index_dir.name + ".building-", dir=index_dir.parent))
    try:
        (staging / TERMS_FILE).write_text("\n".join(sorted(terms)), encoding="utf-8")
        old_cache = index_dir / CACHE_DIR
        if old_cache.exists():
            shutil.copytree(old_cache, staging / CACHE_DIR)
        prepare_segmenter(staging)
        catalogue, models_of = models.build_catalogue(docs)
        models.save(staging, catalogue)
        ix = windex.create_in(str(staging), make_schema())
        count = write_documents(ix, docs, on_doc, models_of=models_of)
        ix.close()
        live = windex.open_dir(str(index_dir)) if windex.exists_in(str(index_dir)) else None
        holder = acquire(live, lock_timeout) if live is not None else None  # no kb add mid-swap
        try:
            _swap_in(staging, index_dir)
        finally:
            if holder is not None:
                try:
                    holder.cancel()
                except OSError:  # its folder was retired by the swap; the lock goes with it
                    pass
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return count


def _swap_in(staging: Path, index_dir: Path) -> None:
    retired = None
    if index_dir.exists():
        retired = index_dir.with_name(index_dir.name + ".old")
        shutil.rmtree(retired, ignore_errors=True)
        index_dir.rename(retired)
    staging.rename(index_dir)
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)
