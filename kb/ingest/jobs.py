"""Upload jobs: files an administrator sent from the browser, read and indexed in the background.

A job goes queued → reading → indexing → indexed (or failed); each file goes queued → reading →
indexing → its outcome: added / replaced / unchanged / copy (of an indexed document) / similar
(indexed, linked to near-duplicates) / failed with a reason. State lives in SQLite
(``jobs.sqlite`` beside the basket), so every worker process of the server answers for every
job. Files are read and indexed by the same code as `kb add` (kb.ingest.readers, kb.ingest.pipeline): one writer
through the index lock, each group of files one atomic commit — a job that stops half-way leaves
the index at its last group. Zip archives are opened here, refusing unsafe paths, links,
encryption and bombs before anything is extracted. Nothing here imports Flask.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import stat
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from kb.text.documents import Document, printable_name
from kb.ingest.readers import ReadError, read_path, supported
from kb.ingest.readers.limits import MAX_INFLATED, MAX_ZIP_ENTRIES, mb
from kb.index.locking import pid_alive

JOBS_FILE = "jobs.sqlite"
UPLOADS_DIR = "uploads"
GROUP_FILES = 20          # files read, then indexed as one commit
MAX_PARTS = 32            # folders deep in a name
MAX_PART_BYTES = 255
MAX_RATIO = 200           # inflated / compressed size above this (past 1 MB) looks like a bomb
STALE_SECONDS = 1800      # a running job not heard of for this long was interrupted
JOB_STATES = ("queued", "reading", "indexing", "indexed", "failed")
OUTCOMES = ("added", "replaced", "unchanged", "copy", "similar", "mixed", "archive", "sidecar", "failed")
NOT_COUNTED = ("archive", "sidecar")  # rows that stand for other files, not documents
IGNORED = ("__MACOSX/", ".DS_Store", "Thumbs.db", "desktop.ini")

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY, user TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL,
  state TEXT NOT NULL, pid INTEGER, message TEXT NOT NULL DEFAULT '', summary TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS job_files (
  job TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE, seq INTEGER NOT NULL,
  name TEXT NOT NULL, parent INTEGER, size INTEGER, path TEXT, state TEXT NOT NULL,
  outcome TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '', docs TEXT NOT NULL DEFAULT '[]',
  notes TEXT NOT NULL DEFAULT '[]', PRIMARY KEY (job, seq)
);
"""


class UnsafeArchive(ValueError):
    """A zip archive refused whole; the message is one line for the user."""


# ---------------------------------------------------------------- names

def safe_name(raw: str | None) -> str | None:
    """``raw`` (an uploaded file's name, or a zip entry's) as a relative path with "/" between
    parts, or None when it is absolute, climbs out ("..") or is empty or unreasonable."""
    if not raw:
        return None
    text = printable_name(raw).replace("\\", "/")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":" and text[0].isascii() and text[0].isalpha()):
        return None
    parts = [p.strip() for p in text.split("/")]
    if any(p == ".." for p in parts):
        return None
    parts = [p for p in parts if p and p != "."]
    if not parts or len(parts) > MAX_PARTS or any(len(p.encode("utf-8")) > MAX_PART_BYTES for p in parts):
        return None
    if any(set(p) == {"."} for p in parts):
        return None
    return "/".join(parts)


def zip_entry_name(info: zipfile.ZipInfo) -> str:
    """An entry's name as the archiver meant it. zipfile decodes names without the UTF-8 flag as
    CP437; those come from Chinese Windows (GBK) or macOS (UTF-8 unflagged): the reading with
    more Chinese characters wins (GBK bytes are often valid UTF-8 too: 通知 → ֪ͨ)."""
    name = info.filename
    if info.flag_bits & 0x800 or name.isascii():
        return name
    try:
        raw = name.encode("cp437")
    except UnicodeEncodeError:
        return name
    readings = []
    for encoding in ("utf-8", "gb18030"):
        try:
            readings.append(raw.decode(encoding))
        except UnicodeDecodeError:
            continue
    if not readings:
        return name
    return max(readings, key=lambda text: sum("\u4e00" <= ch <= "\u9fff" for ch in text))


def ignored(name: str) -> bool:
    return name.startswith(IGNORED[0]) or "/__MACOSX/" in name or name.rsplit("/", 1)[-1] in IGNORED[1:]


# ---------------------------------------------------------------- zip archives

@dataclass
class Member:
    info: zipfile.ZipInfo
    name: str


