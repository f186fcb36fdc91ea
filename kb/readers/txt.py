"""Plain text (.txt/.md): UTF-8 with or without BOM, UTF-16 with BOM, else detected."""
from __future__ import annotations

import codecs
from pathlib import Path

from charset_normalizer import from_bytes

MAX_BYTES = 200 * 1024 * 1024


def looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    return b"\x00" in sample and not sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))


def decode(data: bytes) -> str:
    """Decode bytes to text, or raise ValueError with a one-line reason."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    if looks_binary(data):
        raise ValueError("二进制文件，不是文本 / binary file, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None:
        raise ValueError("无法识别文字编码 / cannot detect the text encoding")
    return str(best)


def read(path: Path) -> str:
    if path.stat().st_size > MAX_BYTES:
        raise ValueError(f"文件过大（>{MAX_BYTES // 2**20} MB）/ file too large")
    return decode(path.read_bytes())
