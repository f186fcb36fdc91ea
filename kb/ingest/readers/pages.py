"""The text of a paged file (PDF, multi-page TIFF): one string a page, and which pages OCR read."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Pages:
    texts: list[str]                                # page 1 first; "" for a blank page
    ocr: list[int] = field(default_factory=list)      # numbers of the pages read by OCR
    missing: list[int] = field(default_factory=list)  # scanned pages left unread (no OCR engine)

    def text(self) -> str:
        """All pages as one text, a line break between pages."""
        return "\n".join(self.texts)


def page_list(numbers: list[int], shown: int = 10) -> str:
    """1, 3, 4 … as 第1、3、4页 (at most ``shown`` numbers, then 等)."""
    listed = "、".join(str(n) for n in numbers[:shown])
    return f"第{listed}{'等' if len(numbers) > shown else ''}页"
