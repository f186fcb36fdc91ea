"""Saved web pages through trafilatura, which drops navigation, footers and share buttons."""
from __future__ import annotations

from pathlib import Path

from kb.ingest.readers.txt import decode


def extract(path: Path) -> tuple[str, str]:
    """(title, main text) of a saved page."""
    import trafilatura

    raw = decode(path.read_bytes())
    text = trafilatura.extract(raw, include_comments=False, include_tables=True, favor_precision=True) or ""
    meta = trafilatura.extract_metadata(raw)
    title = (meta.title if meta and meta.title else "") or ""
    if not text.strip():
        raise ValueError("网页中没有正文 / no article text in the page")
    return title.strip(), text


def read(path: Path) -> str:
    title, text = extract(path)
    return f"{title}\n{text}" if title and not text.startswith(title) else text
