"""Render a 专题汇编 (kb.materials.handout.Handout) as Word (.docx, python-docx) or Markdown.

Word: a title page (theme, date, number of sources), a contents list (a TOC field over heading
levels 1–2, its entries filled in so that it shows before any update; Word refreshes it on opening),
then Heading 1 per province/city, Heading 2 per practice or document, Heading 3 for 做法 / 成效 /
出处, and the reference list. Fonts: Times New Roman for Latin text and 宋体/黑体 for Chinese through
``w:eastAsia`` (with SimSun/SimHei as alternative names in the font table), language zh-CN — so WPS,
Word and LibreOffice pick a Chinese font (LibreOffice substitutes Noto CJK when SimSun is missing).
"""
from __future__ import annotations

import io
from typing import Any, Iterable

from kb.materials.citation import reference
from kb.materials.handout import Handout, Section, build, citation_meta

HANDOUT_TITLE = "专题汇编"
BODY_FONT, HEADING_FONT, LATIN_FONT = "宋体", "黑体", "Times New Roman"
FONT_ALIASES = {"宋体": ("SimSun", "02010600030101010101"), "黑体": ("SimHei", "02010609060101010101")}
NO_RESULTS = "（所选段落未报告量化成效。）"


def citation(item: dict[str, Any]) -> str:
    """The GB/T 7714-2015 reference of a basket item or passage."""
    return reference(citation_meta(item))


def basket_handout(items: Iterable[dict[str, Any]], models=(), title: str = HANDOUT_TITLE,
                   document_results=None) -> Handout:
    """The basket as a handout: the same builder, the trainer's order and notes kept."""
    return build(title, list(items), models, document_results=document_results)


def handout_title(handout: Handout) -> str:
    theme = handout.theme.strip()
    return theme if theme == HANDOUT_TITLE else f"{theme} 专题汇编"


# ------------------------------------------------------------------ Markdown

def to_markdown(handout: Handout) -> str:
    lines = [f"# {handout_title(handout)}", "", f"生成日期：{handout.made.isoformat()}　"
             f"来源：{handout.source_count} 篇", "", "## 目录", ""]
    for level, heading in handout.outline():
        lines.append("  " * (level - 1) + f"- {heading}")
    lines.append("")
    for group, sections in handout.groups:
        lines += [f"## {group}", ""]
        for section in sections:
            lines += markdown_section(section)
    lines += ["## 参考文献", ""] + [f"[{r.number}] {r.text}  " for r in handout.references] + [""]
    return "\n".join(lines)


def markdown_section(section: Section) -> list[str]:
    lines = [f"### {section.title}", "", "**做法**", ""]
    if section.definition:
        lines += [f"定义：{section.definition}", ""]
    if section.parts:
        lines += ["组成：" + "；".join(section.parts), ""]
    for excerpt in section.excerpts:
        lines += [f"> {line}" for line in excerpt.text.split("\n")]
        lines[-1] += excerpt.marker
        lines.append("")
        if excerpt.note:
            lines += [f"**按：** {excerpt.note}", ""]
    lines += ["**成效**", ""] + ([f"- {r}" for r in section.results] or [NO_RESULTS]) + [""]
    lines += ["**出处**：" + "；".join(f"[{n}]" for n in section.references), ""]
    return lines


# ------------------------------------------------------------------ Word

def to_docx(handout: Handout) -> bytes:
    from docx import Document
    from docx.enum.text import WD_BREAK
    from docx.shared import Pt

    doc = Document()
    setup_fonts(doc)
    title_page(doc, handout)
    doc.add_paragraph("目录", style="TOC Heading" if "TOC Heading" in doc.styles else None)
    add_toc(doc, handout.outline())
    doc.paragraphs[-1].add_run().add_break(WD_BREAK.PAGE)
    for group, sections in handout.groups:
        doc.add_heading(group, level=1)
        for section in sections:
            docx_section(doc, section)
    if handout.references:
        doc.add_heading("参考文献", level=1)
        for ref in handout.references:
            para = doc.add_paragraph(f"[{ref.number}] {ref.text}")
            para.paragraph_format.left_indent = Pt(21)
            para.paragraph_format.first_line_indent = Pt(-21)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def title_page(doc, handout: Handout) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK

    for _ in range(4):
        doc.add_paragraph()
    doc.add_paragraph(handout_title(handout), style="Title").alignment = WD_ALIGN_PARAGRAPH.CENTER
    for line in (f"主题：{handout.theme}", f"生成日期：{handout.made.isoformat()}",
                 f"来源：{handout.source_count} 篇文献，{len(handout.sections)} 个条目"):
        doc.add_paragraph(line).alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.paragraphs[-1].add_run().add_break(WD_BREAK.PAGE)


def docx_section(doc, section: Section) -> None:
    doc.add_heading(section.title, level=2)
    doc.add_heading("做法", level=3)
    if section.definition:
        para = doc.add_paragraph()
        para.add_run("定义：").bold = True
        para.add_run(section.definition if section.definition_quoted else section.definition + "（据模式目录释义）")
    if section.parts:
        para = doc.add_paragraph()
        para.add_run("组成：").bold = True
        para.add_run("；".join(section.parts))
    for excerpt in section.excerpts:
        lines = excerpt.text.split("\n")
        for n, line in enumerate(lines):
            para = doc.add_paragraph(line, style="Quote" if "Quote" in doc.styles else None)
            if n == len(lines) - 1:
                para.add_run(excerpt.marker).font.superscript = True
        if excerpt.note:
            note = doc.add_paragraph()
            note.add_run("按：").bold = True
            note.add_run(excerpt.note)
    doc.add_heading("成效", level=3)
    for result in section.results or [NO_RESULTS]:
        doc.add_paragraph(result, style="List Bullet" if section.results else None)
    doc.add_heading("出处", level=3)
    doc.add_paragraph("见参考文献 " + "，".join(f"[{n}]" for n in section.references))


