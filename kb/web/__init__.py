"""Stage 6 — serve: the Flask app (factory + blueprints). The only layer that imports Flask."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, g, jsonify, render_template, request

from kb.basket import BasketStore, new_basket_id, valid_basket_id
from kb.index import default_index_dir
from kb.search import Searcher

BASKET_COOKIE = "kb_basket"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def default_basket_db() -> Path:
    return Path(os.environ.get("KB_BASKET_DB") or "var/basket.sqlite")


def create_app(index_dir: Path | str | None = None, basket_db: Path | str | None = None) -> Flask:
    """Build the app over an existing index directory."""
    app = Flask(__name__)
    app.config["JSON_AS_ASCII"] = False
    app.json.ensure_ascii = False
    app.extensions["kb_searcher"] = Searcher(Path(index_dir or default_index_dir()))
    app.extensions["kb_basket"] = BasketStore(basket_db or default_basket_db())

    from kb.web.api import api
    from kb.web.pages import pages

    app.register_blueprint(pages)
    app.register_blueprint(api, url_prefix="/api")

    @app.before_request
    def open_request():
        app.extensions["kb_searcher"].refresh()  # see commits made by `kb index`/`kb add`
        cookie = request.cookies.get(BASKET_COOKIE)
        g.new_basket = not valid_basket_id(cookie)
        g.basket_id = new_basket_id() if g.new_basket else cookie

    @app.after_request
    def secure(response):
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        if g.get("new_basket") and g.get("basket_used"):
            response.set_cookie(BASKET_COOKIE, g.basket_id, max_age=365 * 24 * 3600,
                                httponly=True, samesite="Lax")
        return response

    def wants_json() -> bool:
        return request.path.startswith("/api/")

    @app.errorhandler(404)
    def not_found(_error):
        if wants_json():
            return jsonify(error="未找到 / not found"), 404
        return render_template("error.html", code=404, message="没有找到这个页面或文档。"), 404

    @app.errorhandler(405)
    def not_allowed(_error):
        if wants_json():
            return jsonify(error="不支持的请求方法 / method not allowed"), 405
        return render_template("error.html", code=405, message="不支持的请求方法。"), 405

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
