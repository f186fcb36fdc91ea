"""Documents and passages: the types, metadata, and passage splitting.

A passage is a run of whole sentences of about 80–300 characters, never cut mid-sentence, with the
headings of its section attached to the first passage of that section. Laws and regulations split
on their own structure instead: one passage an article (第X条, with its 款 and 项; a very long
article is cut between 款), knowing its article and its 编/章/节 path. Numbered headings
(一、 （一） 1.) give the other passages their heading path.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field, fields
from pathlib import PurePosixPath
from typing import Any, Iterable, Iterator, Mapping

PASSAGE_MIN, PASSAGE_MAX, HEADING_MAX = 80, 300, 60
# Citation fields a sidecar may give (beyond the search metadata); kept with every passage.
CITATION_FIELDS = ("author", "publisher", "url", "date", "pages", "article", "accessed", "kind",
                   "issued", "volume", "issue", "publisher_place")
PLACE_LEVELS = ("province", "city", "district", "street", "community")
META_FIELDS = ("title", "unit", "author", *PLACE_LEVELS, "level", "year", "date", "type", "collection", "note")
DATE = re.compile(r"(1[89]\d\d|20\d\d)(?:\s*[-./年]\s*(\d{1,2})(?:\s*[-./月]\s*(\d{1,2}))?)?")

# An enumerator that opens a new paragraph inside a long scraped line: " 一、" " (二)" " 3." " 【"
INLINE_BREAK = re.compile(
    r"[ \t\u3000]+(?=[一二三四五六七八九十]{1,3}、|[(（][一二三四五六七八九十]{1,3}[)）]"
    r"|\d{1,2}[.．、](?!\d)|第[一二三四五六七八九十]{1,3}[，,、]|【)")
SENTENCE = re.compile(r"[^。！？!?\n]*(?:[。！？!?]+[”’」』）)\]]*|$)")
CLAUSE = re.compile(r"[^；;]*(?:[；;]+[”’」』]*|$)")
NOT_HEADING_END = tuple("。；;，,：:、")


@dataclass
class Passage:
    passage_id: str
    doc_id: str
    order: int
    text: str
    heading: str = ""
    article: str = ""   # 第五十六条 (laws and regulations)
    path: str = ""      # 第二章 自然人 › 第四节 宣告失踪和宣告死亡, or 一、总体要求 › （二）基本原则
    page: int = 0       # the page it begins on (a PDF or scan); 0 when the file has no pages
    page_end: int = 0   # the page it ends on


@dataclass
class Document:
    doc_id: str
    source: str
    text: str
    title: str = ""
    unit: str = ""    # the organisation the text speaks for or about (华阳街道党工委), never a byline
    author: str = ""  # who wrote it (陈井安; 记者…，通讯员…)
    province: str = ""
    city: str = ""
    district: str = ""
    street: str = ""
    community: str = ""
    level: str = ""
    year: int | None = None
    date: str = ""  # YYYY[-MM[-DD]]: tells versions of one document apart
    type: str = ""
    collection: str = ""
    note: str = ""
    content_hash: str = ""
    cite: dict[str, str] = field(default_factory=dict)  # citation fields (CITATION_FIELDS)
    ocr: bool = False  # some of its text was read by OCR from a scan
    page_starts: list[tuple[int, int]] = field(default_factory=list)  # (offset in text, page number)
    passages: list[Passage] = field(default_factory=list)

    @property
    def place(self) -> str:
        """Place from province down, without repeats (上海市 上海市 → 上海市)."""
        seen: list[str] = []
        for level in PLACE_LEVELS:
            value = getattr(self, level)
            if value and value not in seen:
                seen.append(value)
        return " ".join(seen)

    def metadata(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in ("text", "passages", "page_starts")}
        data["place"] = self.place
        return data

    def split(self) -> "Document":
        """Fill :attr:`passages` from :attr:`text`; returns self."""
        pieces = split_structured(self.text)
        pages = page_numbers(self.text, self.page_starts, [p.text for p in pieces])
        self.passages = [Passage(f"{self.doc_id}#p{i}", self.doc_id, i, piece.text, piece.heading,
                                 piece.article, piece.path, *page)
                         for i, (piece, page) in enumerate(zip(pieces, pages), 1)]
        return self

    def rename(self, doc_id: str) -> "Document":
        """Give the document (and its passages) another id; returns self."""
        self.doc_id = doc_id
        for passage in self.passages:
            passage.doc_id = doc_id
            passage.passage_id = f"{doc_id}#p{passage.order}"
        return self


def page_numbers(text: str, starts: list[tuple[int, int]], pieces: list[str]) -> list[tuple[int, int]]:
    """The pages each piece of ``text`` begins and ends on ((0, 0) for all without ``starts``, the
    (offset, page number) where each page begins). Pieces are found in order, blanks aside."""
    if not starts:
        return [(0, 0)] * len(pieces)
    compact_at = [len("".join(text[:offset].split())) for offset, _ in starts]
    compact = "".join(text.split())

    def page_at(position: int) -> int:
        return starts[max(0, bisect_right(compact_at, position) - 1)][1]

    out, pos = [], 0
    for piece in pieces:
        body = "".join(piece.split())
        found = compact.find(body[:40], pos) if body else -1
        pos = found if found >= 0 else pos
        out.append((page_at(pos), page_at(pos + max(0, len(body) - 1))))
    return out


# ---------------------------------------------------------------- names and ids
# A document id is readable (the file's path below the folder given, without its suffix: the
# seeds keep their names), printable and safe in a URL path: no control or format characters,
# no lone surrogates from undecodable file-name bytes, none of  # ? % \ and no blanks.
ID_UNSAFE = re.compile(r"[\s#?%\\\"'<>|*:]+")
DISAMBIGUATION = "~"  # notes, notes~2, notes~3 … (collection pieces use "-1", "-2")


def printable_name(name: str) -> str:
    """A file name (or relative path) as text: undecodable bytes re-read as GB18030 when that
    works (archives made on Chinese Windows), otherwise shown as U+FFFD; control and other
    unprintable characters become "_"."""
    if any("\udc80" <= ch <= "\udcff" for ch in name):
        raw = name.encode("utf-8", "surrogateescape")
        try:
            name = raw.decode("gb18030")
        except UnicodeDecodeError:
            name = raw.decode("utf-8", "replace")
    return "".join(ch if ch.isprintable() and not "\ud800" <= ch <= "\udfff" else "_" for ch in name)


def make_doc_id(name: str) -> str:
    """The readable, URL-safe id of a file name or relative path (``a/通知.txt`` → ``a/通知``)."""
    text = printable_name(name).replace("\\", "/")
    parts = [p for p in text.split("/") if p]
    if parts and "." in parts[-1].lstrip("."):
        parts[-1] = parts[-1].rsplit(".", 1)[0]
    cleaned = [ID_UNSAFE.sub("_", p).strip("._") for p in parts]
    return "/".join(p for p in cleaned if p) or "doc"


def make_record_id(value: str) -> str:
    """A JSON-lines record id made safe the same way (it has no suffix to drop)."""
    cleaned = "/".join(p for p in (ID_UNSAFE.sub("_", part).strip("._")
                                   for part in printable_name(value).split("/")) if p)
    return cleaned or "record"


def unique_ids(docs: Iterable[Document], taken: Mapping[str, str] | None = None) -> Iterator[Document]:
    """Documents whose ids no other source holds, in the order given.

    The first document keeps its readable id; another one from a different source that would
    share it gets ``~2``, ``~3`` … — the same files in the same order get the same ids on every
    run. ``taken`` maps ids already in the index to their source: a document from that source
    keeps the id (it replaces the old version), one from elsewhere gets the next free id."""
    taken = taken if taken is not None else {}
    used: set[str] = set()
    for doc in docs:
        candidate, n = doc.doc_id, 1
        while candidate in used or taken.get(candidate, doc.source) != doc.source:
            n += 1
            candidate = f"{doc.doc_id}{DISAMBIGUATION}{n}"
        used.add(candidate)
        yield doc if candidate == doc.doc_id else doc.rename(candidate)


def apply_metadata(doc: Document, meta: dict[str, Any]) -> Document:
    """Copy known metadata keys onto ``doc`` (unknown keys are ignored)."""
    for key in META_FIELDS:
        if key in meta and meta[key] not in (None, ""):
            value = meta[key]
            if key == "year":
                value = _year(value)
            elif key == "date":
                value = parse_date(value)
            setattr(doc, key, value)
    apply_citation_fields(doc, meta)
    if doc.date and not doc.year:
        doc.year = int(doc.date[:4])
    return doc


def parse_date(value: Any) -> str:
    """``2020-12-30``, ``2020年12月30日``, ``2020.12`` → ``2020-12-30``, ``2020-12`` (or "")."""
    match = DATE.search(str(value))
    if not match:
        return ""
    year, month, day = match.groups()
    parts = [year] + [f"{int(x):02d}" for x in (month, day) if x]
    if month and not 1 <= int(month) <= 12 or day and not 1 <= int(day) <= 31:
        parts = [year]
    return "-".join(parts)


def apply_citation_fields(doc: Document, meta: dict[str, Any]) -> None:
    """Keep the citation fields a sidecar or record gives (publisher, url, date, pages …)."""
    for key in CITATION_FIELDS:
        if meta.get(key) not in (None, ""):
            doc.cite[key] = str(meta[key])


def _year(value: Any) -> int | None:
    match = re.search(r"(1[89]\d\d|20\d\d)", str(value))
    return int(match.group(1)) if match else None


def guess_title(text: str) -> str:
    first = text.strip().split("\n", 1)[0].strip()
    return first if len(first) <= 60 else first[:30] + "…"


def split_collection(text: str, parts: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
    """Cut a file that bundles several pieces at each part's ``start`` line.

    Lines before the first start (an editor's preface) go with the first piece.
    """
    lines = text.split("\n")
    starts = []
    for part in parts:
        index = next((i for i, line in enumerate(lines)
                      if line.strip() == part["start"] and (not starts or i > starts[-1])), None)
        if index is None:
            raise ValueError(f"分篇起始行未找到 / start line not found: {part['start']}")
        starts.append(index)
    starts[0] = 0
    bounds = starts + [len(lines)]
    return [(part, "\n".join(lines[bounds[i]:bounds[i + 1]])) for i, part in enumerate(parts)]


def paragraphs(text: str) -> Iterator[str]:
    for line in text.split("\n"):
        for piece in INLINE_BREAK.split(line):
            piece = piece.strip()
            if piece:
                yield piece


def is_heading(paragraph: str) -> bool:
    stripped = paragraph.rstrip("”’」』）) ")
    return len(paragraph) <= HEADING_MAX and not stripped.endswith(NOT_HEADING_END)


def sentences(paragraph: str) -> list[str]:
    """Sentences of a paragraph; an over-long sentence is cut at semicolons, then by length."""
    out = []
    for sent in (m.group(0) for m in SENTENCE.finditer(paragraph)):
        if not sent:
            continue
        if len(sent) <= PASSAGE_MAX:
            out.append(sent)
            continue
        for clause in (m.group(0) for m in CLAUSE.finditer(sent)):
            while len(clause) > 2 * PASSAGE_MAX:  # no punctuation at all: cut by length
                out.append(clause[:PASSAGE_MAX])
                clause = clause[PASSAGE_MAX:]
            if clause:
                out.append(clause)
    return out


def sections(text: str) -> Iterator[tuple[str, list[str]]]:
    """(heading, paragraphs) pairs; consecutive heading lines join into one heading."""
    heading: list[str] = []
    body: list[str] = []
    for para in paragraphs(text):
        if is_heading(para):
            if body:
                yield "\n".join(heading), body
                heading, body = [], []
            heading.append(para)
        else:
            body.append(para)
    if heading or body:
        yield "\n".join(heading), body


def split_passages(text: str) -> list[tuple[str, str]]:
    """(heading, passage text) pairs; the heading opens the first passage of its section."""
    out: list[tuple[str, str]] = []
    for heading, body in sections(text):
        chunks: list[str] = []
        current = ""
        for para in body:
            for sent in sentences(para):
                if current and len(current) + len(sent) > PASSAGE_MAX and len(current) >= PASSAGE_MIN:
                    chunks.append(current)
                    current = ""
                current += sent
            if len(current) >= PASSAGE_MIN:
                chunks.append(current)
                current = ""
            elif current:
                current += "\n"
        current = current.strip()
        if current:
            if chunks and len(current) < PASSAGE_MIN and len(chunks[-1]) + len(current) <= PASSAGE_MAX + 100:
                chunks[-1] += "\n" + current
            else:
                chunks.append(current)
        if not chunks:
            out.append((heading, heading))
            continue
        for i, chunk in enumerate(chunks):
            text_ = f"{heading}\n{chunk}" if heading and i == 0 else chunk
            out.append((heading, text_.strip()))
    return [(h, t) for h, t in out if t]


class AmbiguousRef(ValueError):
    """A file name or stem that names documents from several files (message for the user)."""


def match_refs(known: Mapping[str, str], ref: str) -> list[str]:
    """Ids of the documents ``ref`` names, given ``known`` ids → source.

    An id or a source exactly; otherwise a path ending in a source (``corpus/a/notes.txt``);
    otherwise a file name or stem (``notes.txt``, ``notes``), which must name one file — several
    raise :class:`AmbiguousRef` listing them."""
    exact = [d for d, source in known.items() if ref in (d, source)]
    if exact:
        return exact
    path = printable_name(ref).replace("\\", "/")
    suffixed = [(len(source), d) for d, source in known.items()
                if source and (path.endswith("/" + source) or path == source)]
    if suffixed:
        longest = max(n for n, _ in suffixed)
        return [d for n, d in suffixed if n == longest]
    name = PurePosixPath(path).name
    named = [d for d, source in known.items()
             if name in (PurePosixPath(source).name, make_doc_id(PurePosixPath(source).name))
             or name == d.rsplit("/", 1)[-1]]
    sources = sorted({known[d] for d in named})
    if len(sources) > 1:
        raise AmbiguousRef(f"“{name}”对应多个文件：{'、'.join(sources[:10])}，请写出文档编号或路径 / "
                           f"names {len(sources)} files, give the id or the path")
    return named

# ---------------------------------------------------------------- structure: articles, headings

NUMERAL = "一二三四五六七八九十百千零〇两"
ARTICLE = re.compile(rf"^第([{NUMERAL}\d]+)条(?:之[{NUMERAL}]+)?(?=[\s\u3000]|$)")
DIVISION = re.compile(rf"^第[{NUMERAL}\d]+(分编|编|章|节)(?=[\s\u3000]|$)")
DIVISION_LEVEL = {"编": 0, "分编": 1, "章": 2, "节": 3}
ENUMERATOR = (  # numbered headings of policy and case texts, outermost first
    re.compile(rf"^[{NUMERAL}]{{1,3}}、"),
    re.compile(rf"^[(（][{NUMERAL}]{{1,3}}[)）]"),
    re.compile(r"^\d{1,2}[.．、](?!\d)"),
    re.compile(r"^[(（]\d{1,2}[)）]"),
)
ARTICLES_MIN = 3        # a text with fewer article lines is not a law
ARTICLE_MAX = 900       # a longer article is cut between its 款
LABEL_MAX = 30          # a heading label longer than this is cut
PATH_SEP = " › "


@dataclass
class Piece:
    """A passage before it gets its id: text, heading shown above it, article, heading path."""

    text: str
    heading: str = ""
    article: str = ""
    path: str = ""


def split_structured(text: str) -> list[Piece]:
    """Passages of a text: articles for a law or regulation, sentence runs with heading paths
    otherwise."""
    lines = [ln.strip() for ln in text.split("\n")]
    if sum(1 for ln in lines if ARTICLE.match(ln)) >= ARTICLES_MIN:
        return split_articles(lines)
    return _with_paths(text, split_passages(text))


def split_articles(lines: list[str]) -> list[Piece]:
    """One passage an article; lines before the first article (title, contents, preamble) and
    after a division heading without articles split as ordinary text."""
    out: list[Piece] = []
    divisions: list[tuple[int, str]] = []
    loose: list[str] = []
    article, body = "", []

    def path() -> str:
        return PATH_SEP.join(label for _, label in divisions)

    def flush_article() -> None:
        nonlocal article, body
        if article:
            out.extend(Piece(chunk, path(), article, path()) for chunk in article_chunks(body))
        article, body = "", []

    def flush_loose() -> None:
        if loose:
            joined = "\n".join(loose)
            out.extend(Piece(t, h, "", path() or h.replace("\n", PATH_SEP))
                       for h, t in split_passages(joined))
            loose.clear()

    for line in lines:
        if not line:
            continue
        division, start = DIVISION.match(line), ARTICLE.match(line)
        if division and len(line) <= HEADING_MAX:
            flush_article()
            flush_loose()
            level = DIVISION_LEVEL[division.group(1)]
            divisions = [d for d in divisions if d[0] < level] + [(level, _label(line))]
        elif start:
            flush_article()
            flush_loose()
            article, body = start.group(0), [line]
        elif article:
            body.append(line)
        else:
            loose.append(line)
    flush_article()
    flush_loose()
    return out


def article_chunks(paragraphs_: list[str]) -> list[str]:
    """An article's text, cut between paragraphs (款) only when longer than ARTICLE_MAX."""
    whole = "\n".join(paragraphs_)
    if len(whole) <= ARTICLE_MAX:
        return [whole]
    chunks, current = [], ""
    for para in paragraphs_:
        if current and len(current) + len(para) > ARTICLE_MAX // 2:
            chunks.append(current)
            current = ""
        current = f"{current}\n{para}" if current else para
    if current:
        chunks.append(current)
    return chunks


def _label(line: str) -> str:
    line = re.sub(r"[\s\u3000]+", " ", line).strip()
    return line if len(line) <= LABEL_MAX else line[:LABEL_MAX] + "…"


def enumerator_level(paragraph: str) -> int | None:
    """Nesting level of a numbered heading (一、 → 0, （一） → 1, 1. → 2, (1) → 3), else None."""
    for level, pattern in enumerate(ENUMERATOR):
        if pattern.match(paragraph):
            return level
    return None


def heading_label(paragraph: str) -> str:
    """A numbered paragraph's label: the paragraph if short, else its first sentence or clause."""
    if len(paragraph) <= LABEL_MAX:
        return paragraph
    first = re.split(r"[。；;：:！？!?]", paragraph, 1)[0]
    return _label(first)


def _with_paths(text: str, pieces: list[tuple[str, str]]) -> list[Piece]:
    """Pieces with the heading path of numbered headings (一、 （一） 1.) seen before each one."""
    stack: list[tuple[int, str]] = []
    labels: list[tuple[int, int, str]] = []  # (position in compacted text, level, label)
    flat = ""
    for para in paragraphs(text):
        level = enumerator_level(para)
        if level is not None:
            labels.append((len(flat), level, heading_label(para)))
        flat += para
    out, pos, i = [], 0, 0
    for heading, chunk in pieces:
        body = chunk.replace("\n", "")
        found = flat.find(body[:40], pos)
        start = (found if found >= 0 else pos) + len(heading.replace("\n", ""))
        while i < len(labels) and labels[i][0] <= start:  # headings above the passage's body
            _, level, label = labels[i]
            stack = [s for s in stack if s[0] < level] + [(level, label)]
            i += 1
        pos = found if found >= 0 else pos
        out.append(Piece(chunk, heading, "", PATH_SEP.join(lab for _, lab in stack)))
    return out
