"""Practice-model catalogue: the named models a corpus describes, with parts, definition, place.

Rules over the clean text, precision first (no model weights):

* quoted names with a name suffix — “1+4Z+3N”基层治理模式, “选派引”工程, “两楼联动、两头延伸”“金色纽带”党建新模式;
* quoted names that are whole model names — “微权力治理12345模式”, “5+4党总支构架”;
* quoted coined names of organisations — “兼合式”党组织, “同心家园”共建理事会, “红色业委会”, “6+1”中心;
* numbered names — 四步议事模式, 五级治理模式, 四级联动机制;
* chains — “业委会-楼梯长-居民”的小区自治体系 (the links are the parts);
* well-known practices listed in ``kb/data/models.txt`` (三会一课 …) when a text names them.

Parts come from …指…, 即…, 一是…二是…, enumerations whose length matches the name's numeral
(提议、审议、决议、评议四步议事模式), chains and code parts; each part is a name and, where the text
says it, a meaning (“1”指以社区党组织引领为核心). Slogans with 的 or clauses are not models.

A definition is a sentence that says what the model is (…，即…; “X”指…; an attributive clause
建立A、B、C的“X”模式); a sentence is given to one model only, and a model whose text has none
gets no definition rather than a neighbour's. The unit is the organisation that runs the practice
(the subject of the founding sentence, else the document's unit), never a byline.

One practice adopted in several documents (the same key: “双报到”制度 in 鹤城, 教卫党委, 顾村) is
one model: ``extract`` gives one record a document, all with the same id, and ``merge`` joins
them into a model listing its places, each with its own passage.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from kb.text.documents import Document
from kb.text.normalize import DATA_DIR, normalize
from kb.text.segment import canonical_code, code_pattern

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
NUMBERED = re.compile(r"(?<![进" + NUMERAL + r"])([" + NUMERAL + r"][级步方])([\u4e00-\u9fff]{2,8}?)(模式|机制|体系)")
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
    parts: list[dict[str, str]] = field(default_factory=list)   # {"name": "4Z", "meaning": "…四大组织体系"}
    definition: str = ""
    passage_id: str = ""
    mentions: list[str] = field(default_factory=list)
    results: list[str] = field(default_factory=list)
    rule: str = ""
    places: list[dict[str, Any]] = field(default_factory=list)  # one per adopting document (merged models)
    variants: list[str] = field(default_factory=list)          # ids of related local variants

    def __post_init__(self) -> None:
        self.parts = [as_part(p) for p in self.parts]  # catalogues written before parts had meanings

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def part_names(self) -> list[str]:
        return [p["name"] for p in self.parts]

    def adoption(self) -> dict[str, Any]:
        """This record as one place of a merged model."""
        return {k: getattr(self, k) for k in PLACE_KEYS}


PLACE_KEYS = ("doc_id", "source", "title", "unit", "place", "year", "name", "definition", "passage_id")


def as_part(part: Any) -> dict[str, str]:
    if isinstance(part, dict):
        return {"name": str(part.get("name", "")), "meaning": str(part.get("meaning", ""))}
    return {"name": str(part), "meaning": ""}


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
        if text[max(0, m.start() - 1):m.start()] != "“" and not CLAUSE_WORDS.search(m.group(2)):
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
CLAUSE_WORDS = re.compile(r"应当|建立|实行|开展|负责|按照|可以")  # 一方应当建立集体协商机制 is a clause, not a name


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
    """How many parts a name's leading numeral announces (四步议事 → 4); a leading 一 counts nothing
    (一网通办, 一业一证: "one …", not a list of one)."""
    count = NUMBERS.get(key[:1])
    return count if count and count >= 2 else None


def enumeration_before(text: str, start: int, count: int) -> list[str]:
    """The 、-list right before a mention (提议、审议、决议、评议四步议事模式), if it has ``count`` items."""
    left = max(text.rfind(c, 0, start) for c in "。！？\n，,；;：: ") + 1
    head = re.sub(r"^\d+[.．、]", "", text[left:start])
    head = re.sub(r"^(实施|建立|构建|推行|形成|健全|完善|打造|探索)", "", head)
    head = re.sub(r"的?[“]?$", "", head)
    items = split_list(head)
    return items if len(items) == count else []


def ordinal_list(text: str, after: int) -> list[dict[str, str]]:
    """一是…二是…三是… starting within 80 characters after ``after``: each item's quoted term (its
    clause as the meaning), else its first clause."""
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
        if quoted:
            meaning = clause if len(clause) - len(quoted.group(0)) > 4 else ""
            parts.append({"name": quoted.group(1), "meaning": meaning})
        else:
            parts.append({"name": clause[:20], "meaning": ""})
        first = at
    return parts if len(parts) >= 2 else []


def code_parts(text: str, code: str, after: int) -> list[dict[str, str]]:
    """“1”指…；“4Z”指… after a code model: each code part with what it stands for."""
    pieces = [p for p in code.split("+") if p]
    window = text[after:after + 600]
    parts = []
    for piece in pieces:
        said = re.search(r"“" + re.escape(piece) + r"”(?:是)?指([^；;。“]{2,120})", window, re.IGNORECASE)
        parts.append({"name": piece, "meaning": said.group(1).strip(" ,，") if said else ""})
    return parts if sum(bool(p["meaning"]) for p in parts) >= 2 else []


def namely_list(text: str, end: int, code: str | None) -> list[dict[str, str]]:
    """…体系，即每个社区配7名…、2名…、N名… → the list after 即 (with a code: code part + meaning)."""
    match = re.match(r"[,，]?\s*即([^。；;]{4,200})", text[end:end + 220])
    if not match:
        return []
    items = split_list(re.split(r"[，,]", match.group(1))[0])
    if code and len(items) > 1:
        first_part = code.split("+")[0]
        at = items[0].find(first_part)
        if at > 0:
            items[0] = items[0][at:]
    if len(items) < 2:
        return []
    pieces = [p for p in (code or "").split("+") if p]
    if len(pieces) == len(items) and all(item.upper().startswith(piece.upper()) for piece, item in zip(pieces, items)):
        return [{"name": piece, "meaning": item} for piece, item in zip(pieces, items)]
    return [{"name": item, "meaning": ""} for item in items]


def digit_code(key: str) -> str:
    """The digit run of a name like 微权力治理12345 (each digit one part), else ''."""
    match = re.search(r"(?<![\d+])(\d{2,})(?![\d+])", key)
    return match.group(1) if match and "+" not in key else ""


def letter_code_parts(text: str, cand: Candidate, key: str) -> list[dict[str, str]]:
    """A name made of one character a part (“选派引”: 选拔、下派、引回; “十百千万”: 十名…、百名…): the
    first 、-list after the mention whose items hold those characters in order."""
    if not 2 <= len(key) <= 5 or len(set(key)) != len(key) or not re.fullmatch(r"[\u4e00-\u9fff]+", key):
        return []
    _, right = sentence_around(text, cand.start, cand.end)
    for clause in re.split(r"[，,；;：:]", text[cand.end:right]):
        items = split_list(clause)
        if len(items) >= len(key) and all(ch in item for ch, item in zip(key, items)):
            items = [re.sub(r"^(?:着力|倡导|要求|实行|实现|坚持|做到)", "", i) for i in items[:len(key)]]
            others = [len(i) for i in items[:-1]]
            if len(items[-1]) > 2 * sum(others) / len(others):  # the shared predicate follows the last item
                items[-1] = items[-1][:max(others) + 2]
            return [{"name": ch, "meaning": item} for ch, item in zip(key, items)]
    return []


def find_parts(text: str, cand: Candidate, key: str) -> list[dict[str, str]]:
    if cand.parts:
        return [as_part(p) for p in cand.parts]
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
        names = enumeration_before(text, cand.start, count)
        if names:
            return [{"name": n, "meaning": ""} for n in names]
    found = letter_code_parts(text, cand, key)
    if found:
        return found
    _, sentence_end = sentence_around(text, cand.start, cand.end)
    if sentence_end - cand.end > 2:  # 一是… lists belong to a name that closes its sentence
        return []
    found = ordinal_list(text, sentence_end)
    digits = digit_code(key)
    if found and len(digits) == len(found):  # 12345: “1” is 一张权力清单 …
        return [{"name": d, "meaning": p["name"]} for d, p in zip(digits, found)]
    return found


def chain_into_models(text: str) -> dict[str, list[dict[str, str]]]:
    """Chains that define a quoted model: “A—B—C”的…“五级治理模式” → {key: parts}."""
    return {key_of(m.group(2)): [as_part(p) for p in chain_parts(m.group(1))] for m in CHAIN_TO_MODEL.finditer(text)}


# ------------------------------------------------------------------ catalogue

def model_id(key: str) -> str:
    """One id per practice, whichever documents adopt it (the model facet uses it)."""
    return "m" + hashlib.sha1(f"model\t{key}".encode("utf-8")).hexdigest()[:10]


def passage_at(doc: Document, text_offset_snippet: str) -> str:
    for passage in doc.passages:
        if text_offset_snippet and text_offset_snippet in canonical_name(passage.text):
            return passage.passage_id
    return doc.passages[0].passage_id if doc.passages else ""


def extract(doc: Document) -> list[Model]:
    """The models one document names, deduplicated by key (first mention names the model)."""
    text = canonical_name(doc.text)
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
            model_id=model_id(key), name=name, key=key, doc_id=doc.doc_id,
            source=doc.source, title=doc.title, unit=practice_unit(sentence, doc.unit), place=doc.place,
            year=doc.year, aliases=[canonical_name(a) for a in cand.aliases], parts=parts,
            definition=cand.definition, passage_id=passage_at(doc, sentence[:40]), rule=cand.rule)
    assign_definitions(text, doc, list(models.values()))
    inherit_units(list(models.values()))
    return list(models.values())


SUB_UNIT = re.compile(r"([\u4e00-\u9fff]{2,14}?(?:社区|居民区|村|党总支|党支部))(?:作为[^，,。]{0,8}[，,])?"
                      r"(?:成功|率先|首创|积极|创新)?(?:打造|首创|创立|创建|推出|探索)")


def practice_unit(sentence: str, doc_unit: str) -> str:
    """The organisation running the practice: a community or branch the founding sentence names
    as its subject (华阳街道安公社区作为试点单位，成功打造…), else the document's unit."""
    match = SUB_UNIT.search(sentence)
    return match.group(1) if match else doc_unit


