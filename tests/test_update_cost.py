"""An update costs its own size (issue 23): `kb add` and `kb remove` read what they change, never
every stored passage of the index.

Whoosh's per-segment stored-record reader is swapped for a counting one; a real index of the law
sample (hundreds of passages in several segments) then takes an add of two small files, a re-add
of one of them changed, and a removal. The records read must follow the batch (and, for a
removal, the documents: one record each), not the passages indexed.
"""
from __future__ import annotations

import pytest

from conftest import LAWS_SAMPLE


class Reads:
    """Counts the stored records Whoosh's segment readers hand out."""

    def __init__(self, monkeypatch):
        from whoosh.codec.whoosh3 import W3PerDocReader

        self.records = 0
        one, every = W3PerDocReader.stored_fields, W3PerDocReader.all_stored_fields

        def stored_fields(reader, docnum):
            self.records += 1
            return one(reader, docnum)

        def all_stored_fields(reader):
            for fields in every(reader):
                self.records += 1
                yield fields

        monkeypatch.setattr(W3PerDocReader, "stored_fields", stored_fields)
        monkeypatch.setattr(W3PerDocReader, "all_stored_fields", all_stored_fields)


def write(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder / name


@pytest.fixture()
def grown(tmp_path):
    """The law sample indexed in two `kb add` batches (two segments), as an index grows. (A third
    small segment would make a tier of MERGE_FACTOR with the next add, which merges them: that
    reads the merged passages once a tier, by design — kb/index/merging.py.)"""
    from kb.ingest import pipeline
    from kb.ingest.readers import read_path
    from kb.index.store import IndexStore

    docs = list(read_path(LAWS_SAMPLE))
    index = tmp_path / "index"
    for start in range(0, len(docs), 25):
        pipeline.add(index, docs[start:start + 25])
    store = IndexStore(index)
    stats = store.stats()
    store.close()
    assert stats["passages"] >= 500 and stats["segments"] == 2
    return index, stats


def texts():
    return {"a.txt": "社区议事协商办法\n\n第一条 为推进楼道自治，居民议事会每月召开一次。\n\n第二条 议题由居民提出，网格员汇总。\n",
            "b.txt": "小区停车管理公约\n\n业主大会表决通过停车收费标准，物业公开收支。\n"}


def test_kb_add_reads_the_batch_not_the_index(tmp_path, grown, monkeypatch):
    from kb.ingest import pipeline
    from kb.ingest.readers import read_path
    from kb.index.store import IndexStore

    index, before = grown
    folder = tmp_path / "new"
    docs = [d for name, text in texts().items() for d in read_path(write(folder, name, text))]
    reads = Reads(monkeypatch)
    outcome = pipeline.add(index, docs)
    assert sorted(outcome.added) == sorted(d.doc_id for d in docs) and outcome.passages > 0
    assert 0 < reads.records <= 4 * (outcome.passages + len(docs)), reads.records
    assert reads.records < before["passages"] // 10

    # the same files again: unchanged, nothing written; one changed: replaced
    reads.records = 0
    again = pipeline.add(index, [d for p in sorted(folder.glob("*.txt")) for d in read_path(p)])
    assert sorted(again.unchanged) == sorted(d.doc_id for d in docs) and not again.added
    assert reads.records <= 2 * len(docs)
    write(folder, "b.txt", texts()["b.txt"] + "\n停车位优先保障老年人和残疾人。\n")
    reads.records = 0
    changed = pipeline.add(index, list(read_path(folder / "b.txt")))
    assert changed.replaced == [docs[1].doc_id]
    assert reads.records <= 4 * (changed.passages + 1), reads.records

    store = IndexStore(index)
    after = store.stats()
    store.close()
    assert after["documents"] == before["documents"] + 2 and after["segments"] > before["segments"]  # no merge


def test_kb_remove_reads_a_record_per_document_not_per_passage(grown, monkeypatch):
    from kb.ingest import pipeline
    from kb.index.store import IndexStore

    index, before = grown
    store = IndexStore(index)
    with store.reading() as view:
        victim = sorted(view.doc_ids())[3]
    store.close()
    reads = Reads(monkeypatch)
    outcome = pipeline.remove(index, [victim])
    assert outcome.removed == [victim]
    assert reads.records <= before["documents"] + 5 < before["passages"], reads.records
    store = IndexStore(index)
    assert store.stats()["documents"] == before["documents"] - 1
    store.close()
