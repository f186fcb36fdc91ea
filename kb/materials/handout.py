"""专题汇编: passages on one theme assembled into a handout — data only (kb.materials.export renders it).

One section per practice model (the catalogue's definition, parts and reported results) or, for
passages that name none, per document; sections grouped by province/city; every passage quoted
verbatim with its in-text marker; references in GB/T 7714-2015 form (kb.materials.citation), numbered in
order of first citation. The same builder serves a query (``kb handout``, ``/api/handout.docx``)
and the basket (its order and notes kept).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Iterable, Mapping

from kb.materials.citation import in_text_marker, law_article, law_articles, reference, source_kind, source_key
from kb.catalogue.models import RESULT, Model

HANDOUT_PASSAGES = 30      # passages a query handout draws on
PASSAGES_PER_DOCUMENT = 4  # so that one long document does not fill the handout
MAX_RESULTS = 4
NO_PLACE = "未注明地区"


@dataclass
class Excerpt:
    """One passage, quoted verbatim, with its in-text marker and the trainer's note."""
    passage_id: str
    doc_id: str
    text: str
    marker: str = ""
    note: str = ""
    number: int = 0  # its source's number in the reference list
    article: str = ""  # a law's article(s) the passage quotes, when known beyond its own text


@dataclass
class Section:
    title: str
    group: str
    kind: str                      # "model" or "document"
    key: str
    model_id: str = ""
    model_name: str = ""
    definition: str = ""
    definition_quoted: bool = True  # False for a well-known practice's catalogue gloss
    parts: list[str] = field(default_factory=list)
    excerpts: list[Excerpt] = field(default_factory=list)
    results: list[str] = field(default_factory=list)
    references: list[int] = field(default_factory=list)
    rank: int = 0


@dataclass
class Reference:
    number: int
    text: str


@dataclass
class Handout:
    theme: str
    made: date
    groups: list[tuple[str, list[Section]]]
    references: list[Reference]

    @property
    def sections(self) -> list[Section]:
        return [s for _, sections in self.groups for s in sections]

    @property
    def source_count(self) -> int:
        return len(self.references)

    def outline(self) -> list[tuple[int, str]]:
        """(level, heading) of every heading, as the Word document has them."""
        out: list[tuple[int, str]] = []
        for group, sections in self.groups:
            out.append((1, group))
            out += [(2, s.title) for s in sections]
        if self.references:
            out.append((1, "参考文献"))
        return out


# ------------------------------------------------------------------ records

def citation_meta(record: Mapping[str, Any]) -> dict[str, Any]:
    """A passage record (hit, stored passage or basket item) flattened for kb.materials.citation."""
    cite = record.get("cite") or {}
    if isinstance(cite, str):
        try:
            cite = json.loads(cite)
        except ValueError:
            cite = {}
    meta = {k: v for k, v in record.items() if k != "cite"}
    meta.update({k: v for k, v in cite.items() if v not in (None, "")})
    return meta


def passage_text(record: Mapping[str, Any]) -> str:
    return str(record.get("passage") or record.get("text") or "")


def place_group(record: Mapping[str, Any]) -> str:
    """'湖南省 怀化市' from province and city (or the first two parts of ``place``)."""
    parts = [record.get("province") or "", record.get("city") or ""]
    if not any(parts):
        parts = str(record.get("place") or "").split()[:2]
    seen: list[str] = []
    for part in parts:
        if part and part not in seen:
            seen.append(part)
    return " ".join(seen) or NO_PLACE


def place_label(record: Mapping[str, Any]) -> str:
    """The full place without spaces: '湖南省怀化市鹤城区'."""
    return "".join(str(record.get("place") or "").split())


def document_title(record: Mapping[str, Any]) -> str:
    title = str(record.get("title") or "").strip() or "（无题）"
    place = place_label(record)
    return f"{title}（{place}）" if place and place not in title else title


def model_title(model: Model, record: Mapping[str, Any]) -> str:
    place = place_label(record) or "".join(model.place.split())
    return f"{model.name}（{place}）" if place else model.name


# ------------------------------------------------------------------ choosing sections

