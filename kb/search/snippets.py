"""Snippets as data: the marked terms as character spans, and the window of a passage shown.

Nothing here writes HTML: the web wraps the spans in ``<mark>`` (escaping the text), the CLI in
【】 — both through :func:`pieces`.
"""
from __future__ import annotations

from collections.abc import Iterable

from kb.text import segment
from kb.text.normalize import fold_variants

SNIPPET_WIDTH = 160
ELLIPSIS = "…"


def mark_spans(text: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    """Character spans of the query terms in ``text`` (codes in any spelling: ``7 2 N`` for
    ``7+2+N``), longest first, adjacent ones merged. Plain string search: segmenting every
    shown passage again would cost more than the search itself."""
    terms = set(terms)
    if not terms or not text:
        return []
    low = text.lower()
    if len(low) != len(text):  # a few characters lower-case to two
        low = "".join(ch.lower()[:1] for ch in text)
    low = fold_variants(low)  # the terms are folded (着眼 marks 著眼); same length
    candidates = {(m.start(), m.end()) for m in segment.code_pattern().finditer(text)
                  if segment.canonical_code(m.group(0)).lower() in terms}
    for term in terms:
        if "+" in term:
            continue
        start = low.find(term)
        while start >= 0:
            candidates.add((start, start + len(term)))
            start = low.find(term, start + 1)
    chosen: list[tuple[int, int]] = []
    for start, end in sorted(candidates, key=lambda s: (-(s[1] - s[0]), s[0])):
        if all(end <= s or start >= e for s, e in chosen):
            chosen.append((start, end))
    chosen.sort()
    merged: list[list[int]] = []
    for start, end in chosen:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def snippet_window(text: str, spans: list[tuple[int, int]], width: int = SNIPPET_WIDTH) -> tuple[int, int]:
    """About ``width`` characters holding the most marked text; never cuts through a mark."""
    if len(text) <= width:
        return 0, len(text)
    best, best_score = 0, -1
    for s, _ in spans or [(0, 0)]:
        start = max(0, min(s - 20, len(text) - width))
        score = sum(min(e, start + width) - max(s2, start) for s2, e in spans
                    if e > start and s2 < start + width)
        if score > best_score:
            best, best_score = start, score
    end = best + width
    for s, e in spans:
        if s < best < e:
            best = s
        if s < end < e:
            end = e
    return best, min(end, len(text))


def clip(spans: list[tuple[int, int]], start: int, end: int, shift: int = 0) -> list[list[int]]:
    """The spans within ``text[start:end]``, cut to it, as offsets into that slice (+ ``shift``)."""
    out = []
    for s, e in spans:
        if e <= start or s >= end:
            continue
        out.append([max(s, start) - start + shift, min(e, end) - start + shift])
    return out


def make_snippet(text: str, terms: Iterable[str], width: int = SNIPPET_WIDTH) -> tuple[str, list[list[int]]]:
    """(snippet text, mark spans into it): about ``width`` characters of ``text`` around the
    marked terms, with … where it was cut."""
    spans = mark_spans(text, terms)
    start, end = snippet_window(text, spans, width)
    lead = ELLIPSIS if start > 0 else ""
    tail = ELLIPSIS if end < len(text) else ""
    return lead + text[start:end] + tail, clip(spans, start, end, len(lead))


def snippet_fields(text: str, terms: Iterable[str]) -> dict[str, object]:
    """A hit's ``snippet`` (plain text) and ``marks`` (``[start, end]`` character offsets into it)."""
    snippet, marks = make_snippet(text, terms)
    return {"snippet": snippet, "marks": marks}


def pieces(text: str, spans: Iterable[Iterable[int]]) -> list[tuple[str, bool]]:
    """``text`` cut at the spans: (piece, marked) in order, empty pieces left out."""
    out: list[tuple[str, bool]] = []
    pos = 0
    for s, e in spans:
        if s > pos:
            out.append((text[pos:s], False))
        if e > s:
            out.append((text[s:e], True))
        pos = max(pos, e)
    if pos < len(text):
        out.append((text[pos:], False))
    return out
