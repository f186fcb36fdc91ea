"""Stage 1 — normalize: repair scrape damage, fold widths, convert traditional to simplified.

Documents and queries pass through the same :func:`normalize`, so a traditional query finds
simplified text. Repairs run *before* OpenCC (the damage is in the traditional source text).
The repair and boilerplate tables are plain text in ``kb/data`` that a user can edit.
"""
from __future__ import annotations

import html
import re
from functools import lru_cache
from html.entities import html5
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"

# A pinyin annotation: Latin letters with at least one tone mark, in ASCII or full-width
# parentheses, straight after a CJK character: 區(qū) → 區.  (院落) or (18CKS017) survive.
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ"
PINYIN_ANNOTATION = re.compile(
    r"(?<=[\u3400-\u9fff])[(（]\s*[a-zü" + _TONED + r"]*[" + _TONED + r"][a-zü" + _TONED
    + r"]*\s*[)）]", re.IGNORECASE)

# Leaked HTML entities: &ldquo; and the scraped form without the ampersand (ldquo;).
_ENTITY_NAMES = frozenset(name[:-1] for name in html5 if name.endswith(";") and len(name) > 3)
ENTITY = re.compile(r"&(#\d{1,7}|#x[0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
BARE_ENTITY = re.compile(r"(?<![A-Za-z&])([A-Za-z][A-Za-z0-9]{2,7});")

# Full-width ASCII letters, digits and + fold to half-width; Chinese punctuation is kept.
_WIDTH_TABLE = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)
                if chr(cp - 0xFEE0).isalnum() or chr(cp - 0xFEE0) == "+"}
_WIDTH_TABLE[0x3000] = 0x20  # ideographic space
_WIDTH_TABLE[0xA0] = 0x20  # no-break space


def _read_table(name: str) -> list[str]:
    lines = (DATA_DIR / name).read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


@lru_cache(maxsize=1)
def repair_table() -> list[tuple[str, str]]:
    """(damaged, correct) pairs from ``kb/data/repairs.txt``."""
    pairs = []
    for line in _read_table("repairs.txt"):
        damaged, _, correct = line.partition("\t")
        pairs.append((damaged, correct))
    return pairs


@lru_cache(maxsize=1)
def boilerplate_patterns() -> list[re.Pattern[str]]:
    """Compiled patterns from ``kb/data/boilerplate.txt``."""
    return [re.compile(line, re.MULTILINE) for line in _read_table("boilerplate.txt")]


@lru_cache(maxsize=1)
def _converter():
    from opencc import OpenCC

    return OpenCC("t2s")


@lru_cache(maxsize=1)
def traditional_chars() -> frozenset[str]:
    """Characters that OpenCC's t2s tables change: their presence marks traditional text."""
    import opencc

    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    chars = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        source, _, targets = line.partition("\t")
        if len(source) == 1 and source not in targets.split():
            chars.add(source)
    return frozenset(chars)


def repair_damage(text: str) -> str:
    """Undo scraping damage: garbage sequences, pinyin annotations, leaked HTML entities."""
    for damaged, correct in repair_table():
        text = text.replace(damaged, correct)
    text = PINYIN_ANNOTATION.sub("", text)
    text = ENTITY.sub(lambda m: html.unescape(m.group(0)), text)
    return BARE_ENTITY.sub(_bare_entity, text)


def _bare_entity(match: re.Match[str]) -> str:
    name = match.group(1)
    return html.unescape(f"&{name};") if name in _ENTITY_NAMES else match.group(0)


def strip_boilerplate(text: str) -> str:
    """Delete site boilerplate (labels, footers, editor credits)."""
    for pattern in boilerplate_patterns():
        text = pattern.sub("", text)
    return text


def fold_width(text: str) -> str:
    """Full-width Latin letters, digits and + to half-width."""
    return text.translate(_WIDTH_TABLE)


def has_traditional(text: str) -> bool:
    trad = traditional_chars()
    return any(ch in trad for ch in text)


def to_simplified(text: str) -> str:
    """OpenCC t2s, applied only to lines that contain traditional characters."""
    if not has_traditional(text):
        return text
    convert = _converter().convert
    return "\n".join(convert(line) if has_traditional(line) else line
                     for line in text.split("\n"))


def tidy_lines(text: str) -> str:
    """Unify line ends, strip each line, drop empty lines and control characters."""
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\ufeff]", "", text)
    lines = (line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    return "\n".join(line for line in lines if line)


def normalize(text: str) -> str:
    """The full normalization chain for documents and queries alike."""
    text = repair_damage(text)
    text = strip_boilerplate(text)
    text = fold_width(text)
    text = to_simplified(text)
    return tidy_lines(text)
