"""Scanned pages and photographs (.png .jpg .jpeg .tif .tiff; every page of a multi-page TIFF),
read by OCR. Each image is checked against ``KB_MAX_IMAGE_MPX`` before it is decoded."""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from kb.ingest.readers import ocr
from kb.ingest.readers.limits import MAX_OCR_PAGES, MAX_PIXELS
from kb.ingest.readers.pages import Pages

if TYPE_CHECKING:  # Pillow comes with the OCR extra
    from PIL import Image

SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
TOO_LARGE = "图像过大（超过 {} 百万像素，可用 KB_MAX_IMAGE_MPX 调整）/ image too large"
TOO_MANY = "扫描页过多（超过 {} 页，可用 KB_MAX_OCR_PAGES 调整）/ too many pages to OCR"


def check_pixels(width: int, height: int) -> None:
    """Refuse an image larger than the pixel limit (a decompression bomb) before decoding it."""
    if width * height > MAX_PIXELS:
        raise ValueError(TOO_LARGE.format(MAX_PIXELS // 1_000_000))


def page_image(frame: "Image.Image") -> "Image.Image":
    """A frame as an upright RGB page: EXIF rotation applied, transparency on white."""
    from PIL import Image, ImageOps

    frame = ImageOps.exif_transpose(frame) or frame
    if frame.mode in ("RGBA", "LA", "PA") or frame.mode == "P" and "transparency" in frame.info:
        rgba = frame.convert("RGBA")
        page = Image.new("RGB", rgba.size, "white")
        page.paste(rgba, mask=rgba.getchannel("A"))
        return page
    if frame.mode.startswith("I;16") or frame.mode in ("I", "F"):
        frame = ImageOps.autocontrast(frame.convert("I").point(lambda v: v / 256).convert("L"))
    return frame.convert("RGB")


def read(path: Path) -> Pages:
    engine = ocr.engine()  # no engine: the install command, before any decoding
    from PIL import Image, ImageSequence, UnidentifiedImageError

    texts: list[str] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit applies
            with Image.open(path) as image:
                for number, frame in enumerate(ImageSequence.Iterator(image), 1):
                    if number > MAX_OCR_PAGES:
                        raise ValueError(TOO_MANY.format(MAX_OCR_PAGES))
                    check_pixels(*frame.size)
                    texts.append(ocr.reflow(engine.lines(page_image(frame))))
    except Image.DecompressionBombError as exc:
        raise ValueError(TOO_LARGE.format(MAX_PIXELS // 1_000_000)) from exc
    except UnidentifiedImageError as exc:
        raise ValueError("不是可识别的图像文件 / not an image Pillow can read") from exc
    except (SyntaxError, EOFError) as exc:  # Pillow's errors for damaged files
        raise ValueError(f"图像已损坏或不完整 / damaged or truncated image ({type(exc).__name__})") from exc
    return Pages(texts, ocr=list(range(1, len(texts) + 1)))
