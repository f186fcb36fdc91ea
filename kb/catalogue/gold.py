"""How well extraction does against a hand-judged list of models (``tests/data/models_gold.jsonl``):
precision and recall of each field."""
from __future__ import annotations

import re
from typing import Any

from kb.catalogue.models import Model, canonical_name, key_of
from kb.text.normalize import normalize


def _squash(text: str) -> str:
    return re.sub(r"[\s“”‘’\"'，,。；;：:、()（）—\-–]", "", canonical_name(normalize(text or ""))).lower()


def similar(found: str, expected: str) -> bool:
    """Two renderings of one sentence or part: one inside the other (at least half of it), or close."""
    import difflib

    a, b = _squash(found), _squash(expected)
    if not a or not b:
        return False
    if a in b or b in a:
        return min(len(a), len(b)) >= 0.5 * max(len(a), len(b))
    return difflib.SequenceMatcher(None, a, b).ratio() >= 0.6


def gold_matches(entry: dict[str, Any], model: Model) -> bool:
    keys = {key_of(n) for n in entry["names"]}
    return model.doc_id == entry["doc"] and (model.key in keys or bool(keys & {key_of(a) for a in model.aliases}))


FIELDS = ("name", "place", "unit", "year", "parts", "meanings", "definition")


def evaluate(records: list[Model], gold: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Precision and recall of each field of the per-document records against a gold list
    (``{"names", "doc", "place", "unit", "year", "parts": [{"name", "meaning"}], "definition"}``;
    an empty gold value means the text gives none). Counts: tp, found (predicted), expected."""
    counts = {f: {"tp": 0, "found": 0, "expected": 0} for f in FIELDS}
    counts["name"]["found"] = len(records)
    counts["name"]["tp"] = sum(any(gold_matches(g, m) for g in gold) for m in records)
    for entry in gold:
        model = next((m for m in records if gold_matches(entry, m)), None)
        counts["name"]["expected"] += 1
        for name in ("place", "unit", "year"):
            want, got = entry.get(name), getattr(model, name) if model else None
            counts[name]["expected"] += want not in (None, "")
            counts[name]["found"] += got not in (None, "")
            counts[name]["tp"] += want not in (None, "") and str(got) == str(want)
        want_parts, got_parts = entry.get("parts") or [], model.parts if model else []
        counts["parts"]["expected"] += len(want_parts)
        counts["parts"]["found"] += len(got_parts)
        counts["meanings"]["expected"] += sum(bool(p["meaning"]) for p in want_parts)
        counts["meanings"]["found"] += sum(bool(p["meaning"]) for p in got_parts)
        for want in want_parts:
            got = next((p for p in got_parts if _squash(p["name"]) == _squash(want["name"])
                        or (len(want["name"]) > 2 and similar(p["name"], want["name"]))), None)
            counts["parts"]["tp"] += got is not None
            counts["meanings"]["tp"] += bool(got and want["meaning"] and similar(got["meaning"], want["meaning"]))
        want_def, got_def = entry.get("definition") or "", model.definition if model else ""
        counts["definition"]["expected"] += bool(want_def)
        counts["definition"]["found"] += bool(got_def)
        counts["definition"]["tp"] += bool(want_def and got_def and similar(got_def, want_def))
    for c in counts.values():
        c["precision"] = c["tp"] / c["found"] if c["found"] else 1.0
        c["recall"] = c["tp"] / c["expected"] if c["expected"] else 1.0
    return counts