def inherit_units(models: list[Model]) -> None:
    """A model that is a part of another (四步议事 of 微权力治理12345模式) is run by the same unit."""
    for whole in models:
        for part in whole.parts:
            for model in models:
                if model is not whole and model.key and model.key in (part["name"], part["meaning"]):
                    model.unit = whole.unit


AFTER_CUE = r"[”」]?[^，,。；;“”]{0,10}?[，,]?\s*(?:即|也就是|就是|是指|指的是|是(?:以|一种|一个|由|把|在))"
PURPOSE_CUE = r"[”」]?[^，,。；;“”]{0,10}?[，,]\s*(?:将|要求|着力|打造|把)"
LINK = r"[^，,。；;“”]{0,8}?"
NAME_TAIL = re.compile(r"[”」]?" + MOD + SUFFIX + r"?[”」]?")
CONTEXT_HEAD = re.compile(r"^(?:为[^，,]{0,20}|近年来|近年|目前|同时|此外|另一方面|[^，,]{0,8}方面|针对[^，,]{0,40}|在[^，,]{0,30}(?:中|下|上|方面))[，,]")
RESULT_TAIL = re.compile(r"[，,](?:走出了|开创了|成为|有效|实现了|确保|取得了|让|使)[^。]*(?=[。！？；;]$)")


