"""Word files (.docx) through python-docx: paragraphs in order, headings, and table rows."""
from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

from kb.ingest.readers.limits import MAX_INFLATED, MAX_ZIP_ENTRIES, mb


def check_inflated(path: Path) -> None:
    """Refuse a package that would inflate past the limit (a zip bomb) before anything is inflated.

    The sizes come from the zip's central directory; zipfile never inflates an entry past its
    declared size, so the check bounds what python-docx can read."""
    try:
        with zipfile.ZipFile(path) as package:
            entries = package.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error) as exc:
        raise ValueError(f"Word 文件已损坏或不是 .docx / corrupt or not a .docx file ({type(exc).__name__})") from exc
    if len(entries) > MAX_ZIP_ENTRIES:
        raise ValueError(f"Word 文件包含过多部件（{len(entries)} 个）/ too many parts in the package")
    total = sum(entry.file_size for entry in entries)
    if total > MAX_INFLATED:
        raise ValueError(f"解压后超过 {mb(MAX_INFLATED)} MB（{total // 2**20} MB），疑似压缩炸弹，未读取；"
                         f"可用 KB_MAX_INFLATED_MB 调整 / inflates past the limit (zip bomb?)")


def read(path: Path) -> str:
    from docx import Document
    from docx.opc.exceptions import PackageNotFoundError

    check_inflated(path)
    try:
        document = Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, zlib.error, KeyError, ValueError, EOFError, OSError,
            AttributeError, TypeError, IndexError, SyntaxError) as exc:  # lxml's XMLSyntaxError is a SyntaxError
        raise ValueError(f"Word 文件已损坏或不是 .docx / corrupt or not a .docx file ({type(exc).__name__})") from exc
    lines: list[str] = []
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            text = "".join(node.text or "" for node in child.iter() if node.tag.endswith("}t")).strip()
            if text:
                lines.append(text)
        elif tag == "tbl":
            for row in child.iter():
                if row.tag.endswith("}tr"):
                    cells = []
                    for cell in row.iter():
                        if cell.tag.endswith("}tc"):
                            cells.append("".join(n.text or "" for n in cell.iter() if n.tag.endswith("}t")).strip())
                    if any(cells):
                        lines.append(" | ".join(cells) + "。")
    return "\n".join(lines)


def title(path: Path) -> str:
    """The first Title/Heading paragraph, if any."""
    from docx import Document

    try:
        for paragraph in Document(str(path)).paragraphs:
            style = (paragraph.style.name or "").lower() if paragraph.style is not None else ""
            if paragraph.text.strip() and (style.startswith("heading") or style == "title" or "标题" in style):
                return paragraph.text.strip()
    except Exception:  # noqa: BLE001 — the title is a nicety; read() reports real damage
        return ""
    return ""
