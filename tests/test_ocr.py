"""OCR of scans made in code (tests/scans.py: seed passages rendered, rotated, noised): `kb add`
of a PNG, a JPEG, a two-page TIFF, a two-page image-only PDF and a mixed PDF into a real index,
found by `kb search` with their page numbers and the OCR mark; character accuracy; and what the
user is told when no OCR engine is installed."""
from __future__ import annotations

import re

import pytest

from scans import save_image_pdf, scan, seed_passages
from test_ingest import kb, make_pdf, search

pytest.importorskip("rapidfuzz")
MIN_ACCURACY = 0.93  # benchmarks/ocr_accuracy.py: RapidOCR 100% on such scans, worst page measured 94.3%
PASSAGES = seed_passages(10, length=130)


def phrase(text: str) -> str:
    """Three short pieces of a passage's Chinese characters as search words."""
    chinese = re.sub(r"[^\u4e00-\u9fff]", "", text)
    return " ".join(chinese[i:i + 4] for i in (8, 40, 80))


@pytest.fixture(scope="module")
def scans(tmp_path_factory):
    """The scans on disk: file name → (page number → the passages drawn on it)."""
    folder = tmp_path_factory.mktemp("scans")
    made = {}
    scan(PASSAGES[0:2], dpi=200, seed=1, crop=True).save(folder / "通知.png")
    made["通知.png"] = {1: PASSAGES[0:2]}
    scan(PASSAGES[2:4], dpi=200, seed=2, crop=True).convert("RGB").save(folder / "照片.jpg", quality=85)
    made["照片.jpg"] = {1: PASSAGES[2:4]}
    tiff = [scan([p], dpi=150, seed=3 + i, crop=True) for i, p in enumerate(PASSAGES[4:6])]
    tiff[0].save(folder / "两页.tif", save_all=True, append_images=tiff[1:], compression="tiff_lzw")
    made["两页.tif"] = {1: PASSAGES[4:5], 2: PASSAGES[5:6]}
    save_image_pdf([scan([p], dpi=150, seed=5 + i, crop=True) for i, p in enumerate(PASSAGES[6:8])],
                   folder / "扫描件.pdf", dpi=150)
    made["扫描件.pdf"] = {1: PASSAGES[6:7], 2: PASSAGES[7:8]}
    make_mixed_pdf(folder / "混合.pdf", PASSAGES[8], PASSAGES[9])
    made["混合.pdf"] = {1: PASSAGES[8:9], 2: PASSAGES[9:10]}
    return folder, made


def make_mixed_pdf(path, text_passage: str, scanned_passage: str):
    """Page 1 with a text layer, page 2 a scan."""
    from pypdf import PdfWriter

    make_pdf(path.with_suffix(".text.pdf"), [text_passage[i:i + 40] for i in range(0, len(text_passage), 40)])
    save_image_pdf([scan([scanned_passage], dpi=150, seed=9, crop=True)], path.with_suffix(".scan.pdf"), dpi=150)
    writer = PdfWriter()
    for part in (".text.pdf", ".scan.pdf"):
        writer.append(str(path.with_suffix(part)))
        path.with_suffix(part).unlink()
    writer.write(str(path))


@pytest.fixture(scope="module")
def index(scans, tmp_path_factory):
    folder, _ = scans
    target = tmp_path_factory.mktemp("ocr") / "idx"
    out = kb("add", folder, "--index", target)
    assert out.returncode == 0, out.stderr
    assert summary_count(out.stdout, "新增 / added") == 5
    return target


def summary_count(output: str, label: str) -> int:
    return int(next(line for line in output.splitlines() if label in line).split()[-1])


def test_every_scan_is_found_on_its_page_and_marked(scans, index):
    from kb.search import Searcher

    _, made = scans
    with Searcher(index) as searcher:
        for name, pages in made.items():
            for page, passages in pages.items():
                hits = searcher.search(phrase(passages[0]), limit=3).hits
                assert hits and hits[0]["source"] == name, (name, page, hits[:1])
                assert hits[0]["page"] <= page <= hits[0]["page_end"] and hits[0]["ocr"] is True


def test_mixed_pdf_keeps_its_text_layer(scans, index):
    from kb.text.normalize import normalize
    from kb.search import Searcher

    _, made = scans
    text_layer = "".join(normalize(made["混合.pdf"][1][0]).split())
    with Searcher(index) as searcher:
        indexed = "".join("".join(p["text"] for p in searcher.document("混合")).split())
    assert text_layer in indexed  # the text layer as it is, not read again by OCR