def defining_spans(text: str, key: str) -> list[tuple[float, int, int, int]]:
    """(score, start, end, end of the name) of each stretch of ``text`` that says what ``key`` is."""
    found = []
    for match in re.finditer(re.escape(key), text):
        left, right = sentence_around(text, match.start(), match.end())
        if text[right - 1:right] not in "。！？；;" or right - left < 12:
            continue  # a heading line (推动…，打造“金色纽带”有形连结点) says what is done, not what it is
        sentence = text[left:right]
        at, end = match.start() - left, match.end() - left
        following = text[right:right + 12]
        if re.match(r"\s*“[^”]{1,6}”(?:是)?指", following):  # the meanings of a code: “1”指…；“4Z”指…
            meanings_end = text.find("。", right + 1)
            if meanings_end > 0:
                found.append((5.0, right, meanings_end + 1, match.end()))
                continue
        if re.match(AFTER_CUE, sentence[end:]):  # what follows the name: …体系，即每个社区配…
            found.append((4.0, left, right, match.end()))
            continue
        if re.match(PURPOSE_CUE, sentence[end:]):  # …制度，将驻街道单位的党组织书记纳入…; …工作法，要求每名…
            found.append((3.5, left, right, match.end()))
            continue
        before = sentence[:at]
        clause = re.split(r"[，,；;：:]", before)[-1]
        # an attributive clause before the name: 建立A、B、C的“X”模式; a chain “A—B—C”的“X”; 提议、审议…四步议事
        attributive = bool(re.search(r"的“?" + LINK + r"“?$", clause)) and len(clause) >= 10 and (
            "、" in clause or len(clause) >= 16)
        chain = re.search(r"“[^“”]{2,20}(?:[-—–][^“”]{2,20}){2,}”" + LINK + r"“?$", before)
        count = numeral_count(key)
        enumeration = bool(count) and len(split_list(re.sub(r"^\d*[.．、]?(实施|建立|构建|推行|健全)", "", clause))) == count
        if attributive or chain or enumeration:
            found.append((3.0 if attributive or chain else 2.5, left, right, match.end()))
    return found


