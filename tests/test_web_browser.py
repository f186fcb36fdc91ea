"""The real thing: `kb serve` in a subprocess, driven over HTTP and by headless Chromium
(Debian's /usr/bin/chromium through Playwright). A browser that cannot start fails the test."""
import json
import shutil
import urllib.error
import urllib.request
from urllib.parse import quote

import pytest
from docx import Document as DocxDocument

from conftest import CORPUS
from webfixtures import LANDMARKS_JS, LiveServer, screenshot, serve_corpus


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = serve_corpus(tmp_path_factory.mktemp("live"))
    yield live
    live.stop()


def shot(page, name):
    screenshot(page, name)


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
    rows = page.locator("li.model-row")
    names = [rows.nth(i).inner_text() for i in range(rows.count())]
    pick = [next(i for i, n in enumerate(names) if n.startswith(name)) for name in ("五级治理", "“兼合式”", "“1+4Z+3N”")]
    for i in pick:
        rows.nth(i).locator("input[type=checkbox]").check()
    extra = [i for i in range(rows.count()) if i not in pick][:2]
    rows.nth(extra[0]).locator("input[type=checkbox]").check()
    rows.nth(extra[1]).locator("input[type=checkbox]").click()  # a 5th is refused, and said so
    assert not rows.nth(extra[1]).locator("input[type=checkbox]").is_checked()
    assert "最多比较 4 个" in page.inner_text("#status")
    rows.nth(extra[0]).locator("input[type=checkbox]").uncheck()
    page.click("#compare-button")
    page.wait_for_selector(".compare-card")
    assert page.locator(".compare-card").count() == 3
    assert "楼栋党员中心户" in page.inner_text(".compare-grid")
    shot(page, "compare")
    page.click(".compare-card h2 a >> nth=0")
    page.wait_for_selector("section.para button.add")
    page.locator("section.para button.add").first.click()
    page.wait_for_function("() => document.querySelector('section.para button.add').textContent.includes('已加入')")
    page.close()


PAGES = {  # every page type, as a user reaches it
    "search": "/?q=" + quote("两楼联动"), "home": "/", "empty": "/?q=" + quote("两楼连动"),
    "doc": "/doc/003_7eae55bd553d4ef9-4?q=" + quote("两楼联动"), "models": "/models",
    "help": "/help", "404": "/no/such/page", "basket": "/basket",
    "question": "/?q=" + quote("老旧小区没有物业怎么办"), "filtered": "/?q=" + quote("党建") + "&place=" + quote("上海市"),
    "refined": "/?q=" + quote("社区") + "&within=" + quote("党建") + "&sort=newest&page=2",
    "per-passage": "/?q=" + quote("社区") + "&bydoc=0", "too-long": "/?q=" + quote("党" * 300),
    "no-doc": "/doc/no-such-document",
}
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def model_urls(server):
    models = json.loads(get(server.url + "/api/models")[2])["models"]
    five = next(m for m in models if m["key"] == "五级治理")
    double = next(m for m in models if m["key"] == "双报到")
    return {"model": f"/models/{five['model_id']}", "model-places": f"/models/{double['model_id']}",
            "compare": f"/models/compare?id={five['model_id']}&id={double['model_id']}"}