def test_character_accuracy_of_indexed_text(scans, index):
    """What was indexed from each scan matches what was drawn (1 − CER ≥ MIN_ACCURACY)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from ocr_accuracy import accuracy
    from kb.search import Searcher

    _, made = scans
    with Searcher(index) as searcher:
        for name, pages in made.items():
            doc_id = name.rsplit(".", 1)[0]
            indexed = "\n".join(p["text"] for p in searcher.document(doc_id))
            drawn = "\n".join(p for passages in pages.values() for p in passages)
            assert accuracy(drawn, indexed) >= MIN_ACCURACY, name


def test_document_page_and_api_show_ocr(index):
    from kb.web import create_app

    app = create_app(index, index.parent / "basket.sqlite")
    client = app.test_client()
    page = client.get("/doc/扫描件").get_data(as_text=True)
    assert "<dt>来源</dt><dd>OCR" in page and re.search(r"原件第 (2|1–2) 页", page)
    body = client.get("/api/docs/扫描件").get_json()
    assert body["ocr"] is True and body["passages"][-1]["page_end"] == 2


def test_clean_ocr_text_joins_characters_and_fixes_punctuation():
    from kb.ingest.readers.ocr import clean_ocr_text

    assert clean_ocr_text("社 区 治 理 , 党 建 引 领 . 第 3 条") == "社区治理，党建引领。第3条"
    assert clean_ocr_text("GDP growth 5.2% in 2020") == "GDP growth 5.2% in 2020"


def test_decompression_bomb_refused_before_decoding(tmp_path):
    from PIL import Image

    from kb.ingest.readers import ReadError, read_path

    bomb = tmp_path / "bomb.png"
    Image.new("1", (12000, 12000), 1).save(bomb)  # 144 megapixels in a few kilobytes
    with pytest.raises(ReadError, match="图像过大"):
        list(read_path(bomb))


# ---------------------------------------------------------------- no OCR engine

@pytest.fixture()
def no_engine(monkeypatch):
    """Every OCR engine missing, as on a machine without the ocr extra or Tesseract."""
    from kb.ingest.readers import ocr

    def missing():
        raise ImportError("No module named 'rapidocr'")

    monkeypatch.setattr(ocr, "ENGINES", {"rapidocr": missing, "tesseract": missing})
    monkeypatch.delenv("KB_OCR_ENGINE", raising=False)
    ocr._engine.cache_clear()
    yield
    ocr._engine.cache_clear()


def test_without_engine_each_scan_is_reported_with_the_install_command(scans, tmp_path, no_engine):
    from click.testing import CliRunner

    from kb.cli import main

    folder, _ = scans
    result = CliRunner().invoke(main, ["add", str(folder), "--index", str(tmp_path / "idx")])
    assert result.exit_code == 1
    failed = [line for line in result.output.splitlines() if line.startswith("失败 / failed:")]
    assert len(failed) == 5  # every file named, one line each
    assert all("pip install -e '.[ocr]'" in line for line in failed)
    assert any("扫描件.pdf" in line and "无可提取文本" in line for line in failed)
    assert any("混合.pdf" in line and "第2页" in line for line in failed)
    assert summary_count(result.output, "新增 / added") == 1  # only the mixed PDF's text page


def test_without_engine_mixed_pdf_keeps_text_pages(scans, no_engine):
    from kb.ingest.readers import ReadError, read_path

    folder, made = scans
    docs = []
    with pytest.raises(ReadError, match="第2页"):
        for doc in read_path(folder / "混合.pdf"):
            docs.append(doc)
    assert len(docs) == 1 and not docs[0].ocr and {p.page for p in docs[0].passages} == {1}


# ---------------------------------------------------------------- an index made before pages

def test_older_index_gains_the_page_fields(tmp_path, monkeypatch):
    """An index whose schema has no page/ocr fields takes OCR'd documents (the fields are added)."""
    from whoosh.fields import Schema

    from kb.index import schema as kb_index, store
    from kb.ingest import pipeline
    from kb.text.documents import Document

    old = kb_index.make_schema()
    old_schema = Schema(**{name: old[name] for name in old.names() if name not in ("page", "ocr")})
    monkeypatch.setattr(store, "make_schema", lambda: old_schema)
    pipeline.add(tmp_path / "idx", [Document("旧", "旧.txt", "社区议事会每月召开一次，居民代表参加。").split()])
    monkeypatch.undo()
    scanned = Document("新", "新.pdf", "第一页的文字。\n第二页的网格员巡查记录。", ocr=True, page_starts=[(0, 1), (8, 2)])
    pipeline.add(tmp_path / "idx", [scanned.split()])
    from kb.search import Searcher

    with Searcher(tmp_path / "idx") as searcher:
        stored = searcher.document("新")
        assert stored[0]["ocr"] is True and stored[-1]["page"] in (1, 2)
        assert searcher.document("旧")[0].get("ocr") is None


def test_page_numbers_follow_the_text(tmp_path):
    from kb.text.documents import page_numbers

    text = "甲页第一段。\n甲页第二段。\n乙页第一段。"
    pieces = ["甲页第一段。", "甲页第二段。\n乙页第一段。"]
    assert page_numbers(text, [(0, 1), (14, 3)], pieces) == [(1, 1), (1, 3)]
    assert page_numbers(text, [], pieces[:1]) == [(0, 0)]


def test_kb_search_shows_page_and_ocr(scans, index):
    _, made = scans
    query = phrase(made["两页.tif"][2][0])
    hit = search(index, query, 1)[0]  # kb search --json
    assert hit["source"] == "两页.tif" and hit["page_end"] == 2 and hit["ocr"] is True
    out = kb("search", query, "--limit", "1", "--index", index)
    assert "两页.tif" in out.stdout and "来源：OCR" in out.stdout and "页 / p. " in out.stdout
