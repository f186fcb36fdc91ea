"""Stage 1 — normalize: repair scrape damage, fold widths, convert traditional to simplified.

Documents and queries pass through the same :func:`normalize`, so a traditional query finds
simplified text. Repairs run *before* conversion (the damage is in the traditional source text).
Conversion is OpenCC's tw2s chain over OpenCC's current tables (``kb/data/opencc``), matched the
way opencc-python-reimplemented matches, and only in clauses holding a traditional character:
simplified text is never changed. :func:`fold_variants` joins variants that conversion keeps
apart (著眼/着眼) for matching only. The repair and boilerplate tables are plain text in
``kb/data`` that a user can edit.
"""
from __future__ import annotations

import html
import re
from functools import lru_cache
from html.entities import html5
from pathlib import Path

DATA_DIR = Path(__file__).parent.parent / "data"

# A pinyin annotation: Latin syllables (spaces between them allowed), at least one with a tone mark,
# in ASCII or full-width parentheses, straight after a CJK character: 區(qū) → 區,
# 發展(fā zhǎn) → 發展.  (院落), (18CKS017) or (abc def) survive.
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ"
_SYLLABLE = "[a-zü" + _TONED + "]+"
PINYIN_ANNOTATION = re.compile(
    r"(?<=[\u3400-\u9fff])[(（]\s*(?=[^()（）]{0,60}[" + _TONED + r"])"
    + _SYLLABLE + r"(?:[ \t\u3000]+" + _SYLLABLE + r")*\s*[)）]", re.IGNORECASE)

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


# OpenCC's tw2s chain over OpenCC's current tables (kb/data/opencc/, Apache-2.0, see NOTICE):
# Taiwan variant forms first (著裝 → 着装 but 著作 stays, 什么 stays), then phrases, the rare
# (“tofu-risk”) character forms and characters — the order OpenCC's own tw2s.json gives.
CHAIN = (("TWVariantsRevPhrases.txt", "TWVariantsRev.txt"),
         ("TSPhrases.txt", "TSCharactersExt.txt", "TSCharacters.txt"))
OPENCC_DIR = DATA_DIR / "opencc"
# Conversion works clause by clause: no table entry spans these marks, and a simplified clause
# beside a traditional one is left exactly as it is.
CLAUSE_BREAK = re.compile(r"([。！？；，、：,;!?]+)")


def _opencc_table(name: str) -> dict[str, list[str]]:
    """One table of ``kb/data/opencc``: key → candidates, the default first."""
    rows = {}
    for line in (OPENCC_DIR / name).read_text(encoding="utf-8").splitlines():
        key, _, values = line.partition("\t")
        if key and values:
            rows[key] = values.split(" ")
    return rows


@lru_cache(maxsize=1)
def _converter():
    """opencc-python-reimplemented's converter (its algorithm) fed OpenCC's current tables.

    The package's own tables date from 2018 (乾安縣 → 干安县, 畢昇 → 毕升, 擡頭 unconverted) and
    it reads configurations only from its own folder, so the chain is set on the instance; its
    loader takes absolute paths. Relies on 0.1.7's attributes (the version is pinned).
    """
    from opencc import OpenCC

    converter = OpenCC()
    converter._dict_chain = [[str(OPENCC_DIR / name) for name in group] for group in CHAIN]
    converter._dict_chain_data = []
    converter._add_dictionaries(converter._dict_chain, converter._dict_chain_data)
    converter._dict_init_done = True
    return converter


