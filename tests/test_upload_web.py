"""Sign-in, roles and the write API through Flask's test client (the live server and Chromium
drive the same in test_upload_browser.py)."""
import io
import re
import time
import zipfile
from pathlib import Path

import pytest

from conftest import CORPUS

PASSWORD = "correct horse"
NEW_TEXT = ("关于推进楼道议事会建设的实施意见。为加强基层治理，建立楼道议事会制度，每月召开一次，"
            "居民代表、楼组长和党员参加，协商解决停车、加装电梯、垃圾分类等问题，结果在楼道公示栏公开。")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from kb.accounts.users import Accounts, accounts_path
    from kb.ingest.pipeline import rebuild
    from kb.ingest.readers import read_path
    from kb.web import create_app

    base = tmp_path_factory.mktemp("upload")
    rebuild(base / "index", list(read_path(CORPUS / "002_001294e5f676bdea.txt")))
    app = create_app(base / "index", base / "var" / "basket.sqlite")
    accounts = Accounts(accounts_path(base / "var" / "basket.sqlite"))
    accounts.add("alice", PASSWORD)
    accounts.add("rita", PASSWORD, role="reader")
    app.config["tokens"] = {"alice": accounts.issue_token("alice"), "rita": accounts.issue_token("rita")}
    return app


def bearer(app, name="alice"):
    return {"Authorization": "Bearer " + app.config["tokens"][name]}


def csrf_of(client, path="/login"):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def sign_in(client, name="alice", password=PASSWORD):
    return client.post("/login", data={"name": name, "password": password, "csrf_token": csrf_of(client)})


def upload(client, files, headers=None):
    return client.post("/api/documents", headers=headers or {},
                       data={"file": [(io.BytesIO(data), name) for name, data in files]})


def wait(client, job_id, headers=None):
    for _ in range(200):
        job = client.get(f"/api/jobs/{job_id}", headers=headers or {}).get_json()
        if job["finished"]:
            return job
        time.sleep(0.1)
    raise AssertionError("the job did not finish")


def test_signed_out_sees_no_upload_and_writes_get_401(app):
    client = app.test_client()
    assert "/upload" not in client.get("/").get_data(as_text=True)
    assert "管理员登录" in client.get("/").get_data(as_text=True)
    page = client.get("/upload")
    assert page.status_code == 303 and page.headers["Location"] == "/login?next=/upload"
    refused = upload(client, [("a.txt", NEW_TEXT.encode())])
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert "需要管理员登录" in refused.get_json()["error"]
    assert client.get("/api/jobs/nope").status_code == 401
    assert client.delete("/api/documents/002_001294e5f676bdea").status_code == 401
    bad = upload(client, [("a.txt", b"x")], {"Authorization": "Bearer kb_not-a-token"})
    assert bad.status_code == 401 and "invalid_token" in bad.headers["WWW-Authenticate"]
    assert not list(app.extensions["kb_jobs"].uploads.glob("*"))  # nothing written


def test_a_reader_is_forbidden(app):
    client = app.test_client()
    assert upload(client, [("a.txt", NEW_TEXT.encode())], bearer(app, "rita")).status_code == 403
    assert sign_in(client, "rita").status_code == 303
    assert client.get("/upload").status_code == 403
    assert "/upload" not in client.get("/").get_data(as_text=True) and "退出" in client.get("/").get_data(as_text=True)


def test_wrong_password_is_refused_and_repeated_failures_wait(app):
    client = app.test_client()
    wrong = sign_in(client, "alice", "wrong horse")
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.get_data(as_text=True)
    assert client.get("/upload").status_code == 303  # still signed out
    for _ in range(3):
        last = sign_in(client, "mallory", "guess guess")
    assert last.status_code in (401, 429)
    slowed = sign_in(client, "mallory", "guess guess")
    assert slowed.status_code == 429 and int(slowed.headers["Retry-After"]) >= 1
    assert "秒后再试" in slowed.get_data(as_text=True)


def test_sign_in_cookie_csrf_and_logout(app):
    client = app.test_client()
    assert client.post("/login", data={"name": "alice", "password": PASSWORD}).status_code == 403  # no token
    done = sign_in(client)
    assert done.status_code == 303 and done.headers["Location"] == "/upload"
    cookie = [c for c in done.headers.get_all("Set-Cookie") if c.startswith("kb_session=")][0]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/upload").get_data(as_text=True)
    assert 'id="upload-link"' in page and "webkitdirectory" in page and 'name="csrf_token"' in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    no_csrf = upload(client, [("a.txt", NEW_TEXT.encode())])
    assert no_csrf.status_code == 403 and "CSRF" in no_csrf.get_json()["error"]
    ok = upload(client, [("楼道.txt", NEW_TEXT.encode())], {"X-CSRFToken": token})
    assert ok.status_code == 202 and ok.headers["Location"] == f"/api/jobs/{ok.get_json()['job_id']}"
    assert wait(client, ok.get_json()["job_id"])["files"][0]["outcome"] == "added"
    assert client.get("/api/search?q=楼道议事会").get_json()["total"] >= 1  # no restart
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/upload").status_code == 303
    assert client.get("/login?next=//evil.example/").status_code == 200
    evil = sign_in(client) and client.post("/login", data={"name": "alice", "password": PASSWORD,
                                                           "csrf_token": csrf_of(client), "next": "//evil.example/"})
    assert evil.headers["Location"] == "/upload"


