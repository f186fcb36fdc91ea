"""Export a basket as a Word handout (.docx, python-docx) or Markdown, with citations."""
from __future__ import annotations

import io
from datetime import date
from typing import Any, Iterable

HANDOUT_TITLE = "学习素材汇编"


def citation(item: dict[str, Any]) -> str:
    """单位．《标题》第X条．地区，年份．来源文件 — the parts that are known."""
    title = f"《{item['title']}》{item.get('article') or ''}" if item.get("title") else ""
    head = "．".join(p for p in (item.get("unit") or "", title) if p)
    where = "，".join(str(p) for p in (item.get("place") or "", item.get("year") or "") if p)
    parts = [p for p in (head, where, item.get("source") or "") if p]
    return "．".join(parts) + "．" if parts else ""


def item_heading(item: dict[str, Any], number: int) -> str:
    heading = (item.get("heading") or "").replace("\n", " ").strip()
    return f"{number}. {heading or item.get('title') or item.get('passage_id')}"


def to_markdown(items: Iterable[dict[str, Any]], title: str = HANDOUT_TITLE) -> str:
    lines = [f"# {title}", "", f"生成日期：{date.today().isoformat()}", ""]
    for number, item in enumerate(items, 1):
        lines += [f"## {item_heading(item, number)}", ""]
        lines += [f"> {line}" for line in (item.get("passage") or "").split("\n")] + [""]
        if item.get("note"):
            lines += [f"**按：** {item['note']}", ""]
        lines += [f"出处：{citation(item)}", ""]
    return "\n".join(lines)


def to_docx(items: Iterable[dict[str, Any]], title: str = HANDOUT_TITLE) -> bytes:
    from docx import Document
    from docx.shared import Pt, RGBColor

    doc = Document()
    doc.add_heading(title, level=0)
    doc.add_paragraph(f"生成日期：{date.today().isoformat()}")
    for number, item in enumerate(items, 1):
        doc.add_heading(item_heading(item, number), level=1)
        for line in (item.get("passage") or "").split("\n"):
            doc.add_paragraph(line)
        if item.get("note"):
            note = doc.add_paragraph()
            note.add_run("按：").bold = True
            note.add_run(item["note"])
        cite = doc.add_paragraph()
        run = cite.add_run("出处：" + citation(item))
        run.font.size = Pt(9)
        run.font.color.rgb = RGBColor(0x55, 0x55, 0x55)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()
