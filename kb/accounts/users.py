"""Administrators: names, salted slow password hashes, API tokens, sign-in sessions, failed tries.

Kept in ``accounts.sqlite`` beside the basket (``var/`` unless ``KB_BASKET_DB`` says otherwise),
readable by its owner only. Passwords are hashed with Argon2id (argon2-cffi: salt and parameters
live in the hash); tokens are random and only their SHA-256 is stored, so the file alone signs
nobody in. Every process of the server reads the same file: a session started in one worker is
known to all. Nothing here imports Flask.
"""
from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

ROLES = ("admin", "reader")  # reader: may sign in, may not write (403)
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
MAX_NAME = 64
SESSION_SECONDS = 12 * 3600
FREE_TRIES = 3          # failed sign-ins per name and address before the wait starts
MAX_WAIT = 300.0        # seconds: the longest wait after many failures
FORGET_FAILURES = 3600  # a failure older than this no longer counts
TOKEN_PREFIX = "kb_"
ACCOUNTS_FILE = "accounts.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
  name TEXT PRIMARY KEY, hash TEXT NOT NULL, role TEXT NOT NULL DEFAULT 'admin', created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
  digest TEXT PRIMARY KEY, name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
  kind TEXT NOT NULL, created REAL NOT NULL, expires REAL, last_used REAL
);
CREATE INDEX IF NOT EXISTS tokens_name ON tokens (name);
CREATE TABLE IF NOT EXISTS failures (
  name TEXT NOT NULL, address TEXT NOT NULL, count INTEGER NOT NULL, last REAL NOT NULL,
  PRIMARY KEY (name, address)
);
"""


class AccountError(ValueError):
    """An account request that cannot be carried out (message for the user)."""


@dataclass(frozen=True)
class User:
    name: str
    role: str

    @property
    def admin(self) -> bool:
        return self.role == "admin"


def accounts_path(basket_db: Path | str) -> Path:
    """The accounts file that belongs with a basket file (same folder)."""
    return Path(basket_db).parent / ACCOUNTS_FILE


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()  # Argon2id, RFC 9106's low-memory profile (64 MiB, 3 passes)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not 0 < len(name) <= MAX_NAME or any(not ch.isprintable() or ch.isspace() for ch in name):
        raise AccountError(f"用户名应为 1–{MAX_NAME} 个可见字符，不含空格 / a name is 1–{MAX_NAME} visible characters")
    return name


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password or "") <= MAX_PASSWORD:
        raise AccountError(f"密码至少 {MIN_PASSWORD} 个字符 / a password has at least {MIN_PASSWORD} characters")
    return password


def backoff(failures: int) -> float:
    """Seconds to wait before the next try after ``failures`` failed ones: none for the first
    few, then doubling from 1 s up to ``MAX_WAIT``."""
    if failures < FREE_TRIES:
        return 0.0
    return min(MAX_WAIT, 2.0 ** (failures - FREE_TRIES))


class Accounts:
    """The accounts file: users, tokens, sessions and failed sign-ins."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        with self._connect() as db:
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA foreign_keys = ON")
        return db

    # ------------------------------------------------------------ users
    def add(self, name: str, password: str, role: str = "admin") -> User:
        name, password = check_name(name), check_password(password)
        if role not in ROLES:
            raise AccountError(f"角色应为 {' / '.join(ROLES)} / role must be one of {', '.join(ROLES)}")
        hashed = _hasher().hash(password)
        try:
            with self._connect() as db:
                db.execute("INSERT INTO users (name, hash, role, created) VALUES (?, ?, ?, ?)",
                           (name, hashed, role, time.time()))
        except sqlite3.IntegrityError:
            raise AccountError(f"用户已存在 / the user exists: {name}") from None
        return User(name, role)

    def set_password(self, name: str, password: str) -> None:
        """A new password; the user's sign-in sessions end (API tokens stay)."""
        hashed = _hasher().hash(check_password(password))
        with self._connect() as db:
            if not db.execute("UPDATE users SET hash=? WHERE name=?", (hashed, name)).rowcount:
                raise AccountError(f"没有这个用户 / no such user: {name}")
            db.execute("DELETE FROM tokens WHERE name=? AND kind='session'", (name,))

    def remove(self, name: str) -> None:
        with self._connect() as db:
            if not db.execute("DELETE FROM users WHERE name=?", (name,)).rowcount:
                raise AccountError(f"没有这个用户 / no such user: {name}")

    def users(self) -> list[dict]:
        with self._connect() as db:
            rows = db.execute("SELECT u.name, u.role, u.created, "
                              "(SELECT COUNT(*) FROM tokens t WHERE t.name=u.name AND t.kind='api') AS tokens "
                              "FROM users u ORDER BY u.name").fetchall()
        return [dict(row) for row in rows]

    def user(self, name: str) -> User | None:
        with self._connect() as db:
            row = db.execute("SELECT name, role FROM users WHERE name=?", (name,)).fetchone()
        return User(row["name"], row["role"]) if row else None

    def verify(self, name: str, password: str) -> User | None:
        """The user if ``password`` is theirs (an unknown name costs the same time)."""
        from argon2.exceptions import InvalidHashError, VerificationError

        with self._connect() as db:
            row = db.execute("SELECT name, role, hash FROM users WHERE name=?", (name,)).fetchone()
        hasher = _hasher()
        try:
            if row is None:
                hasher.verify(_dummy_hash(), password or "-")
                return None
            hasher.verify(row["hash"], password)
        except (VerificationError, InvalidHashError):
            return None
        if hasher.check_needs_rehash(row["hash"]):
            with self._connect() as db:
                db.execute("UPDATE users SET hash=? WHERE name=?", (hasher.hash(password), name))
        return User(row["name"], row["role"])

    # ------------------------------------------------------------ tokens and sessions
    def _issue(self, name: str, kind: str, lifetime: float | None) -> str:
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = time.time()
        with self._connect() as db:
            if not db.execute("SELECT 1 FROM users WHERE name=?", (name,)).fetchone():
                raise AccountError(f"没有这个用户 / no such user: {name}")
            db.execute("INSERT INTO tokens (digest, name, kind, created, expires) VALUES (?, ?, ?, ?, ?)",
                       (digest(token), name, kind, now, now + lifetime if lifetime else None))
        return token

    def issue_token(self, name: str) -> str:
        """A new API token (Authorization: Bearer …); shown once, only its hash is kept."""
        return self._issue(name, "api", None)

    def revoke_tokens(self, name: str) -> int:
        with self._connect() as db:
            return db.execute("DELETE FROM tokens WHERE name=? AND kind='api'", (name,)).rowcount

    def start_session(self, name: str) -> str:
        return self._issue(name, "session", SESSION_SECONDS)

    def end_session(self, token: str) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM tokens WHERE digest=? AND kind='session'", (digest(token),))

    def user_for(self, token: str | None, kind: str) -> User | None:
        """The user an API token or session token belongs to, or None (unknown, expired)."""
        if not token or len(token) > 200 or not token.startswith(TOKEN_PREFIX):
            return None
        now = time.time()
        with self._connect() as db:
            row = db.execute("SELECT u.name, u.role, t.expires FROM tokens t JOIN users u ON u.name=t.name "
                             "WHERE t.digest=? AND t.kind=?", (digest(token), kind)).fetchone()
            if row is None or (row["expires"] is not None and row["expires"] < now):
                return None
            db.execute("UPDATE tokens SET last_used=? WHERE digest=?", (now, digest(token)))
        return User(row["name"], row["role"])

    # ------------------------------------------------------------ failed sign-ins
    def wait_before_try(self, name: str, address: str) -> float:
        """Seconds before ``name`` may try again from ``address`` (0: now)."""
        with self._connect() as db:
            row = db.execute("SELECT count, last FROM failures WHERE name=? AND address=?",
                             (name[:MAX_NAME * 4], address)).fetchone()
        if row is None or time.time() - row["last"] > FORGET_FAILURES:
            return 0.0
        return max(0.0, row["last"] + backoff(row["count"]) - time.time())

    def failed(self, name: str, address: str) -> float:
        """Count a failed try; returns the wait before the next one."""
        now = time.time()
        with self._connect() as db:
            db.execute("DELETE FROM failures WHERE last < ?", (now - FORGET_FAILURES,))
            db.execute("INSERT INTO failures (name, address, count, last) VALUES (?, ?, 1, ?) "
                       "ON CONFLICT (name, address) DO UPDATE SET count=count+1, last=excluded.last",
                       (name[:MAX_NAME * 4], address, now))
            count = db.execute("SELECT count FROM failures WHERE name=? AND address=?",
                               (name[:MAX_NAME * 4], address)).fetchone()[0]
        return backoff(count)

    def succeeded(self, name: str, address: str) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM failures WHERE name=? AND address=?", (name, address))


_DUMMY: list[str] = []


def _dummy_hash() -> str:
    if not _DUMMY:
        _DUMMY.append(_hasher().hash(secrets.token_hex(16)))
    return _DUMMY[0]