def archive_members(archive: zipfile.ZipFile) -> list[Member]:
    """The files of an archive to extract, after checking every entry; raises
    :class:`UnsafeArchive` for the whole archive at the first unsafe one."""
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_ENTRIES:
        raise UnsafeArchive(f"压缩包条目过多（超过 {MAX_ZIP_ENTRIES} 个）")
    members, total = [], 0
    for info in infos:
        name = zip_entry_name(info)
        mode = (info.external_attr >> 16) & 0o170000
        if mode == stat.S_IFLNK:
            raise UnsafeArchive(f"压缩包含符号链接，已拒绝：{printable_name(name)[:80]}")
        if info.flag_bits & 0x1:
            raise UnsafeArchive("压缩包已加密，无法读取")
        safe = safe_name(name)
        if safe is None:
            raise UnsafeArchive(f"压缩包含不安全的路径（绝对路径或 ..），已拒绝：{printable_name(name)[:80]}")
        if info.is_dir() or ignored(safe):
            continue
        total += info.file_size
        if total > MAX_INFLATED:
            raise UnsafeArchive(f"解压后超过 {mb(MAX_INFLATED)} MB（疑似压缩炸弹），已拒绝；"
                                f"可用 KB_MAX_INFLATED_MB 调整")
        if info.file_size > 2**20 and info.file_size > MAX_RATIO * max(1, info.compress_size):
            raise UnsafeArchive(f"压缩比异常（{info.file_size // max(1, info.compress_size)} 倍，疑似压缩炸弹），已拒绝")
        members.append(Member(info, safe))
    if len({m.name.casefold() for m in members}) < len(members):
        raise UnsafeArchive("压缩包内有重名文件")
    return members


