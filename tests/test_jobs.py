"""Upload jobs without the web: names, zip archives refused whole, outcomes per file, recovery."""
import io
import os
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import CORPUS
from kb.ingest import jobs
from kb.ingest.jobs import JobStore, UnsafeArchive, extract_archive, run_job, safe_name

SEED = CORPUS / "002_001294e5f676bdea.txt"
NEW_TEXT = ("关于推进楼道议事会建设的实施意见。为加强基层治理，建立楼道议事会制度，每月召开一次，"
            "居民代表、楼组长和党员参加，协商解决停车、加装电梯、垃圾分类等问题，结果在楼道公示栏公开。")


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_any_name_is_refused_or_stays_inside_the_folder(name):
    safe = safe_name(name)
    if safe is None:
        return
    parts = safe.split("/")
    assert safe and not safe.startswith("/") and ".." not in parts and "" not in parts and "." not in parts
    root = Path("/srv/uploads/job")
    assert (root / safe).resolve().is_relative_to(root)


@pytest.mark.parametrize("name", ["../x.txt", "a/../../x.txt", "/etc/passwd", "C:\\Windows\\x.txt",
                                  "..\\..\\x.txt", "", "   ", "a/./../b.txt", "..."])
def test_unsafe_names_are_refused(name):
    assert safe_name(name) is None


def test_folder_names_are_kept():
    assert safe_name("材料/2024/通知.txt") == "材料/2024/通知.txt"
    assert safe_name("材料\\通知.docx") == "材料/通知.docx"
    assert safe_name("./a//b.txt") == "a/b.txt"


