"""The catalogue of one index: the per-document records of one practice merged into one model
(its places, each with its own passage), and the look-ups pages, the API and search use."""
from __future__ import annotations

import json
import re
from pathlib import Path

from kb.catalogue.models import CATALOGUE_FILE, Model, canonical_name, key_of
from kb.text.normalize import normalize


def merge(records: list[Model]) -> list[Model]:
    """One model per id: the records of the documents adopting one practice joined, each document
    kept as a place with its own passage; local variants (a key inside another) linked; sorted by
    place, then name."""
    groups: dict[str, list[Model]] = {}
    for record in records:
        groups.setdefault(record.model_id, []).append(record)
    merged = []
    for group in groups.values():
        group = sorted(group, key=lambda r: (r.place, r.doc_id))
        first = group[0]
        names = [r.name for r in group]
        name = max(names, key=lambda n: (names.count(n), "“" in n, len(n)))
        model = Model(**{**first.to_dict(), "name": name, "places": [r.adoption() for r in group],
                         "variants": [], "mentions": [], "results": [], "aliases": []})
        model.definition = next((r.definition for r in group if r.definition and r.rule != "known"), "") or next(
            (r.definition for r in group if r.definition), "")
        model.parts = next((r.parts for r in group if r.parts), [])
        for record in group:
            model.aliases += [a for a in [record.name, *record.aliases] if a != name and a not in model.aliases]
            model.mentions += [p for p in record.mentions if p not in model.mentions]
            model.results += [r for r in record.results if r not in model.results]
        model.results = model.results[:3]
        merged.append(model)
    for model in merged:
        model.variants = [other.model_id for other in merged if other is not model and min(
            len(model.key), len(other.key)) >= 3 and (model.key in other.key or other.key in model.key)]
    return sorted(merged, key=lambda m: (m.place or "\uffff", m.name.strip("“”")))


def save(index_dir: Path, models: list[Model]) -> None:
    """Write the catalogue atomically (a temporary file renamed over the old one)."""
    import os
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=index_dir, prefix=".models-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump([m.to_dict() for m in models], handle, ensure_ascii=False, indent=1)
    os.replace(tmp, Path(index_dir) / CATALOGUE_FILE)


def load(index_dir: Path) -> list[Model]:
    path = Path(index_dir) / CATALOGUE_FILE
    if not path.exists():
        return []
    return [Model(**m) for m in json.loads(path.read_text(encoding="utf-8"))]


class Catalogue:
    """The models of one index, with look-ups for pages, the API and search."""

    def __init__(self, index_dir: Path | None = None, models: list[Model] | None = None):
        self.models = merge(models if models is not None else load(index_dir))
        self.by_id = {m.model_id: m for m in self.models}
        self.keys = [(m, [k for k in {m.key, *map(key_of, m.aliases)} if len(k) >= 2]) for m in self.models]

    def get(self, model_id: str) -> Model | None:
        return self.by_id.get(model_id)

    def named_in(self, query: str, normalized: bool = False) -> list[Model]:
        """Models a query names (by key or alias), best first (``normalized``: the query is
        already, as a parsed query's text is)."""
        text = canonical_name((query or "") if normalized else normalize(query or "")).replace(" ", "")
        if len(text) < 2:
            return []
        found = [model for model, keys in self.keys
                 if any(k in text or (len(text) >= 3 and text in k) for k in keys)]
        return sorted(found, key=lambda m: (-len(m.key), -len(m.mentions)))

    def sharing(self, text: str, limit: int = 5, normalized: bool = False) -> list[Model]:
        """Models whose name shares a two-character piece with ``text`` (for empty results;
        ``normalized``: the text is already)."""
        text = (text or "") if normalized else normalize(text or "")
        grams = {text[i:i + 2] for i in range(len(text) - 1) if re.match(r"[\u4e00-\u9fff]{2}", text[i:i + 2])}
        scored = [(sum(g in " ".join([m.name, *m.aliases]) for g in grams), m) for m in self.models]
        return [m for score, m in sorted(scored, key=lambda x: -x[0]) if score > 0][:limit]

    def related(self, model: Model, limit: int = 5) -> list[Model]:
        """Same document first, then models sharing two-character pieces of name or parts."""
        grams = {model.name[i:i + 2] for i in range(len(model.name) - 1)}
        def score(other: Model) -> float:
            shared = sum(g in other.name for g in grams if re.match(r"[\u4e00-\u9fff]{2}", g))
            return (other.doc_id == model.doc_id) * 2 + shared
        others = [m for m in self.models if m.model_id != model.model_id]
        ranked = sorted(others, key=lambda m: -score(m))
        return [m for m in ranked if score(m) > 0][:limit]
