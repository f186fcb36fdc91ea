"""The merge policy: which segments a commit merges into the one it writes.

Segments sit in size tiers (each :data:`MERGE_FACTOR` times the one below); a commit merges a tier
into its new segment once the tier holds :data:`MERGE_FACTOR` segments, so a small ``kb add``
merges only small segments — a passage is rewritten about once a tier, as in Lucene's log merge
policy — and the count grows with the logarithm of the index. :data:`MAX_SEGMENTS` is the
backstop (the smallest are merged beyond it); mostly deleted segments are merged away;
``kb optimize`` merges all.
"""
from __future__ import annotations

import math
import os

from kb.index.locking import crash_point

MAX_SEGMENTS = int(os.environ.get("KB_MAX_SEGMENTS") or 16)  # a commit merges the smallest beyond this many
MERGE_FACTOR = 4          # a size tier with this many segments is merged into the commit's segment
TIER_BASE = 4096          # passages: the lowest tier holds segments smaller than this
MOSTLY_DELETED = 0.3      # a segment with this share of deleted passages is merged away


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
