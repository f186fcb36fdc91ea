"""Word files (.docx) through python-docx: paragraphs in order, headings, and table rows."""
from __future__ import annotations

from pathlib import Path


def read(path: Path) -> str:
    import zipfile

    from docx import Document
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
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
