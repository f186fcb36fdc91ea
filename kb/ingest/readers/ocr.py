"""OCR of scanned pages: an engine turns an image into text lines, :func:`reflow` joins the lines
of a paragraph, :func:`clean_ocr_text` repairs what OCR gets wrong in Chinese text (spaces between
characters, half-width punctuation), and the text then goes through kb's normalize like any other.

Engines, in order of preference (``KB_OCR_ENGINE`` picks one): RapidOCR (``pip install -e
'.[ocr]'``: PaddleOCR's models on onnxruntime, shipped inside the wheel) and Debian's Tesseract
(``apt-get install tesseract-ocr tesseract-ocr-chi-sim``). benchmarks/ocr_accuracy.py compares them.
``KB_OCR_THREADS`` bounds RapidOCR's threads (default: every core), e.g. for uploads read beside a
serving web server.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # Pillow comes with the OCR extra
    from PIL import Image

INSTALL = "pip install -e '.[ocr]'"  # run in kb's source folder, as the README installs kb
INSTALL_HINT = (f"未安装 OCR 引擎，无法识别扫描页，请在 kb 目录运行 {INSTALL} / no OCR engine installed: "
                f"run {INSTALL} in kb's folder")
TESSERACT_TIMEOUT = 300  # seconds for one page


class OcrUnavailable(ValueError):
    """No OCR engine is installed; the message says how to install one."""

    def __init__(self, message: str = INSTALL_HINT):
        super().__init__(message)


@dataclass
class Line:
    """A line of text found on a page and its box in pixels."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def middle(self) -> float:
        return (self.y0 + self.y1) / 2


class Engine(Protocol):
    name: str

    def lines(self, image: "Image.Image") -> list[Line]:
        """The text lines of a page image."""


# ---------------------------------------------------------------- engines

class RapidEngine:
    """RapidOCR (PP-OCR detection, direction and recognition models on onnxruntime)."""

    name = "rapidocr"

    def __init__(self):
        from rapidocr import RapidOCR

        logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        threads = int(os.environ.get("KB_OCR_THREADS") or -1)  # -1: every core
        self._ocr = RapidOCR(params={"Global.log_level": "error",
                                     "EngineConfig.onnxruntime.intra_op_num_threads": threads})
        self._lock = threading.Lock()  # one onnxruntime session; calls are serialized

    def lines(self, image: "Image.Image") -> list[Line]:
        import numpy as np

        pixels = np.asarray(image.convert("RGB"))
        with self._lock:
            result = self._ocr(pixels)
        if result.boxes is None or result.txts is None:
            return []
        return [Line(text, float(box[:, 0].min()), float(box[:, 1].min()), float(box[:, 0].max()),
                     float(box[:, 1].max()))
                for box, text in zip(result.boxes, result.txts) if text.strip()]


class TesseractEngine:
    """Tesseract's command-line program with the simplified-Chinese model (TSV output)."""

    name = "tesseract"

    def __init__(self):
        self.program = shutil.which("tesseract")
        if not self.program or "chi_sim" not in _tesseract_languages(self.program):
            raise OcrUnavailable()

    def lines(self, image: "Image.Image") -> list[Line]:
        with tempfile.TemporaryDirectory(prefix="kb-ocr-") as folder:
            path = Path(folder) / "page.png"
            image.convert("L").save(path)
            out = subprocess.run([self.program, str(path), "stdout", "-l", "chi_sim", "--psm", "3", "tsv"],
                                 capture_output=True, text=True, timeout=TESSERACT_TIMEOUT, check=True,
                                 env={**os.environ, "OMP_THREAD_LIMIT": "1"}).stdout
        return _tsv_lines(out)


