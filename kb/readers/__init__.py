"""Readers: one module per format, each turning a file into clean :class:`Document` objects.

``read_path`` picks the reader by suffix, applies a sidecar ``NAME.meta.json`` (title, unit,
place, year, type …, or ``documents`` to cut a file that bundles several pieces) and splits the
documents into passages.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable, Iterator

from kb.documents import Document, apply_metadata, guess_title, split_collection
from kb.normalize import normalize
from kb.metadata import guess
from kb.readers import docx, html, jsonl, pdf, txt


class ReadError(Exception):
    """A file that cannot be read; the message is one line for the user."""


READERS: dict[str, Callable[[Path], str]] = {
    ".txt": txt.read, ".md": txt.read, ".text": txt.read, ".docx": docx.read, ".pdf": pdf.read,
    ".html": html.read, ".htm": html.read,
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
        return json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReadError(f"{meta_path}: 元数据文件无法解析 / bad metadata file ({exc})") from exc


def content_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def make_documents(doc_id: str, source: str, text: str, meta: dict) -> list[Document]:
    """Normalized documents from raw text plus metadata (several if ``meta['documents']``)."""
    clean = normalize(text)
    if not clean.strip():
        raise ReadError(f"{source}: 文件没有可索引的文字 / no text to index")
    pieces = meta.get("documents")
    if not pieces:
        doc = apply_metadata(Document(doc_id, source, clean, title=guess_title(clean)), meta)
        doc.content_hash = content_hash(clean)
        return [doc.split()]
    docs = []
    for i, (part, part_text) in enumerate(split_collection(clean, pieces), 1):
        doc = Document(f"{doc_id}-{i}", source, part_text, title=guess_title(part_text))
        apply_metadata(doc, meta)
        apply_metadata(doc, part)
        doc.content_hash = content_hash(part_text)
        docs.append(doc.split())
    return docs


def read_path(path: Path) -> Iterator[Document]:
    """Documents from one file; raises :class:`ReadError` with a one-line reason."""
    path = Path(path)
    if not path.exists():
        raise ReadError(f"{path}: 路径不存在 / no such file")
    if path.name.lower().endswith(RECORD_SUFFIXES):
        yield from jsonl.read(path, make_documents, ReadError)
        return
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise ReadError(f"{path}: 不支持的文件类型 / unsupported file type")
    if path.stat().st_size == 0:
        raise ReadError(f"{path}: 空文件 / empty file")
    if path.stat().st_size > txt.MAX_BYTES:
        raise ReadError(f"{path}: 文件过大（超过 {txt.MAX_BYTES // 2**20} MB，可用 KB_MAX_FILE_MB 调整）/ file too large")
    try:
        text = reader(path)
    except (UnicodeError, ValueError, OSError) as exc:
        raise ReadError(f"{path}: {exc}") from exc
    try:
        meta = sidecar(path)
        yield from make_documents(path.stem, path.name, text, with_guesses(text, meta, path))
    except ValueError as exc:
        raise ReadError(f"{path}: {exc}") from exc


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
