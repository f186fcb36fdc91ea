"""References in the form of GB/T 7714-2015 (信息与文献 参考文献著录规则), from kb's metadata.

Pure functions over a plain metadata dict (a stored passage, a basket item, a document's metadata):
``title``, ``unit``, ``author``, ``province``/``place``, ``year``, ``type``, ``collection`` and the
citation fields a sidecar ``NAME.meta.json`` may give (``publisher``, ``url``, ``date``, ``pages``,
``article``, ``accessed``, ``kind``) or a law record brings (``issued``: its adoption/amendment lines).

Forms (顺序编码制; punctuation as the standard prints it, ". " ", " ": "):

* 报纸 [N]   主要责任者. 题名[N]. 报纸名, 出版日期(版次).
* 期刊 [J]   主要责任者. 题名[J]. 刊名, 年, 卷(期): 页码.
* 电子资源   主要责任者. 题名[EB/OL]. (发表或更新日期)[引用日期]. 获取和访问路径.
  (a newspaper, journal or report read online keeps its own code with /OL: [N/OL] [J/OL] [R/OL])
* 报告 [R]   主要责任者. 题名[R]. 出版地: 出版者, 出版年.
* 法规       发布机关. 法规名称[Z]. 发布或修正日期.   (the article cited goes into the in-text marker)
* 其他 [Z]   主要责任者. 题名[Z]. 出版地: 出版者, 出版年.
* a piece of a collection: 析出文献主要责任者. 析出文献题名[Z]//汇编题名. 出版年.

A reference never shows an internal file name or record id: kb's ``source`` is never read here.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any, Mapping

KIND_CODES = {"报纸": "N", "期刊": "J", "电子资源": "EB/OL", "报告": "R", "法规": "LAW", "其他": "Z",
              "N": "N", "J": "J", "EB/OL": "EB/OL", "R": "R", "Z": "Z", "LAW": "LAW"}
LAW_TYPES = ("法律", "行政法规", "地方性法规", "司法解释", "部门规章", "行政法", "经济法", "宪法",
             "宪法相关法", "社会法", "民法商法", "民法典", "刑法", "诉讼与非诉讼程序法", "法规",
             "党内法规", "规范性文件")
REPORT_TYPES = ("工作报告", "报告", "调研报告")
NEWS_TYPES = ("新闻报道", "报道", "新闻")
JOURNAL_TYPES = ("论文", "期刊论文", "期刊")
MAX_AUTHORS = 3
ROLE_WORDS = re.compile(r"^(?:记者|通讯员|特约记者|本报记者|作者|文|图|撰稿|执笔|供稿)[:：]?")
DATE = re.compile(r"(1[89]\d\d|20\d\d)\s*[年\-./]\s*(\d{1,2})\s*[月\-./]\s*(\d{1,2})\s*日?")
LEADING_DATE = re.compile(r"^\s*(?:\d{4}\s*年(?:\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?)?|\d{4}[-./]\d{1,2}[-./]\d{1,2})\s*")
LAW_HEADING = re.compile(r"^\s*第[一二三四五六七八九十百零〇\d]+[编章节]")  # a new part: no article continues
ARTICLE = re.compile(r"^\s*(第[一二三四五六七八九十百千零〇\d]+条(?:之[一二三四五六七八九十]+)?)")


# ------------------------------------------------------------------ small parts

def _text(meta: Mapping[str, Any], key: str) -> str:
    """A field as one line (a law's history lines keep their breaks)."""
    value = "" if meta.get(key) is None else str(meta.get(key))
    if key == "issued":  # raw record lines: fold full-width digits (２００２年６月２９日)
        return unicodedata.normalize("NFKC", value).strip()
    return re.sub(r"\s+", " ", value).strip()


def iso_date(value: Any) -> str:
    """'2020年5月14日' / '2020-5-14' / '2020.05.14' → '2020-05-14'; a bare year stays a year."""
    text = "" if value is None else str(value).strip()
    match = DATE.search(text)
    if match:
        year, month, day = match.groups()
        return f"{year}-{int(month):02d}-{int(day):02d}"
    year = re.search(r"(1[89]\d\d|20\d\d)", text)
    return year.group(1) if year else ""


def person_names(value: str) -> list[str]:
    """Responsible persons or bodies from kb's ``author``/``unit`` text: roles (记者, 通讯员) and
    affiliations in brackets dropped — '记者王石磊，通讯员杨众华、陈俊宇' → [王石磊, 杨众华, 陈俊宇]."""
    value = re.sub(r"[（(][^（）()]*[）)]", "", value or "")
    names = []
    for piece in re.split(r"[，,、;；/\s]+", value):
        piece = ROLE_WORDS.sub("", piece.strip())
        if piece and piece not in names:
            names.append(piece)
    return names


def format_names(names: list[str]) -> str:
    """At most three responsible persons, then ', 等' (GB/T 7714-2015 8.1.2)."""
    if len(names) > MAX_AUTHORS:
        return ", ".join(names[:MAX_AUTHORS]) + ", 等"
    return ", ".join(names)


def responsible(meta: Mapping[str, Any]) -> str:
    return format_names(person_names(_text(meta, "author") or _text(meta, "unit")))


def law_articles(text: str) -> list[str]:
    """The articles that begin in a law passage, in order ('第二十条 …' → ['第二十条'])."""
    return [m.group(1) for line in (text or "").split("\n") if (m := ARTICLE.match(line))]


def article_label(articles: list[str]) -> str:
    """['第二十条'] → '第二十条'; several → '第一条至第三条'; none → ''."""
    if not articles:
        return ""
    return articles[0] if len(articles) == 1 else f"{articles[0]}至{articles[-1]}"


def law_article(text: str, opened_before: str = "") -> str:
    """The article(s) a law passage quotes; ``opened_before`` is the article a passage that begins
    mid-article continues (the last one begun in the passages before it)."""
    found = law_articles(text)
    if opened_before and not ARTICLE.match(text or "") and not LAW_HEADING.match(text or ""):
        found = [opened_before, *found]
    return article_label(found)


def issuing_body(issued: str) -> str:
    """The body that adopted or issued a law, from its history lines:
    '2011年11月17日 上海市第十三届人民代表大会常务委员会第三十次会议通过' → '上海市人民代表大会常务委员会'."""
    for line in (issued or "").split("\n"):
        rest = LEADING_DATE.sub("", line).strip()
        if not rest or rest.startswith(("《", "施行", "根据")):
            continue
        rest = re.sub(r"第[一二三四五六七八九十百]+届", "", rest)
        rest = re.split(r"令第|第|公告|通过|公布|发布|批准|施行|决定|《|审判委员会", rest)[0]
        rest = rest.strip(" ，,、")
        if len(rest) >= 2:
            return rest
    return ""


def issued_date(issued: str) -> str:
    """The latest date in a law's history lines (the version in force)."""
    dates = [iso_date(m.group(0)) for m in DATE.finditer(issued or "")]
    return max(dates) if dates else ""


# ------------------------------------------------------------------ kinds

def source_kind(meta: Mapping[str, Any]) -> str:
    """GB/T 7714 kind of a source: 'N', 'J', 'R', 'EB/OL', 'LAW' or 'Z' (sidecar ``kind`` wins)."""
    given = KIND_CODES.get(_text(meta, "kind").upper()) or KIND_CODES.get(_text(meta, "kind"))
    if given:
        return given
    kind = _text(meta, "type")
    if kind in LAW_TYPES or _text(meta, "issued"):
        return "LAW"
    if kind in NEWS_TYPES and _text(meta, "publisher"):
        return "N"
    if kind in JOURNAL_TYPES and _text(meta, "publisher"):
        return "J"
    if kind in REPORT_TYPES:
        return "R"
    if _text(meta, "url"):
        return "EB/OL"
    return "Z"


def _online(meta: Mapping[str, Any], cited: date) -> str:
    """'[引用日期]. URL' for a source read online (with its publication date in front when known)."""
    accessed = iso_date(_text(meta, "accessed")) or cited.isoformat()
    published = iso_date(_text(meta, "date"))
    return (f"({published})" if published else "") + f"[{accessed}]. {_text(meta, 'url')}"


def _publication(meta: Mapping[str, Any]) -> str:
    """'出版地: 出版者, 出版年' with the parts that are known."""
    year = _text(meta, "year") or iso_date(_text(meta, "date"))[:4]
    publisher = _text(meta, "publisher")
    head = ": ".join(p for p in (_text(meta, "publisher_place"), publisher) if p)
    return ", ".join(p for p in (head, year) if p)


def _join(*parts: str) -> str:
    """Fields joined by '. ', the reference closed by '.'."""
    text = ". ".join(p.rstrip(".") for p in parts if p)
    return text + "." if text else ""


def reference(meta: Mapping[str, Any], cited: date | None = None) -> str:
    """The GB/T 7714-2015 reference of one source (without its [n] number)."""
    cited = cited or date.today()
    kind = source_kind(meta)
    title = _text(meta, "title") or "[题名不详]"
    who = responsible(meta)
    online = bool(_text(meta, "url"))
    if kind == "LAW":
        body = issuing_body(_text(meta, "issued")) or who
        when = issued_date(_text(meta, "issued")) or iso_date(_text(meta, "date")) or _text(meta, "year")
        tail = [f"[{cited.isoformat()}]. {_text(meta, 'url')}"] if online else []
        return _join(body, f"{title}[Z]", when, *tail)
    if kind == "N":
        when = iso_date(_text(meta, "date")) or _text(meta, "year")
        pages = _text(meta, "pages")
        place = f"{_text(meta, 'publisher')}, {when}" + (f"({pages})" if pages else "")
        if online:
            return _join(who, f"{title}[N/OL]", place, f"[{iso_date(_text(meta, 'accessed')) or cited.isoformat()}]. {_text(meta, 'url')}")
        return _join(who, f"{title}[N]", place)
    if kind == "J":
        year = _text(meta, "year") or iso_date(_text(meta, "date"))[:4]
        volume, issue, pages = _text(meta, "volume"), _text(meta, "issue"), _text(meta, "pages")
        where = ", ".join(p for p in (_text(meta, "publisher"), year, volume) if p)
        where += f"({issue})" if issue else ""
        where += f": {pages}" if pages else ""
        if online:
            return _join(who, f"{title}[J/OL]", where, f"[{iso_date(_text(meta, 'accessed')) or cited.isoformat()}]. {_text(meta, 'url')}")
        return _join(who, f"{title}[J]", where)
    if kind == "EB/OL":
        return _join(who, f"{title}[EB/OL]", _online(meta, cited))
    code = "R" if kind == "R" else "Z"
    if online:
        return _join(who, f"{title}[{code}/OL]", _publication(meta) + _online(meta, cited))
    collection = _text(meta, "collection")
    if collection and collection != title:
        return _join(who, f"{title}[{code}]//{collection}", _publication(meta))
    return _join(who, f"{title}[{code}]", _publication(meta))


def in_text_marker(number: int, meta: Mapping[str, Any], passage: str = "") -> str:
    """The in-text marker: '[3]'; a law's article follows it ('[3]第二十条'), as cited pages do
    in 顺序编码制 ('[3]15')."""
    if source_kind(meta) == "LAW":
        article = _text(meta, "article") or law_article(passage)
        return f"[{number}]{article}"
    pages = _text(meta, "pages")
    return f"[{number}]{pages}" if pages and source_kind(meta) != "N" else f"[{number}]"


def source_key(meta: Mapping[str, Any]) -> tuple:
    """What makes two passages the same source (one entry in the reference list)."""
    return (_text(meta, "title"), _text(meta, "author") or _text(meta, "unit"), _text(meta, "collection"),
            _text(meta, "year"), _text(meta, "url"))
