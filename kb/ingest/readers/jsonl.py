"""JSON-lines records (``.jsonl``/``.jsonl.gz``) with ``id``, ``title``, ``text`` and optional
metadata (unit, province, city, district, year, type …; laws' ``category`` becomes the type).

The file is streamed: memory stays bounded by one record (``KB_MAX_FILE_MB``) whatever the file's
size, and a ``.gz`` may not inflate past ``KB_MAX_INFLATED_MB`` or 50 times its own size (a
compression bomb). A bad record is skipped, its line number reported, and every good record before
and after it read; a truncated or damaged stream keeps the records read before the damage.
"""
from __future__ import annotations

import gzip
import json
import re
import zlib
from pathlib import Path
from typing import Callable, Iterator

from kb.text.metadata import province_name
from kb.ingest.readers.limits import MAX_INFLATED, MAX_RECORD, mb

GZ_RATIO = 50  # text compresses 3–10×; past this a .gz is a bomb
BLOCK = 2**20
LINE = re.compile(rb"[^\n]+")
SHOWN_LINES = 5


class StreamDamaged(Exception):
    """The compressed stream ends early or is corrupt (message: one line)."""


def record_meta(record: dict) -> dict:
    meta = {k: v for k, v in record.items() if k not in ("id", "text") and isinstance(v, (str, int))
            and not isinstance(v, bool)}
    category = str(record.get("category") or "")
    if category and "type" not in meta:
        kind, _, province = category.partition("/")
        meta["type"] = kind
        if province and "province" not in meta:  # 地方性法规/上海 → 上海市, as the other documents say
            meta["province"] = province_name(province)
    if isinstance(record.get("meta"), str) and record["meta"].strip() and "issued" not in meta:
        meta["issued"] = record["meta"]  # a law's adoption/amendment lines: issuing body and date
    version = re.search(r"\((\d{4}-\d{2}-\d{2})\)\.\w+$", str(record.get("path") or ""))
    if version and "date" not in meta:
        meta["date"] = version.group(1)  # the version's date in the file name: 条例(2020-05-14).md
    if "type" not in meta and "报告" in str(record.get("title") or ""):
        meta["type"] = "工作报告"
    if "year" not in meta and record.get("title"):
        meta["year"] = _title_year(str(record["title"]))
    if "date" not in meta:
        meta["date"] = record_date(record)
    return meta


def record_date(record: dict) -> str:
    """The date of this version of a text: ``path`` ending ``(2020-12-30).md`` (the laws), else
    the latest date in ``meta`` (``2020年12月30日 …修正``)."""
    import re

    found = re.search(r"\((\d{4}-\d{2}-\d{2})\)[^/]*$", str(record.get("path") or ""))
    if found:
        return found.group(1)
    dates = re.findall(r"((?:19|20)\d\d)年(\d{1,2})月(\d{1,2})日", str(record.get("meta") or ""))
    return max((f"{y}-{int(m):02d}-{int(d):02d}" for y, m, d in dates), default="")


def _title_year(title: str):
    match = re.match(r"\s*(19[5-9]\d|20\d\d)年", title)
    return int(match.group(1)) if match else None


def lines(path: Path) -> Iterator[tuple[int, bytes | None]]:
    """(line number, raw line) pairs of the non-empty lines, read a block at a time; ``None`` for
    a line longer than a record may be (dropped as it streams past, never held whole)."""
    gz = path.name.lower().endswith(".gz")
    budget = max(MAX_INFLATED, GZ_RATIO * path.stat().st_size) if gz else 0
    seen = number = 0
    pending, dropping = b"", False
    try:
        with (gzip.open(path, "rb") if gz else path.open("rb")) as handle:
            while True:
                block = handle.read1(BLOCK)  # what is there: records before a damaged tail survive
                seen += len(block)
                if budget and seen > budget:
                    raise StreamDamaged(f"解压后超过 {mb(budget)} MB，疑似压缩炸弹，已停止读取 / "
                                        f"inflates past {mb(budget)} MB (compression bomb?)")
                if not block:
                    if pending.strip() and not dropping:
                        yield number + 1, pending
                    return
                if dropping:  # the rest of an over-long line
                    cut = block.find(b"\n")
                    if cut < 0:
                        continue
                    block, dropping = block[cut:], False
                data = pending + block
                end = data.rfind(b"\n") + 1
                complete, pending = data[:end], data[end:]
                pos = 0
                for match in LINE.finditer(complete):  # runs of newlines are skipped in C
                    number += complete.count(b"\n", pos, match.start())
                    pos = match.start()
                    line = match.group()
                    yield number + 1, line if len(line) <= MAX_RECORD else None
                number += complete.count(b"\n", pos)
                if len(pending) > MAX_RECORD:
                    yield number + 1, None
                    pending, dropping = b"", True
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise StreamDamaged(f"压缩文件不完整或已损坏（第 {number} 行之后）/ truncated or damaged "
                            f"compressed file after line {number} ({type(exc).__name__})") from exc


def parse_record(line: bytes) -> tuple[str, str, dict]:
    """(id, text, metadata) of one line; ValueError with a short reason otherwise."""
    try:
        record = json.loads(line.decode("utf-8-sig"), parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("嵌套过深 / nested too deeply") from None
    if not isinstance(record, dict):
        raise ValueError("不是 JSON 对象 / not a JSON object")
    text, record_id = record.get("text"), record.get("id")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("缺少 text / no text")
    if isinstance(record_id, bool) or not isinstance(record_id, (str, int)) or not str(record_id).strip():
        raise ValueError("缺少 id / no id")
    return str(record_id), text, record_meta(record)


def _no_constant(name: str):
    raise ValueError(f"不是合法的 JSON 数值 / not a JSON number: {name}")


def read(path: Path, make_documents: Callable, error: type[Exception]) -> Iterator:
    """Documents of every good record; then, if any record was bad or the stream broke, one
    ``error`` naming the lines (the documents already yielded stay good)."""
    from kb.text.documents import make_record_id

    bad: list[tuple[int, str]] = []
    damage = ""
    try:
        for number, line in lines(path):
            if line is None:
                bad.append((number, f"记录过大（超过 {mb(MAX_RECORD)} MB）/ record too large"))
                continue
            if not line.strip():
                continue
            try:
                record_id, text, meta = parse_record(line)
                record_id = make_record_id(record_id)
                docs = make_documents(record_id, record_id, text, meta)
            except (ValueError, error) as exc:
                bad.append((number, str(exc).split("\n")[0][:120]))
                continue
            yield from docs
    except StreamDamaged as exc:
        damage = str(exc)
    except OSError as exc:
        damage = f"读取失败 / read error ({exc.strerror or type(exc).__name__})"
    if bad or damage:
        raise error(f"{path}: " + "；".join(filter(None, [_describe(bad), damage])))


def _describe(bad: list[tuple[int, str]]) -> str:
    if not bad:
        return ""
    shown = "、".join(str(n) for n, _ in bad[:SHOWN_LINES]) + ("…" if len(bad) > SHOWN_LINES else "")
    return (f"{len(bad)} 条记录无效，已略过（第 {shown} 行；第 {bad[0][0]} 行：{bad[0][1]}），其余记录已读入 / "
            f"{len(bad)} bad record(s) skipped, the others read")
