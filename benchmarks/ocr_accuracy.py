"""Character accuracy and speed of the OCR engines on scans made in code (tests/scans.py).

    python benchmarks/ocr_accuracy.py                  # every installed engine, 150/200/300 dpi
    python benchmarks/ocr_accuracy.py --pages 1 --dpi 200 --engines rapidocr

Seed passages (corpus/, normalized) are rendered on A4 pages with Noto CJK, then scanned four
ways: ``clean`` (as rendered), ``scan`` (rotated ±1.5°, grey noise σ=12), ``poor`` (±2°, σ=30,
JPEG quality 60) and ``harsh`` (±3°, σ=45, JPEG quality 35). Each page goes through kb's own
path — engine lines → reflow and clean_ocr_text → normalize — and is compared with the text
drawn: accuracy = 1 − CER, the edit distance over the reference length, whitespace removed and
punctuation widths folded (NFKC) on both sides. ``pdf`` rows read the ``scan`` pages as an
image-only PDF through kb's PDF reader (pypdfium2 rendering at 300 dpi). Seconds are per page,
the engine's model already loaded: wall clock, and CPU seconds (this process and its children,
every thread), which a busy machine disturbs less. Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from rapidfuzz.distance import Levenshtein  # noqa: E402

from kb.text.normalize import normalize  # noqa: E402
from kb.ingest.readers import ocr, pdf  # noqa: E402
from scans import degrade, render_page, save_image_pdf, seed_passages  # noqa: E402

CONDITIONS = {"clean": dict(angle=0.0, noise=0.0), "scan": dict(angle=1.5, noise=12.0),
              "poor": dict(angle=2.0, noise=30.0, jpeg=60), "harsh": dict(angle=3.0, noise=45.0, jpeg=35)}
TITLES = ["关于进一步加强城市基层党建工作的通知", "社区治理工作情况报告", "党建引领基层治理经验交流材料"]


class LegacyRapidEngine(ocr.RapidEngine):
    """rapidocr-onnxruntime 1.4 (PP-OCRv4 models), the older package, for comparison only."""

    name = "rapidocr-onnxruntime"

    def __init__(self):
        from rapidocr_onnxruntime import RapidOCR

        self._ocr = RapidOCR()
        self._lock = __import__("threading").Lock()

    def lines(self, image):
        import numpy as np

        with self._lock:
            result, _ = self._ocr(np.asarray(image.convert("RGB")))
        return [ocr.Line(text, min(p[0] for p in box), min(p[1] for p in box), max(p[0] for p in box),
                         max(p[1] for p in box)) for box, text, _score in (result or []) if text.strip()]


ENGINES = {**ocr.ENGINES, "rapidocr-onnxruntime": LegacyRapidEngine}


def canonical(text: str) -> str:
    """Text as compared: normalized, punctuation widths folded, no whitespace."""
    return "".join(unicodedata.normalize("NFKC", normalize(text)).split())


def accuracy(reference: str, found: str) -> float:
    ref, hyp = canonical(reference), canonical(found)
    return max(0.0, 1 - Levenshtein.distance(ref, hyp) / max(1, len(ref)))


def test_pages(count: int) -> list[tuple[str, list[str]]]:
    """(title, paragraphs) of ``count`` pages: three seed passages a page, about 650 characters."""
    passages = seed_passages(3 * count, length=220)
    return [(TITLES[i % len(TITLES)], passages[3 * i:3 * i + 3]) for i in range(count)]


def load(name: str):
    try:
        return ENGINES[name]()
    except (ImportError, ocr.OcrUnavailable, OSError) as exc:
        print(f"skipped {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return None


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (Tesseract runs as one)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def run(engine, pages, dpis: list[int], seed: int) -> list[dict]:
    rows = []
    engine.lines(render_page(["预热"], 100))  # model loading is not timed
    for dpi in dpis:
        for condition, options in CONDITIONS.items():
            scores, seconds, cpu = [], [], []
            for n, (title, paragraphs) in enumerate(pages):
                image = degrade(render_page(paragraphs, dpi, title), seed + n, **options)
                began, began_cpu = time.perf_counter(), cpu_seconds()
                text = ocr.reflow(engine.lines(image))
                seconds.append(time.perf_counter() - began)
                cpu.append(cpu_seconds() - began_cpu)
                scores.append(accuracy("\n".join([title, *paragraphs]), text))
            rows.append(dict(engine=engine.name, dpi=dpi, condition=condition, scores=scores, seconds=seconds,
                             cpu=cpu))
    rows.append(pdf_row(engine, pages, seed))
    return rows


def pdf_row(engine, pages, seed: int, dpi: int = 200) -> dict:
    """The ``scan`` pages as one image-only PDF read by kb's PDF reader with this engine."""
    images = [degrade(render_page(p, dpi, t), seed + n, **CONDITIONS["scan"]) for n, (t, p) in enumerate(pages)]
    ocr.ENGINES["_bench"] = lambda: engine
    os.environ["KB_OCR_ENGINE"] = "_bench"
    ocr._engine.cache_clear()
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = save_image_pdf(images, Path(folder) / "scan.pdf", dpi)
            began, began_cpu = time.perf_counter(), cpu_seconds()
            result = pdf.read(path)
            elapsed, cpu = time.perf_counter() - began, cpu_seconds() - began_cpu
    finally:
        del os.environ["KB_OCR_ENGINE"], ocr.ENGINES["_bench"]
        ocr._engine.cache_clear()
    scores = [accuracy("\n".join([t, *p]), text) for (t, p), text in zip(pages, result.texts)]
    return dict(engine=engine.name, dpi=f"{dpi}→PDF", condition="pdf", scores=scores,
                seconds=[elapsed / len(pages)] * len(pages), cpu=[cpu / len(pages)] * len(pages))


def table(rows: list[dict]) -> str:
    out = ["| engine | dpi | scan | accuracy (mean) | worst page | s/page | CPU s/page |",
           "|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['engine']} | {r['dpi']} | {r['condition']} | {statistics.fmean(r['scores']):.2%} | "
                   f"{min(r['scores']):.2%} | {statistics.fmean(r['seconds']):.2f} | {statistics.fmean(r['cpu']):.2f} |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated engine names")
    parser.add_argument("--dpi", default="150,200,300")
    parser.add_argument("--pages", type=int, default=3, help="pages per dpi and scan condition")
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    pages = test_pages(args.pages)
    dpis = [int(d) for d in args.dpi.split(",")]
    print("command: python benchmarks/ocr_accuracy.py " + " ".join(sys.argv[1:]))
    print(f"pages: {len(pages)} × {sum(len(canonical(chr(10).join([t, *p]))) for t, p in pages) // len(pages)} "
          f"characters on average; {os.cpu_count()} CPUs\n")
    rows = []
    for name in args.engines.split(","):
        engine = load(name)
        if engine is not None:
            rows += run(engine, pages, dpis, args.seed)
            print(table([r for r in rows if r["engine"] == engine.name]) + "\n", file=sys.stderr)
    print(table(rows))


if __name__ == "__main__":
    main()
