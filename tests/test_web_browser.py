"""The real thing: `kb serve` in a subprocess, driven over HTTP and by headless Chromium
(Debian's /usr/bin/chromium through Playwright). A browser that cannot start fails the test."""
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from docx import Document as DocxDocument

from conftest import CORPUS, ROOT
from webfixtures import LiveServer, make_corpus

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(os.environ.get("KB_SCREENSHOTS", "")) if os.environ.get("KB_SCREENSHOTS") else None


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("live")
    corpus = make_corpus(base / "corpus")
    built = subprocess.run([sys.executable, "-m", "kb.cli", "index", str(corpus), "--index", str(base / "index")],
                           cwd=ROOT, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    live = LiveServer(base / "index", base / "basket.sqlite")
    yield live
    live.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                           "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield chromium
        chromium.close()


def shot(page, name):
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, dict(response.headers), response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode("utf-8")


def test_http_api_over_the_wire(server):
    status, headers, body = get(server.url + "/api/search?q=" + quote("7 2 N"))
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert json.loads(body)["hits"][0]["source"] == "002_001294e5f676bdea.txt"
    status, headers, body = get(server.url + "/doc/" + quote("no/such/../doc"))
    assert status == 404 and "Traceback" not in body and "Content-Security-Policy" in headers
    status, _, body = get(server.url + "/api/docs/" + quote("../../etc/passwd", safe=""))
    assert status == 404 and json.loads(body)["error"]


def test_trainer_flow_search_facet_document_basket_export(server, browser, tmp_path):
    page = browser.new_page(accept_downloads=True, viewport={"width": 1280, "height": 1000})
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server.url + "/")
    page.fill("input[name=q]", "两楼联动")
    page.press("input[name=q]", "Enter")
    page.wait_for_selector("article.doc")
    assert "陆家嘴街道党工委" in page.inner_text("article.doc")
    assert page.inner_text("article.doc mark") == "两楼联动"
    shot(page, "search")

    page.click("section.facet[data-facet=province] a")
    page.wait_for_selector(".chip")
    assert "place=" in page.url and "上海市" in page.inner_text(".chips")

    page.click("article.doc h2 a")
    page.wait_for_selector("section.para")
    assert "两楼联动" in page.inner_text("h1")
    buttons = page.locator("section.para button.add")
    for i in (0, 1):
        buttons.nth(i).click()
        page.wait_for_function("(b) => b.textContent.includes('已加入')", arg=buttons.nth(i).element_handle())
    assert page.inner_text("#basket-count") == "2"
    page.locator("details.related summary").first.click()
    page.wait_for_selector("details.related .rel")
    shot(page, "document")
    expected = [page.locator("section.para .text").nth(i).inner_text().split("\n")[-1][:25] for i in (0, 1)]

    page.goto(server.url + "/basket")
    assert page.locator("li.item").count() == 2
    with page.expect_response(lambda r: "/api/basket/items/" in r.url and r.request.method == "PATCH"):
        page.fill("textarea.note >> nth=0", "培训要点：楼宇与居民区联动")
        page.locator("textarea.note").first.dispatch_event("change")
    page.reload()
    assert page.locator("textarea.note").first.input_value() == "培训要点：楼宇与居民区联动"
    shot(page, "basket")
    with page.expect_download() as info:
        page.click("#export-docx")
    saved = tmp_path / "handout.docx"
    info.value.save_as(saved)
    text = "\n".join(p.text for p in DocxDocument(saved).paragraphs)
    for fragment in expected:
        assert fragment in text
    assert text.count("浦东新区陆家嘴街道党工委. 坚持“两楼联动、两头延伸” 构建“金色纽带”区域化党建新模式[Z]//") == 1
    assert "003_7eae55bd553d4ef9" not in text
    assert "培训要点：楼宇与居民区联动" in text
    assert not errors, errors
    page.close()


def test_model_catalogue_in_the_browser(server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(server.url + "/?q=" + quote("两楼联动"))
    assert "金色纽带" in page.inner_text(".model-card h2")
    page.goto(server.url + "/models")
    rows = page.locator("table.models tbody tr")
    names = [rows.nth(i).inner_text() for i in range(rows.count())]
    pick = [i for i, n in enumerate(names) if "五级治理" in n or "兼合式" in n or "1+4Z+3N" in n][:3]
    for i in pick:
        rows.nth(i).locator("input[type=checkbox]").check()
    page.click(".catalogue button")
    page.wait_for_selector("table.compare")
    assert page.locator("table.compare thead th").count() == 4
    assert "楼栋党员中心户" in page.inner_text("table.compare")
    shot(page, "compare")
    page.click("table.compare thead th a >> nth=0")
    page.wait_for_selector("section.para button.add")
    page.locator("section.para button.add").first.click()
    page.wait_for_function("() => document.querySelector('section.para button.add').textContent.includes('已加入')")
    page.close()


def test_scripts_in_documents_and_queries_stay_inert(server, browser):
    page = browser.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    for path in ["/?q=" + quote('"><img src=x onerror=alert(1)>'), "/?q=" + quote("恶意脚本"),
                 "/doc/hostile", "/?q=" + quote("<script>alert(2)</script>")]:
        page.goto(server.url + path)
        page.wait_for_load_state("load")
        assert page.evaluate("typeof window.__xss") == "undefined", path
    page.goto(server.url + "/?q=" + quote("恶意脚本"))
    assert "<script>window.__xss=1</script>" in page.inner_text("article.doc")  # shown as text
    assert dialogs == []
    page.close()


def test_empty_result_page(server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server.url + "/?q=" + quote("两楼连动"))
    assert "没有找到" in page.inner_text(".empty")
    shot(page, "empty")
    page.click("a.suggestion")
    page.wait_for_selector("article.doc")
    assert "两楼联动" in page.inner_text("article.doc mark")
    page.goto(server.url + "/?q=" + quote("好人银杏"))  # a weak match still offers the fix
    assert page.inner_text(".didyoumean a") == "好人银行"
    page.close()


def test_first_start_builds_the_index(tmp_path):
    (tmp_path / "corpus").mkdir()
    for name in ("002_001294e5f676bdea.txt", "002_001294e5f676bdea.meta.json"):
        shutil.copy(CORPUS / name, tmp_path / "corpus" / name)
    live = LiveServer(tmp_path / "index", tmp_path / "basket.sqlite", cwd=tmp_path)
    try:
        status, _, body = get(live.url + "/api/search?q=" + quote("7+2+N"))
        assert status == 200 and json.loads(body)["hits"]
    finally:
        live.stop()
    log = live.output()
    assert "首次启动" in log and "127.0.0.1" in log
