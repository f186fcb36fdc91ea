"""Sign-in and upload through `kb serve` (two worker processes) and headless Chromium: what a
signed-out visitor sees, a wrong password, an administrator uploading Word, GB18030 text, a zip,
a scanned PDF and a folder and watching each file's outcome, finding the new text without a restart, bad zips
refused with their reason and nothing written, CSRF, and axe on the new pages at 1280 and 390 px."""
import json
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest
from docx import Document as DocxDocument
from scans import save_image_pdf, scan

from conftest import CORPUS
from webfixtures import LANDMARKS_JS, LiveServer, kb_cli as kb, screenshot

PASSWORD = "correct horse battery"
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
BODY = ("为加强基层治理，社区建立居民议事制度，每月召开一次会议，居民代表、楼组长和党员参加，"
        "协商解决停车难、加装电梯、垃圾分类等问题，议定事项在公示栏公开，接受居民监督。")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("upload-live")
    (base / "corpus").mkdir()
    for suffix in (".txt", ".meta.json"):
        source = CORPUS / ("002_001294e5f676bdea" + suffix)
        (base / "corpus" / source.name).write_bytes(source.read_bytes())
    assert kb("index", base / "corpus", "--index", base / "index").returncode == 0
    env = {"KB_BASKET_DB": str(base / "var" / "basket.sqlite")}
    assert kb("admin", "add", "clerk", "--password-stdin", env=env, stdin=PASSWORD + "\n").returncode == 0
    live = LiveServer(base / "index", base / "var" / "basket.sqlite", workers=2, threads=4)
    live.base = base
    yield live
    live.stop()


def shot(page, name):
    screenshot(page, name, full_page=True)


def http(method, url, data=None, headers=None):
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode("utf-8")


def generation(server):
    return json.loads(http("GET", server.url + "/healthz")[2])["generation"]


def sign_in(page, server, password=PASSWORD):
    page.goto(server.url + "/login")
    page.fill("#login-name", "clerk")
    page.fill("#login-password", password)
    page.click(".login-form button[type=submit]")
    page.wait_for_load_state("load")


def word_file(path, title, body):
    doc = DocxDocument()
    doc.add_heading(title, level=1)
    doc.add_paragraph(body)
    doc.save(path)
    return path


def upload_and_wait(page, paths, folder=None):
    page.set_input_files("#pick-files", [str(p) for p in paths])
    if folder:
        page.set_input_files("#pick-folder", str(folder))
    page.evaluate("""() => { window.__states = [];
        new MutationObserver(() => window.__states.push(document.getElementById('job-state').textContent))
            .observe(document.getElementById('job-state'), {childList: true, characterData: true, subtree: true}); }""")
    page.click("#upload-button")
    page.wait_for_selector("#job-summary:not([hidden])", timeout=90_000)
    return page.evaluate("window.__states")


def outcomes(page):
    rows = page.locator("#job-files li.file")
    return {rows.nth(i).locator(".name").inner_text(): (rows.nth(i).get_attribute("data-outcome"),
                                                        rows.nth(i).inner_text()) for i in range(rows.count())}


def test_signed_out_sees_no_upload_and_cannot_write(server, browser):
    page = browser.new_page()
    page.goto(server.url + "/")
    assert page.locator("a[href='/upload']").count() == 0
    assert page.locator("footer a[href='/login']").count() == 1
    page.goto(server.url + "/upload")
    assert page.url.endswith("/login?next=/upload") and "管理员登录" in page.inner_text("h1")
    status, headers, body = http("POST", server.url + "/api/documents", b"--x--\r\n",
                                 {"Content-Type": "multipart/form-data; boundary=x"})
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    assert "需要管理员登录" in json.loads(body)["error"]
    shot(page, "login-desktop")
    page.close()


def test_a_wrong_password_is_refused(server, browser):
    page = browser.new_page()
    with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as answer:
        sign_in(page, server, "not the password")
    assert answer.value.status == 401
    assert "用户名或密码错误" in page.inner_text("#login-error")
    assert page.input_value("#login-name") == "clerk" and page.input_value("#login-password") == ""
    page.goto(server.url + "/")
    assert page.locator("a[href='/upload']").count() == 0
    page.close()


