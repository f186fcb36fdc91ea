"""Running the web app: gunicorn (pre-fork: N worker processes × threads, each worker calling the
app factory and opening the index itself, so the processes share its files only through the page
cache) on Linux and macOS; waitress, one process, where gunicorn does not run (Windows).

SIGTERM (or Ctrl+C) lets running requests finish (up to ``GRACEFUL_SECONDS``); every request gets
an access-log line with its time in milliseconds on stderr.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

GRACEFUL_SECONDS = 30
REQUEST_TIMEOUT = 120
ACCESS_FORMAT = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'


def gunicorn_available() -> bool:
    if os.name == "nt":
        return False
    try:
        import gunicorn  # noqa: F401
    except ImportError:
        return False
    return True


def describe(workers: int, threads: int) -> str:
    if gunicorn_available():
        return f"gunicorn: {workers} 个进程 workers × {threads} 线程 threads"
    return f"waitress: 1 个进程 worker × {threads} 线程 threads"


def check_index(index_dir: Path) -> None:
    """Read the index's table of contents before forking, so a damaged or missing index is one
    line, not a traceback per worker (the segments are opened by the workers)."""
    from kb.index.store import IndexStore

    IndexStore(index_dir).check_toc()


def run(index_dir: Path, host: str, port: int, workers: int, threads: int) -> None:
    if gunicorn_available():
        _gunicorn(index_dir, host, port, workers, threads)
    else:
        _waitress(index_dir, host, port, threads)


def _waitress(index_dir: Path, host: str, port: int, threads: int) -> None:
    import waitress

    from kb.web import create_app

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    app = create_app(index_dir, log_requests=True)
    warm(app)
    waitress.serve(app, host=host, port=port, threads=threads, ident="kb")


def _gunicorn(index_dir: Path, host: str, port: int, workers: int, threads: int) -> None:
    from gunicorn.app.base import BaseApplication

    class KbApplication(BaseApplication):
        def load_config(self):
            options = {"bind": f"{host}:{port}", "workers": workers, "threads": threads,
                       "worker_class": "gthread", "graceful_timeout": GRACEFUL_SECONDS,
                       "timeout": REQUEST_TIMEOUT, "accesslog": "-", "errorlog": "-",
                       "access_log_format": ACCESS_FORMAT, "preload_app": False,
                       "proc_name": "kb"}
            if "control_socket_disable" in self.cfg.settings:  # gunicorn ≥ 24: one socket per user
                options["control_socket_disable"] = True
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            from kb.web import create_app

            app = create_app(index_dir)
            warm(app)
            return app

    share_before_fork(index_dir)
    KbApplication().run()


WARM_QUERIES = ("党建", "老旧小区没有物业怎么办")  # a keyword and a question: both paths of search


def warm(app) -> None:
    """Answer a search page and an API search inside this worker before it takes requests, so the
    first user does not pay for what the first request opens: the generation's columns and
    catalogue, lazy imports, the question tables, the compiled templates (~100 ms on the shipped
    corpus). One line on stderr says how long it took; a failure is one line too and never stops
    the server (the first request then pays, as before). ``/healthz`` reports ``warm``."""
    from urllib.parse import quote

    quiet = logging.getLogger("kb.access")
    began = time.perf_counter()
    was_disabled, quiet.disabled = quiet.disabled, True  # warm-up requests are nobody's
    try:
        client = app.test_client()
        for q in WARM_QUERIES:
            for path in (f"/?q={quote(q)}", f"/api/search?q={quote(q)}"):
                response = client.get(path)
                if response.status_code >= 500:
                    raise RuntimeError(f"{path}: HTTP {response.status_code}")
        app.extensions["kb_warm"] = True
        print(f"kb: 已预热 / warmed up in {(time.perf_counter() - began) * 1000:.0f} ms (pid {os.getpid()})",
              file=sys.stderr, flush=True)
    except Exception as exc:  # noqa: BLE001 — warming is an optimisation, never a reason not to serve
        print(f"kb: 预热失败，照常服务 / warm-up failed, serving anyway: {exc}", file=sys.stderr, flush=True)
    finally:
        quiet.disabled = was_disabled
    app.extensions["kb_searcher"].store.watch()  # warm the commits of other processes as they land


def share_before_fork(index_dir: Path) -> None:
    """Import the app and load jieba's dictionaries in the master, then freeze the garbage
    collector's view of them: the forked workers share those ~190 MB of pages copy-on-write
    instead of building a copy each. The index itself is opened by each worker after the fork."""
    import gc

    import kb.web  # noqa: F401 — the modules, their tables and the templates' code
    from kb.index.segmenter import warm_segmenter

    warm_segmenter(index_dir)
    limit_malloc_arenas()
    raise_open_file_limit()
    gc.collect()
    gc.freeze()


def raise_open_file_limit(wanted: int = 8192) -> None:
    """Lift the soft limit on open files towards the hard one (1,024 is a common default): a
    worker holds each segment's files once per lent searcher, twice while a new generation opens."""
    try:
        import resource
    except ImportError:  # Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def limit_malloc_arenas(arenas: int = 2) -> None:
    """glibc gives each thread that allocates its own malloc arena (up to 8 per core) and keeps
    what it frees: the score arrays of 8 request threads then pin their peak in every worker.
    Two arenas (as MALLOC_ARENA_MAX=2 would, set here for the forked workers) bound that."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name or os.name != "posix":
        return
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt(-8, arenas)  # M_ARENA_MAX
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to bound
        return
