"""Upload and removal: the 上传 page and the write API (administrators only).

``POST /api/documents`` (multipart, one or more ``file`` fields) saves the files and answers 202
with a job id at once; the job (kb.ingest.jobs) runs in a background thread of this worker, one job at a
time per process, and the index lock makes it the only writer across all of them. Every worker
answers ``GET /api/jobs/<id>`` from the shared jobs file.
"""
from __future__ import annotations

import os
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from flask import Blueprint, current_app, jsonify, redirect, render_template, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, UnsupportedMediaType

from kb.text.documents import printable_name
from kb.ingest.jobs import JobStore, jobs_path, run_job, safe_name
from kb.index.errors import IndexBusy, StoreError
from kb.web.auth import admin_required, admin_user, check_csrf, csrf, forbid_unless_admin_page

uploads = Blueprint("uploads", __name__)
admin_api = Blueprint("admin_api", __name__)
csrf.exempt(admin_api)  # checked in check_admin when the session cookie carries the request
DEFAULT_MAX_UPLOAD_MB = 200
REMOVE_WAIT = 30.0

_runner: ThreadPoolExecutor | None = None
_runner_lock = threading.Lock()


def max_upload_bytes() -> int:
    """``KB_MAX_UPLOAD_MB`` (default 200): the largest upload request, all files together."""
    try:
        return int(float(os.environ.get("KB_MAX_UPLOAD_MB") or DEFAULT_MAX_UPLOAD_MB) * 2**20)
    except ValueError:
        return DEFAULT_MAX_UPLOAD_MB * 2**20


def init_uploads(app, index_dir: Path, basket_path: Path) -> None:
    store = JobStore(jobs_path(basket_path))
    store.recover()  # jobs of a worker that is gone
    app.extensions["kb_jobs"] = store
    app.config["KB_INDEX_DIR"] = Path(index_dir)
    app.config["MAX_FORM_PARTS"] = 5000
    app.register_blueprint(uploads)
    app.register_blueprint(admin_api, url_prefix="/api")


def jobs() -> JobStore:
    return current_app.extensions["kb_jobs"]


def submit(store: JobStore, job_id: str, index_dir: Path, on_commit=None) -> None:
    """Run the job in this process's one upload thread (jobs wait their turn)."""
    global _runner
    with _runner_lock:
        if _runner is None:
            _runner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kb-upload")
        _runner.submit(run_job, store, job_id, index_dir, on_commit=on_commit)


def too_large() -> RequestEntityTooLarge:
    exc = RequestEntityTooLarge()
    exc.kb_message = (f"上传内容过大（超过 {max_upload_bytes() / 2**20:.0f} MB），未保存任何文件；"
                      f"可分批上传，或由管理员调整 KB_MAX_UPLOAD_MB")
    return exc


def upload_limit() -> None:
    """Raise this request's body limit to the upload limit; 413 at once when the declared length
    is past it (nothing is read)."""
    request.max_content_length = max_upload_bytes()
    if request.content_length is not None and request.content_length > request.max_content_length:
        raise too_large()


def received_files():
    """The request's ``file`` parts, read within the upload limit (413 past it, before anything
    is saved); 415 when the body is not multipart."""
    upload_limit()
    if request.mimetype != "multipart/form-data":
        exc = UnsupportedMediaType()
        exc.kb_message = "上传应为 multipart/form-data，文件放在 file 字段"
        raise exc
    try:
        return [f for f in request.files.getlist("file") if f.filename or f.content_length]
    except RequestEntityTooLarge:
        raise too_large() from None


def save_upload(user: str) -> str:
    """Save the request's files into a new job and start it; returns the job id."""
    files = received_files()
    if not files:
        missing = BadRequest()
        missing.kb_message = "没有收到文件（multipart 字段 file）"
        raise missing
    store = jobs()
    job_id, folder = store.new_job(user)
    try:
        seen: set[str] = set()
        rows = [save_one(part, folder / "files", seen) for part in files]
        store.create(job_id, user, rows)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    # this process's searches see each commit before the job reports it done
    submit(store, job_id, current_app.config["KB_INDEX_DIR"], current_app.extensions["kb_searcher"].store.refresh)
    return job_id