def extract_archive(path: Path, target: Path) -> list[tuple[str, Path]]:
    """Extract a zip's files below ``target`` → [(name in the archive, path)]. Sizes are counted
    as the bytes come out (headers can lie); on any refusal nothing is left behind."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive_members(archive)
            out, total = [], 0
            try:
                for member in members:
                    dest = target / member.name
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    total = _copy_member(archive, member, dest, total)
                    out.append((member.name, dest))
            except BaseException:
                shutil.rmtree(target, ignore_errors=True)
                raise
            return out
    except UnsafeArchive:
        raise
    except zipfile.BadZipFile:
        raise UnsafeArchive("不是有效的 zip 压缩包") from None
    except (NotImplementedError, RuntimeError) as exc:  # an unsupported method, a password
        raise UnsafeArchive(f"压缩包无法解开（{printable_name(str(exc))[:80]}）") from None
    except (OSError, EOFError, ValueError) as exc:
        raise UnsafeArchive(f"压缩包已损坏（{type(exc).__name__}）") from None


def _copy_member(archive: zipfile.ZipFile, member: Member, dest: Path, total: int) -> int:
    written = 0
    with archive.open(member.info) as source, dest.open("xb") as sink:
        while chunk := source.read(1 << 16):
            written += len(chunk)
            total += len(chunk)
            if written > member.info.file_size or total > MAX_INFLATED:
                raise UnsafeArchive(f"解压后超过声明的大小（疑似压缩炸弹），已拒绝：{member.name[:80]}")
            sink.write(chunk)
    return total


# ---------------------------------------------------------------- the store

def jobs_path(basket_db: Path | str) -> Path:
    return Path(basket_db).parent / JOBS_FILE


class JobStore:
    """Jobs and their files in SQLite; the uploaded files under ``uploads/<job id>/``."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.uploads = self.path.parent / UPLOADS_DIR
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")  # pages poll while the job writes
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        return db

    def new_job(self, user: str) -> tuple[str, Path]:
        """A job id and the empty folder its files go to (the job row is written by :meth:`create`)."""
        job_id = secrets.token_hex(8)
        folder = self.uploads / job_id
        folder.mkdir(parents=True)
        return job_id, folder

    def create(self, job_id: str, user: str, files: list[dict[str, Any]]) -> None:
        """Record a job with its files: dicts of name, size, path (or state "failed" + detail)."""
        now = time.time()
        with self._connect() as db:
            db.execute("INSERT INTO jobs (id, user, created, updated, state, pid) VALUES (?, ?, ?, ?, 'queued', ?)",
                       (job_id, user, now, now, os.getpid()))
            for seq, f in enumerate(files):
                db.execute("INSERT INTO job_files (job, seq, name, size, path, state, outcome, detail) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           (job_id, seq, f["name"], f.get("size"), f.get("path"), f.get("state", "queued"),
                            f.get("outcome", ""), f.get("detail", "")))

    def add_files(self, job_id: str, parent: int, files: list[tuple[str, Path, int]]) -> list[int]:
        """Files found in an archive (name, path, size) join the job; returns their seq numbers."""
        with self._connect() as db:
            start = db.execute("SELECT COALESCE(MAX(seq), -1) + 1 FROM job_files WHERE job=?", (job_id,)).fetchone()[0]
            db.executemany("INSERT INTO job_files (job, seq, name, parent, size, path, state) "
                           "VALUES (?, ?, ?, ?, ?, ?, 'queued')",
                           [(job_id, start + i, name, parent, size, str(path))
                            for i, (name, path, size) in enumerate(files)])
            self._touch(db, job_id)
        return list(range(start, start + len(files)))

    def _touch(self, db: sqlite3.Connection, job_id: str) -> None:
        db.execute("UPDATE jobs SET updated=? WHERE id=?", (time.time(), job_id))

    def set_job(self, job_id: str, state: str, message: str | None = None,
                summary: dict | None = None) -> None:
        with self._connect() as db:
            db.execute("UPDATE jobs SET state=?, updated=?, pid=? WHERE id=?",
                       (state, time.time(), os.getpid(), job_id))
            if message is not None:
                db.execute("UPDATE jobs SET message=? WHERE id=?", (message, job_id))
            if summary is not None:
                db.execute("UPDATE jobs SET summary=? WHERE id=?", (json.dumps(summary, ensure_ascii=False), job_id))

    def set_file(self, job_id: str, seq: int, state: str, outcome: str = "", detail: str = "",
                 docs: list | None = None, notes: list | None = None) -> None:
        with self._connect() as db:
            db.execute("UPDATE job_files SET state=?, outcome=?, detail=?, docs=?, notes=? WHERE job=? AND seq=?",
                       (state, outcome, detail, json.dumps(docs or [], ensure_ascii=False),
                        json.dumps(notes or [], ensure_ascii=False), job_id, seq))
            self._touch(db, job_id)

    def files(self, job_id: str) -> list[dict[str, Any]]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM job_files WHERE job=? ORDER BY seq", (job_id,)).fetchall()
        out = []
        for row in rows:
            item = dict(row)
            item["docs"], item["notes"] = json.loads(item["docs"]), json.loads(item["notes"])
            out.append(item)
        return out

    def get(self, job_id: str) -> dict[str, Any] | None:
        """A job as the API shows it: state, progress, each file, the summary."""
        if not job_id or len(job_id) > 64:
            return None
        self.recover(job_id)
        with self._connect() as db:
            row = db.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
        if row is None:
            return None
        files = [{k: f[k] for k in ("seq", "name", "parent", "size", "state", "outcome", "detail", "docs", "notes")}
                 for f in self.files(job_id)]
        done = sum(f["state"] == "done" for f in files)
        job = dict(row)
        return {"job_id": job["id"], "user": job["user"], "state": job["state"], "message": job["message"],
                "created": job["created"], "updated": job["updated"],
                "finished": job["state"] in ("indexed", "failed"),
                "progress": {"files": len(files), "done": done},
                "summary": json.loads(job["summary"]) or summarize(files), "files": files}

    def recent(self, limit: int = 10) -> list[dict[str, Any]]:
        """The latest jobs, newest first: id, user, created, state, summary."""
        with self._connect() as db:
            rows = db.execute("SELECT id, user, created, state, summary FROM jobs ORDER BY created DESC LIMIT ?",
                              (limit,)).fetchall()
        return [{"job_id": r["id"], "user": r["user"], "created": r["created"], "state": r["state"],
                 "summary": json.loads(r["summary"])} for r in rows]

    def recover(self, job_id: str | None = None) -> int:
        """Jobs whose process stopped (or went silent) before they finished are marked failed."""
        now = time.time()
        with self._connect() as db:
            query = "SELECT id, pid, updated FROM jobs WHERE state IN ('queued', 'reading', 'indexing')"
            rows = db.execute(query + (" AND id=?" if job_id else ""), (job_id,) if job_id else ()).fetchall()
            stale = [r["id"] for r in rows if not pid_alive(r["pid"]) or now - r["updated"] > STALE_SECONDS]
            for stale_id in stale:
                db.execute("UPDATE jobs SET state='failed', message=? WHERE id=?", (INTERRUPTED, stale_id))
                db.execute("UPDATE job_files SET state='done', outcome='failed', detail=? "
                           "WHERE job=? AND state != 'done'", ("上传中断，未处理", stale_id))
        return len(stale)


INTERRUPTED = "上传中断：处理它的服务器进程已停止。索引停在最后一个完成的批次，可重新上传未完成的文件。"


# ---------------------------------------------------------------- outcomes