def test_an_administrator_uploads_watches_and_finds_the_text(server, browser, tmp_path):
    files = tmp_path / "files"
    files.mkdir()
    word = word_file(files / "银杏议事坊工作办法.docx", "银杏议事坊工作办法", "银杏议事坊" + BODY)
    gb = files / "梧桐睦邻点.txt"
    gb.write_bytes(("梧桐睦邻点建设方案\n梧桐睦邻点" + BODY * 2).encode("gb18030"))
    hostile = files / "<img src=x onerror=window.__xss=1>.txt"
    hostile.write_text("睦邻文件名测试\n" + BODY.replace("居民", "住户"), encoding="utf-8")
    archive = files / "香樟材料.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("香樟/香樟调解室.txt", "香樟调解室制度\n香樟调解室" + BODY.replace("议事", "调解"))
        for i in range(24):
            z.writestr(f"香樟/简报{i:02d}.txt", f"香樟简报第{i}期：第{i}号楼完成第{i * 3}项微更新，涉及{i + 5}户居民。")
    scanned = save_image_pdf([scan(["红杉议事厅扫描通知", "红杉议事厅每月第一个周六开放，居民可就楼道堆物、停车和"
                                    "绿化提出议题，由楼组长汇总后提交社区议事会讨论决定。"], dpi=200, seed=9,
                                   crop=True)], files / "红杉议事厅通知.pdf", dpi=200)  # no text layer: OCR
    folder = tmp_path / "樟树湾资料"
    (folder / "二级").mkdir(parents=True)
    (folder / "二级" / "樟树湾议事.txt").write_text("樟树湾议事规则\n樟树湾" + BODY, encoding="utf-8")

    page = browser.new_page(viewport=VIEWPORTS["desktop"])
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, server)
    assert page.url.endswith("/upload") and page.locator("a#upload-link").count() == 1
    shot(page, "upload-desktop-empty")
    before = generation(server)
    states = upload_and_wait(page, [word, gb, hostile, archive, scanned], folder)
    shot(page, "upload-desktop-summary")
    seen = outcomes(page)
    assert seen["银杏议事坊工作办法.docx"][0] in ("added", "similar")  # they share a body: linked
    assert seen["梧桐睦邻点.txt"][0] == "similar" and "与 银杏议事坊工作办法 相似" in seen["梧桐睦邻点.txt"][1]
    assert seen["香樟材料.zip"][0] == "archive" and "已展开 25 个文件" in seen["香樟材料.zip"][1]
    assert seen["香樟/香樟调解室.txt"][0] in ("added", "similar")
    assert seen["樟树湾资料/二级/樟树湾议事.txt"][0] in ("added", "similar")  # the folder's relative path
    assert seen["<img src=x onerror=window.__xss=1>.txt"][0] in ("added", "similar")
    assert seen["红杉议事厅通知.pdf"][0] in ("added", "similar") and "来源：OCR" in seen["红杉议事厅通知.pdf"][1]
    assert page.evaluate("typeof window.__xss") == "undefined"  # names are text, never markup
    summary = page.inner_text("#job-summary")
    assert summary.startswith("完成：共 30 个文件") and "失败 0 个文件" in summary  # 31 rows, the zip itself not counted
    assert states and "完成" in states[-1]
    print("job states seen by the page:", states)
    assert generation(server) > before
    assert "job=" in page.url  # a reload keeps the job
    for query, title in [("银杏议事坊", "银杏议事坊工作办法"), ("梧桐睦邻点", "梧桐睦邻点建设方案"),
                         ("香樟调解室", "香樟调解室制度"), ("樟树湾议事", "樟树湾议事规则"),
                         ("红杉议事厅", "红杉议事厅")]:
        page.goto(server.url + "/?q=" + quote(query))
        page.wait_for_selector("article.doc")
        assert title in page.inner_text("article.doc >> nth=0"), query
    assert not errors, errors
    page.close()


