"""``kb check``: read every segment, its columns and the catalogue back; with ``--repair``,
rebuild what the index itself can give."""
from __future__ import annotations

import shutil
from array import array
from typing import TYPE_CHECKING

from kb.index import postings
from kb.index.errors import StoreError
from kb.index.sidefiles import CATALOGUE, read_catalogue, side_file

if TYPE_CHECKING:
    from kb.index.store import IndexStore


def check(store: "IndexStore", repair: bool = False) -> list[str]:
    """Verify every segment (postings, stored fields), its columns and the catalogue; with
    ``repair``, rebuild what the index itself can give (columns; catalogue entries of unknown
    documents dropped). Returns one line per problem found (and what was done)."""
    from whoosh.reading import SegmentReader

    problems: list[str] = []
    try:
        toc = store._read_toc(store.latest_generation())
    except StoreError as exc:
        return [str(exc)]
    doc_ids: set[str] = set()
    for seg in toc.segments:
        name = seg.segment_id()
        try:
            reader = SegmentReader(store._storage, toc.schema, seg)
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
        folder = store.folder / postings.COLUMNS_DIR / name
        bad = postings.check_segment(folder, seg.doc_count_all())
        if bad:
            problems.append(f"列 columns {name}: {bad}" + ("（已重建 / rebuilt）" if repair else ""))
            if repair:
                reader = SegmentReader(store._storage, toc.schema, seg)
                try:
                    shutil.rmtree(folder, ignore_errors=True)
                    postings.write_segment(reader, folder)
                finally:
                    reader.close()
    try:
        catalogue = read_catalogue(side_file(store.folder, CATALOGUE, toc.generation))
    except (OSError, ValueError) as exc:
        problems.append(f"目录 catalogue: 无法读取 / unreadable ({exc})")
        catalogue = None
    if catalogue is not None:
        orphans = [m for m in catalogue if m.get("doc_id") not in doc_ids]
        if orphans:
            problems.append(f"目录 catalogue: {len(orphans)} 个模式属于不存在的文档 / models of "
                            f"unknown documents" + ("（已删除 / dropped）" if repair else ""))
    if repair and (catalogue is None or any(m.get("doc_id") not in doc_ids for m in catalogue)):
        with store.transaction() as tx:
            tx.catalogue = [m for m in (catalogue or []) if m.get("doc_id") in doc_ids]
    return problems
