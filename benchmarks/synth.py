"""Synthetic corpora of any number of passages, assembled from the real texts (issue 14).

    python benchmarks/synth.py --passages 500000 --out /tmp/kb-scale/corpus-500000 [--seed 14]
    python benchmarks/synth.py --check /tmp/kb-scale/corpus-500000     # unigram comparison

The real texts — ``corpus/``, ``../shared/corpus-ext/laws.jsonl.gz`` and ``reports.jsonl.gz``
(read where they lie, never copied) — are read through kb's own reader, so the units below are
exactly what ``kb index`` makes of them (normalized, split). They give:

* **units**: a law's articles (all the passages of one article together, their 第X条 label taken
  off), and the other passages (sentence runs with their heading) of each source group
  (law preambles, work reports, the case texts of ``corpus/``);
* **templates**: every real document's metadata (title, type, place, year, date, unit, issuing
  lines) and its length in units, plus the chapter labels of the laws.

A new document copies a template drawn at random (every real document equally likely, so the
mix of types and the length distribution are the real ones) and fills it with as many units,
drawn with replacement from the template's own group: a law gets articles numbered 第一条,
第二条 … again (with chapter headings where its template had chapters), a report or case text
gets passages. Every unit is equally likely, so the expected frequency of every word is its
real frequency; within a passage the words, phrases and their neighbours are real, which is
what BM25, phrase and proximity checks see. The title gets ``·<number>`` and the id is
``syn<seed>-<number>``, so both are unique; a document whose text equals an earlier one (a
one-article law drawn twice) is drawn again, so nothing is dropped as an exact copy.

The passage count is exact: every document is cut by kb itself (``make_documents``), and the
last document of each part is shortened to fill the part's quota. The corpus is written as
parts (``part-0.jsonl.gz`` the base, ``part-1`` … the batches for ``kb add``), streamed: memory
holds the units, never the corpus. Same seed, same sources → the same bytes.

What does not carry over (``--check`` measures it): the vocabulary stops growing at the real
vocabulary (a larger real collection keeps finding new words: Heaps' law), documents are not
about one subject, and there are no real near-duplicates or versions among the new documents.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import random
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from kb.text.documents import ARTICLE, DIVISION, Document  # noqa: E402

DEFAULT_SOURCES = (ROOT / "corpus", SHARED / "corpus-ext" / "laws.jsonl.gz",
                   SHARED / "corpus-ext" / "reports.jsonl.gz")
FORMAT = 1            # bump when the output for a seed changes
ADD_SHARE, ADD_BATCHES = 0.10, 5
META_KEYS = ("unit", "author", "province", "city", "district", "street", "community", "level", "year",
             "date", "type", "collection")
MAX_REDRAWS = 50
DIGITS = "零一二三四五六七八九"


# ---------------------------------------------------------------- the pool of real units

@dataclass(frozen=True)
class Template:
    """One real document: its group, metadata, and its length in units."""

    group: str            # "law", "report", "case" …: where its units are drawn from
    title: str
    meta: tuple           # ((key, value), …) written into the record as is
    articles: int = 0     # laws: articles
    loose: int = 0        # passages outside articles (a law's preamble; all of a prose text)
    chapters: int = 0     # laws: 第X章 headings


@dataclass
class Pool:
    """Units and templates of the real texts (all in memory: ~20 M characters)."""

    articles: list[str] = field(default_factory=list)          # article bodies, label taken off
    loose: dict[str, list[str]] = field(default_factory=dict)  # group → passage texts
    chapters: list[str] = field(default_factory=list)          # chapter labels (总则, 法律责任 …)
    templates: list[Template] = field(default_factory=list)

    @property
    def passages(self) -> Iterator[str]:
        """Every real unit's text (an article as one text), for the statistics."""
        yield from self.articles
        for texts in self.loose.values():
            yield from texts


def group_of(path: Path) -> str:
    name = path.name.lower()
    return "law" if name.startswith("laws") else "report" if name.startswith("reports") else "case"


