"""Helpers for the web tests: a corpus with a hostile document, and a live `kb serve`."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from conftest import CORPUS, ROOT

HOSTILE_TEXT = ("社区议事厅安全测试<script>window.__xss=1</script>\n"
                "社区治理中的恶意脚本<img src=x onerror=\"window.__xss=2\">不能执行。"
                "这一段用于检查页面转义：社区治理、议事协商、物业服务都要依法进行，居民参与。")


def kb_cli(*args, env=None, stdin=None) -> subprocess.CompletedProcess:
    """`kb …` through this interpreter (no PATH assumption), with text on its standard input."""
    return subprocess.run([sys.executable, "-m", "kb.cli", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, input=stdin, env={**os.environ, **(env or {})}, timeout=300)


def make_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for path in CORPUS.iterdir():
        shutil.copy(path, folder / path.name)
    (folder / "hostile.txt").write_text(HOSTILE_TEXT, encoding="utf-8")
    (folder / "hostile.meta.json").write_text(
        '{"title": "<b>恶意标题</b><script>window.__xss=3</script>", "unit": "测试单位", '
        '"province": "测试省", "year": 2021, "type": "经验案例"}', encoding="utf-8")
    return folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """`kb serve` in a subprocess on a free local port."""

    def __init__(self, index_dir: Path, basket_db: Path, cwd: Path = ROOT, workers: int = 1,
                 threads: int = 8, env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "KB_BASKET_DB": str(basket_db), **(env or {})}
        # the access log goes to a file: a pipe nobody reads would stall the server once full
        self.log = Path(basket_db).with_name(f"serve-{self.port}.log")
        self._log_handle = self.log.open("w", encoding="utf-8")
        self.proc = subprocess.Popen([sys.executable, "-m", "kb.cli", "serve", "--port", str(self.port),
                                      "--workers", str(workers), "--threads", str(threads),
                                      "--index", str(index_dir)], cwd=cwd, env=env,
                                     stdout=self._log_handle, stderr=subprocess.STDOUT, text=True)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("kb serve exited: " + self.output())
            try:
                urllib.request.urlopen(self.url + "/help", timeout=2)
                return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("kb serve did not answer in time")

    def output(self) -> str:
        if not self._log_handle.closed:
            self._log_handle.flush()
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log_handle.close()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def serve_corpus(base: Path) -> LiveServer:
    """The shipped corpus plus the hostile document, indexed by `kb index` under ``base`` and served."""
    corpus = make_corpus(base / "corpus")
    built = subprocess.run([sys.executable, "-m", "kb.cli", "index", str(corpus), "--index", str(base / "index")],
                           cwd=ROOT, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    return LiveServer(base / "index", base / "basket.sqlite")


def chromium_browser():
    """Debian's Chromium through Playwright, headless (a generator: use it as a pytest fixture body)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def screenshot(page, name: str, full_page: bool = False) -> None:
    """Save the page as <name>.png in $KB_SCREENSHOTS when it is set (for a person to look at)."""
    folder = os.environ.get("KB_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=full_page)


# Roles of the landmarks a page may hold, as the HTML-AAM maps elements (aside/header/footer/section/
# form only count where they are landmarks); no two may share a role and an accessible name.
LANDMARKS_JS = """() => {
  const scoped = (el) => el.parentElement && el.parentElement.closest('article, aside, main, nav, section');
  const name = (el) => (el.getAttribute('aria-label') || (el.getAttribute('aria-labelledby') || '').split(' ')
      .map((id) => (document.getElementById(id) || {}).textContent || '').join(' ')).trim();
  const role = (el) => {
    if (el.getAttribute('role')) return el.getAttribute('role');
    const tag = el.tagName.toLowerCase();
    if (tag === 'nav') return 'navigation';
    if (tag === 'main') return 'main';
    if (tag === 'aside') return (!scoped(el) || name(el)) ? 'complementary' : null;
    if (tag === 'header') return scoped(el) ? null : 'banner';
    if (tag === 'footer') return scoped(el) ? null : 'contentinfo';
    if (tag === 'section') return name(el) ? 'region' : null;
    if (tag === 'form') return name(el) ? 'form' : null;
    return null;
  };
  const seen = Array.from(document.querySelectorAll('nav, main, aside, header, footer, section, form, [role]'))
    .filter((el) => el.offsetParent !== null || getComputedStyle(el).display !== 'none')
    .map((el) => [role(el), name(el)])
    .filter(([r]) => ['banner', 'complementary', 'contentinfo', 'form', 'main', 'navigation', 'region', 'search'].includes(r))
    .map(([r, n]) => r + ':' + n);
  return seen.filter((key, i) => seen.indexOf(key) !== i);
}"""