def trimmed(stretch: str) -> str:
    """A definition without the context before it (为破解…，近年来，) or the outcome after it."""
    stretch = stretch.strip().lstrip("和及与、，,")
    for _ in range(3):
        stretch = CONTEXT_HEAD.sub("", stretch, count=1)
    return RESULT_TAIL.sub("", stretch)


def assign_definitions(text: str, doc: Document, models: list[Model]) -> None:
    """Give each model the stretch that defines it; a sentence defining two models is cut between
    them (each its own stretch), and a model whose text never says what it is gets no definition
    rather than a neighbour's (a known model keeps its list entry)."""
    claims = sorted((-score, end - start, start, model.key, end, name_end) for model in models
                    for score, start, end, name_end in defining_spans(text, model.key))
    by_key = {m.key: m for m in models}
    chosen: dict[str, tuple[int, int, int]] = {}
    for _, _, start, key, end, name_end in claims:
        if key not in chosen:
            chosen[key] = (start, end, name_end)
    by_sentence: dict[tuple[int, int], list[tuple[int, str]]] = {}
    for key, (start, end, name_end) in chosen.items():
        by_sentence.setdefault((start, end), []).append((name_end, key))
    for (start, end), named in by_sentence.items():
        named.sort()
        cut = start
        for i, (name_end, key) in enumerate(named):
            tail = NAME_TAIL.match(text, name_end)
            stop = end if i == len(named) - 1 else (tail.end() if tail else name_end)
            stretch = trimmed(text[cut:stop])
            cut = stop
            model = by_key[key]
            model.passage_id = passage_at(doc, stretch[:30]) or model.passage_id
            if not (model.rule == "known" and model.definition):
                model.definition = stretch[:300]


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
                            ids = by_passage.setdefault(passage.passage_id, [])
                            if model.model_id not in ids:
                                ids.append(model.model_id)
                            if model.doc_id == doc.doc_id and len(model.results) < 3:
                                model.results += [r.strip() for r in RESULT.findall(passage.text)
                                                  if r.strip() not in model.results][:3 - len(model.results)]
    return by_passage


def build_catalogue(docs: list[Document]) -> tuple[list[Model], dict[str, list[str]]]:
    models = [m for doc in docs for m in extract(doc)]
    return models, attach_mentions(models, docs)