def read_documents(sources: Iterable[Path]) -> Iterator[tuple[str, Document]]:
    """(group, document) of every real document, in a fixed order, through kb's own readers."""
    from kb.cli.common import expand_paths
    from kb.ingest.readers import ReadError, read_path

    files, problems = expand_paths([Path(s) for s in sources])
    if problems:
        raise SystemExit("; ".join(problems))
    for found in files:
        try:
            for doc in read_path(found.path, found.name):
                yield group_of(found.path), doc
        except ReadError as exc:  # a bad record: the good ones were yielded
            print(f"synth: {exc}", file=sys.stderr)


def template_meta(doc: Document) -> tuple:
    meta = {k: getattr(doc, k) for k in META_KEYS if getattr(doc, k) not in (None, "")}
    meta.update({k: v for k, v in doc.cite.items() if k not in meta and k != "date"})
    return tuple(sorted(meta.items()))


def load_pool(sources: Iterable[Path] = DEFAULT_SOURCES) -> Pool:
    """Units and templates of the real documents under ``sources``."""
    pool = Pool()
    for group, doc in read_documents(sources):
        articles, loose, chapters = 0, 0, set()
        current, body = "", []
        for passage in doc.passages + [None]:
            label = passage.article if passage is not None else ""
            if body and (passage is None or label != current or not label):
                if current:
                    match = ARTICLE.match(body[0])
                    text = "\n".join(body)
                    pool.articles.append(text[match.end():].strip() if match else text)
                    articles += 1
                body = []
            if passage is None:
                break
            if label:
                current = label
                body.append(passage.text)
                for division in passage.path.split(" › ") if passage.path else ():
                    if DIVISION.match(division) and division.split(" ", 1)[0].endswith("章"):
                        chapters.add(division)
            else:
                current = ""
                pool.loose.setdefault(group, []).append(passage.text)
                loose += 1
        for heading in sorted(chapters):
            pool.chapters.append(heading.split(" ", 1)[1] if " " in heading else "总则")
        pool.templates.append(Template(group, doc.title or doc.doc_id, template_meta(doc),
                                       articles, loose, len(chapters)))
    if not pool.templates:
        raise SystemExit("synth: no real documents found in " + ", ".join(map(str, sources)))
    return pool


# ---------------------------------------------------------------- assembling documents

def chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 101 → 一百零一, 1010 → 一千零一十 (Arabic digits from 10,000 up)."""
    if not 0 < n < 10000:
        return str(n)
    out, started, zero = [], False, False
    for value, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // value % 10
        if digit:
            out.append(("零" if zero else "") + DIGITS[digit] + name)
            started, zero = True, False
        elif started:
            zero = True
    text = "".join(out)
    return text[1:] if text.startswith("一十") else text


def law_text(articles: list[str], preamble: list[str], chapter_labels: list[str]) -> str:
    """A law: preamble passages, then the articles numbered afresh, chapter headings spread evenly."""
    lines = list(preamble)
    every = math.ceil(len(articles) / len(chapter_labels)) if chapter_labels else 0
    for i, body in enumerate(articles):
        if every and i % every == 0:
            n = i // every
            lines.append(f"第{chinese_number(n + 1)}章 {chapter_labels[n]}")
        lines.append(f"第{chinese_number(i + 1)}条 {body}")
    return "\n".join(lines)


def draft(pool: Pool, template: Template, rng: random.Random, scale: float = 1.0) -> tuple[list, list, list]:
    """The units of a new document after ``template`` (``scale`` < 1: fewer of them)."""
    loose_pool = pool.loose.get(template.group, [])
    n_loose = round(template.loose * scale) if template.articles else max(1, round(template.loose * scale))
    n_articles = max(1, round(template.articles * scale)) if template.articles else 0
    loose = [rng.choice(loose_pool) for _ in range(n_loose)] if loose_pool else []
    articles = [rng.choice(pool.articles) for _ in range(n_articles)]
    chapters = ([rng.choice(pool.chapters) for _ in range(min(template.chapters, n_articles))]
                if template.chapters and pool.chapters else [])
    return loose, articles, chapters


def text_of(loose: list[str], articles: list[str], chapters: list[str]) -> str:
    return law_text(articles, loose, chapters) if articles else "\n".join(loose)


def passages_of(text: str, meta: dict) -> int:
    """How many passages kb makes of ``text`` (its own normalize and split)."""
    from kb.ingest.readers import make_documents

    return sum(len(d.passages) for d in make_documents("x", "x", text, meta))


def copy_key(text: str) -> bytes:
    """The exact-copy key of kb/index/similar.py's rule (text without whitespace)."""
    return hashlib.sha1(re.sub(r"\s+", "", text).encode("utf-8")).digest()