def summarize(files: list[dict[str, Any]]) -> dict[str, int]:
    """Counts for the summary line: files per outcome, documents per outcome, failures."""
    summary = {"files": len([f for f in files if f["outcome"] not in NOT_COUNTED]), "done": 0, "failed": 0,
               "added": 0, "replaced": 0, "unchanged": 0, "copy": 0, "similar": 0}
    for f in files:
        if f["state"] == "done" and f["outcome"] not in NOT_COUNTED:
            summary["done"] += 1
        if f["outcome"] == "failed":
            summary["failed"] += 1
        for doc in f["docs"]:
            if doc.get("outcome") in summary:
                summary[doc["outcome"]] += 1
    return summary


OUTCOME_LABELS = {"added": "新增", "replaced": "已替换旧版本", "unchanged": "未变（已收录）",
                  "copy": "与已收录文档完全相同，跳过", "similar": "新增，有相似文档", "failed": "失败"}


def doc_outcomes(outcome, titles: dict[str, str]) -> dict[str, dict[str, Any]]:
    """doc id → {doc_id, title, outcome, and similar_to / same_as}, from an ingest Outcome."""
    result: dict[str, dict[str, Any]] = {}
    for kind in ("added", "replaced", "unchanged"):
        for doc_id in getattr(outcome, kind):
            result[doc_id] = {"doc_id": doc_id, "outcome": kind}
    for doc_id in outcome.similar:
        result[doc_id] = {"doc_id": doc_id, "outcome": "similar", "similar_to": outcome.similar_to.get(doc_id, [])}
    for copy, original in outcome.copies:
        result[copy] = {"doc_id": copy, "outcome": "copy", "same_as": original}
    for doc_id, row in result.items():
        row["title"] = titles.get(doc_id, "")
    return result


def file_outcome(docs: list[dict[str, Any]]) -> tuple[str, str]:
    """A file's outcome and its line in Chinese from its documents' outcomes."""
    if not docs:
        return "failed", "没有可索引的文档"
    kinds = [d["outcome"] for d in docs]
    if len(docs) == 1:
        doc = docs[0]
        if doc["outcome"] == "similar":
            return "similar", "新增；与 " + "、".join(doc["similar_to"][:3]) + " 相似"
        if doc["outcome"] == "copy":
            return "copy", f"与已收录的 {doc['same_as']} 完全相同，跳过"
        return doc["outcome"], OUTCOME_LABELS[doc["outcome"]]
    counts = {k: kinds.count(k) for k in OUTCOME_LABELS if kinds.count(k)}
    line = "，".join(f"{OUTCOME_LABELS[k].split('，')[0]} {n} 篇" for k, n in counts.items())
    return (kinds[0] if len(counts) == 1 else "mixed"), f"{len(docs)} 篇文档：{line}"


def reader_notes(docs: Iterable[Document]) -> list[str]:
    """What a reader said about how it read a file (OCR): a document attribute or metadata ``ocr``,
    or a note mentioning OCR."""
    notes: list[str] = []
    for doc in docs:
        mark = getattr(doc, "ocr", None) or (doc.cite or {}).get("ocr")
        if mark:
            note = "来源：OCR" + ("" if mark is True else f"（{printable_name(str(mark))[:120]}）")
            if note not in notes:
                notes.append(note)
        if "OCR" in (doc.note or "").upper() and doc.note not in notes:
            notes.append(printable_name(doc.note)[:200])
    return notes


# ---------------------------------------------------------------- running a job

@dataclass
class Read:
    seq: int
    docs: list[Document] = field(default_factory=list)


def run_job(store: JobStore, job_id: str, index_dir: Path, lock_timeout: float = 600.0,
            add: Callable | None = None, on_commit: Callable[[], None] | None = None) -> None:
    """Read and index a job's files (the body of the background thread). Never raises: every
    failure ends in the job's state. ``on_commit`` runs after each commit, before its files are
    reported done (the server warms the new generation there, so a search right after sees them)."""
    from kb.ingest import pipeline
    from kb.index.errors import StoreError

    add = add or pipeline.add
    try:
        store.set_job(job_id, "reading")
        readable = open_archives(store, job_id)
        for start in range(0, len(readable), GROUP_FILES):
            group = [read_file(store, job_id, f) for f in readable[start:start + GROUP_FILES]]
            index_group(store, job_id, index_dir, [r for r in group if r.docs], add, lock_timeout, on_commit)
        files = store.files(job_id)
        store.set_job(job_id, "indexed", "", summarize(files))
    except StoreError as exc:
        fail_rest(store, job_id, f"索引失败：{printable_name(str(exc))[:300]}")
    except Exception as exc:  # noqa: BLE001 — a job must end in a state, never in a traceback
        fail_rest(store, job_id, f"处理出错（{type(exc).__name__}）；索引停在最后一个完成的批次")


