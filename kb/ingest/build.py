"""`kb index` on every core, as a stream: the two passes of a rebuild and what a worker does in each.

A rebuild cannot write a passage before it has seen every document: the terms harvested from all
the texts change how each one is cut, and the catalogue's model names (from all the texts) give
each passage its ``models`` field. So (kb/ingest/pipeline.py drives it):

1. **Examine.** The documents are read as a stream; every batch of about :data:`BATCH_PASSAGES`
   passages is pickled to a spill file in the staging folder and examined by a worker
   (:func:`examine`): its near-duplicate entry (MinHash), harvested terms and models. The parent
   keeps only these (a few hundred bytes a document), applies the copy rule of
   kb/index/similar.py in input order and builds the catalogue's mention table.
2. **Write.** Consecutive batches form a segment (at most :data:`SEGMENT_PASSAGES` passages, at
   least one per worker); a worker (:func:`write`) reads its batches back, finds the model
   mentions of each passage, writes the segment with kb/index/bulk.py and the segment's columns
   from the postings at hand, and returns the Whoosh segment and the mentions it saw. The parent
   commits all segments in input order in one table of contents, so passages are numbered as a
   single writer would number them, and fills the catalogue's mentions in document order.

Memory: the parent holds no text; a worker holds one batch (examine) or one segment (write).
"""
from __future__ import annotations

import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path

from kb.catalogue import models
from kb.index import similar
from kb.text import segment
from kb.text.documents import Document

BATCH_PASSAGES = 1000     # passages a spill file (and an examine task) holds, about
SEGMENT_PASSAGES = 40_000  # a segment written by one worker holds at most this many passages ...
MAX_SEGMENTS = 8           # ... unless that would make more segments than this (a very large corpus)
SPILL_DIR = "spill.tmp"


@dataclass
class Examined:
    """What the parent keeps of a document after the first pass."""

    doc_id: str
    source: str
    entry: similar.Entry
    terms: set[str]
    models: list[models.Model]
    passages: int
    chars: int


def spill(docs: list[Document], path: Path) -> None:
    with open(path, "wb") as handle:
        pickle.dump(docs, handle, protocol=pickle.HIGHEST_PROTOCOL)


def _load(path: str) -> list[Document]:
    with open(path, "rb") as handle:
        return pickle.load(handle)


def examine(path: str) -> list[Examined]:
    """First pass over one spill file (no jieba needed: entries, terms and models are regex and
    hashing work)."""
    return [Examined(d.doc_id, d.source, similar.entry(d), segment.harvest_terms(d.text), models.extract(d),
                     len(d.passages), len(d.text)) for d in _load(path)]


@dataclass
class MentionTable:
    """The catalogue's names as :func:`kb.catalogue.models.attach_mentions` looks for them."""

    pattern: str = ""
    terms: dict[str, list[tuple[int, str, str, str]]] = field(default_factory=dict)  # → (model number, doc, rule, id)


def mention_table(catalogue: list[models.Model]) -> MentionTable:
    """``attach_mentions``' terms and pattern, models given by their number in ``catalogue``."""
    terms: dict[str, list[tuple[int, str, str, str]]] = {}
    for number, model in enumerate(catalogue):
        for term in {model.key, *[models.key_of(a) for a in model.aliases]}:
            if len(term) >= 2:
                terms.setdefault(term, []).append((number, model.doc_id, model.rule, model.model_id))
    if not terms:
        return MentionTable()
    return MentionTable("|".join(sorted(map(re.escape, terms), key=len, reverse=True)), terms)


def passage_mentions(doc: Document, pattern: re.Pattern | None, table: MentionTable,
                     events: list[tuple[int, str, list[str] | None]]) -> dict[str, list[str]]:
    """passage_id → model ids of one document's passages, as ``attach_mentions`` gives them; each
    mention it records is appended to ``events`` as (model number, passage id, the passage's
    results if the model is the document's own, else None) for the parent to replay in order."""
    by_passage: dict[str, list[str]] = {}
    if pattern is None:
        return by_passage
    for passage in doc.passages:
        hits = {m.group(0) for m in pattern.finditer(models.canonical_name(passage.text))}
        seen: set[int] = set()
        for term in hits:
            for number, model_doc, rule, model_id in table.terms[term]:
                if model_doc == doc.doc_id or rule == "known" or len(term) >= 3:
                    if number in seen:
                        continue
                    seen.add(number)
                    ids = by_passage.setdefault(passage.passage_id, [])
                    if model_id not in ids:
                        ids.append(model_id)
                    own = model_doc == doc.doc_id
                    events.append((number, passage.passage_id,
                                   [r.strip() for r in models.RESULT.findall(passage.text)] if own else None))
    return by_passage


def replay_mentions(catalogue: list[models.Model], events: list[tuple[int, str, list[str] | None]]) -> None:
    """The models' mentions and results, filled as ``attach_mentions`` fills them."""
    for number, passage_id, found in events:
        model = catalogue[number]
        model.mentions.append(passage_id)
        if found is not None and len(model.results) < 3:
            model.results += [r for r in found if r not in model.results][:3 - len(model.results)]


def write(folder: str, spills: list[str], skip: dict[str, set[int]], terms: list[str], table: MentionTable):
    """Second pass: one segment of the staging index ``folder`` from consecutive spill files
    (``skip``: spill file → positions of the documents left out, exact copies). Returns (Whoosh segment, passages, mention events)."""
    from kb.index.bulk import write_new_segment
    from kb.index.schema import passage_records

    pattern = re.compile(table.pattern) if table.pattern else None
    events: list[tuple[int, str, list[str] | None]] = []

    def records():
        for path in spills:
            left_out = skip.get(path, ())
            for i, doc in enumerate(_load(path)):
                if i in left_out:
                    continue
                yield from passage_records(doc, passage_mentions(doc, pattern, table, events))

    seg, count = write_new_segment(Path(folder), records(), terms)
    return seg, count, events


def plan_segments(batches: list[tuple[str, int, int]], workers: int) -> list[list[str]]:
    """Consecutive spill files grouped into segments: (path, passages, characters) per batch →
    lists of paths, the characters shared about evenly, at least one segment per worker (when
    there are enough batches), each at most SEGMENT_PASSAGES passages unless MAX_SEGMENTS binds."""
    batches = [b for b in batches if b[1]]
    if not batches:
        return []
    passages = sum(b[1] for b in batches)
    count = min(len(batches), max(workers, min(MAX_SEGMENTS, -(-passages // SEGMENT_PASSAGES))))
    chars = sum(b[2] for b in batches)
    groups: list[list[str]] = [[]]
    done = 0
    for i, (path, _, size) in enumerate(batches):
        left_batches, left_groups = len(batches) - i, count - len(groups)
        if groups[-1] and (done >= chars * len(groups) / count or left_batches <= left_groups):
            if len(groups) < count:
                groups.append([])
        groups[-1].append(path)
        done += size
    return groups