def test_uploads_over_the_limit_get_413_and_nothing_is_written(app, monkeypatch):
    monkeypatch.setenv("KB_MAX_UPLOAD_MB", "0.01")
    client = app.test_client()
    before = set(app.extensions["kb_jobs"].uploads.glob("*"))
    big = upload(client, [("big.txt", NEW_TEXT.encode() * 100)], bearer(app))
    assert big.status_code == 413 and "KB_MAX_UPLOAD_MB" in big.get_json()["error"]
    assert set(app.extensions["kb_jobs"].uploads.glob("*")) == before


def test_bad_requests_to_the_upload_api(app):
    client = app.test_client()
    assert client.post("/api/documents", headers=bearer(app), json={"file": "x"}).status_code == 415
    empty = client.post("/api/documents", headers=bearer(app), data={"other": "x"}, content_type="multipart/form-data")
    assert empty.status_code == 400 and "没有收到文件" in empty.get_json()["error"]
    assert client.get("/api/jobs/" + "x" * 20, headers=bearer(app)).status_code == 404


def test_upload_a_zip_and_remove_a_document_with_a_token(app):
    client = app.test_client()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("材料/院落.txt", NEW_TEXT.replace("楼道", "院落"))
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../../etc/x.txt", NEW_TEXT)
    made = upload(client, [("pack.zip", archive.getvalue()), ("evil.zip", evil.getvalue()),
                           ("../../x.txt", NEW_TEXT.encode())], bearer(app))
    job = wait(client, made.get_json()["job_id"], bearer(app))
    outcomes = {f["name"]: (f["outcome"], f["detail"]) for f in job["files"]}
    assert outcomes["pack.zip"][0] == "archive" and outcomes["材料/院落.txt"][0] in ("added", "similar")
    assert outcomes["evil.zip"][0] == "failed" and "不安全的路径" in outcomes["evil.zip"][1]
    assert outcomes["../../x.txt"] == ("failed", "文件名不安全或无效（绝对路径、含 ..、过长），已拒绝")
    page = client.get(f"/upload?job={job['job_id']}", headers=bearer(app)).get_data(as_text=True)
    assert "不安全的路径" in page and "完成：共" in page
    doc_id = [f for f in job["files"] if f["name"] == "材料/院落.txt"][0]["docs"][0]["doc_id"]
    assert doc_id in [h["doc_id"] for h in client.get("/api/search?q=院落议事会").get_json()["hits"]]
    removed = client.delete(f"/api/documents/{doc_id}", headers=bearer(app))
    assert removed.status_code == 200 and removed.get_json()["removed"] == [doc_id]
    assert client.delete(f"/api/documents/{doc_id}", headers=bearer(app)).status_code == 404
    assert doc_id not in [h["doc_id"] for h in client.get("/api/search?q=院落议事会").get_json()["hits"]]


def test_every_405_names_the_allowed_methods(app):
    client = app.test_client()
    methods: dict[str, set] = {}
    for rule in app.url_map.iter_rules():
        if "<" not in rule.rule and not rule.rule.startswith("/static"):
            methods.setdefault(rule.rule, set()).update(rule.methods)
    checked = 0
    for path, allowed_here in methods.items():
        for method in {"PUT", "PATCH", "DELETE", "TRACE"} - allowed_here:
            response = client.open(path, method=method)
            assert response.status_code == 405, (path, method)
            assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed_here, path
            checked += 1
    assert checked > 40


def test_the_description_names_the_security_of_writes(app):
    spec = app.test_client().get("/api/openapi.json").get_json()
    assert set(spec["components"]["securitySchemes"]) == {"bearer", "cookie"}
    for path, method in [("/api/documents", "post"), ("/api/jobs/{job_id}", "get"),
                         ("/api/documents/{doc_id}", "delete")]:
        assert spec["paths"][path][method]["security"] == [{"bearer": []}, {"cookie": []}]
        assert {"401", "403"} <= set(spec["paths"][path][method]["responses"])
    assert spec["paths"]["/api/basket/order"]["put"]["requestBody"]["content"]["application/json"]["schema"]["required"] == ["ids"]


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

NAME_PARTS = st.sampled_from(["..", ".", "", "/", "\\", "C:", "材料", "a.txt", "通知.docx", "%2e%2e", "\x00", " ",
                              "~", "<b>", "CON", ".zip", "x" * 300])


@given(st.one_of(st.text(max_size=60), st.lists(NAME_PARTS, max_size=6).map("/".join)))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_uploaded_file_name_is_saved_inside_its_job_or_refused(app, name):
    client = app.test_client()
    response = client.post("/api/documents", headers=bearer(app),
                           data={"file": [(io.BytesIO("社区议事".encode()), name)]})
    uploads = app.extensions["kb_jobs"].uploads.resolve()
    if response.status_code == 400:  # a part without a file name is no file
        assert "没有收到文件" in response.get_json()["error"]
        return
    assert response.status_code == 202
    job_id = response.get_json()["job_id"]
    files = app.extensions["kb_jobs"].files(job_id)
    assert len(files) == 1
    row = files[0]
    if row["path"] is None:
        assert row["outcome"] == "failed" and ("已拒绝" in row["detail"] or "无法保存" in row["detail"])
    else:
        assert Path(row["path"]).resolve().is_relative_to(uploads / job_id / "files")
    assert not any(p.name == "a.txt" for p in uploads.parent.glob("*.txt"))