def save_one(part, folder: Path, seen: set[str]) -> dict:
    """One uploaded file on disk (a job row), or a failed row saying why it was refused."""
    shown = printable_name(part.filename or "")[:200] or "（无名文件）"
    name = safe_name(part.filename)
    if name is None:
        return {"name": shown, "state": "done", "outcome": "failed",
                "detail": "文件名不安全或无效（绝对路径、含 ..、过长），已拒绝"}
    if name.casefold() in seen:
        return {"name": name, "state": "done", "outcome": "failed", "detail": "本次上传中已有同名文件"}
    seen.add(name.casefold())
    dest = folder / name
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        part.save(dest)
    except OSError as exc:
        return {"name": name, "state": "done", "outcome": "failed",
                "detail": f"无法保存（{printable_name(exc.strerror or type(exc).__name__)}）"}
    return {"name": name, "size": dest.stat().st_size, "path": str(dest)}


# ---------------------------------------------------------------- API

@admin_api.post("/documents")
def upload_documents():
    user = admin_user()
    upload_limit()
    check_csrf()
    job_id = save_upload(user.name)
    body = {"job_id": job_id, "state": "queued", "url": f"/api/jobs/{job_id}"}
    return jsonify(body), 202, {"Location": f"/api/jobs/{job_id}"}


@admin_api.get("/jobs/<job_id>")
@admin_required
def job_status(job_id: str):
    job = jobs().get(job_id)
    if job is None:
        return jsonify(error="没有这个上传任务 / no such job"), 404
    return jsonify(job)


@admin_api.delete("/documents/<path:doc_id>")
@admin_required
def remove_document(doc_id: str):
    from kb.ingest import pipeline
    from kb.web import searcher

    if not searcher().document(doc_id):
        return jsonify(error="没有这个文档 / no such document"), 404
    try:
        outcome = pipeline.remove(current_app.config["KB_INDEX_DIR"], [doc_id], lock_timeout=REMOVE_WAIT)
    except IndexBusy:
        return jsonify(error="索引正在写入，请稍后再试 / the index is busy"), 503, {"Retry-After": "30"}
    except (StoreError, ValueError) as exc:
        return jsonify(error=f"删除失败 / removal failed: {exc}"), 503
    searcher().store.refresh()  # the next search of this process no longer finds it
    return jsonify({"removed": outcome.removed})


# ---------------------------------------------------------------- the page

LABELS = {"state_labels": {"queued": "等待", "reading": "读取中", "indexing": "索引中"},
          "outcome_labels": {"added": "新增", "replaced": "已替换", "unchanged": "未变", "copy": "相同，跳过",
                             "similar": "新增（有相似）", "mixed": "完成", "archive": "已展开", "sidecar": "元数据",
                             "failed": "失败"},
          "job_labels": {"queued": "排队中", "reading": "正在读取文件", "indexing": "正在写入索引",
                         "indexed": "完成", "failed": "失败"}}
SUMMARY_DOCS = {"added": "新增", "replaced": "替换", "unchanged": "未变", "copy": "相同跳过", "similar": "有相似文档"}


def when(timestamp: float) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def summary_line(summary: dict, files: list[dict] | None = None) -> str:
    """The job's summary in one Chinese sentence, naming the first failed files (the page's
    script builds the same)."""
    parts = [f"共 {summary.get('files', 0)} 个文件"]
    parts += [f"{label} {summary[key]} 篇" for key, label in SUMMARY_DOCS.items() if summary.get(key)]
    parts.append(f"失败 {summary.get('failed', 0)} 个文件")
    failed = [f["name"] for f in files or [] if f["outcome"] == "failed"]
    named = ("：" + "、".join(failed[:5]) + (" 等" if len(failed) > 5 else "")) if failed else ""
    return "完成：" + "，".join(parts) + named + "。"


@uploads.get("/upload")
def upload_page():
    refused = forbid_unless_admin_page()
    if refused is not None:
        return refused
    job = jobs().get(request.args.get("job", "")) if request.args.get("job") else None
    return render_template("upload.html", job=job, max_mb=max_upload_bytes() // 2**20, **LABELS,
                           summary_line=summary_line, recent=jobs().recent(), when=when)


@uploads.post("/upload")
@csrf.exempt  # checked after the upload limit is raised (the token is read from the body)
def upload_form():
    """The same upload without JavaScript: the form posts here, the page shows the job."""
    refused = forbid_unless_admin_page()
    if refused is not None:
        return refused
    user = admin_user()
    upload_limit()
    check_csrf()
    return redirect(f"/upload?job={save_upload(user.name)}", code=303)
