"""The trainer's path in headless Chromium: theme → 生成专题汇编 → reorder and annotate in the
basket → .docx, read back with python-docx and turned into a PDF by LibreOffice, its first pages
into PNGs (pdftoppm); refining results; the results page at phone width (390×844).

Screenshots and the rendered pages go to $KB_SCREENSHOTS when it is set (to be looked at)."""
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest
from docx import Document as DocxDocument

from webfixtures import serve_corpus

SHOTS = Path(os.environ["KB_SCREENSHOTS"]) if os.environ.get("KB_SCREENSHOTS") else None
FILE_NAME = re.compile(r"\d{3}_[0-9a-f]{16}")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = serve_corpus(tmp_path_factory.mktemp("handout-live"))
    yield live
    live.stop()


def keep(path: Path) -> None:
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, SHOTS / path.name)


def shot(page, name: str, tmp_path: Path, full_page: bool = False) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    keep(path)
    return path


def test_theme_to_edited_word_handout_and_pdf(server, browser, tmp_path):
    page = browser.new_page(accept_downloads=True, viewport={"width": 1280, "height": 1000})
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server.url + "/?q=" + quote("小区治理"))
    page.click("#make-handout")
    page.wait_for_url("**/basket")
    items = page.locator("li.item")
    count = items.count()
    assert count >= 5
    titles = [items.nth(i).locator("h2").inner_text() for i in range(count)]
    assert all(not re.fullmatch(r"[\d.、()（）一二三四五六七八九十 ]+", t) for t in titles)
    assert any("（福建省龙岩市）" in t for t in titles)
    citations = page.locator("li.item .citation").all_inner_texts()
    assert all("[Z]" in c or "[N]" in c or "[J]" in c for c in citations)
    assert not any(FILE_NAME.search(c) for c in citations)

    # reorder: the last item up to the top (its section and place group lead the handout)
    last = items.nth(count - 1)
    moved_text = last.locator(".passage-text").inner_text()
    moved_section = last.locator("h2").inner_text()
    from playwright.sync_api import expect

    for k in range(count - 1):  # each move answers in place (no reload): wait for the item's new place
        item = page.locator("li.item", has_text=moved_text[:20])
        item.locator("button.move[data-step='-1']").click()
        expect(page.locator("li.item").nth(count - 2 - k).locator(".passage-text")).to_have_text(moved_text)
    assert page.locator("li.item").first.locator(".passage-text").inner_text() == moved_text
    with page.expect_response(lambda r: "/api/basket/items/" in r.url and r.request.method == "PATCH"):
        page.fill("textarea.note >> nth=0", "培训要点：先讲这个做法")
        page.locator("textarea.note").first.dispatch_event("change")
    page.reload()
    shot(page, "basket-edited", tmp_path)

    with page.expect_download() as info:
        page.click("#export-docx")
    saved = tmp_path / "basket-handout.docx"
    info.value.save_as(saved)
    keep(saved)
    doc = DocxDocument(saved)
    styled = [(p.style.name, p.text) for p in doc.paragraphs]
    h1 = [t for s, t in styled if s == "Heading 1"]
    h2 = [t for s, t in styled if s == "Heading 2"]
    assert h2[0] == moved_section  # the trainer's order
    assert h1[-1] == "参考文献" and len(h1) >= 3
    start = max(i for i, (s, t) in enumerate(styled) if t == "参考文献" and s == "Heading 1")
    refs = [t for _, t in styled[start + 1:] if t]
    assert refs and all(re.match(r"\[\d+\] .+\[(Z|N|J|R|EB/OL)\](//[^.]+)?\.( [^ ].*\.)?$", r) for r in refs)
    assert any(r.endswith("[Z]. 2018.") for r in refs)
    body = "\n".join(t for _, t in styled)
    assert "培训要点：先讲这个做法" in body and moved_text.split("\n")[-1][:30] in body
    assert not FILE_NAME.search(body)
    assert errors == []
    page.close()

    pdf = to_pdf(saved, tmp_path)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "专题汇编" in text and "参考文献" in text and "[Z]" in text
    subprocess.run(["pdftoppm", "-r", "70", "-png", "-f", "1", "-l", "4", str(pdf), str(tmp_path / "handout-page")],
                   check=True)
    pages = sorted(tmp_path.glob("handout-page-*.png"))
    assert len(pages) == 4 and all(p.stat().st_size > 5000 for p in pages)
    for path in pages:
        keep(path)


