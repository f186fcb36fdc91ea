"""Size limits every reader applies: on the file, on what it inflates, on one JSON-lines record.

``KB_MAX_FILE_MB`` (default 20) bounds a file on disk and one record; ``KB_MAX_INFLATED_MB``
(default 100) bounds what a compressed container (.docx, .jsonl.gz) may inflate to.
``KB_MAX_IMAGE_MPX`` (default 60 megapixels) bounds one image or scanned page before it is decoded
(a decompression bomb stops at its header); ``KB_MAX_OCR_PAGES`` (default 300) bounds the pages
one file may send to OCR, which takes seconds a page.
"""
from __future__ import annotations

import os


def _env_mb(name: str, default: float) -> int:
    try:
        return int(float(os.environ.get(name, default)) * 2**20)
    except ValueError:
        return int(default * 2**20)


def _env_count(name: str, default: int) -> int:
    try:
        return max(1, int(float(os.environ.get(name, default))))
    except ValueError:
        return default


MAX_BYTES = _env_mb("KB_MAX_FILE_MB", 20)
MAX_RECORD = MAX_BYTES
MAX_INFLATED = _env_mb("KB_MAX_INFLATED_MB", 100)
MAX_ZIP_ENTRIES = 10000
MAX_PIXELS = _env_count("KB_MAX_IMAGE_MPX", 60) * 1_000_000
MAX_OCR_PAGES = _env_count("KB_MAX_OCR_PAGES", 300)


def mb(size: int) -> str:
    return f"{size / 2**20:.0f}"
