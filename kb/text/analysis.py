"""Stage 3 — analysis: a Whoosh analyzer composed of a tokenizer and filters built on segment.

``JiebaTokenizer | SubwordFilter | LowercaseFilter``:

* the tokenizer yields accurate-mode words (codes canonical, one-character Latin/digit tokens kept,
  punctuation dropped) with consecutive positions and true character offsets;
* the sub-word filter adds each compound's parts for recall and numbers positions by the finest
  parts, so a phrase query over parts matches whether a document kept a word whole or not.
  (jieba's stock ChineseAnalyzer used character offsets as positions, which breaks phrases.)

Query-side helpers give the same views of a query string: :func:`query_words` (whole words) and
:func:`phrase_parts` (finest parts, for phrase queries).
"""
from __future__ import annotations

from whoosh.analysis import Filter, LowercaseFilter, Token, Tokenizer

from kb.text import segment


class JiebaTokenizer(Tokenizer):
    """Accurate-mode jieba words with consecutive positions and character offsets."""

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="",
                 **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            token.original = token.text = value
            token.boost, token.stopped = 1.0, False
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar, token.endchar = start_char, start_char + len(value)
            yield token
            return
        for i, word in enumerate(segment.segment(value)):
            token.text = word.text
            token.boost, token.stopped = 1.0, False
            if keeporiginal:
                token.original = word.text
            if positions:
                token.pos = start_pos + i
            if chars:
                token.startchar, token.endchar = start_char + word.start, start_char + word.end
            yield token


class SubwordFilter(Filter):
    """Adds the parts of compound words; positions count the finest parts.

    A word with k finest parts takes positions p … p+k-1: the word itself and each part sit at the
    position of their first finest part. In ``mode="query"`` no parts are added (positions still
    consecutive), so a query word stays one term.
    """

    def __call__(self, tokens):
        next_pos = None
        for t in tokens:
            if t.mode == "query":
                yield t
                continue
            if next_pos is None:
                next_pos = t.pos if t.positions else 0
            parts, width = segment.expansion(t.text)
            base = next_pos
            if t.positions:
                t.pos = base
            yield t
            if parts:
                code = "+" in t.text
                start = t.startchar if t.chars else 0
                for text, offset, slot in parts:
                    part = t.copy()
                    part.text = text
                    if t.positions:
                        part.pos = base + slot
                    if t.chars and not code:
                        part.startchar, part.endchar = start + offset, start + offset + len(text)
                    yield part
            next_pos = base + width


def KbAnalyzer():
    """The analyzer for every text field of the index."""
    return JiebaTokenizer() | SubwordFilter() | LowercaseFilter()


def query_words(text: str) -> list[str]:
    """Whole words of a query string, lower-cased (no parts)."""
    return [w.text.lower() for w in segment.segment(text)]


def phrase_parts(text: str) -> list[str]:
    """Finest parts of a string, in order, lower-cased: the units positions count."""
    out = []
    for word in segment.segment(text):
        out.extend(part.lower() for part, _ in segment.finest(word.text))
    return out