def add_toc(doc, outline: list[tuple[int, str]]) -> None:
    """A TOC field (levels 1–2) whose shown result already lists the headings."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    def field_char(run, kind: str) -> None:
        char = OxmlElement("w:fldChar")
        char.set(qn("w:fldCharType"), kind)
        run._r.append(char)

    entries = [(level, text) for level, text in outline if level <= 2]
    first = doc.add_paragraph()
    field_char(first.add_run(), "begin")
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = ' TOC \\o "1-2" \\h \\z \\u '
    first.add_run()._r.append(instr)
    field_char(first.add_run(), "separate")
    paragraphs = [first] + [doc.add_paragraph() for _ in entries[1:]]
    for para, (level, text) in zip(paragraphs, entries):
        para.add_run(text)
        para.paragraph_format.left_indent = Pt(21 * (level - 1))
    if not entries:
        first.add_run("（无条目）")
    field_char(paragraphs[-1].add_run(), "end")
    update_fields_on_open(doc)


# w:settings is a sequence: w:updateFields goes before these (ECMA-376 CT_Settings)
SETTINGS_AFTER_UPDATE_FIELDS = ("hdrShapeDefaults", "footnotePr", "endnotePr", "compat", "docVars", "rsids",
                                "mathPr", "attachedSchema", "themeFontLang", "clrSchemeMapping",
                                "doNotIncludeSubdocsInStats", "doNotAutoCompressPictures", "forceUpgrade",
                                "captions", "readModeInkLockDown", "smartTagType", "schemaLibrary",
                                "shapeDefaults", "doNotEmbedSmartTags", "decimalSymbol", "listSeparator")


def update_fields_on_open(doc) -> None:
    """Ask Word to refresh the fields (the contents list's page numbers) when it opens the file."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    settings = doc.settings.element
    update = OxmlElement("w:updateFields")
    update.set(qn("w:val"), "true")
    later = {qn(f"w:{name}") for name in SETTINGS_AFTER_UPDATE_FIELDS}
    successor = next((child for child in settings if child.tag in later), None)
    if successor is None:
        settings.append(update)
    else:
        successor.addprevious(update)


def setup_fonts(doc) -> None:
    """East-Asian fonts on the default, Normal and heading styles; font table with alternatives."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    def fonts(rpr, east_asian: str) -> None:
        rfonts = rpr.find(qn("w:rFonts"))
        if rfonts is None:
            rfonts = OxmlElement("w:rFonts")
            rpr.insert(0, rfonts)
        for attr in list(rfonts.attrib):
            if attr.endswith("Theme"):
                del rfonts.attrib[attr]
        for name, value in (("w:ascii", LATIN_FONT), ("w:hAnsi", LATIN_FONT), ("w:cs", LATIN_FONT),
                            ("w:eastAsia", east_asian), ("w:hint", "eastAsia")):
            rfonts.set(qn(name), value)
        lang = rpr.find(qn("w:lang"))
        if lang is None:
            lang = OxmlElement("w:lang")
            rpr.append(lang)
        lang.set(qn("w:eastAsia"), "zh-CN")

    defaults = doc.styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        rpr = defaults.find(qn("w:rPrDefault") + "/" + qn("w:rPr"))
        if rpr is not None:
            fonts(rpr, BODY_FONT)
    normal = doc.styles["Normal"]
    normal.font.size = Pt(12)
    fonts(normal.element.get_or_add_rPr(), BODY_FONT)
    for name in ("Title", "Heading 1", "Heading 2", "Heading 3", "TOC Heading"):
        if name in doc.styles:
            style = doc.styles[name]
            fonts(style.element.get_or_add_rPr(), HEADING_FONT)
            style.font.color.rgb = RGBColor(0, 0, 0)
    if "Quote" in doc.styles:  # quoted passages: indented, upright (a slanted 宋体 reads badly)
        quote = doc.styles["Quote"]
        fonts(quote.element.get_or_add_rPr(), BODY_FONT)
        quote.font.italic = False
        quote.font.color.rgb = RGBColor(0x22, 0x22, 0x22)
        quote.paragraph_format.left_indent = Pt(21)
        quote.paragraph_format.right_indent = Pt(0)
    font_table(doc)


def font_table(doc) -> None:
    """宋体/黑体 in the font table with their Latin names as alternatives (GB2312 charset)."""
    from lxml import etree

    part = next((rel.target_part for rel in doc.part.rels.values() if rel.reltype.endswith("/fontTable")), None)
    if part is None:
        return
    ns = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    table = etree.fromstring(part.blob)
    present = {f.get(f"{{{ns}}}name") for f in table.findall(f"{{{ns}}}font")}
    for name, (alias, panose) in FONT_ALIASES.items():
        if name in present:
            continue
        font = etree.SubElement(table, f"{{{ns}}}font")
        font.set(f"{{{ns}}}name", name)
        for tag, value in (("altName", alias), ("panose1", panose), ("charset", "86"),
                           ("family", "auto"), ("pitch", "variable")):
            etree.SubElement(font, f"{{{ns}}}{tag}").set(f"{{{ns}}}val", value)
    part._blob = etree.tostring(table, xml_declaration=True, encoding="UTF-8", standalone=True)