class IndexedChain:
    """opencc-python-reimplemented's matching, with each dictionary indexed by first character.

    The package's own loop tries every key length at every position for every dictionary (about
    2.5× slower on traditional text). This is the same algorithm — in each group, each dictionary
    in turn takes the longest key anywhere in every still-unmatched piece (leftmost among equals)
    and the pieces either side are matched again; the next group starts on the joined result —
    over the package's own loaded tables and separator pattern, trying only the key lengths that
    start with the character at hand. A test checks the output is identical.
    """

    def __init__(self, converter) -> None:
        self.separators = converter.split_chars_re
        self.groups = [[self._index(entry) for entry in group]
                       for group in converter._dict_chain_data]

    @staticmethod
    def _index(entry) -> tuple[dict[str, list[int]] | None, dict[str, str]]:
        """(first character → key lengths, longest first, or None for a table of single
        characters; key → its first value)."""
        max_length, _, table = entry
        lengths: dict[str, set[int]] = {}
        for key in table:
            lengths.setdefault(key[0], set()).add(len(key))
        starts = {ch: sorted(found, reverse=True) for ch, found in lengths.items()}
        return (starts if max_length > 1 else None,
                {key: value.split(" ")[0] for key, value in table.items()})

    def convert(self, text: str) -> str:
        parts = self.separators.split(text)
        return "".join(part if i % 2 else self._chain(part) for i, part in enumerate(parts))

    def _chain(self, text: str) -> str:
        for group in self.groups:
            pieces = [(text, False)]
            for starts, table in group:
                matched = []
                for piece, done in pieces:
                    matched.extend([(piece, True)] if done else self._match(piece, starts, table))
                pieces = matched
            text = "".join(piece for piece, _ in pieces)
        return text

    @staticmethod
    def _match(text: str, starts, table) -> list[tuple[str, bool]]:
        if starts is None:
            return IndexedChain._match_characters(text, table)
        out, stack = [], [(text, False)]
        while stack:
            piece, done = stack.pop()
            if done or not piece:
                if piece:
                    out.append((piece, done))
                continue
            best, at = 0, -1
            for i, ch in enumerate(piece):
                for length in starts.get(ch, ()):
                    if length <= best or i + length > len(piece):
                        continue
                    if piece[i:i + length] in table:
                        best, at = length, i
                        break
            if at < 0:
                out.append((piece, False))
                continue
            stack += [(piece[at + best:], False), (table[piece[at:at + best]], True),
                      (piece[:at], False)]
        return out

    @staticmethod
    def _match_characters(text: str, table) -> list[tuple[str, bool]]:
        """A table of single characters: every character in it is a match of its own."""
        out, start = [], 0
        for i, ch in enumerate(text):
            value = table.get(ch)
            if value is not None:
                if start < i:
                    out.append((text[start:i], False))
                out.append((value, True))
                start = i + 1
        if start < len(text):
            out.append((text[start:], False))
        return out


@lru_cache(maxsize=1)
def _fast_converter() -> IndexedChain:
    return IndexedChain(_converter())


@lru_cache(maxsize=1)
def kept_phrases() -> frozenset[str]:
    """Simplified words that still hold a character of :func:`traditional_chars`: the outputs of
    the phrase tables that keep one (乾安縣 → 乾安县, 楊聯陞 → 杨联陞, 幺麼 → 幺麽). Inside them
    that character is simplified text, not a sign of traditional script."""
    convert = _converter().convert
    kept = set()
    for name in ("TWVariantsRevPhrases.txt", "TSPhrases.txt"):
        for key in _opencc_table(name):
            word = convert(key)
            if len(word) > 1 and not traditional_chars().isdisjoint(word):
                kept.add(word)
    return frozenset(kept)


@lru_cache(maxsize=1)
def _kept_pattern() -> re.Pattern[str]:
    words = sorted(kept_phrases(), key=len, reverse=True)
    return re.compile("(" + "|".join(map(re.escape, words)) + ")")


@lru_cache(maxsize=1)
def _compatibility() -> dict[int, str]:
    """CJK compatibility ideographs → unified ones (OpenCC's normalization step)."""
    table = _opencc_table("CJK_Compatibility_Ideographs.txt")
    return {ord(key): values[0] for key, values in table.items()}