def _tesseract_languages(program: str) -> str:
    try:
        return subprocess.run([program, "--list-langs"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def _tsv_lines(tsv: str) -> list[Line]:
    """Tesseract's word rows grouped by (block, paragraph, line)."""
    grouped: dict[tuple[str, str, str], list[list[str]]] = {}
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) == 12 and cells[0] == "5" and cells[11].strip():
            grouped.setdefault((cells[2], cells[3], cells[4]), []).append(cells)
    lines = []
    for words in grouped.values():
        left = [int(w[6]) for w in words]
        top = [int(w[7]) for w in words]
        right = [int(w[6]) + int(w[8]) for w in words]
        bottom = [int(w[7]) + int(w[9]) for w in words]
        lines.append(Line(" ".join(w[11] for w in words), min(left), min(top), max(right), max(bottom)))
    return lines


ENGINES = {"rapidocr": RapidEngine, "tesseract": TesseractEngine}
_engine_lock = threading.Lock()


@lru_cache(maxsize=None)
def _engine(name: str | None) -> Engine:
    broken = []
    for candidate in [name] if name else list(ENGINES):
        factory = ENGINES.get(candidate)
        if factory is None:
            raise OcrUnavailable(f"未知的 OCR 引擎 KB_OCR_ENGINE={candidate} / unknown OCR engine "
                                 f"(rapidocr, tesseract)")
        try:
            return factory()
        except (ImportError, OcrUnavailable):
            continue
        except Exception as exc:  # noqa: BLE001 — installed but failing (a missing system library …)
            broken.append(f"{candidate}: {type(exc).__name__}: {str(exc).splitlines()[0][:80] if str(exc) else ''}")
    raise OcrUnavailable(f"{INSTALL_HINT} ({'; '.join(broken)})" if broken else INSTALL_HINT)


def engine() -> Engine:
    """The OCR engine to use; raises :class:`OcrUnavailable` (with the install command) if none is."""
    with _engine_lock:
        return _engine(os.environ.get("KB_OCR_ENGINE") or None)


# ---------------------------------------------------------------- text of a page

CJK = r"\u3400-\u9fff\uf900-\ufaff"
CJK_PUNCT = r"\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\u201c-\u201d\u2018-\u2019\u2014\u2026"
_WIDE = rf"[{CJK}{CJK_PUNCT}]"
_NEAR = rf"[{CJK}{CJK_PUNCT}\d,.;:?!()]"  # what sits beside a Chinese character without a space
_SPACE_IN_CJK = re.compile(rf"(?<={_WIDE})[ \t]+(?={_NEAR})|(?<={_NEAR})[ \t]+(?={_WIDE})")
_HALF_TO_FULL = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！", "(": "（", ")": "）"}
_HALF_PUNCT_BY_CJK = re.compile(rf"(?<=[{CJK}])[,;:?!]|[,;:?!](?=[{CJK}])|(?:(?<=[{CJK}])|^)\((?=[^()]*[{CJK}])"
                                rf"|(?<=[{CJK}])\)|(?<=[{CJK}）])\.(?=[{CJK}“”]|$)", re.MULTILINE)


def clean_ocr_text(text: str) -> str:
    """OCR's Chinese repaired: no spaces between Chinese characters or their punctuation, and
    half-width punctuation beside a Chinese character made full-width (, → ，  . → 。)."""
    text = _SPACE_IN_CJK.sub("", text)
    return _HALF_PUNCT_BY_CJK.sub(lambda m: _HALF_TO_FULL.get(m.group(0), "。"), text)


def rows(lines: list[Line]) -> list[Line]:
    """Lines sorted top to bottom; boxes side by side on one row joined (left to right)."""
    out: list[list[Line]] = []
    for line in sorted(lines, key=lambda ln: ln.middle):
        if out and abs(line.middle - statistics.fmean(x.middle for x in out[-1])) < 0.5 * line.height:
            out[-1].append(line)
        else:
            out.append([line])
    joined = []
    for row in out:
        row.sort(key=lambda ln: ln.x0)
        joined.append(Line(" ".join(x.text for x in row), min(x.x0 for x in row), min(x.y0 for x in row),
                           max(x.x1 for x in row), max(x.y1 for x in row)))
    return joined


def reflow(lines: list[Line]) -> str:
    """Page text with one paragraph a line: a row that runs to the right margin continues on the
    next row unless that one is indented (a new paragraph) or far below (a gap)."""
    page_rows = rows(lines)
    if not page_rows:
        return ""
    size = statistics.median(r.height for r in page_rows)
    left = statistics.median_low(sorted(r.x0 for r in page_rows))
    ends = sorted(r.x1 for r in page_rows)
    right = ends[int(0.9 * (len(ends) - 1))]  # the right margin; a stamp or page number beyond it aside
    paragraphs = [clean_ocr_text(page_rows[0].text)]
    for above, row in zip(page_rows, page_rows[1:]):
        text = clean_ocr_text(row.text)
        runs_on = above.x1 >= right - 1.5 * size and row.x0 < left + 1.0 * size
        close = row.y0 - above.y1 < 1.2 * size
        if runs_on and close:
            paragraphs[-1] = _join(paragraphs[-1], text)
        else:
            paragraphs.append(text)
    return "\n".join(p for p in paragraphs if p)


def _join(first: str, second: str) -> str:
    latin = first[-1:].isascii() and first[-1:].isalnum() and second[:1].isascii() and second[:1].isalnum()
    return f"{first} {second}" if latin else first + second


def page_text(image: "Image.Image") -> str:
    """The text of one page image, one paragraph a line."""
    return reflow(engine().lines(image))
