"""The side files of an index folder: the practice-model catalogue, the harvested terms and the
near-duplicate links, one file per generation that changed them (``models.<gen>.json``,
``terms.<gen>.txt``, ``similar.<gen>.json``).

A reader of generation G takes the newest side file numbered ≤ G; a writer writes its side files
(whole or not at all: :func:`atomic_write`) *before* its commit, named with the generation the
commit will have, so a kill at any moment leaves each generation with its own.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

CATALOGUE = "models"
TERMS = "terms"
SIMILAR = "similar"
LEGACY_CATALOGUE, LEGACY_TERMS = "models.json", "terms.txt"
LEGACY = {CATALOGUE: LEGACY_CATALOGUE, TERMS: LEGACY_TERMS, SIMILAR: "similar.json"}
_SIDE = re.compile(r"^(models|terms|similar)\.(\d+)\.(json|txt)$")


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write a file whole or not at all: a temporary file beside it, flushed, renamed over it."""
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def side_files(folder: Path) -> dict[str, dict[int, Path]]:
    found: dict[str, dict[int, Path]] = {CATALOGUE: {}, TERMS: {}, SIMILAR: {}}
    try:
        names = os.listdir(folder)
    except OSError:
        return found
    for name in names:
        match = _SIDE.match(name)
        if match:
            found[match.group(1)][int(match.group(2))] = folder / name
    return found


def side_file(folder: Path, kind: str, generation: int) -> Path | None:
    """The newest side file of ``kind`` numbered ≤ ``generation`` (or the unnumbered legacy one)."""
    numbered = {g: p for g, p in side_files(folder)[kind].items() if g <= generation}
    if numbered:
        return numbered[max(numbered)]
    legacy = folder / LEGACY[kind]
    return legacy if legacy.exists() else None


def read_catalogue(path: Path | None) -> list[dict]:
    if path is None:
        return []
    records = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(records, list):
        raise ValueError("catalogue is not a list")
    return records


def read_terms(path: Path | None) -> list[str]:
    if path is None:
        return []
    return [t for t in path.read_text(encoding="utf-8").split("\n") if t]


def write_catalogue(folder: Path, generation: int, catalogue: list[dict]) -> None:
    atomic_write(folder / f"{CATALOGUE}.{generation}.json", json.dumps(catalogue, ensure_ascii=False, indent=1))


def write_terms(folder: Path, generation: int, terms: set[str]) -> None:
    atomic_write(folder / f"{TERMS}.{generation}.txt", "\n".join(sorted(terms)))


def write_links(folder: Path, generation: int, links: dict) -> None:
    atomic_write(folder / f"{SIMILAR}.{generation}.json", json.dumps(links, ensure_ascii=False, separators=(",", ":")))


def drop_uncommitted(folder: Path, generation: int) -> None:
    """Remove side files numbered ``generation`` or later: a writer that never committed left them."""
    for paths in side_files(folder).values():
        for number, path in paths.items():
            if number >= generation:
                path.unlink(missing_ok=True)


def prune_side_files(folder: Path, generation: int) -> None:
    """After a commit of ``generation``: side files no reader can need any more (older than the
    one before the live one) and the unnumbered legacy files go."""
    for kind, paths in side_files(folder).items():
        live = max((n for n in paths if n <= generation), default=None)
        for number, path in paths.items():
            if live is not None and number < live - 1:
                path.unlink(missing_ok=True)
        if live is not None:
            legacy = folder / LEGACY[kind]
            legacy.unlink(missing_ok=True)