def models_by_passage(models: Iterable[Model]) -> dict[str, list[Model]]:
    """passage id → the models of its own document that it names (definition passage first)."""
    out: dict[str, list[Model]] = {}
    for model in models:
        for pid in dict.fromkeys([model.passage_id, *model.mentions]):
            if pid and pid.rsplit("#p", 1)[0] == model.doc_id:
                out.setdefault(pid, []).append(model)
    return out


def model_for(record: Mapping[str, Any], candidates: list[Model]) -> Model | None:
    """The model a passage is about: the one it defines, else the one it names first."""
    if not candidates:
        return None
    pid = record.get("passage_id")
    defined = [m for m in candidates if m.passage_id == pid]
    if defined:
        return defined[0]
    text = passage_text(record)

    def position(model: Model) -> int:
        spots = [text.find(n) for n in (model.key, model.name.strip("“”")) if n and text.find(n) >= 0]
        return min(spots) if spots else len(text)
    return min(candidates, key=position)


def results_in(texts: Iterable[str]) -> list[str]:
    """Sentences reporting figures (截至目前，全市489个小区已组建…), verbatim."""
    found: list[str] = []
    for text in texts:
        for sentence in RESULT.findall(text):
            sentence = sentence.strip()
            if sentence and sentence not in found:
                found.append(sentence)
    return found


def build(theme: str, records: list[Mapping[str, Any]], models: Iterable[Model] = (),
          made: date | None = None,
          document_results: Callable[[str], list[str]] | None = None) -> Handout:
    """The handout of ``records`` (ranked hits or basket items, in that order). A section whose
    passages report no figures takes its document's (``document_results(doc_id)``) when given."""
    made = made or date.today()
    by_passage = models_by_passage(models)
    sections: dict[tuple[str, str], Section] = {}
    metas: dict[tuple[str, str], dict[str, Any]] = {}
    for rank, record in enumerate(records):
        text = passage_text(record)
        if not text.strip():
            continue
        model = model_for(record, by_passage.get(str(record.get("passage_id")), []))
        key = ("model", model.model_id) if model else ("document", str(record.get("doc_id")))
        section = sections.get(key)
        if section is None:
            section = sections[key] = new_section(key, record, model, rank)
            metas[key] = citation_meta(record)
        section.excerpts.append(Excerpt(str(record.get("passage_id")), str(record.get("doc_id")), text,
                                        note=str(record.get("note") or ""),
                                        article=str(citation_meta(record).get("article") or "")))
    for section in sections.values():
        quoted = [e.text for e in section.excerpts]
        if section.definition and any(section.definition in t for t in quoted):
            section.definition = ""  # it is quoted in full below: once is enough
        section.results = list(dict.fromkeys([*section.results, *results_in(quoted)]))[:MAX_RESULTS]
    ordered = order_sections(list(sections.values()))
    if document_results is not None:
        add_document_results(ordered, document_results)
    references = number_references(ordered, metas, made)
    groups: dict[str, list[Section]] = {}
    for section in ordered:
        groups.setdefault(section.group, []).append(section)
    return Handout(theme, made, list(groups.items()), references)


def add_document_results(sections: list[Section], document_results: Callable[[str], list[str]]) -> None:
    """A document's section whose passages report no figures gets the document's own reported
    results — those no other section of the handout shows already."""
    shown = {r for s in sections for r in s.results}
    for section in sections:
        if section.kind == "document" and not section.results:
            fresh = [r for r in document_results(section.key) if r not in shown]
            section.results = fresh[:MAX_RESULTS]
            shown.update(section.results)


def part_label(part: Mapping[str, str]) -> str:
    """A model's part as the handout prints it: its name and, where the text says it, its meaning."""
    name, meaning = part.get("name", ""), part.get("meaning", "")
    return f"{name}（{meaning}）" if meaning and meaning != name else name


