"""jieba, set up once per process for the index it reads: its dictionary cache kept in the index
folder (``.cache/``, or the user's cache where the index is read-only), and each generation's
harvested terms added once."""
from __future__ import annotations

import logging
import os
import tempfile
import threading
from pathlib import Path

from kb.index.schema import CACHE_DIR
from kb.text import segment


_segmenter_lock = threading.Lock()
_segmenter_ready: list[bool] = []
_terms_applied: set[tuple] = set()


def _cache_dir(folder: Path) -> Path:
    """jieba's dictionary cache: in the index if it can be written there, else the user's cache."""
    own = folder / CACHE_DIR
    if own.is_dir() and os.access(own, os.W_OK) or not own.exists() and os.access(folder, os.W_OK):
        return own
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    fallback = Path(base) / "kb"
    try:
        fallback.mkdir(parents=True, exist_ok=True)
        return fallback
    except OSError:
        return Path(tempfile.gettempdir()) / "kb-cache"


def warm_segmenter(folder: Path | str) -> None:
    """Load jieba's dictionaries for this process without opening the index — a pre-fork server
    calls it in its master so the workers share those pages instead of loading one copy each."""
    with _segmenter_lock:
        setup_segmenter(Path(folder))


def setup_segmenter(folder: Path) -> None:
    if not _segmenter_ready:
        quiet = logging.getLogger("jieba")
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)  # a cache jieba cannot write is only slower, not an error
        try:
            segment.setup(cache_dir=_cache_dir(folder))
        finally:
            quiet.setLevel(level)
        _segmenter_ready.append(True)


def prepare_segmenter(folder: Path, terms: list[str], key: tuple) -> None:
    """jieba is process-wide: set it up once, then add each generation's harvested terms once."""
    with _segmenter_lock:
        setup_segmenter(folder)
        if key not in _terms_applied:
            segment.add_terms(terms)
            _terms_applied.add(key)
