"""Scans made in code: seed passages rendered as a printed page would be, then degraded like a
scanner degrades it (a slight rotation, grey noise, JPEG), for the OCR tests and
benchmarks/ocr_accuracy.py. Seeded: the same arguments give the same pixels.
"""
from __future__ import annotations

import io
import random
import subprocess
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

A4_MM = (210, 297)
MARGIN_MM = 25
FONT_PT = 14  # a little above 三号/四号 body text of official documents
CORPUS = Path(__file__).resolve().parent.parent / "corpus"


@lru_cache(maxsize=1)
def cjk_font_path() -> str:
    """A CJK font installed on this machine (fonts-noto-cjk: tests/setup-browser.sh)."""
    try:
        out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True,
                             timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    files = sorted({line.split(":")[0].strip() for line in out.splitlines() if line.strip()})
    preferred = [f for f in files if "Serif" in f and "Regular" in f] + [f for f in files if "Regular" in f]
    for path in preferred + files + ["/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"]:
        if Path(path).exists():
            return path
    raise FileNotFoundError("no CJK font (apt-get install fonts-noto-cjk)")


def seed_passages(count: int = 6, length: int = 220) -> list[str]:
    """Paragraphs of the corpus seeds, normalized (simplified), each cut to about ``length``."""
    from kb.text.normalize import normalize

    per_file = [[line[:length] for line in normalize(path.read_text(encoding="utf-8")).split("\n")
                 if len(line) >= length // 2]
                for path in sorted(CORPUS.glob("*.txt"))]
    out = []
    for round_ in range(max(map(len, per_file), default=0)):  # one paragraph of each seed in turn
        out += [lines[round_] for lines in per_file if round_ < len(lines)]
    return out[:count]


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines, current = [], ""
    for ch in text:
        if font.getlength(current + ch) > width and current:
            lines.append(current)
            current = ""
        current += ch
    return lines + [current] if current else lines


def render_page(paragraphs: list[str], dpi: int = 200, title: str = "", crop: bool = False) -> Image.Image:
    """An A4 page (greyscale) of ``paragraphs`` with a two-character first-line indent; ``crop``:
    only the printed part of it and a margin (a slip of paper: faster to read)."""
    px = lambda mm: round(mm / 25.4 * dpi)  # noqa: E731
    size = round(FONT_PT / 72 * dpi)
    font = ImageFont.truetype(cjk_font_path(), size)
    page = Image.new("L", (px(A4_MM[0]), px(A4_MM[1])), 255)
    draw = ImageDraw.Draw(page)
    left, width = px(MARGIN_MM), px(A4_MM[0] - 2 * MARGIN_MM)
    y = px(MARGIN_MM)
    if title:
        title_font = ImageFont.truetype(cjk_font_path(), round(size * 1.4))
        draw.text((left + (width - title_font.getlength(title)) / 2, y), title, font=title_font, fill=0)
        y += round(size * 2.6)
    for para in paragraphs:
        for i, line in enumerate(_wrap("\u3000\u3000" + para, font, width)):
            draw.text((left, y), line, font=font, fill=0)
            y += round(size * 1.6)
        y += round(size * 0.4)
    if crop:
        page = page.crop((0, 0, page.width, min(page.height, y + px(MARGIN_MM))))
    return page


def degrade(page: Image.Image, seed: int, angle: float = 1.5, noise: float = 0.0,
            jpeg: int | None = None) -> Image.Image:
    """A scanner's copy: rotated by ±``angle`` degrees (sign by seed), Gaussian grey noise of
    ``noise`` (standard deviation in grey levels), optionally through JPEG at quality ``jpeg``."""
    rng = random.Random(seed)
    out = page.rotate(angle * rng.choice((-1, 1)), resample=Image.BICUBIC, expand=False, fillcolor=255)
    if noise:
        pixels = np.asarray(out, dtype=np.float32)
        pixels += np.random.default_rng(seed).normal(0, noise, pixels.shape)
        out = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    if jpeg:
        buffer = io.BytesIO()
        out.save(buffer, "JPEG", quality=jpeg)
        out = Image.open(io.BytesIO(buffer.getvalue()))
        out.load()
    return out


def scan(paragraphs: list[str], dpi: int = 200, seed: int = 0, angle: float = 1.5, noise: float = 12.0,
         title: str = "", crop: bool = False) -> Image.Image:
    """A rendered and degraded page."""
    return degrade(render_page(paragraphs, dpi, title, crop), seed, angle, noise)


def save_image_pdf(pages: list[Image.Image], path: Path, dpi: int = 200) -> Path:
    """An image-only PDF (no text layer), one scan a page."""
    pages = [p.convert("L") for p in pages]
    pages[0].save(path, "PDF", resolution=float(dpi), save_all=True, append_images=pages[1:])
    return path
