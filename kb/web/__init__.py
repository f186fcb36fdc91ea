"""The web — the Flask app: ``create_app`` (the factory) and its blueprints; the only layer that
imports Flask.

* :mod:`~kb.web.pages` — the HTML pages (search, document, models, compare, basket, help);
* :mod:`~kb.web.api` — the JSON API (search, documents, basket, handouts, models; OpenAPI in
  :mod:`~kb.web.openapi`);
* :mod:`~kb.web.uploads` — the upload page and ``/api/documents``: jobs with progress;
* :mod:`~kb.web.auth` — sign-in, sessions, tokens, CSRF;
* :mod:`~kb.web.views` and :mod:`~kb.web.refining` — data for the templates (facets, chips, refine bar);
* :mod:`~kb.web.serve` — ``kb serve``: gunicorn (or waitress) around the factory.

May import: every stage below it (text, index, catalogue, ingest, search, materials, accounts).
"""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from flask import Flask, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from kb.materials.basket import BasketIds, BasketStore, load_secret
from kb.search import Searcher
from kb.index.errors import StoreError
from kb.index.schema import default_index_dir

access_log = logging.getLogger("kb.access")

BASKET_COOKIE = "kb_basket"
MAX_BODY = 256 * 1024  # the largest request the API takes (a basket order, a note) is a few KB
ERRORS = {400: "请求无效", 401: "需要管理员登录", 403: "没有权限", 404: "没有找到这个页面或文档",
          405: "不支持的请求方法", 429: "尝试过于频繁，请稍后再试",
          413: f"请求体过大（超过 {MAX_BODY // 1024} KB）", 414: "网址过长",
          415: "请求体应为 JSON", 431: "请求头过大"}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def default_basket_db() -> Path:
    return Path(os.environ.get("KB_BASKET_DB") or "var/basket.sqlite")


def create_app(index_dir: Path | str | None = None, basket_db: Path | str | None = None,
               log_requests: bool = False) -> Flask:
    """Build the app over an existing index directory (the factory gunicorn calls in each worker).
    ``log_requests``: an access-log line per request with its time (when the server keeps none)."""
    app = Flask(__name__)
    app.config["JSON_AS_ASCII"] = False
    app.json.ensure_ascii = False
    app.extensions["kb_searcher"] = Searcher(Path(index_dir or default_index_dir()))
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY  # larger bodies: 413, never read
    basket_path = Path(basket_db or default_basket_db())
    app.extensions["kb_basket"] = BasketStore(basket_path)
    app.extensions["kb_basket_ids"] = BasketIds(load_secret(basket_path.parent))

    from kb.web.api import api
    from kb.web.pages import pages

    app.register_blueprint(pages)
    app.register_blueprint(api, url_prefix="/api")

    from kb.web.auth import csrf, init_auth
    from kb.web.uploads import init_uploads

    init_auth(app, basket_path)  # sign-in, CSRF on forms (issue 12)
    csrf.exempt(api)  # the basket API: per-visitor, open as before (no account behind it)
    init_uploads(app, Path(index_dir or default_index_dir()), basket_path)

    @app.before_request
    def open_request():
        g.began = time.perf_counter()
        # every request reads the latest generation (commits of `kb index`/`kb add` show at once)
        app.extensions["kb_searcher"].unpin()
        ids: BasketIds = app.extensions["kb_basket_ids"]
        g.basket_id = ids.verify(request.cookies.get(BASKET_COOKIE))
        g.new_basket = g.basket_id is None
        if g.new_basket:  # no cookie, or one this server did not sign: a new basket
            g.basket_id, g.basket_cookie = ids.issue()

    @app.after_request
    def secure(response):
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        if g.get("new_basket") and g.get("basket_used"):
            response.set_cookie(BASKET_COOKIE, g.basket_cookie, max_age=365 * 24 * 3600,
                                httponly=True, samesite="Lax")
        if log_requests:
            access_log.info('%s "%s %s" %s %.1fms', request.remote_addr, request.method,
                            request.full_path.rstrip("?"), response.status_code,
                            (time.perf_counter() - g.get("began", time.perf_counter())) * 1000)
        return response

    @app.teardown_request
    def close_request(_exc):
        app.extensions["kb_searcher"].unpin()  # the generation is closed once its last request ends

    @app.get("/healthz")
    def healthz():
        try:
            return jsonify(status="ok", warm=bool(app.extensions.get("kb_warm")),
                           **app.extensions["kb_searcher"].store.stats())
        except StoreError as exc:
            return jsonify(status="error", error=str(exc)), 503

    @app.errorhandler(StoreError)
    def index_unavailable(exc):
        message = f"索引暂不可用 / the index is unavailable: {exc}"
        if wants_json() or request.path == "/healthz":
            return jsonify(error=message), 503
        return render_template("error.html", code=503, message=message), 503

    def wants_json() -> bool:
        return request.path.startswith("/api/")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        """Every 4xx the app or Werkzeug raises: JSON under /api/, a page elsewhere, in Chinese."""
        code = error.code or 500
        message = getattr(error, "kb_message", None) or ERRORS.get(code) or "请求无法处理"
        # Allow (405), WWW-Authenticate (401), Retry-After (429/503) as the exception set them (RFC 9110)
        headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
        if wants_json():
            return jsonify(error=f"{message} / {error.name.lower()}"), code, headers
        return render_template("error.html", code=code, message=message + "。"), code, headers

    @app.errorhandler(500)
    def server_error(_error):
        if wants_json():
            return jsonify(error="服务器内部错误 / internal error"), 500
        return render_template("error.html", code=500, message="服务器出错了，请稍后再试。"), 500

    return app


def searcher() -> Searcher:
    from flask import current_app

    return current_app.extensions["kb_searcher"]


def basket() -> tuple[BasketStore, str]:
    from flask import current_app

    g.basket_used = True
    return current_app.extensions["kb_basket"], g.basket_id