def test_bad_zips_fail_with_their_reason_and_nothing_is_written(server, browser, tmp_path):
    traversal = tmp_path / "越界.zip"
    with zipfile.ZipFile(traversal, "w") as z:
        z.writestr("正常.txt", "正常文件" + BODY)
        z.writestr("../../../tmp/逃逸.txt", "逃逸" + BODY)
    bomb = tmp_path / "炸弹.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("大.txt", "0" * (40 * 2**20))
    broken = tmp_path / "损坏.zip"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    page = browser.new_page(viewport=VIEWPORTS["phone"])
    sign_in(page, server)
    before = generation(server)
    upload_and_wait(page, [traversal, bomb, broken])
    seen = outcomes(page)
    shot(page, "upload-phone-refused")
    assert seen["越界.zip"][0] == "failed" and "不安全的路径" in seen["越界.zip"][1]
    assert seen["炸弹.zip"][0] == "failed" and "压缩炸弹" in seen["炸弹.zip"][1]
    assert seen["损坏.zip"][0] == "failed" and "不是有效的 zip" in seen["损坏.zip"][1]
    assert "失败 3 个文件：越界.zip、炸弹.zip、损坏.zip" in page.inner_text("#job-summary")
    assert generation(server) == before
    assert not list(Path("/tmp").glob("逃逸.txt")) and not list(server.base.rglob("逃逸.txt"))
    page.close()


def test_writes_without_the_csrf_token_are_refused(server, browser):
    page = browser.new_page()
    sign_in(page, server)
    status = page.evaluate("""async () => {
        const data = new FormData(); data.append('file', new File(['社区'], 'a.txt'));
        return (await fetch('/api/documents', {method: 'POST', body: data})).status; }""")
    assert status == 403
    deleted = page.evaluate("async () => (await fetch('/api/documents/002_001294e5f676bdea', {method: 'DELETE'})).status")
    assert deleted == 403
    page.close()


def test_dropped_files_are_listed_and_sent(server, browser):
    page = browser.new_page()
    sign_in(page, server)
    page.evaluate("""() => { const t = new DataTransfer();
        t.items.add(new File(['落叶巷邻里节\\n落叶巷' + '居民议事协商，每月一次，议定事项公开。'.repeat(3)], '落叶巷.txt'));
        document.getElementById('dropzone').dispatchEvent(new DragEvent('drop', {dataTransfer: t, bubbles: true})); }""")
    page.wait_for_selector("#chosen li")
    assert "落叶巷.txt" in page.inner_text("#chosen")
    page.click("#upload-button")
    page.wait_for_selector("#job-summary:not([hidden])", timeout=60_000)
    assert outcomes(page)["落叶巷.txt"][0] == "added"
    page.close()


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_login_and_upload_pages_pass_axe_and_fit(server, browser, viewport, tmp_path):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    context = browser.new_context(viewport=VIEWPORTS[viewport])
    page = context.new_page()
    found = {}

    def check(name):
        result = axe.run(page)
        assert len(result.response["passes"]) >= 10, name
        found[name] = [(v["id"], len(v["nodes"])) for v in result.response["violations"]]
        assert page.evaluate(LANDMARKS_JS) == [], (name, viewport, "two landmarks with one role and name")
        width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], (name, viewport, width)
        small = page.evaluate("""() => Array.from(document.querySelectorAll('button, input, header a'))
            .filter((el) => el.offsetParent && el.type !== 'hidden').map((el) => el.getBoundingClientRect())
            .filter((r) => r.width < 24 || r.height < 24).length""")
        assert small == 0, (name, viewport, "targets under 24 px")
        shot(page, f"{name}-{viewport}")

    page.goto(server.url + "/login")
    check("login")
    sign_in(page, server, "wrong password here")
    check("login-failed")
    sign_in(page, server)
    check("upload")
    note = tmp_path / "说明.txt"
    note.write_text("axe 检查用的说明\n" + BODY, encoding="utf-8")
    upload_and_wait(page, [note])
    check("upload-done")
    context.close()
    print(f"\naxe {viewport}: violations {found}")
    assert all(not v for v in found.values()), found