def fill_basket(page, server):
    page.goto(server.url + PAGES["doc"])
    for i in (0, 1):
        page.locator("section.para button.add").nth(i).click()
    page.wait_for_function("() => document.getElementById('basket-count').textContent === '2'")


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_every_page_passes_axe_and_fits_the_screen(server, browser, viewport):
    """axe-core (bundled by axe-playwright-python): no violations on any page type; and no page
    scrolls sideways."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    context = browser.new_context(viewport=VIEWPORTS[viewport])
    page = context.new_page()
    fill_basket(page, server)
    found, checked = {}, {}
    for name, path in {**PAGES, **model_urls(server)}.items():
        page.goto(server.url + path)
        page.wait_for_load_state("load")
        if name == "doc":
            page.locator("details.related summary").first.click()
            page.wait_for_selector("details.related .rel")
        result = axe.run(page)
        assert len(result.response["passes"]) >= 10, name  # axe really ran on the page
        found[name] = [(v["id"], len(v["nodes"])) for v in result.response["violations"]]
        checked[name] = len(result.response["passes"])
        assert page.evaluate(LANDMARKS_JS) == [], (name, viewport, "two landmarks with one role and name")
        width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], (name, viewport, width)
        if viewport == "phone":
            small = page.evaluate("""() => Array.from(document.querySelectorAll(
                '.facets a, input[type=checkbox], button, .para .anchor')).filter((el) => el.offsetParent)
                .map((el) => el.getBoundingClientRect()).filter((r) => r.width < 24 || r.height < 24).length""")
            assert small == 0, (name, "targets under 24 px")
            shot(page, f"phone-{name}")
    context.close()
    print(f"\naxe {viewport}: rules passed per page {checked}; violations {found}")
    assert all(not v for v in found.values()), found


def test_keyboard_walk_search_open_add_basket_export(server, browser, tmp_path):
    """Keyboard only: skip link, search, open a result, add a passage (focus stays, announced,
    undoable), go to the basket, move and remove without a reload, export."""
    context = browser.new_context(viewport=VIEWPORTS["phone"], accept_downloads=True)
    page = context.new_page()
    page.goto(server.url + "/?q=" + quote("两楼联动"))
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    def focus(selector, limit=80):
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate("(s) => document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"Tab never reached {selector}")

    def focus_visible():
        return page.evaluate("() => { const s = getComputedStyle(document.activeElement); "
                             "return document.activeElement.matches(':focus-visible') && s.outlineStyle !== 'none' "
                             "&& parseFloat(s.outlineWidth) >= 2; }")

    focus("input[name=q]")
    page.keyboard.press("Control+A")
    page.keyboard.type("金色纽带")
    page.keyboard.press("Enter")
    page.wait_for_selector("article.doc")
    focus("article.doc h2 a")
    assert focus_visible()
    page.keyboard.press("Enter")
    page.wait_for_selector("section.para")
    focus("section.para button.add")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement.textContent.includes('已加入')")
    assert page.evaluate("document.activeElement.classList.contains('add')") and focus_visible()
    assert "已加入素材篮" in page.inner_text("#status") and page.get_attribute("#status", "aria-live") == "polite"
    page.click("#status button")  # undo
    page.wait_for_function("() => document.getElementById('basket-count').textContent === '0'")
    assert page.evaluate("document.activeElement.classList.contains('add')")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('basket-count').textContent === '1'")
    focus("section.para:nth-of-type(2) button.add")  # the next passage's button
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('basket-count').textContent === '2'")
    page.goto(server.url + "/basket")
    page.evaluate("window.scrollTo(0, 120)")
    focus("li.item:first-child button.move[data-step='1']")
    first = page.get_attribute("li.item:first-child button.move[data-step='1']", "data-item")
    page.keyboard.press("Enter")
    # the two items may share a title (two passages of one document): wait for the item itself
    page.wait_for_function("(id) => document.querySelector('li.item:last-child button.move').dataset.item === id",
                           arg=first)
    assert page.evaluate("document.activeElement.matches('button')") and focus_visible()
    assert "下移" in page.inner_text("#status")
    page.evaluate("window.__sameDocument = true")
    focus("li.item:first-child button.remove")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('li.item').length === 1")
    assert page.evaluate("window.__sameDocument") is True  # no reload
    assert page.evaluate("document.activeElement.tagName") == "H2"
    focus("textarea.note")
    page.keyboard.type("要点")
    page.keyboard.press("Tab")
    page.wait_for_function("() => document.querySelector('.saved-flag').textContent === '已保存'")
    page.focus("#export-docx")
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    saved = tmp_path / "walk.docx"
    info.value.save_as(saved)
    assert "要点" in "\n".join(p.text for p in DocxDocument(saved).paragraphs)
    context.close()


def test_failures_read_in_chinese_and_leave_the_page_usable(server, browser):
    context = browser.new_context(viewport=VIEWPORTS["desktop"])
    page = context.new_page()
    page.goto(server.url + PAGES["doc"])
    context.set_offline(True)
    page.locator("section.para button.add").first.click()
    page.wait_for_function("() => document.getElementById('status').textContent.includes('加入失败')")
    message = page.inner_text("#status")
    assert "连不上服务器" in message and "Failed" not in message
    context.set_offline(False)
    page.locator("section.para button.add").first.click()  # usable again
    page.wait_for_function("() => document.getElementById('status').textContent.includes('已加入')")
    page.route("**/api/basket/items/*", lambda route: route.fulfill(status=500, body="oops"))
    page.goto(server.url + "/basket")
    page.locator("button.remove").first.click()
    page.wait_for_function("() => document.getElementById('status').textContent.includes('移除失败')")
    assert "服务器出错（500）" in page.inner_text("#status") and page.locator("li.item").count() >= 1
    page.unroute("**/api/basket/items/*")
    page.goto(server.url + "/")  # a slow search shows it is busy (the request is held back here)
    page.evaluate("document.querySelector('form.searchbox').addEventListener('submit', (e) => e.preventDefault())")
    page.fill("input[name=q]", "两楼联动")
    page.press("input[name=q]", "Enter")
    page.wait_for_function("() => document.querySelector('form.searchbox').getAttribute('aria-busy') === 'true'")
    assert "检索中" in page.inner_text("form.searchbox button")
    context.close()


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