def make_zip(path, entries, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in entries:
            if isinstance(name, zipfile.ZipInfo):
                archive.writestr(name, data)
            else:
                archive.writestr(name, data)
    return path


def link_entry():
    info = zipfile.ZipInfo("link.txt")
    info.external_attr = 0o120777 << 16
    return info


@pytest.mark.parametrize("entries, reason", [
    ([("ok.txt", "好"), ("../evil.txt", "x")], "不安全的路径"),
    ([("/etc/cron.d/x", "x")], "不安全的路径"),
    ([(link_entry(), "/etc/passwd")], "符号链接"),
    ([("bomb.txt", "0" * (8 * 2**20))], "压缩炸弹"),
])
def test_unsafe_archives_are_refused_whole_and_leave_nothing(tmp_path, entries, reason):
    archive = make_zip(tmp_path / "a.zip", entries)
    with pytest.raises(UnsafeArchive, match=reason):
        extract_archive(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil.txt").exists()


def test_archive_past_the_inflated_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(jobs, "MAX_INFLATED", 1000)
    archive = make_zip(tmp_path / "a.zip", [(f"{i}.txt", os.urandom(300).hex()) for i in range(3)])
    with pytest.raises(UnsafeArchive, match="解压后超过"):
        extract_archive(archive, tmp_path / "out")


def test_a_header_that_lies_about_the_size_is_caught_while_extracting(tmp_path):
    archive = make_zip(tmp_path / "a.zip", [("a.txt", "党建" * 5000)], compression=zipfile.ZIP_STORED)
    data = bytearray(archive.read_bytes())
    # shrink the declared size in the central directory (what zipfile trusts) to 10 bytes
    central = data.rfind(b"PK\x01\x02")
    data[central + 24:central + 28] = (10).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    with pytest.raises(UnsafeArchive):
        extract_archive(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_gbk_names_from_chinese_windows_are_read(tmp_path):
    info = zipfile.ZipInfo("x")
    info.filename = "通知.txt".encode("gbk").decode("cp437")
    info.flag_bits = 0
    assert jobs.zip_entry_name(info) == "通知.txt"


@pytest.fixture()
def index(tmp_path, built_index):
    return built_index(tmp_path / "index", SEED)


def start_job(store, files):
    """A job whose files are written as an upload would have saved them."""
    job_id, folder = store.new_job("alice")
    rows = []
    for name, data in files:
        dest = folder / "files" / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        rows.append({"name": name, "size": len(data), "path": str(dest)})
    store.create(job_id, "alice", rows)
    return job_id


def generation(index):
    from kb.index.store import IndexStore

    return IndexStore(index).latest_generation()


def test_a_job_reports_each_file_and_indexes_what_it_read(tmp_path, index):
    store = JobStore(tmp_path / "jobs.sqlite")
    good_zip = io.BytesIO()
    version = SEED.read_text(encoding="utf-8") + "\n院落议事会每季度向居民报告一次工作。"
    make_zip(good_zip, [("sub/b.txt", version), ("__MACOSX/._b.txt", "x"), ("c.png", "x")])
    job_id = start_job(store, [
        ("gb.txt", NEW_TEXT.encode("gb18030")), ("gb.meta.json", '{"title": "楼道议事会意见", "year": 2024}'.encode()),
        ("copy.txt", SEED.read_bytes()),
        (SEED.name, SEED.read_bytes()), ("empty.txt", b""), ("pack.zip", good_zip.getvalue()),
        ("note.odt", b"x")])
    run_job(store, job_id, index)
    job = store.get(job_id)
    assert job["state"] == "indexed" and job["finished"]
    by_name = {f["name"]: f for f in job["files"]}
    assert by_name["gb.txt"]["outcome"] == "added" and by_name["gb.txt"]["docs"][0]["doc_id"] == "gb"
    assert by_name["gb.txt"]["docs"][0]["title"] == "楼道议事会意见"  # its sidecar was read with it
    assert by_name["gb.meta.json"]["outcome"] == "sidecar"
    assert by_name["copy.txt"]["outcome"] == "copy" and SEED.stem in by_name["copy.txt"]["detail"]
    assert by_name[SEED.name]["outcome"] == "unchanged"
    assert by_name["empty.txt"]["outcome"] == "failed" and "空文件" in by_name["empty.txt"]["detail"]
    assert by_name["pack.zip"]["outcome"] == "archive" and "2 个文件" in by_name["pack.zip"]["detail"]
    assert by_name["sub/b.txt"]["outcome"] == "similar" and SEED.stem in by_name["sub/b.txt"]["detail"]
    assert by_name["c.png"]["outcome"] == "failed" and "图像" in by_name["c.png"]["detail"]  # read by OCR: not an image
    assert by_name["note.odt"]["outcome"] == "failed" and "不支持" in by_name["note.odt"]["detail"]
    assert job["summary"] == {**job["summary"], "files": 7, "added": 1, "similar": 1, "copy": 1,
                              "unchanged": 1, "failed": 3}
    from kb.search import Searcher

    with Searcher(index) as searcher:
        assert searcher.search("院落议事会").hits[0]["source"] == "sub/b.txt"


def test_a_bad_archive_writes_nothing(tmp_path, index):
    store = JobStore(tmp_path / "jobs.sqlite")
    bad = io.BytesIO()
    make_zip(bad, [("a.txt", NEW_TEXT), ("../../evil.txt", NEW_TEXT)])
    before = generation(index)
    job_id = start_job(store, [("bad.zip", bad.getvalue()), ("bomb.zip", make_zip(
        tmp_path / "bomb.zip", [("b.txt", "0" * (8 * 2**20))]).read_bytes())])
    run_job(store, job_id, index)
    job = store.get(job_id)
    assert [f["outcome"] for f in job["files"]] == ["failed", "failed"]
    assert "不安全的路径" in job["files"][0]["detail"] and "压缩炸弹" in job["files"][1]["detail"]
    assert generation(index) == before
    assert not list(Path(store.uploads).rglob("evil.txt"))


def test_a_busy_index_fails_the_job_with_a_reason(tmp_path, index):
    from kb.index.errors import IndexBusy

    store = JobStore(tmp_path / "jobs.sqlite")
    job_id = start_job(store, [("gb.txt", NEW_TEXT.encode("gb18030"))])

    def busy(*_args, **_kwargs):
        raise IndexBusy("索引正被另一个写入占用 / the index is busy")

    run_job(store, job_id, index, add=busy)
    job = store.get(job_id)
    assert job["state"] == "failed" and "索引失败" in job["message"]
    assert job["files"][0]["outcome"] == "failed" and "未处理" in job["files"][0]["detail"]


def test_a_job_whose_process_died_is_marked_interrupted(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    job_id = start_job(store, [("a.txt", NEW_TEXT.encode())])
    with store._connect() as db:
        db.execute("UPDATE jobs SET pid=?, state='reading' WHERE id=?", (2**22 + 12345, job_id))
    job = JobStore(tmp_path / "jobs.sqlite").get(job_id)  # another worker looks
    assert job["state"] == "failed" and "中断" in job["message"] and job["files"][0]["outcome"] == "failed"


def test_reader_notes_carry_ocr_marks():
    from kb.text.documents import Document

    plain = Document("a", "a.txt", "x")
    scanned = Document("b", "b.pdf", "x")
    scanned.ocr = "tesseract chi_sim"
    marked = Document("c", "c.png", "x", note="来源：OCR")
    assert jobs.reader_notes([plain]) == []
    assert jobs.reader_notes([scanned]) == ["来源：OCR（tesseract chi_sim）"]
    assert jobs.reader_notes([marked]) == ["来源：OCR"]


def test_a_job_that_stops_half_way_leaves_the_index_at_its_last_group(tmp_path, index, monkeypatch):
    from kb.ingest import pipeline
    from kb.search import Searcher

    monkeypatch.setattr(jobs, "GROUP_FILES", 1)
    store = JobStore(tmp_path / "jobs.sqlite")
    job_id = start_job(store, [("first.txt", NEW_TEXT.encode()),
                               ("second.txt", ("第二份：院落议事规则。" + SEED.read_text(encoding="utf-8")[:400]).encode())])
    calls = []

    def add_then_die(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the process is stopping; nothing of this group was committed
        return pipeline.add(*args, **kwargs)

    with pytest.raises(KeyboardInterrupt):
        run_job(store, job_id, index, add=add_then_die)
    with Searcher(index) as searcher:
        assert searcher.search("楼道议事会").hits[0]["source"] == "first.txt"
        assert all(h["source"] != "second.txt" for h in searcher.search("院落议事规则").hits)
    assert [f["state"] for f in store.files(job_id)] == ["done", "indexing"]
