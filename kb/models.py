"""Practice-model catalogue: the named models a corpus describes, with parts, definition, place.

Rules over the clean text, precision first (no model weights):

* quoted names with a name suffix — “1+4Z+3N”基层治理模式, “选派引”工程, “两楼联动、两头延伸”“金色纽带”党建新模式;
* quoted names that are whole model names — “微权力治理12345模式”, “5+4党总支构架”;
* quoted coined names of organisations — “兼合式”党组织, “同心家园”共建理事会, “红色业委会”, “6+1”中心;
* numbered names — 四步议事模式, 五级治理模式, 四级联动机制;
* chains — “业委会-楼梯长-居民”的小区自治体系 (the links are the parts);
* well-known practices listed in ``kb/data/models.txt`` (三会一课 …) when a text names them.

Parts come from …指…, 即…, 一是…二是…, enumerations whose length matches the name's numeral
(提议、审议、决议、评议四步议事模式), chains and code parts. Slogans with 的 or clauses are not models.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from kb.documents import Document
from kb.normalize import DATA_DIR, normalize
from kb.segment import canonical_code, code_pattern

CATALOGUE_FILE = "models.json"
SUFFIX = r"(?:模式|机制|体系|工作方法|工作法|工程|制度|构架|模型)"
MOD = r"[^\s“”‘’\"，。、；：,.;:!?！？()（）的与和及等]{0,8}?"
QUOTE = r"“([^“”\n]{2,20})”"
NUMERAL = "一二三四五六七八九十两"
NUMBERS = {c: i for i, c in enumerate("一二三四五六七八九十", 1)} | {"两": 2}

QUOTED_SUFFIX = re.compile(r"((?:“[^“”\n]{2,20}”){1,2})(" + MOD + SUFFIX + ")")
QUOTED_WHOLE = re.compile(r"“([^“”\n]{2,18}" + SUFFIX + ")”")
QUOTED_BODY = re.compile(QUOTE + r"([^\s“”，。、；：,.;:的与和及等]{0,4}?)(党组织|理事会|志愿服务项目|服务项目|中心)")
QUOTED_ORG = re.compile(r"“([^“”\n]{2,10}(?:业委会|理事会|党组织))”")
NUMBERED = re.compile(r"(?<![" + NUMERAL + r"])([" + NUMERAL + r"][级步方])([\u4e00-\u9fff]{2,8}?)(模式|机制|体系)")
CHAIN = re.compile(r"“([^“”\n]{2,20}(?:[-—–][^“”\n]{2,20}){2,})”(的)?([^\s“”，。、；]{0,12}?(?:模式|机制|体系|构架))")
CHAIN_TO_MODEL = re.compile(r"“([^“”\n]{2,20}(?:[-—–][^“”\n]{2,20}){2,})”的?[^“”，。]{0,10}“([^“”\n]{2,18})”")
ORDINALS = "一二三四五六七八九十"
RESULT = re.compile(r"[^。！？\n]*(?:截至|目前|已|累计|共|达|覆盖)[^。！？\n]*\d+(?:\.\d+)?\s*(?:名|个|家|户|万|%|件|人|次|项|元)[^。！？\n]*[。！？]?")


@dataclass
class Model:
    model_id: str
    name: str
    key: str
    doc_id: str
    source: str = ""
    title: str = ""
    unit: str = ""
    place: str = ""
    year: int | None = None
    aliases: list[str] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    definition: str = ""
    passage_id: str = ""
    mentions: list[str] = field(default_factory=list)
    results: list[str] = field(default_factory=list)
    rule: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ------------------------------------------------------------------ names and keys

def canonical_name(name: str) -> str:
    """Codes in their dictionary spelling (“7 2 N” → “7+2+N”)."""
    return code_pattern().sub(lambda m: canonical_code(m.group(0)), name)


def key_of(name: str) -> str:
    """The core that identifies a model within a document: the (last) quoted name without its
    suffix, or the numbered stem (四步议事模式 → 四步议事)."""
    name = canonical_name(normalize(name))
    quoted = re.findall(r"“([^“”]+)”", name)
    core = quoted[-1] if quoted else name
    numbered = NUMBERED.match(core)
    if numbered:
        return numbered.group(1) + numbered.group(2)[:2]
    stripped = re.sub(SUFFIX + "$", "", core)
    return (stripped if len(stripped) >= 2 else core).strip("“”")


def valid_core(core: str) -> bool:
    """A quoted core long enough to be a coined name, or a code (1+4Z+3N)."""
    return len(core) >= 3 or "+" in core


@lru_cache(maxsize=1)
def known_models() -> list[tuple[str, list[str], str]]:
    out = []
    for line in (Path(DATA_DIR) / "models.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, parts, definition = (line.split("\t") + ["", ""])[:3]
            out.append((name.strip(), [p for p in re.split(r"[；;]", parts) if p.strip()], definition.strip()))
    return out


# ------------------------------------------------------------------ candidates

@dataclass
class Candidate:
    name: str
    start: int
    end: int
    rule: str
    aliases: list[str] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    definition: str = ""


def candidates(text: str) -> list[Candidate]:
    found: list[Candidate] = []
    for m in QUOTED_SUFFIX.finditer(text):
        quotes = re.findall(r"“([^“”]+)”", m.group(1))
        core = quotes[-1]
        if not valid_core(core) or CHAIN_SPLIT.search(core):
            continue
        name = f"“{core}”{m.group(2)}"
        aliases = []
        if len(quotes) > 1 and valid_core(quotes[0]) and quotes[0] != core:
            # “兼职副书记”“兼职委员”制度: two names of one system; “两楼联动、两头延伸”“金色纽带”…: a slogan
            aliases = [f"“{quotes[0]}”"] if "、" in quotes[0] else [f"“{quotes[0]}”{m.group(2)}"]
        found.append(Candidate(name, m.start(), m.end(), "quoted+suffix", aliases))
        before = text[max(0, m.start() - 24):m.start()]
        pair = re.search(r"“([^“”\n]{2,20})”、$", before)  # “双报到”、“双报告”制度
        if pair and valid_core(pair.group(1)):
            found.append(Candidate(f"“{pair.group(1)}”{m.group(2)}", m.start() - len(pair.group(0)),
                                   m.start(), "quoted+suffix"))
    for m in QUOTED_WHOLE.finditer(text):
        if not CHAIN_SPLIT.search(m.group(1)) and valid_core(key_of(m.group(1))):
            found.append(Candidate(m.group(1), m.start(), m.end(), "quoted name"))
    for m in QUOTED_BODY.finditer(text):
        if valid_core(m.group(1)) and not CHAIN_SPLIT.search(m.group(1)):
            found.append(Candidate(f"“{m.group(1)}”{m.group(2)}{m.group(3)}", m.start(), m.end(), "quoted organisation"))
    for m in QUOTED_ORG.finditer(text):
        found.append(Candidate(f"“{m.group(1)}”", m.start(), m.end(), "quoted organisation"))
    for m in NUMBERED.finditer(text):
        if text[max(0, m.start() - 1):m.start()] != "“":
            found.append(Candidate(m.group(0), m.start(), m.end(), "numbered"))
    for m in CHAIN.finditer(text):
        name = m.group(3).strip()
        if len(name) >= 5:
            found.append(Candidate(name, m.start(), m.end(), "chain", parts=chain_parts(m.group(1))))
    for name, parts, definition in known_models():
        at = text.find(name)
        if at >= 0:
            found.append(Candidate(name, at, at + len(name), "known", parts=list(parts), definition=definition))
    return sorted(found, key=lambda c: c.start)


CHAIN_SPLIT = re.compile(r"[-—–]")


def chain_parts(chain: str) -> list[str]:
    return [p.strip() for p in CHAIN_SPLIT.split(chain) if p.strip()]


# ------------------------------------------------------------------ parts and definitions

def split_list(text: str) -> list[str]:
    """Split at 、 outside parentheses: 区(县、市)委推动、街道… stays whole."""
    items, depth, current = [], 0, ""
    for ch in text:
        depth += ch in "(（" and 1 or 0
        depth -= ch in ")）" and 1 or 0
        if ch == "、" and depth <= 0:
            items.append(current)
            current = ""
        else:
            current += ch
    items.append(current)
    return [i.strip() for i in items if i.strip()]


def sentence_around(text: str, start: int, end: int) -> tuple[int, int]:
    left = max(text.rfind(c, 0, start) for c in "。！？\n") + 1
    rights = [i for i in (text.find(c, end) for c in "。！？\n") if i >= 0]
    return left, (min(rights) + 1 if rights else len(text))


def numeral_count(key: str) -> int | None:
    return NUMBERS.get(key[:1])


def enumeration_before(text: str, start: int, count: int) -> list[str]:
    """The 、-list right before a mention (提议、审议、决议、评议四步议事模式), if it has ``count`` items."""
    left = max(text.rfind(c, 0, start) for c in "。！？\n，,；;：: ") + 1
    head = re.sub(r"^\d+[.．、]", "", text[left:start])
    head = re.sub(r"^(实施|建立|构建|推行|形成|健全|完善|打造|探索)", "", head)
    head = re.sub(r"的?[“]?$", "", head)
    items = split_list(head)
    return items if len(items) == count else []


def ordinal_list(text: str, after: int) -> list[str]:
    """一是…二是…三是… starting within 80 characters after ``after``: the quoted term of each
    item, else its first clause."""
    window = text[after:after + 1200]
    first = window.find("一是")
    if first < 0 or first > 80:
        return []
    parts = []
    for i, ordinal in enumerate(ORDINALS):
        at = window.find(ordinal + "是", first if i == 0 else 0)
        if at < 0 or (parts and at < first):
            break
        clause = re.split(r"[，,。；;]", window[at + 2:at + 80])[0]
        quoted = re.search(r"“([^“”]{2,12})”", clause)
        parts.append(quoted.group(1) if quoted else clause[:20])
        first = at
    return parts if len(parts) >= 2 else []


def code_parts(text: str, code: str, after: int) -> list[str]:
    """“1”指…；“4Z”指… after a code model: the code parts (defined ones)."""
    pieces = [p for p in code.split("+") if p]
    window = text[after:after + 600]
    defined = [p for p in pieces if re.search(r"“" + re.escape(p) + r"”(?:是)?指", window, re.IGNORECASE)]
    return pieces if len(defined) >= 2 else []


def namely_list(text: str, end: int, code: str | None) -> list[str]:
    """…体系，即每个社区配7名…、2名…、N名… → the list after 即."""
    match = re.match(r"[,，]?\s*即([^。；;]{4,200})", text[end:end + 220])
    if not match:
        return []
    items = split_list(re.split(r"[，,]", match.group(1))[0])
    if code and len(items) > 1:
        first_part = code.split("+")[0]
        at = items[0].find(first_part)
        if at > 0:
            items[0] = items[0][at:]
    return items if len(items) >= 2 else []


def find_parts(text: str, cand: Candidate, key: str) -> list[str]:
    if cand.parts:
        return cand.parts
    code = key if "+" in key else None
    if code:
        found = code_parts(text, code, cand.end)
        if found:
            return found
    found = namely_list(text, cand.end, code)
    if found:
        return found
    count = numeral_count(key)
    if count:
        found = enumeration_before(text, cand.start, count)
        if found:
            return found
    _, sentence_end = sentence_around(text, cand.start, cand.end)
    if sentence_end - cand.end > 2:  # 一是… lists belong to a name that closes its sentence
        return []
    return ordinal_list(text, sentence_end)


def chain_into_models(text: str) -> dict[str, list[str]]:
    """Chains that define a quoted model: “A—B—C”的…“五级治理模式” → {key: parts}."""
    return {key_of(m.group(2)): chain_parts(m.group(1)) for m in CHAIN_TO_MODEL.finditer(text)}


# ------------------------------------------------------------------ catalogue

def model_id(doc_id: str, key: str) -> str:
    return "m" + hashlib.sha1(f"{doc_id}\t{key}".encode("utf-8")).hexdigest()[:10]


def passage_at(doc: Document, text_offset_snippet: str) -> str:
    for passage in doc.passages:
        if text_offset_snippet and text_offset_snippet in passage.text:
            return passage.passage_id
    return doc.passages[0].passage_id if doc.passages else ""


def extract(doc: Document) -> list[Model]:
    """The models one document names, deduplicated by key (first mention names the model)."""
    text = doc.text
    chained = chain_into_models(text)
    models: dict[str, Model] = {}
    for cand in candidates(text):
        name = canonical_name(cand.name)
        key = key_of(name)
        parts = find_parts(text, cand, key) or chained.get(key, [])
        left, right = sentence_around(text, cand.start, cand.end)
        sentence = text[left:right].strip()
        if key in models:
            model = models[key]
            if not model.parts and parts:
                model.parts = parts
            for alias in [name, *cand.aliases]:
                if alias != model.name and alias not in model.aliases:
                    model.aliases.append(alias)
            if cand.definition and not model.definition:
                model.definition = cand.definition
            continue
        models[key] = Model(
            model_id=model_id(doc.doc_id, key), name=name, key=key, doc_id=doc.doc_id,
            source=doc.source, title=doc.title, unit=doc.unit, place=doc.place, year=doc.year,
            aliases=[canonical_name(a) for a in cand.aliases], parts=parts,
            definition=cand.definition or sentence[:300], passage_id=passage_at(doc, sentence[:40]),
            rule=cand.rule)
    for model in models.values():
        sentence = defining_sentence(canonical_name(text), model.key)
        if sentence and not (model.rule == "known" and model.definition):
            model.definition = sentence
        if sentence:
            model.passage_id = passage_at(doc, sentence[:30]) or model.passage_id
    return list(models.values())


DEFINING = [(re.compile(r"即|是指|指以|”指"), 3), (re.compile(r"[—-].+[—-]"), 2), (re.compile(r"一是"), 2),
            (re.compile(r"建立|构建|探索|打造|推行|创新|创立|实施|组建"), 1)]


def defining_sentence(text: str, key: str) -> str:
    """The sentence that best explains ``key``: one with 即/指, a chain, 一是…, or a founding verb."""
    best, best_score = "", -1.0
    for match in re.finditer(re.escape(key), text):
        left, right = sentence_around(text, match.start(), match.end())
        following = text[right:right + 12]
        if "一是" in following[:6] or re.match(r"\s*“[^”]{1,6}”(?:是)?指", following):
            right = max(right, text.find("。", right + 1) + 1)
        sentence = text[left:right].strip()
        score = sum(weight for pattern, weight in DEFINING if pattern.search(sentence))
        score += 0.5 if 20 <= len(sentence) <= 260 else 0
        if score > best_score:
            best, best_score = sentence, score
    return best[:300]


def attach_mentions(models: list[Model], docs: Iterable[Document]) -> dict[str, list[str]]:
    """Fill every model's mentions (passages anywhere naming its key or aliases) and results;
    returns passage_id → model ids, for the index's model facet."""
    by_passage: dict[str, list[str]] = {}
    terms = {}
    for model in models:
        for term in {model.key, *[key_of(a) for a in model.aliases]}:
            if len(term) >= 2:
                terms.setdefault(term, []).append(model)
    if not terms:
        return by_passage
    pattern = re.compile("|".join(sorted(map(re.escape, terms), key=len, reverse=True)))
    for doc in docs:
        for passage in doc.passages:
            hits = {m.group(0) for m in pattern.finditer(canonical_name(passage.text))}
            for term in hits:
                for model in terms[term]:
                    if model.doc_id == doc.doc_id or model.rule == "known" or len(term) >= 3:
                        if passage.passage_id not in model.mentions:
                            model.mentions.append(passage.passage_id)
                            by_passage.setdefault(passage.passage_id, []).append(model.model_id)
                            if model.doc_id == doc.doc_id and len(model.results) < 3:
                                model.results += [r.strip() for r in RESULT.findall(passage.text)
                                                  if r.strip() not in model.results][:3 - len(model.results)]
    return by_passage


def build_catalogue(docs: list[Document]) -> tuple[list[Model], dict[str, list[str]]]:
    models = [m for doc in docs for m in extract(doc)]
    return models, attach_mentions(models, docs)


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
        self.models = models if models is not None else load(index_dir)
        self.by_id = {m.model_id: m for m in self.models}
        self.keys = [(m, [k for k in {m.key, *map(key_of, m.aliases)} if len(k) >= 2]) for m in self.models]

    def get(self, model_id: str) -> Model | None:
        return self.by_id.get(model_id)

    def named_in(self, query: str) -> list[Model]:
        """Models a query names (by key or alias), best first."""
        text = canonical_name(normalize(query or "")).replace(" ", "")
        if len(text) < 2:
            return []
        found = [model for model, keys in self.keys
                 if any(k in text or (len(text) >= 3 and text in k) for k in keys)]
        return sorted(found, key=lambda m: (-len(m.key), -len(m.mentions)))

    def sharing(self, text: str, limit: int = 5) -> list[Model]:
        """Models whose name shares a two-character piece with ``text`` (for empty results)."""
        text = normalize(text or "")
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