def new_section(key: tuple[str, str], record: Mapping[str, Any], model: Model | None, rank: int) -> Section:
    group = place_group(record)
    if model is None:
        return Section(document_title(record), group, "document", key[1], rank=rank)
    return Section(model_title(model, record), group, "model", key[1], model_id=model.model_id,
                   model_name=model.name, definition=model.definition,
                   definition_quoted=model.rule != "known", parts=[part_label(p) for p in model.parts],
                   results=list(model.results), rank=rank)


def order_sections(sections: list[Section]) -> list[Section]:
    """Groups in order of their best section, sections by their best (first) passage."""
    best_of_group: dict[str, int] = {}
    for section in sections:
        best_of_group[section.group] = min(best_of_group.get(section.group, section.rank), section.rank)
    return sorted(sections, key=lambda s: (best_of_group[s.group], s.group, s.rank))


def number_references(sections: list[Section], metas: dict[tuple[str, str], dict[str, Any]],
                      made: date) -> list[Reference]:
    """顺序编码制: sources numbered by first citation; markers set on every excerpt."""
    numbers: dict[tuple, int] = {}
    references: list[Reference] = []
    for section in sections:
        meta = metas[(section.kind, section.key)]
        for excerpt in section.excerpts:
            excerpt_meta = {**meta, "article": excerpt.article}
            key = source_key(meta) + (excerpt.doc_id,)
            if key not in numbers:
                numbers[key] = len(references) + 1
                references.append(Reference(numbers[key], reference(meta, made)))
            excerpt.number = numbers[key]
            excerpt.marker = in_text_marker(numbers[key], excerpt_meta, excerpt.text)
            if numbers[key] not in section.references:
                section.references.append(numbers[key])
    return references


# ------------------------------------------------------------------ a query's passages

def select(hits: list[dict[str, Any]], limit: int = HANDOUT_PASSAGES,
           per_document: int = PASSAGES_PER_DOCUMENT) -> list[dict[str, Any]]:
    """The passages a theme's handout draws on: best first, a few per document."""
    chosen, per_doc = [], {}
    for hit in hits:
        doc = hit.get("doc_id")
        if per_doc.get(doc, 0) >= per_document:
            continue
        per_doc[doc] = per_doc.get(doc, 0) + 1
        chosen.append(hit)
        if len(chosen) >= limit:
            break
    return chosen


def theme_records(searcher, theme: str, limit: int = HANDOUT_PASSAGES) -> list[dict[str, Any]]:
    """Stored passages (with their citation fields) for a theme, best first."""
    result = searcher.search(theme, limit=min(200, limit * 4))
    if result.error:
        raise ValueError(result.error)
    records = []
    for hit in select(result.hits, limit):
        stored = searcher.passage(hit["passage_id"]) or {}
        stored.pop("note", None)  # the metadata's note on the source, not a trainer's note
        record = {**stored, **{k: v for k, v in hit.items() if k not in ("snippet", "marks", "score")}}
        if source_kind(citation_meta(record)) == "LAW" and not (record.get("cite") or {}).get("article"):
            record["cite"] = {**(record.get("cite") or {}), "article": passage_articles(searcher, record)}
        records.append(record)
    return records


def passage_articles(searcher, record: Mapping[str, Any]) -> str:
    """The articles a law passage quotes, counting the one it begins inside (from the passages
    before it in its document)."""
    text = passage_text(record)
    opened = ""
    for passage in reversed([p for p in searcher.document(str(record.get("doc_id")))
                             if p.get("order", 0) < record.get("order", 0)]):
        begun = law_articles(passage.get("text", ""))
        if begun:
            opened = begun[-1]
            break
    return law_article(text, opened)


def reported_results(searcher) -> Callable[[str], list[str]]:
    """doc id → the sentences with figures its 成效 part reports (else anywhere in it), verbatim."""
    def of(doc_id: str) -> list[str]:
        passages = searcher.document(doc_id)
        outcome = [p["text"] for p in passages if "成效" in (p.get("heading") or "") + p["text"][:12]]
        return results_in(outcome) or results_in(p["text"] for p in passages)
    return of


def handout_for(searcher, theme: str, made: date | None = None) -> Handout:
    return build(theme, theme_records(searcher, theme), searcher.catalogue.models, made,
                 document_results=reported_results(searcher))

