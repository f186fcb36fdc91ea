"""JSON-lines records (``.jsonl``/``.jsonl.gz``) with ``id``, ``title``, ``text`` and optional
metadata (unit, province, city, district, year, type …; laws' ``category`` becomes the type)."""
from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Callable, Iterator


def _open(path: Path):
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def record_meta(record: dict) -> dict:
    meta = {k: v for k, v in record.items() if k not in ("id", "text") and isinstance(v, (str, int))}
    category = str(record.get("category") or "")
    if category and "type" not in meta:
        kind, _, province = category.partition("/")
        meta["type"] = kind
        if province and "province" not in meta:
            meta["province"] = province
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
    import re

    match = re.match(r"\s*(19[5-9]\d|20\d\d)年", title)
    return int(match.group(1)) if match else None


def read(path: Path, make_documents: Callable, error: type[Exception]) -> Iterator:
    with _open(path) as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                text, record_id = record["text"], str(record["id"])
            except (ValueError, KeyError, TypeError) as exc:
                raise error(f"{path}:{number}: 记录无效 / bad record ({exc})") from exc
            meta = record_meta(record)
            yield from make_documents(record_id, record_id, str(text), meta)