def quotas(total: int, add_share: float = ADD_SHARE, batches: int = ADD_BATCHES) -> list[int]:
    """Passages per part: the base, then ``batches`` equal parts making ``add_share`` of ``total``."""
    each = int(total * add_share) // batches if batches else 0
    return [total - each * batches] + [each] * batches


def generate(pool: Pool, parts: list[int], seed: int) -> Iterator[tuple[int, dict, int]]:
    """(part, record, passages) of new documents: exactly ``parts[i]`` passages in part ``i``."""
    rng = random.Random(seed)
    seen: set[bytes] = set()
    number = 0
    for part, quota in enumerate(parts):
        filled = 0
        while filled < quota:
            number += 1
            record, count = _document(pool, rng, seen, number, seed, quota - filled)
            filled += count
            yield part, record, count


def _document(pool: Pool, rng: random.Random, seen: set[bytes], number: int, seed: int,
              room: int) -> tuple[dict, int]:
    """One new document of at most ``room`` passages, not an exact copy of an earlier one."""
    for _ in range(MAX_REDRAWS):
        template = rng.choice(pool.templates)
        meta = dict(template.meta)
        units = draft(pool, template, rng)
        text = text_of(*units)
        count = passages_of(text, meta)
        scale = 1.0
        while count > room:  # the part's last document: fewer units until it fits
            scale *= max(0.05, min(0.9, room / count))
            units = draft(pool, template, rng, scale)
            text = text_of(*units)
            count = passages_of(text, meta)
            if scale < 1e-3:
                break
        key = copy_key(text)
        if count <= room and key not in seen:
            seen.add(key)
            record = {"id": f"syn{seed}-{number:07d}", "title": f"{template.title}·{number}", "text": text,
                      **meta}
            return record, count
    raise RuntimeError(f"synth: no document of at most {room} passages after {MAX_REDRAWS} draws")


def write_corpus(pool: Pool, folder: Path, total: int, seed: int, add_share: float = ADD_SHARE,
                 batches: int = ADD_BATCHES, progress: bool = False) -> dict:
    """Write ``part-<i>.jsonl.gz`` files of ``total`` passages into ``folder`` and its
    ``manifest.json``; an existing manifest of the same request is reused as it is."""
    folder = Path(folder)
    request = {"format": FORMAT, "passages": total, "seed": seed, "add_share": add_share, "batches": batches}
    manifest_path = folder / "manifest.json"
    if manifest_path.exists():
        old = json.loads(manifest_path.read_text(encoding="utf-8"))
        if {k: old.get(k) for k in request} == request and all((folder / p["file"]).exists() for p in old["parts"]):
            return old
    folder.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    plan = quotas(total, add_share, batches)
    parts = [{"file": f"part-{i}.jsonl.gz", "passages": 0, "documents": 0, "characters": 0}
             for i in range(len(plan))]
    handles = [gzip.open(folder / p["file"], "wt", encoding="utf-8", compresslevel=5) for p in parts]
    try:
        for part, record, count in generate(pool, plan, seed):
            handles[part].write(json.dumps(record, ensure_ascii=False) + "\n")
            info = parts[part]
            info["passages"] += count
            info["documents"] += 1
            info["characters"] += len(record["text"])
            if progress and info["documents"] % 2000 == 0:
                print(f"synth: part {part}: {info['passages']:,} / {plan[part]:,} passages", file=sys.stderr)
    finally:
        for handle in handles:
            handle.close()
    manifest = {**request, "parts": parts, "documents": sum(p["documents"] for p in parts),
                "characters": sum(p["characters"] for p in parts),
                "generate_s": round(time.perf_counter() - began, 1)}
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest


