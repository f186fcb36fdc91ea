"""Sign-in for administrators: /login, /logout, and the check every write makes.

Reading stays open. A write (upload, removal) needs an administrator, known by a sign-in session
(cookie ``kb_session``: HttpOnly, SameSite=Lax, signed with the server's secret.key, naming a
session row in accounts.sqlite that logout or a new password ends) or by ``Authorization: Bearer``
with a token from `kb admin token`. Every form carries a CSRF token (Flask-WTF); an API write
made with the session cookie sends it as ``X-CSRFToken``. Failed sign-ins slow the next tries
from the same address for the same name. No user → 401, a user who may not write → 403.
"""
from __future__ import annotations

import os
from functools import wraps
from pathlib import Path
from urllib.parse import urlsplit

from flask import (Blueprint, abort, current_app, g, redirect, render_template, request, session)
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import Forbidden, TooManyRequests, Unauthorized

from kb.accounts.users import SESSION_SECONDS, Accounts, User, accounts_path
from kb.materials.basket import load_secret

auth = Blueprint("auth", __name__)
csrf = CSRFProtect()
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
MAX_FIELD = 1024


def init_auth(app, basket_path: Path) -> None:
    """Sessions, CSRF and the accounts file for ``app`` (called by create_app)."""
    app.config.update(
        SECRET_KEY=load_secret(basket_path.parent), SESSION_COOKIE_NAME="kb_session",
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("KB_SECURE_COOKIES", "") == "1",  # behind HTTPS
        PERMANENT_SESSION_LIFETIME=SESSION_SECONDS, WTF_CSRF_TIME_LIMIT=SESSION_SECONDS,
        WTF_CSRF_SSL_STRICT=False)  # SameSite=Lax and the token do the work; proxies rewrite Referer
    app.extensions["kb_accounts"] = Accounts(accounts_path(basket_path))
    csrf.init_app(app)
    app.register_blueprint(auth)

    @app.context_processor
    def signed_in_user():
        return {"current_user": current_user()}

    @app.errorhandler(CSRFError)
    def csrf_refused(error: CSRFError):
        denied = Forbidden()
        denied.kb_message = "表单校验码（CSRF）缺失或已过期，请刷新页面后重试"
        return app.handle_http_exception(denied)


def accounts() -> Accounts:
    return current_app.extensions["kb_accounts"]


def current_user() -> User | None:
    """The signed-in user of this request (bearer token first, then the session), or None."""
    if "user" in g:
        return g.user
    g.user, g.auth_via, g.bad_token = None, None, False
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        g.auth_via = "bearer"
        g.user = accounts().user_for(token.strip(), "api") if scheme.lower() == "bearer" else None
        g.bad_token = g.user is None
    elif current_app.config["SESSION_COOKIE_NAME"] in request.cookies and session.get("sid"):
        g.user = accounts().user_for(session["sid"], "session")
        g.auth_via = "session" if g.user else None
    return g.user


def unauthorized(message: str = "需要管理员登录") -> Unauthorized:
    from werkzeug.datastructures import WWWAuthenticate

    error_ = "invalid_token" if g.get("bad_token") else None
    exc = Unauthorized(www_authenticate=WWWAuthenticate("Bearer", {"realm": "kb", **({"error": error_} if error_ else {})}))
    exc.kb_message = message + ("（令牌无效）" if error_ else "")
    return exc


def admin_user() -> User:
    """The administrator making this request; aborts 401 (nobody) or 403 (not an administrator)."""
    user = current_user()
    if user is None:
        raise unauthorized()
    if not user.admin:
        denied = Forbidden()
        denied.kb_message = "需要管理员权限"
        raise denied
    return user


def check_csrf() -> None:
    """A write carried by the session cookie must bring its CSRF token (form field or
    X-CSRFToken header); a bearer token needs none (a browser never adds it by itself)."""
    if g.get("auth_via") == "session" and request.method not in SAFE_METHODS:
        csrf.protect()


def check_admin() -> User:
    """:func:`admin_user` and :func:`check_csrf` (403 without the token)."""
    user = admin_user()
    check_csrf()
    return user


def admin_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        check_admin()
        return view(*args, **kwargs)
    return wrapper


def local_target(target: str | None, default: str = "/") -> str:
    """Where to go after signing in: a path on this site only."""
    if not target or len(target) > 2000 or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else default


@auth.get("/login")
def login_page():
    return render_template("login.html", next=local_target(request.args.get("next"), "/upload"),
                           name="", message="")


@auth.post("/login")
def login():
    name = request.form.get("name", "").strip()[:MAX_FIELD]
    password = request.form.get("password", "")[:MAX_FIELD]
    target = local_target(request.form.get("next"), "/upload")
    address = request.remote_addr or "-"
    wait = accounts().wait_before_try(name, address)
    if wait > 0:
        return too_many(wait, name, target)
    user = accounts().verify(name, password) if name and password else None
    if user is None:
        wait = accounts().failed(name, address)
        message = "用户名或密码错误。" + (f"请 {wait:.0f} 秒后再试。" if wait >= 1 else "")
        return render_template("login.html", next=target, name=name, message=message), 401
    accounts().succeeded(name, address)
    session.clear()
    session.permanent = True
    session["sid"] = accounts().start_session(user.name)
    return redirect(target if user.admin else "/", code=303)


def too_many(wait: float, name: str, target: str):
    seconds = max(1, round(wait))
    body = render_template("login.html", next=target, name=name,
                           message=f"登录失败次数过多，请 {seconds} 秒后再试。")
    return body, TooManyRequests.code, {"Retry-After": str(seconds)}


@auth.post("/logout")
def logout():
    sid = session.get("sid")
    if sid:
        accounts().end_session(sid)
    session.clear()
    return redirect("/", code=303)


def forbid_unless_admin_page():
    """For pages: nobody signed in → the sign-in page; a non-administrator → 403."""
    user = current_user()
    if user is None:
        return redirect("/login?next=" + request.path, code=303)
    if not user.admin:
        abort(403)
    return None
