"""The bulk segment writer (kb/index/bulk.py) writes what Whoosh's own SegmentWriter writes."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import LAWS_SAMPLE, SEEDS


@pytest.fixture(scope="module")
def records():
    from kb.catalogue import models
    from kb.index.schema import passage_records
    from kb.ingest.readers import read_path
    from kb.text import segment

    docs = [d for p in SEEDS for d in read_path(p)] + list(read_path(LAWS_SAMPLE))
    segment.add_terms(set().union(*(segment.harvest_terms(d.text) for d in docs)))
    _, models_of = models.build_catalogue(docs)
    out = [r for d in docs for r in passage_records(d, models_of)]
    out[3] = {**out[3], "text": "。，！"}  # a passage without a single token
    out[5] = {**out[5], "title": ["列表", "的", "标题"]}  # a value Whoosh analyses as a list of words
    return out


def _segment_files(folder: Path, writer_class, records, **options):
    from kb.index.store import IndexStore

    store = IndexStore(folder, create=True)
    writer = writer_class(store._ix, _lk=False, limitmb=1, compound=False, **options)  # 1 MB: Whoosh spills runs
    for record in records:
        writer.add_document(**record)
    seg = writer._finalize_segment()
    writer._close_segment()
    sid = seg.segment_id()
    files = {p.name.replace(sid, "SEG"): p.read_bytes() for p in folder.iterdir() if sid in p.name}
    return files, writer, seg, store


def test_every_file_equals_whooshs(tmp_path, records, monkeypatch):
    from whoosh.writing import SegmentWriter

    from kb.index import bulk
    from kb.index.bulk import BulkSegmentWriter

    monkeypatch.setattr(bulk, "_WINDOW", 1000)  # postings converted a few windows at a time

    stock, *_ = _segment_files(tmp_path / "stock", SegmentWriter, records)
    bulk, *_ = _segment_files(tmp_path / "bulk", BulkSegmentWriter, records)
    assert sorted(stock) == sorted(bulk)
    assert ".pst" in "".join(stock) and ".trm" in "".join(stock)
    for name in stock:
        assert stock[name] == bulk[name], name


def test_listed_postings_are_the_columns(tmp_path, records):
    """The arrays handed out for kb's columns equal those read back from the segment."""
    from whoosh.reading import SegmentReader

    from kb.index import postings
    from kb.index.bulk import BulkSegmentWriter

    plain = [r for r in records if isinstance(r.get("title", ""), str)]  # kb's own records
    _, writer, seg, store = _segment_files(tmp_path / "bulk", BulkSegmentWriter, plain)
    reader = SegmentReader(store._ix.storage, writer.schema, seg)
    read_back, given = tmp_path / "read", tmp_path / "given"
    postings.write_segment(reader, read_back)
    postings.write_segment(reader, given, listed=writer.listed())
    reader.close()
    names = sorted(p.name for p in read_back.iterdir())
    assert names == sorted(p.name for p in given.iterdir())
    for name in names:
        assert (read_back / name).read_bytes() == (given / name).read_bytes(), name
    assert np.load(given / "text.docs.npy").size > 1000
