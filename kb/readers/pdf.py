"""Text PDFs through pypdf. A PDF without a text layer (a scan) is reported, not indexed empty."""
from __future__ import annotations

import logging
from pathlib import Path

logging.getLogger("pypdf").setLevel(logging.CRITICAL)  # its warnings would break "one line per file"

NO_TEXT = "无可提取文本（可能是扫描件）/ no extractable text (probably a scan)"


def read(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            try:
                if not reader.decrypt(""):
                    raise ValueError("PDF 已加密，无法读取 / encrypted PDF")
            except Exception as exc:  # noqa: BLE001 — pypdf raises several types here
                raise ValueError("PDF 已加密，无法读取 / encrypted PDF") from exc
        pages = [page.extract_text() or "" for page in reader.pages]
    except ValueError:
        raise
    except (PdfReadError, OSError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise ValueError(f"PDF 已损坏或不完整 / damaged or truncated PDF ({type(exc).__name__})") from exc
    text = "\n".join(pages)
    if len("".join(text.split())) < 10:
        raise ValueError(NO_TEXT)
    return text
