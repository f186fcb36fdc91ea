"""JSON-lines records (``.jsonl``/``.jsonl.gz``) with ``id``, ``title``, ``text`` and optional
metadata (unit, province, city, district, year, type …; laws' ``category`` becomes the type)."""
from __future__ import annotations

import gzip
import json
import re
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
    if isinstance(record.get("meta"), str) and record["meta"].strip() and "issued" not in meta:
        meta["issued"] = record["meta"]  # a law's adoption/amendment lines: issuing body and date
    version = re.search(r"\((\d{4}-\d{2}-\d{2})\)\.\w+$", str(record.get("path") or ""))
    if version and "date" not in meta:
        meta["date"] = version.group(1)  # the version's date in the file name: 条例(2020-05-14).md
    if "type" not in meta and "报告" in str(record.get("title") or ""):
        meta["type"] = "工作报告"
    if "year" not in meta and record.get("title"):
        meta["year"] = _title_year(str(record["title"]))
    return meta


def _title_year(title: str):
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
