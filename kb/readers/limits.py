"""Size limits every reader applies: on the file, on what it inflates, on one JSON-lines record.

``KB_MAX_FILE_MB`` (default 20) bounds a file on disk and one record; ``KB_MAX_INFLATED_MB``
(default 100) bounds what a compressed container (.docx, .jsonl.gz) may inflate to.
"""
from __future__ import annotations

import os


def _env_mb(name: str, default: float) -> int:
    try:
        return int(float(os.environ.get(name, default)) * 2**20)
    except ValueError:
        return int(default * 2**20)


MAX_BYTES = _env_mb("KB_MAX_FILE_MB", 20)
MAX_RECORD = MAX_BYTES
MAX_INFLATED = _env_mb("KB_MAX_INFLATED_MB", 100)
MAX_ZIP_ENTRIES = 10000


def mb(size: int) -> str:
    return f"{size / 2**20:.0f}"
