"""PDFs, page by page: the text layer through pypdf; a page without one that holds an image (a
scan) is rendered by pypdfium2 and read by OCR (kb/ingest/readers/ocr.py), so mixed files keep both.
Without an OCR engine a scan-only PDF is refused with the install command; a mixed one keeps its
text pages and names the pages left unread."""
from __future__ import annotations

import logging
import math
import threading
from pathlib import Path

from kb.ingest.readers import ocr
from kb.ingest.readers.image import TOO_MANY, check_pixels
from kb.ingest.readers.limits import MAX_OCR_PAGES, MAX_PIXELS
from kb.ingest.readers.pages import Pages

logging.getLogger("pypdf").setLevel(logging.CRITICAL)  # its warnings would break "one line per file"

NO_TEXT = "无可提取文本（可能是扫描件）/ no extractable text (probably a scan)"
MIN_PAGE_TEXT = 10  # a page with fewer characters (blanks aside) and an image is a scan
OCR_DPI = 300
_pdfium_lock = threading.Lock()  # PDFium is not thread-safe


def read(path: Path) -> Pages:
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
        texts = [page.extract_text() or "" for page in reader.pages]
        scanned = [n for n, (page, text) in enumerate(zip(reader.pages, texts), 1)
                   if _chars(text) < MIN_PAGE_TEXT and _has_image(page)]
    except ValueError:
        raise
    except (PdfReadError, OSError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise ValueError(f"PDF 已损坏或不完整 / damaged or truncated PDF ({type(exc).__name__})") from exc
    pages = Pages(texts)
    if scanned:
        ocr_pages(path, pages, scanned)
    if _chars("".join(pages.texts)) < MIN_PAGE_TEXT:
        raise ValueError(NO_TEXT)
    return pages


def _chars(text: str) -> int:
    return len("".join(text.split()))


def _has_image(page) -> bool:
    try:
        return len(page.images) > 0
    except Exception:  # noqa: BLE001 — a damaged resource dictionary: treat the page as blank
        return False


def ocr_pages(path: Path, pages: Pages, numbers: list[int]) -> None:
    """Read the scanned pages ``numbers`` by OCR into ``pages``; without an engine, a PDF with no
    text at all raises the install command and a mixed one lists them as missing."""
    if len(numbers) > MAX_OCR_PAGES:
        raise ValueError(TOO_MANY.format(MAX_OCR_PAGES))
    try:
        engine = ocr.engine()
        import pypdfium2  # noqa: F401 — installed with the OCR extra
    except (ocr.OcrUnavailable, ImportError):
        if _chars("".join(pages.texts)) < MIN_PAGE_TEXT:
            raise ocr.OcrUnavailable(f"{NO_TEXT}；{ocr.INSTALL_HINT}") from None
        pages.missing = numbers
        return
    for number in numbers:
        pages.texts[number - 1] = ocr.reflow(engine.lines(render(path, number)))
        pages.ocr.append(number)


def render(path: Path, number: int, dpi: int = OCR_DPI):
    """Page ``number`` as a greyscale image at ``dpi`` (less for a page too large for the pixel limit)."""
    import pypdfium2 as pdfium

    with _pdfium_lock:
        document = pdfium.PdfDocument(str(path))
        try:
            page = document[number - 1]
            width, height = page.get_size()
            scale = min(dpi / 72, math.sqrt(MAX_PIXELS / max(1.0, width * height)))
            check_pixels(int(width * scale), int(height * scale))
            image = page.render(scale=scale, grayscale=True).to_pil()
            page.close()
        finally:
            document.close()
    return image