def write_real(folder: Path, total: int | None, seed: int, sources: Iterable[Path] = DEFAULT_SOURCES,
               add_share: float = ADD_SHARE, batches: int = ADD_BATCHES) -> dict:
    """The real documents (whole, in a seeded random order, until ``total`` passages; None: all)
    as records in the same parts as :func:`write_corpus` — the anchor the synthetic sizes are
    compared with. Parts are cut between documents, so their quotas are met within a document."""
    folder = Path(folder)
    manifest_path = folder / "manifest.json"
    request = {"format": FORMAT, "real": True, "passages_wanted": total, "seed": seed,
               "add_share": add_share, "batches": batches}
    if manifest_path.exists():
        old = json.loads(manifest_path.read_text(encoding="utf-8"))
        if {k: old.get(k) for k in request} == request:
            return old
    docs = [doc for _, doc in read_documents(sources)]
    random.Random(seed).shuffle(docs)
    if total is not None:
        kept, count = [], 0
        for doc in docs:
            if count >= total:
                break
            kept.append(doc)
            count += len(doc.passages)
        docs = kept
    count = sum(len(d.passages) for d in docs)
    plan = quotas(count, add_share, batches)
    folder.mkdir(parents=True, exist_ok=True)
    parts = [{"file": f"part-{i}.jsonl.gz", "passages": 0, "documents": 0, "characters": 0}
             for i in range(len(plan))]
    limits = [sum(plan[:i + 1]) for i in range(len(plan))]
    handles = [gzip.open(folder / p["file"], "wt", encoding="utf-8", compresslevel=5) for p in parts]
    written, part = 0, 0
    try:
        for doc in docs:
            while part < len(plan) - 1 and written >= limits[part]:
                part += 1
            meta = {k: getattr(doc, k) for k in META_KEYS if getattr(doc, k) not in (None, "")}
            meta.update({k: v for k, v in doc.cite.items() if k not in meta})
            record = {"id": doc.doc_id, "title": doc.title, "text": doc.text, **meta}
            handles[part].write(json.dumps(record, ensure_ascii=False) + "\n")
            parts[part]["passages"] += len(doc.passages)
            parts[part]["documents"] += 1
            parts[part]["characters"] += len(doc.text)
            written += len(doc.passages)
    finally:
        for handle in handles:
            handle.close()
    manifest = {**request, "passages": count, "parts": parts, "documents": len(docs),
                "characters": sum(p["characters"] for p in parts), "generate_s": 0.0}
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest


# ---------------------------------------------------------------- is it still the real language?

def tokens(text: str) -> list[str]:
    """The terms kb indexes for a text field (its analyzer: jieba words, their parts, lower case)."""
    return [t.text for t in _analyzer()(text)]


_ANALYZER = []


def _analyzer():
    if not _ANALYZER:
        from kb.text import segment
        from kb.text.analysis import KbAnalyzer

        segment.setup()
        _ANALYZER.append(KbAnalyzer())
    return _ANALYZER[0]


def sample_corpus_passages(folder: Path, k: int, seed: int) -> list[str]:
    """``k`` passages of a written corpus, reservoir-sampled as kb reads them (seeded)."""
    from kb.ingest.readers import read_path

    rng = random.Random(seed)
    out: list[str] = []
    seen = 0
    for path in sorted(Path(folder).glob("part-*.jsonl.gz")):
        for doc in read_path(path):
            for passage in doc.passages:
                seen += 1
                if len(out) < k:
                    out.append(passage.text)
                else:
                    j = rng.randrange(seen)
                    if j < k:
                        out[j] = passage.text
    return out


def real_passages(sources: Iterable[Path] = DEFAULT_SOURCES) -> list[str]:
    return [p.text for _, doc in read_documents(sources) for p in doc.passages]


def rank_correlation(a: list[float], b: list[float]) -> float:
    """Spearman's ρ (average ranks for ties), numpy only."""
    import numpy as np

    def ranks(values):
        values = np.asarray(values, dtype=float)
        order = values.argsort(kind="mergesort")
        ranked = np.empty(len(values))
        ranked[order] = np.arange(len(values))
        for value in np.unique(values):  # ties share their mean rank
            tied = values == value
            if tied.sum() > 1:
                ranked[tied] = ranked[tied].mean()
        return ranked

    ra, rb = ranks(a), ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    den = math.sqrt(float((ra ** 2).sum() * (rb ** 2).sum()))
    return float((ra * rb).sum() / den) if den else 0.0