def to_pdf(docx_path: Path, out_dir: Path) -> Path:
    """LibreOffice (headless, its own profile folder) converts the .docx into a PDF."""
    profile = out_dir / "lo-profile"
    done = subprocess.run(["soffice", "--headless", "--norestore", f"-env:UserInstallation=file://{profile}",
                           "--convert-to", "pdf", "--outdir", str(out_dir), str(docx_path)],
                          capture_output=True, text=True, timeout=300)
    pdf = out_dir / (docx_path.stem + ".pdf")
    assert done.returncode == 0 and pdf.exists(), done.stderr
    return pdf


def test_refining_and_copy_link(server, browser, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page = context.new_page()
    page.goto(server.url + "/?q=" + quote("小区治理"))
    page.click(".refine-sort a.sort-newest")
    page.wait_for_url("**sort=newest**")
    years = [int(y) for y in page.locator("article.doc .meta span").all_inner_texts() if re.fullmatch(r"\d{4}", y)]
    assert years == sorted(years, reverse=True)
    page.fill("input.within-query", "业委会")
    page.press("input.within-query", "Enter")
    page.wait_for_selector(".within-chip")
    page.fill("input.within-query", "在职党员")
    page.press("input.within-query", "Enter")
    page.wait_for_function("() => document.querySelectorAll('.within-chip').length === 2")
    assert "sort=newest" in page.url and page.url.count("within=") == 2
    for snippet in page.locator("p.snippet").all_inner_texts():
        assert "在职党员" in snippet.replace("\n", "") or "…" in snippet
    shot(page, "refined", tmp_path)
    page.click("a.refine-bydoc")
    page.wait_for_url("**bydoc=0**")
    assert all(page.locator("article.doc").nth(i).locator(".passage").count() == 1
               for i in range(page.locator("article.doc").count()))
    first = page.locator("div.passage").first
    passage_text = first.locator("p.snippet").inner_text()
    first.locator("a.copy-link").click()
    page.wait_for_selector("a.copy-link.copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith(server.url + "/doc/") and "#p" in copied
    page.goto(copied)
    target = page.locator("section.para:target")
    assert target.count() == 1
    assert target.locator("mark").count() >= 1
    words = [w for w in re.split(r"[…\s]", passage_text) if len(w) > 6]
    assert words and words[0][:6] in target.inner_text()
    context.close()


def test_results_on_a_phone(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                            has_touch=True)
    page.goto(server.url + "/?q=" + quote("小区治理"))
    summary = page.locator("details.filters > summary")
    assert summary.is_visible() and summary.inner_text().startswith("筛选")
    assert not page.locator("section.facet").first.is_visible()
    first_result = page.locator("article.doc").first.bounding_box()
    assert first_result["y"] < 844 * 0.75  # results on the first screen, facets folded away
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # nothing wider than the phone
    shot(page, "phone-results", tmp_path)
    summary.click()
    assert page.locator("section.facet").first.is_visible()
    shot(page, "phone-filters-open", tmp_path)
    page.locator("section.facet[data-facet=province] a").first.click()
    page.wait_for_selector(".chip")
    assert "place=" in page.url
    page.close()
    wide = browser.new_page(viewport={"width": 1280, "height": 900})
    wide.goto(server.url + "/?q=" + quote("小区治理"))
    assert wide.locator("section.facet").first.is_visible()  # wide screens: facets shown, no button
    assert not wide.locator("details.filters > summary").is_visible()
    wide.close()
