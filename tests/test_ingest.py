"""Ingest of real files of every kind into a real index on disk: encodings, Word, PDF, web pages,
incremental updates, exact copies, bad input, crash safety, one writer at a time."""
import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from conftest import CORPUS, ROOT

SEED_002 = (CORPUS / "002_001294e5f676bdea.txt").read_text(encoding="utf-8")
SEED_004 = (CORPUS / "004_5fcda69d96d769ba.txt").read_text(encoding="utf-8")


def kb(*args, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "kb.cli", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


def within_two_seconds(check) -> bool:
    """Does ``check()`` hold within 2 s (a serving worker swaps in a commit once warm)?"""
    deadline = time.monotonic() + 2.0
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def search(index, query, limit=5):
    out = kb("search", query, "--json", "--limit", limit, "--index", index)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["hits"]


def simplified_piece(n=1):
    from kb.text.normalize import normalize

    return normalize(SEED_004).split("\n")[n]


def distinct_sentences():
    from kb.text.documents import sentences
    from kb.text.normalize import normalize

    text = "\n".join(normalize(p.read_text(encoding="utf-8")) for p in sorted(CORPUS.glob("*.txt")))
    return [s for line in text.split("\n") for s in sentences(line) if len(s) >= 30]


def make_docx(path, title, paragraphs, table=None):
    from docx import Document

    doc = Document()
    doc.add_heading(title, level=1)
    for text in paragraphs:
        doc.add_paragraph(text)
    if table:
        grid = doc.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, cell in enumerate(row):
                grid.cell(r, c).text = cell
    doc.save(str(path))


def make_pdf(path, lines, encrypt=None):
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    options = {"encrypt": StandardEncryption(encrypt, canPrint=0)} if encrypt else {}
    pdf = canvas.Canvas(str(path), **options)
    pdf.setFont("STSong-Light", 11)
    y = 800
    for line in lines:
        pdf.drawString(40, y, line)
        y -= 18
    pdf.save()


@pytest.fixture()
def index(tmp_path, built_index):
    return built_index(tmp_path / "idx", CORPUS / "000_3cea6dff0efccbce.txt")


def test_text_in_every_chinese_encoding(tmp_path, index):
    body = "\n".join(SEED_002.split("\n")[:12])
    files = {"gbk.txt": body.encode("gbk", errors="ignore"), "gb18030.txt": body.encode("gb18030"),
             "utf16.txt": body.replace("鹤城", "鹤城").encode("utf-16"), "bom.txt": b"\xef\xbb\xbf" + body.encode("utf-8")}
    from opencc import OpenCC

    big5 = OpenCC("s2t").convert(simplified_piece(6))
    files["big5.md"] = ("臺灣測試\n" + big5).encode("big5", errors="ignore")
    folder = tmp_path / "enc"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    out = kb("add", folder, "--index", index)
    assert out.returncode == 0, out.stderr
    # four encodings of one text decode to the same text: one is indexed, three skipped as copies
    assert out.stdout.count("完全相同 / exact copy:") == 3, out.stdout
    hits = search(index, "街道大工委 社区大党委")
    assert hits and hits[0]["source"] in files
    big5_hit = search(index, "在职党员回小区报到")
    assert big5_hit and big5_hit[0]["source"] == "big5.md"


def test_mixed_encodings_in_one_file(tmp_path, index):
    mixed = tmp_path / "mixed.txt"
    mixed.write_bytes(SEED_002.split("\n")[3].encode("utf-8") + b"\n" + simplified_piece(6).encode("gbk"))
    assert kb("add", mixed, "--index", index).returncode == 0
    assert search(index, "街道大工委")[0]["source"] == "mixed.txt"
    assert search(index, "在职党员回小区报到")[0]["source"] == "mixed.txt"


def test_word_file_with_headings_and_tables(tmp_path, index):
    path = tmp_path / "组织部经验.docx"
    make_docx(path, "网格党小组工作法", [simplified_piece(6), "以楼栋为单位开展议事协商。"],
              table=[["做法", "成效"], ["楼栋议事会", "化解纠纷一百二十件"]])
    assert kb("add", path, "--index", index).returncode == 0
    hit = search(index, "楼栋议事会 化解纠纷")[0]
    assert hit["source"] == "组织部经验.docx" and hit["title"] == "网格党小组工作法"
    assert "楼栋议事会 | 化解纠纷一百二十件" in "\n".join(h["passage"] for h in search(index, "楼栋议事会", 10))


def test_pdf_text_scan_truncated_and_encrypted(tmp_path, index):
    good = tmp_path / "党校论文.pdf"
    make_pdf(good, ["社区党组织引领红色物业服务的调查", "摘要：本文以三个社区为例，研究老旧小区物业治理。",
                    "关键词：红色物业；老旧小区；基层治理"])
    scan = tmp_path / "扫描件.pdf"
    make_pdf(scan, [])
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(good.read_bytes()[:400])
    locked = tmp_path / "locked.pdf"
    make_pdf(locked, ["加密文件内容：社区治理"], encrypt="secret")
    out = kb("add", good, scan, truncated, locked, "--index", index)
    assert out.returncode == 1
    errors = [line for line in out.stderr.splitlines() if line.startswith("失败")]
    assert len(errors) == 3 and len(out.stderr.strip().splitlines()) == 3  # nothing but one line each
    assert any("扫描件.pdf" in e and "无可提取文本（可能是扫描件）" in e for e in errors)
    assert any("truncated.pdf" in e for e in errors) and any("locked.pdf" in e and "加密" in e for e in errors)
    hit = search(index, "红色物业 老旧小区")[0]
    assert hit["source"] == "党校论文.pdf" and hit["type"] == "论文"


def test_web_page_drops_navigation_and_footer(tmp_path, index):
    page = tmp_path / "news.html"
    article = "".join(f"<p>{line}</p>" for line in SEED_002.split("\n")[2:14])
    page.write_text(f"""<html><head><title>鹤城区五级治理见闻</title></head><body>
      <nav><a href="/">首页</a> <a href="/login">登录注册</a> <a href="/share">分享到微博</a></nav>
      <article><h1>鹤城区五级治理见闻</h1>{article}</article>
      <footer>版权所有 某某网站 备案号12345 联系我们</footer></body></html>""", encoding="utf-8")
    assert kb("add", page, "--index", index).returncode == 0
    hits = search(index, "床单厂小区", 10)
    assert hits and hits[0]["source"] == "news.html" and hits[0]["title"] == "鹤城区五级治理见闻"
    text = "".join(h["passage"] for h in search(index, "鹤城区五级治理见闻", 50) if h["source"] == "news.html")
    assert "分享到微博" not in text and "备案号" not in text and "登录注册" not in text


def test_bad_input_one_line_each_rest_indexed(tmp_path, index):
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 40)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "corrupt.docx").write_bytes(b"PK\x03\x04 not really a zip" * 10)
    huge = folder / "huge.txt"
    with huge.open("w", encoding="utf-8") as handle:
        handle.write("社区治理" * (50 * 1024 * 1024 // 12 + 1))  # 50 MB, one line
    (folder / "good.txt").write_text(simplified_piece(6), encoding="utf-8")
    out = kb("add", folder, tmp_path / "missing.txt", "--index", index)
    assert out.returncode == 1
    errors = [line for line in out.stderr.splitlines() if line.startswith("失败")]
    for name in ("binary.txt", "empty.txt", "corrupt.docx", "huge.txt", "missing.txt"):
        assert sum(name in e for e in errors) == 1, (name, errors)
    assert len(out.stderr.strip().splitlines()) == 5
    assert "汇总 / summary" in out.stdout and "新增 / added" in out.stdout
    assert search(index, "在职党员回小区报到")[0]["source"] == "good.txt"
    assert search(index, "1+4Z+3N")[0]["source"].startswith("000_")  # what was there is intact


def test_folder_of_a_thousand_small_files(tmp_path, index):
    folder = tmp_path / "many"
    for i in range(1000):
        sub = folder / f"d{i // 100}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"note{i}.txt").write_text(f"第{i}号社区工作记录：编号{i}的楼栋召开议事会{i}次，解决停车难题。"
                                          f"记录者为网格员{i}号，日期二〇二〇年。唯一标识码QZ{i:04d}X。", encoding="utf-8")
    out = kb("add", folder, "--index", index)
    assert out.returncode == 0, out.stderr[-500:]
    assert "1000" in [line.split()[-1] for line in out.stdout.splitlines() if "新增" in line][0]
    assert "读取 / reading" in out.stderr  # progress bar on long batches
    hit = search(index, "QZ0737X")[0]  # named by its path below the folder given
    assert (hit["source"], hit["doc_id"]) == ("d7/note737.txt", "d7/note737")


def test_incremental_unchanged_changed_removed(tmp_path, index):
    path = tmp_path / "case.txt"
    path.write_text(simplified_piece(6), encoding="utf-8")
    assert "新增 / added                         1" in kb("add", path, "--index", index).stdout
    again = kb("add", path, "--index", index).stdout
    assert [l for l in again.splitlines() if "未变" in l][0].split()[-1] == "1"
    path.write_text(simplified_piece(8) + "\n修改后新增：楼道灯全部换新。", encoding="utf-8")
    changed = kb("add", path, "--index", index).stdout
    assert [l for l in changed.splitlines() if "替换" in l][0].split()[-1] == "1"
    assert search(index, "楼道灯全部换新")[0]["source"] == "case.txt"
    assert not any(h["source"] == "case.txt" for h in search(index, "在职党员回小区报到", 20))
    assert kb("remove", path, "--index", index).returncode == 0
    assert not any(h["source"] == "case.txt" for h in search(index, "楼道灯全部换新", 50))
    assert kb("remove", "no-such-doc", "--index", index).returncode != 0


def test_sidecar_overrides_guessed_metadata(tmp_path, index):
    path = tmp_path / "report.txt"
    path.write_text("龙岩市新罗区小区治理报告\n" + simplified_piece(6), encoding="utf-8")
    (tmp_path / "report.meta.json").write_text(json.dumps({"unit": "新罗区委组织部", "year": 2019},
                                                          ensure_ascii=False), encoding="utf-8")
    assert kb("add", path, "--index", index).returncode == 0
    hit = search(index, "新罗区小区治理报告")[0]
    assert hit["unit"] == "新罗区委组织部" and hit["year"] == 2019
    assert hit["place"].startswith("福建省 龙岩市") and hit["title"] == "龙岩市新罗区小区治理报告"


def bulk_documents(index) -> int:
    from whoosh import index as windex

    with windex.open_dir(str(index)).searcher() as searcher:
        return len({f["doc_id"] for f in searcher.all_stored_fields() if f["doc_id"].startswith("bulk")})


def test_kill_9_mid_ingest_leaves_a_working_index(tmp_path, index):
    """Killed provably mid-ingest — right after its second batch's catalogue is written, its first
    batch committed — `kb add` leaves exactly the first batch; a rerun completes the work."""
    folder = tmp_path / "bulk"
    folder.mkdir()
    rng = random.Random(5)
    pool = distinct_sentences()
    for i in range(450):  # distinct texts (similar ones would be reported as near-duplicates)
        (folder / f"bulk{i}.txt").write_text(f"批量文件{i}：唯一码KB{i:04d}Z。" + "".join(rng.sample(pool, 4)),
                                             encoding="utf-8")
    before = {h["passage_id"] for h in search(index, "1+4Z+3N", 50)}
    killed = kb("add", folder, "--index", index, env={"KB_CRASH_AT": "after-catalogue:2"})
    assert killed.returncode == -signal.SIGKILL
    after = search(index, "1+4Z+3N", 50)  # opens and answers; old content intact
    assert before <= {h["passage_id"] for h in after}
    assert bulk_documents(index) == 200  # the first batch whole, nothing of the second
    assert kb("check", "--index", index).returncode == 0  # no model of a document never indexed
    done = kb("add", folder, "--index", index)
    assert done.returncode == 0, done.stderr[-400:]
    assert bulk_documents(index) == 450
    for i in (0, 199, 200, 449):
        assert search(index, f"KB{i:04d}Z")[0]["source"] == f"bulk{i}.txt"


def test_one_writer_at_a_time(tmp_path, index):
    from whoosh import index as windex

    path = tmp_path / "late.txt"
    path.write_text(simplified_piece(6), encoding="utf-8")
    holder = windex.open_dir(str(index)).writer()
    try:
        busy = kb("add", path, "--wait", "1", "--index", index)
        assert busy.returncode != 0 and "索引正忙" in busy.stderr
        waiting = subprocess.Popen([sys.executable, "-m", "kb.cli", "add", str(path), "--wait", "60",
                                    "--index", str(index)], cwd=ROOT, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        time.sleep(3)
        assert waiting.poll() is None  # it waits for the lock
    finally:
        holder.cancel()
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    assert search(index, "在职党员回小区报到")[0]["source"] == "late.txt"


def test_running_server_sees_new_documents_without_restart(tmp_path, index):
    import urllib.request
    from urllib.parse import quote

    from webfixtures import LiveServer

    live = LiveServer(index, tmp_path / "basket.sqlite")
    try:
        def query(q):
            with urllib.request.urlopen(f"{live.url}/api/search?q={quote(q)}", timeout=30) as r:
                return json.loads(r.read())["hits"]

        assert query("QW7788K") == []
        path = tmp_path / "fresh.txt"
        path.write_text("新到的材料：唯一码QW7788K。" + simplified_piece(6), encoding="utf-8")
        proc = subprocess.Popen([sys.executable, "-m", "kb.cli", "add", str(path), "--index", str(index)], cwd=ROOT)
        while proc.poll() is None:  # the server keeps answering during the ingest
            assert query("1+4Z+3N")
            time.sleep(0.2)
        assert proc.returncode == 0
        assert within_two_seconds(lambda: query("QW7788K") and query("QW7788K")[0]["source"] == "fresh.txt")
        rebuilt = kb("index", CORPUS / "002_001294e5f676bdea.txt", "--index", index)
        assert rebuilt.returncode == 0
        # a full rebuild is picked up too (the server warms each commit before it serves it: ≤ 2 s)
        assert within_two_seconds(lambda: query("7 2 N") and query("1+4Z+3N") == [])
    finally:
        live.stop()
