"""The material basket (素材篮): passages a trainer collects, ordered and annotated.

Kept server-side in SQLite, keyed by a random basket id that the browser holds in a cookie:
it survives reloads and server restarts, works the same for the JSON API and the pages, and the
Word export is built on the server from the stored snapshot of each passage (so a rebuilt index
never changes or loses what was collected). Basket ids are issued by the server and signed
(:class:`BasketIds`): a client cannot choose one, a forged cookie gets a new basket.
"""
from __future__ import annotations

import os
import json
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

SNAPSHOT = ("passage_id", "doc_id", "source", "title", "unit", "place", "year", "type", "heading",
            "passage", "article")
# kept (as JSON in `cite`) for the handout's references and place groups
CITE_SNAPSHOT = ("province", "city", "collection", "author", "cite")
MAX_ITEMS = 500
MAX_NOTE = 2000

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  basket TEXT NOT NULL,
  position REAL NOT NULL,
  note TEXT NOT NULL DEFAULT '',
  added REAL NOT NULL,
  passage_id TEXT NOT NULL, doc_id TEXT, source TEXT, title TEXT, unit TEXT, place TEXT,
  year INTEGER, type TEXT, heading TEXT, passage TEXT,
  UNIQUE (basket, passage_id)
);
CREATE INDEX IF NOT EXISTS items_basket ON items (basket, position);
CREATE TABLE IF NOT EXISTS search_pairs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  query TEXT NOT NULL,
  passage_id TEXT NOT NULL,
  passage TEXT NOT NULL,
  type TEXT,
  added REAL NOT NULL
);
"""
MIGRATIONS = {"cite": "ALTER TABLE items ADD COLUMN cite TEXT NOT NULL DEFAULT '{}'",
              "article": "ALTER TABLE items ADD COLUMN article TEXT"}  # basket files from before
MAX_QUERY = 200


class BasketError(ValueError):
    """A basket request that cannot be carried out (message for the user)."""


def new_basket_id() -> str:
    return secrets.token_urlsafe(18)


def valid_basket_id(value: str | None) -> bool:
    return bool(value) and 16 <= len(value) <= 64 and all(c.isascii() and (c.isalnum() or c in "-_")
                                                         for c in value)


SECRET_FILE = "secret.key"


def load_secret(folder: Path | str) -> bytes:
    """The server's signing key in ``folder/secret.key``, created on first start (readable by the
    owner only; written under another name and linked in, so two servers starting at once agree)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / SECRET_FILE
    if not path.exists():
        tmp = folder / f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    secret = path.read_text(encoding="ascii").strip()
    if len(secret) < 32:
        raise ValueError(f"{path}: 签名密钥无效，请删除该文件后重启 / bad secret key, delete it and restart")
    return secret.encode("ascii")


class BasketIds:
    """Issues basket ids and signs them for the cookie; only ids it signed are accepted."""

    def __init__(self, secret: bytes):
        from itsdangerous import Signer  # comes with Flask; nothing here imports Flask

        self._signer = Signer(secret, salt="kb-basket")

    def issue(self) -> tuple[str, str]:
        """(a new basket id, its signed cookie value)."""
        basket = new_basket_id()
        return basket, self.sign(basket)

    def sign(self, basket: str) -> str:
        return self._signer.sign(basket).decode("ascii")

    def verify(self, cookie: str | None) -> str | None:
        """The basket id a cookie carries, or None if the server did not sign it."""
        from itsdangerous import BadSignature

        if not cookie or len(cookie) > 200 or not cookie.isascii():
            return None
        try:
            basket = self._signer.unsign(cookie).decode("ascii")
        except (BadSignature, UnicodeError):
            return None
        return basket if valid_basket_id(basket) else None