@lru_cache(maxsize=1)
def traditional_chars() -> frozenset[str]:
    """Characters whose presence marks traditional text, read from the conversion tables: every
    character the character tables change by default (乾 → 干, 於 → 于, 徵 → 征), the rare forms
    and the compatibility ideographs.

    Characters changed only inside a phrase (坏 in 一坏 → 一坯) or only by the Taiwan variant table
    (著 → 着, 么, 才) are everyday simplified characters: they never trigger conversion, they are
    converted only inside a clause that something else marks as traditional.
    """
    chars = {key for key, values in _opencc_table("TSCharacters.txt").items() if values[0] != key}
    chars |= set(_opencc_table("TSCharactersExt.txt"))
    chars |= {chr(code) for code in _compatibility()}
    return frozenset(chars)


@lru_cache(maxsize=1)
def _variant_folding() -> tuple[re.Pattern[str], dict[str, str]]:
    """(pattern, mapping) for :func:`fold_variants`, derived from the Taiwan variant tables.

    A folded character is one that simplified text keeps but OpenCC's Taiwan variant table turns,
    with no alternative, into another simplified character (著 → 着, 痺 → 痹; not 么, which the
    table reads as 幺 or 麼); the words whose simplified form keeps it
    (著作, 显著, 名著 …, the phrase table's exceptions) are matched first and left alone.
    """
    convert = _converter().convert
    folds = {}
    for key, values in _opencc_table("TWVariantsRev.txt").items():
        if len(key) == 1 and len(values) == 1 and key not in traditional_chars():
            target = convert(key)
            if target != key and len(target) == 1 and target not in traditional_chars():
                folds[key] = target
    keep = {convert(key) for key in _opencc_table("TWVariantsRevPhrases.txt")}
    keep = sorted((word for word in keep if len(word) > 1 and any(ch in folds for ch in word)),
                  key=len, reverse=True)
    chars = "[" + "".join(re.escape(ch) for ch in folds) + "]"
    return re.compile("|".join([*map(re.escape, keep), chars])), folds


def fold_variants(text: str) -> str:
    """Fold the variants conversion keeps apart, for matching only: 著眼 → 着眼, 著力 → 着力,
    while 著作, 显著, 名著 keep 著. Same length as ``text`` (offsets stay valid); documents
    still display their own characters."""
    pattern, folds = _variant_folding()
    if not any(ch in text for ch in folds):
        return text
    return pattern.sub(lambda m: folds.get(m.group(0), m.group(0)), text)


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
    """True if ``text`` holds a traditional character outside the kept phrases (乾安县 is
    simplified): exactly the text :func:`to_simplified` converts."""
    traditional = traditional_chars()
    if traditional.isdisjoint(text):
        return False
    return not traditional.isdisjoint(_kept_pattern().sub("", text))


def to_simplified(text: str) -> str:
    """Traditional to simplified, clause by clause: only clauses holding a traditional character
    are converted, so simplified text is never changed (a simplified clause on the same line as a
    traditional one keeps every character)."""
    traditional = traditional_chars()
    if traditional.isdisjoint(text):
        return text
    return "\n".join(line if traditional.isdisjoint(line) else _convert_clauses(line)
                     for line in text.split("\n"))


def _convert_clauses(line: str) -> str:
    pieces = CLAUSE_BREAK.split(line)  # clause, break, clause, break, …, clause
    out, run = [], []  # run: consecutive traditional clauses (with their breaks), converted at once
    for i in range(0, len(pieces), 2):
        clause = pieces[i]
        if not has_traditional(clause):
            out.append(_convert("".join(run)))
            run = []
            out.append(clause)
        else:
            run.append(clause)
        if i + 1 < len(pieces):
            (run if run else out).append(pieces[i + 1])
    out.append(_convert("".join(run)))
    return "".join(out)




def _convert(text: str) -> str:
    """Convert a run of traditional clauses; kept phrases (乾安县) inside it pass unchanged."""
    if not text:
        return text
    convert = _fast_converter().convert
    pieces = _kept_pattern().split(text.translate(_compatibility()))
    return "".join(piece if piece in kept_phrases() else convert(piece) for piece in pieces if piece)


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