def fail_rest(store: JobStore, job_id: str, message: str) -> None:
    for f in store.files(job_id):
        if f["state"] != "done":
            store.set_file(job_id, f["seq"], "done", "failed", "未处理：" + message)
    store.set_job(job_id, "failed", message, summarize(store.files(job_id)))


def open_archives(store: JobStore, job_id: str) -> list[dict[str, Any]]:
    """Zip archives expanded into the job (or failed whole); unsupported files failed; returns
    the files left to read."""
    readable = []
    for f in store.files(job_id):
        if f["state"] == "done":
            continue
        name, path = f["name"], Path(f["path"])
        if name.lower().endswith(".zip") and f["parent"] is None:
            try:
                found = extract_archive(path, path.parent / f".zip-{f['seq']}")
            except UnsafeArchive as exc:
                store.set_file(job_id, f["seq"], "done", "failed", str(exc))
                continue
            seqs = store.add_files(job_id, f["seq"], [(n, p, p.stat().st_size) for n, p in found])
            store.set_file(job_id, f["seq"], "done", "archive", f"已展开 {len(seqs)} 个文件")
            readable += [g for g in store.files(job_id) if g["seq"] in set(seqs)]
            continue
        readable.append(f)
    out = []
    for f in readable:
        if f["name"].lower().endswith(".meta.json"):
            store.set_file(job_id, f["seq"], "done", "sidecar", "元数据文件：随同名文档一起读取")
        elif f["name"].lower().endswith(".zip"):
            store.set_file(job_id, f["seq"], "done", "failed", "压缩包内的压缩包不展开，请单独上传")
        elif not supported(Path(f["name"])):
            store.set_file(job_id, f["seq"], "done", "failed", "不支持的文件类型")
        else:
            out.append(f)
    return out


def read_file(store: JobStore, job_id: str, f: dict[str, Any]) -> Read:
    """One file through the readers `kb add` uses; a failure is the file's outcome."""
    store.set_file(job_id, f["seq"], "reading")
    result = Read(f["seq"])
    try:
        result.docs = list(read_path(Path(f["path"]), f["name"]))
    except ReadError as exc:
        reason = str(exc)
        prefix = printable_name(str(Path(f["path"]))) + ": "
        reason = reason[len(prefix):] if reason.startswith(prefix) else reason.split(": ", 1)[-1]
        store.set_file(job_id, f["seq"], "done", "failed", reason[:300] or "无法读取")
    except Exception as exc:  # noqa: BLE001 — one bad file must not stop the job
        store.set_file(job_id, f["seq"], "done", "failed", f"无法读取（{type(exc).__name__}）")
    else:
        if result.docs:
            store.set_file(job_id, f["seq"], "indexing", "", f"读出 {len(result.docs)} 篇文档",
                           notes=reader_notes(result.docs))
        else:
            store.set_file(job_id, f["seq"], "done", "failed", "没有可索引的文档")
    return result


def index_group(store: JobStore, job_id: str, index_dir: Path, group: list[Read], add: Callable,
                lock_timeout: float, on_commit: Callable[[], None] | None = None) -> None:
    """One `kb add` commit for a group of files; each file's outcome from its documents'."""
    if not group:
        return
    store.set_job(job_id, "indexing")
    docs = [doc for r in group for doc in r.docs]
    file_of = {doc.source: r.seq for r in group for doc in r.docs}
    outcome = add(index_dir, docs, lock_timeout=lock_timeout)
    if on_commit is not None:
        try:
            on_commit()
        except Exception:  # noqa: BLE001 — committed is committed; searches catch up on their own
            pass
    by_id, by_source = {d.doc_id: d.title for d in docs}, {d.source: d.title for d in docs}
    titles = {doc_id: by_id.get(doc_id) or by_source.get(source, "") for doc_id, source in outcome.sources.items()}
    rows = doc_outcomes(outcome, titles)
    per_file: dict[int, list[dict]] = {r.seq: [] for r in group}
    for doc_id, row in rows.items():
        seq = file_of.get(outcome.sources.get(doc_id, ""))
        if seq is not None:
            per_file[seq].append(row)
    notes = {r.seq: reader_notes(r.docs) for r in group}
    for seq, doc_rows in per_file.items():
        kind, line = file_outcome(doc_rows)
        store.set_file(job_id, seq, "done", kind, line, doc_rows, notes[seq])
    store.set_job(job_id, "reading")