class BasketStore:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as db:
            db.executescript(SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(items)")}
            for column, statement in MIGRATIONS.items():
                if column not in columns:
                    try:
                        db.execute(statement)
                    except sqlite3.OperationalError as exc:  # another worker, starting beside this
                        if "duplicate column" not in str(exc):  # one on a new file, added it first
                            raise

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        return db

    def items(self, basket: str) -> list[dict[str, Any]]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM items WHERE basket=? ORDER BY position, id", (basket,))
            return [with_cite(dict(row)) for row in rows]

    def add(self, basket: str, hit: dict[str, Any], note: str = "", query: str = "") -> dict[str, Any]:
        """Add a passage (a hit or stored passage dict); adding it twice keeps one. ``query``, the
        search that found it, is kept as a (question, answer) pair for ``kb learn``."""
        values = {k: hit.get(k) for k in SNAPSHOT}
        values["passage"] = values["passage"] or hit.get("text", "")
        values["cite"] = json.dumps(cite_snapshot(hit), ensure_ascii=False)
        with self._lock, self._connect() as db:
            count, last = db.execute("SELECT COUNT(*), MAX(position) FROM items WHERE basket=?",
                                     (basket,)).fetchone()
            existing = db.execute("SELECT id FROM items WHERE basket=? AND passage_id=?",
                                  (basket, values["passage_id"])).fetchone()
            if existing:
                return self.get(basket, existing[0], db)
            if count >= MAX_ITEMS:
                raise BasketError(f"素材篮最多 {MAX_ITEMS} 条")
            if query.strip() and values["passage"]:
                db.execute("INSERT INTO search_pairs (query, passage_id, passage, type, added) "
                           "VALUES (?, ?, ?, ?, ?)", (query.strip()[:MAX_QUERY], values["passage_id"],
                                                      values["passage"], values["type"], time.time()))
            cursor = db.execute(
                f"INSERT INTO items (basket, position, note, added, {', '.join(values)}) "
                f"VALUES (?, ?, ?, ?, {', '.join('?' for _ in values)})",
                (basket, (last or 0) + 1, note[:MAX_NOTE], time.time(), *values.values()))
            return self.get(basket, cursor.lastrowid, db)

    def search_pairs(self) -> list[tuple[str, dict[str, Any]]]:
        """(query, {text, type}) of every passage added to a basket from a search, oldest first."""
        with self._connect() as db:
            return [(r["query"], {"text": r["passage"], "type": r["type"] or ""}) for r in
                    db.execute("SELECT query, passage, type FROM search_pairs ORDER BY id")]

    def get(self, basket: str, item_id: int, db: sqlite3.Connection | None = None) -> dict | None:
        db = db or self._connect()
        row = db.execute("SELECT * FROM items WHERE basket=? AND id=?", (basket, item_id)).fetchone()
        return with_cite(dict(row)) if row else None

    def annotate(self, basket: str, item_id: int, note: str) -> dict | None:
        with self._lock, self._connect() as db:
            db.execute("UPDATE items SET note=? WHERE basket=? AND id=?", (note[:MAX_NOTE], basket, item_id))
            return self.get(basket, item_id, db)

    def reorder(self, basket: str, item_ids: list[int]) -> list[dict[str, Any]]:
        """Put the listed items first, in that order; the rest keep their order after them."""
        current = [item["id"] for item in self.items(basket)]
        wanted = [i for i in item_ids if i in current]
        order = wanted + [i for i in current if i not in wanted]
        with self._lock, self._connect() as db:
            for position, item_id in enumerate(order, 1):
                db.execute("UPDATE items SET position=? WHERE basket=? AND id=?", (position, basket, item_id))
        return self.items(basket)

    def move(self, basket: str, item_id: int, step: int) -> list[dict[str, Any]]:
        ids = [item["id"] for item in self.items(basket)]
        if item_id not in ids:
            raise BasketError("素材篮里没有这一条")
        i = ids.index(item_id)
        j = max(0, min(len(ids) - 1, i + step))
        ids.insert(j, ids.pop(i))
        return self.reorder(basket, ids)

    def remove(self, basket: str, item_id: int) -> bool:
        with self._lock, self._connect() as db:
            return db.execute("DELETE FROM items WHERE basket=? AND id=?", (basket, item_id)).rowcount > 0

    def clear(self, basket: str) -> int:
        with self._lock, self._connect() as db:
            return db.execute("DELETE FROM items WHERE basket=?", (basket,)).rowcount


def cite_snapshot(hit: dict[str, Any]) -> dict[str, Any]:
    """What the handout needs beyond the snapshot columns: place parts and citation fields."""
    data = {k: hit.get(k) for k in CITE_SNAPSHOT[:-1] if hit.get(k)}
    cite = hit.get("cite")
    if isinstance(cite, dict):
        data.update({k: v for k, v in cite.items() if v not in (None, "")})
    return data


def with_cite(item: dict[str, Any]) -> dict[str, Any]:
    """A stored row with its citation snapshot as a dict (flattened by kb.materials.handout)."""
    try:
        item["cite"] = json.loads(item.get("cite") or "{}")
    except ValueError:
        item["cite"] = {}
    return item