def js_divergence(p: Counter, q: Counter) -> float:
    """Jensen–Shannon divergence (bits, 0 … 1) of two term distributions."""
    tp, tq = sum(p.values()), sum(q.values())
    out = 0.0
    for term in set(p) | set(q):
        a, b = p.get(term, 0) / tp, q.get(term, 0) / tq
        m = (a + b) / 2
        if a:
            out += a / 2 * math.log2(a / m)
        if b:
            out += b / 2 * math.log2(b / m)
    return out


def heaps(texts: list[str], seed: int, points: int = 8) -> dict:
    """Vocabulary V against tokens N over a shuffled run of ``texts``; fit V = K·N^β."""
    import numpy as np

    order = list(range(len(texts)))
    random.Random(seed).shuffle(order)
    vocab: set[str] = set()
    n_tokens, curve = 0, []
    marks = {int(len(order) * (i + 1) / points) for i in range(points)}
    for i, j in enumerate(order, 1):
        words = tokens(texts[j])
        vocab.update(words)
        n_tokens += len(words)
        if i in marks:
            curve.append((i, n_tokens, len(vocab)))
    beta, log_k = np.polyfit(np.log([c[1] for c in curve]), np.log([c[2] for c in curve]), 1)
    return {"curve": curve, "beta": round(float(beta), 3), "K": round(float(math.exp(log_k)), 2)}


def compare(real: list[str], synthetic: list[str], top: int = 1000) -> dict:
    """How close the synthetic passages' term distribution is to the real one."""
    p = Counter(t for text in real for t in tokens(text))
    q = Counter(t for text in synthetic for t in tokens(text))
    head = [t for t, _ in p.most_common(top)]
    q_head = {t for t, _ in q.most_common(top)}
    return {"passages": [len(real), len(synthetic)], "tokens": [sum(p.values()), sum(q.values())],
            "vocabulary": [len(p), len(q)],
            "spearman_top": round(rank_correlation([p[t] for t in head], [q.get(t, 0) for t in head]), 4),
            "top": top, "top_overlap": round(len(q_head & set(head)) / top, 4),
            "js_divergence_bits": round(js_divergence(p, q), 4),
            "tokens_per_passage": [round(sum(p.values()) / max(1, len(real)), 1),
                                   round(sum(q.values()) / max(1, len(synthetic)), 1)]}


def control(real: list[str], k: int, seed: int) -> dict:
    """The same comparison between two disjoint random halves of the real passages: the floor
    that sampling noise alone gives (a synthetic corpus cannot be expected to do better)."""
    order = list(range(len(real)))
    random.Random(seed + 1).shuffle(order)
    return compare([real[i] for i in order[:k]], [real[i] for i in order[k:2 * k]])


def check(folder: Path, k: int = 20000, seed: int = 14, sources: Iterable[Path] = DEFAULT_SOURCES) -> dict:
    """The unigram report of a written corpus against the real passages (and a real-vs-real control)."""
    real = real_passages(sources)
    synthetic = sample_corpus_passages(folder, k, seed)
    rng = random.Random(seed)
    real_sample = [real[i] for i in rng.sample(range(len(real)), min(len(synthetic), len(real)))]
    return {"synthetic_vs_real": compare(real_sample, synthetic),
            "real_vs_real": control(real, min(len(synthetic), len(real) // 2), seed),
            "heaps_real": heaps(real, seed)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passages", type=int, help="passages to generate")
    parser.add_argument("--out", type=Path, help="folder for part-*.jsonl.gz and manifest.json")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--check", type=Path, metavar="FOLDER", help="compare a written corpus with the real texts")
    parser.add_argument("--sample", type=int, default=20000, help="passages compared by --check")
    parser.add_argument("--source", type=Path, action="append", help="real sources (default: corpus/ and corpus-ext)")
    args = parser.parse_args()
    sources = args.source or list(DEFAULT_SOURCES)
    if args.check:
        print(json.dumps(check(args.check, args.sample, args.seed, sources), ensure_ascii=False, indent=1))
        return
    if not args.passages or not args.out:
        parser.error("--passages and --out (or --check)")
    pool = load_pool(sources)
    print(json.dumps(write_corpus(pool, args.out, args.passages, args.seed, progress=True), ensure_ascii=False,
                     indent=1))


if __name__ == "__main__":
    main()
