"""Readers: one module per format, each turning a file into clean :class:`Document` objects.

``read_path`` picks the reader by suffix, applies a sidecar ``NAME.meta.json`` (title, unit,
place, year, type …, or ``documents`` to cut a file that bundles several pieces) and splits the
documents into passages. A PDF or a scanned image gives :class:`Pages`: its passages keep their
page numbers, and a document read (in part) by OCR is marked ``ocr``.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable, Iterator

from kb.text.documents import (Document, apply_metadata, guess_title, make_doc_id, printable_name,
                          split_collection)
from kb.text.normalize import normalize
from kb.text.metadata import guess
from kb.ingest.readers import docx, html, image, jsonl, pdf, txt
from kb.ingest.readers.limits import MAX_BYTES, mb
from kb.ingest.readers.ocr import INSTALL
from kb.ingest.readers.pages import Pages, page_list


class ReadError(Exception):
    """A file that cannot be read; the message is one line for the user."""


READERS: dict[str, Callable[[Path], str | Pages]] = {
    ".txt": txt.read, ".md": txt.read, ".text": txt.read, ".docx": docx.read, ".pdf": pdf.read,
    ".html": html.read, ".htm": html.read, **{suffix: image.read for suffix in image.SUFFIXES},
}
PLACE_KEYS = ("province", "city", "district", "street", "community", "level")
RECORD_SUFFIXES = (".jsonl", ".jsonl.gz")


def supported(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(RECORD_SUFFIXES) or path.suffix.lower() in READERS


def sidecar(path: Path) -> dict:
    meta_path = path.with_name(path.name.rsplit(".", 1)[0] + ".meta.json")
    if not meta_path.exists():
        return {}
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise ReadError(f"{meta_path}: 元数据文件无法解析 / bad metadata file ({exc})") from exc
    if not isinstance(meta, dict):
        raise ReadError(f"{meta_path}: 元数据应为 JSON 对象 / metadata must be a JSON object")
    return meta


def content_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def normalize_pages(pages: Pages) -> tuple[str, list[tuple[int, int]]]:
    """The normalized text of the pages, and (offset, page number) where each page with text begins."""
    clean, starts = "", []
    for number, page in enumerate(pages.texts, 1):
        text = normalize(page)
        if text.strip():
            clean += "\n" if clean else ""
            starts.append((len(clean), number))
            clean += text
    return clean, starts


def make_documents(doc_id: str, source: str, text: str, meta: dict,
                   pages: Pages | None = None) -> list[Document]:
    """Normalized documents from raw text plus metadata (several if ``meta['documents']``); the
    text of ``pages`` when given, whose page numbers the passages keep."""
    clean, starts = normalize_pages(pages) if pages else (normalize(text), [])
    if not clean.strip():
        raise ReadError(f"{source}: 文件没有可索引的文字 / no text to index")
    pieces = meta.get("documents")
    if not pieces:
        doc = apply_metadata(Document(doc_id, source, clean, title=guess_title(clean)), meta)
        doc.content_hash = content_hash(clean)
        doc.page_starts = starts
        doc.ocr = bool(pages and pages.ocr)
        return [doc.split()]
    docs = []
    for i, (part, part_text) in enumerate(split_collection(clean, pieces), 1):
        doc = Document(f"{doc_id}-{i}", source, part_text, title=guess_title(part_text))
        apply_metadata(doc, meta)
        apply_metadata(doc, part)
        doc.content_hash = content_hash(part_text)
        doc.ocr = bool(pages and pages.ocr)
        docs.append(doc.split())
    return docs


def read_path(path: Path, name: str | None = None) -> Iterator[Document]:
    """Documents from one file; raises :class:`ReadError` with a one-line reason.

    ``name`` is the file's path below the folder it was found in (default: its file name): the
    document's ``source``, and its id without the suffix. A JSON-lines file yields its good
    records first and raises afterwards, naming the bad lines."""
    path = Path(path)
    shown = printable_name(str(path))
    try:
        if not path.exists():
            raise ReadError(f"{shown}: 路径不存在 / no such file")
        if path.name.lower().endswith(RECORD_SUFFIXES):
            yield from jsonl.read(path, make_documents, ReadError)
            return
        reader = READERS.get(path.suffix.lower())
        if reader is None:
            raise ReadError(f"{shown}: 不支持的文件类型 / unsupported file type")
        size = path.stat().st_size
        if size == 0:
            raise ReadError(f"{shown}: 空文件 / empty file")
        if size > MAX_BYTES:
            raise ReadError(f"{shown}: 文件过大（超过 {mb(MAX_BYTES)} MB，可用 KB_MAX_FILE_MB 调整）/ file too large")
        content = reader(path)
        pages = content if isinstance(content, Pages) else None
        text = pages.text() if pages else content
        meta = sidecar(path)
        source = printable_name(name or path.name)
        yield from make_documents(make_doc_id(source), source, text, with_guesses(text, meta, path), pages)
        if pages and pages.missing:
            raise ReadError(f"{shown}: {page_list(pages.missing)}是扫描页，未识别（未安装 OCR 引擎，请在 kb 目录运行 {INSTALL}）"
                            f" / {len(pages.missing)} scanned pages not read: no OCR engine, run {INSTALL}")
    except ReadError as exc:
        raise ReadError(printable_name(str(exc).split("\n")[0])) from exc
    except (UnicodeError, ValueError, OSError) as exc:
        raise ReadError(f"{shown}: {_reason(exc)}") from exc
    except (MemoryError, RecursionError, Exception) as exc:  # noqa: BLE001 — any reader failure is one line
        raise ReadError(f"{shown}: 无法读取 / unreadable ({type(exc).__name__}: {_reason(exc)})") from exc


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"读取失败 / read error ({exc.strerror})"
    return printable_name(str(exc).split("\n")[0])[:200]


def with_guesses(text: str, meta: dict, path: Path) -> dict:
    """Metadata guessed from the text, overridden by the sidecar (a place as a whole)."""
    if meta.get("documents"):
        return meta
    clean = normalize(text)
    first_heading = docx.title(path) if path.suffix.lower() == ".docx" else ""
    guessed = guess(clean, normalize(first_heading) or guess_title(clean))
    if any(meta.get(k) for k in PLACE_KEYS):
        guessed = {k: v for k, v in guessed.items() if k not in PLACE_KEYS}
    return {**guessed, **{k: v for k, v in meta.items() if v not in (None, "")}}
