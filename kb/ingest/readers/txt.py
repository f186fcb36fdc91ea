"""Plain text (.txt/.md) in any common Chinese encoding.

UTF-8 (with or without BOM) and UTF-16 (BOM, or without one when charset-normalizer reads the
zero bytes as UTF-16 and the text is plausible) first; otherwise GB18030, Big5 and charset-normalizer's
guess compete, and the most plausible Chinese wins: mojibake (UTF-8 read as GBK, say) is full of
rare characters, real text is mostly the 3,755 common ones. A file that mixes encodings is decoded
line by line the same way.
"""
from __future__ import annotations

import codecs
import os
from pathlib import Path

from charset_normalizer import from_bytes

MAX_BYTES = int(float(os.environ.get("KB_MAX_FILE_MB", "20")) * 1024 * 1024)
PLAUSIBLE = 0.80
CANDIDATES = ("utf-8", "gb18030", "big5")


def looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    control = sum(b < 9 or 13 < b < 32 for b in sample)
    return b"\x00" in sample or control > len(sample) * 0.05


def _common(ch: str) -> bool:
    """Common Chinese (GB2312 level 1), or anything that is not a Han character at all."""
    if not "\u4e00" <= ch <= "\u9fff":
        return ch.isprintable() or ch in "\n\r\t"
    try:
        return 0xB0 <= ch.encode("gb2312")[0] <= 0xD7
    except UnicodeEncodeError:
        try:  # a traditional character whose simplified form is common counts too
            return 0xB0 <= ch.encode("big5")[0] <= 0xC6
        except UnicodeEncodeError:
            return False


def plausibility(text: str) -> float:
    """Share of characters that are common Chinese or ordinary text; mojibake scores low."""
    sample = text[:20000]
    if not sample:
        return 0.0
    return sum(_common(ch) for ch in sample) / len(sample)


def _attempts(data: bytes) -> list[str]:
    out = []
    for encoding in CANDIDATES:
        try:
            out.append(data.decode(encoding))
        except UnicodeDecodeError:
            pass
    guess = from_bytes(data[:200000]).best()
    if guess is not None:
        try:
            out.append(data.decode(guess.encoding))
        except (UnicodeDecodeError, LookupError):
            pass
    return out


def utf16_without_bom(data: bytes) -> str | None:
    """The text of BOM-less UTF-16 (LE or BE), or None: zero bytes, an even length, and
    charset-normalizer's best reading is UTF-16 and plausible Chinese (binary files are not)."""
    if b"\x00" not in data[:8192] or len(data) % 2:
        return None
    guess = from_bytes(data[:200000]).best()
    if guess is None or not guess.encoding.startswith("utf_16"):
        return None
    try:
        text = data.decode(guess.encoding)
    except UnicodeDecodeError:
        return None
    return text if plausibility(text) >= PLAUSIBLE else None


def _by_line(data: bytes) -> str:
    lines = []
    for raw in data.split(b"\n"):
        options = _attempts(raw) or [raw.decode("utf-8", errors="replace")]
        lines.append(max(options, key=plausibility))
    return "\n".join(lines)


def decode(data: bytes) -> str:
    """Decode bytes to text, or raise ValueError with a one-line reason."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    utf16 = utf16_without_bom(data)
    if utf16 is not None:
        return utf16
    if looks_binary(data):
        raise ValueError("二进制文件，不是文本 / binary file, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    options = _attempts(data)
    best = max(options, key=plausibility) if options else ""
    if plausibility(best) < PLAUSIBLE:
        best = _by_line(data)
    if plausibility(best) < PLAUSIBLE:
        raise ValueError("无法识别文字编码，解码结果不像中文 / cannot decode: the result is not plausible Chinese")
    return best


def read(path: Path) -> str:
    if path.stat().st_size > MAX_BYTES:
        raise ValueError(f"文件过大（超过 {MAX_BYTES // 2**20} MB，可用 KB_MAX_FILE_MB 调整）/ file too large")
    return decode(path.read_bytes())
