"""Property-based faults (issue 16): random bytes, encodings and names at every reader, random
JSON at every basket write endpoint of the live server — never a traceback, never a 500, nothing
indexed twice."""
import gzip
import http.client
import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webfixtures import LiveServer

SUFFIXES = (".txt", ".md", ".html", ".docx", ".pdf", ".jsonl", ".jsonl.gz", ".png", ".tif")
ENCODINGS = ("utf-8", "utf-8-sig", "gb18030", "big5", "utf-16", "latin-1", "shift_jis")
SAMPLE = "社区议事协商是基层治理的重要方式。居民代表每月开会，讨论小区停车与加装电梯。"
FAST = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))

# A file name: any text, or raw bytes that need not decode (no "/" or NUL, not "." or "..")
text_names = st.text(st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)),
                     min_size=1, max_size=12)
byte_names = st.binary(min_size=1, max_size=12).filter(lambda b: b"/" not in b and b"\x00" not in b)
names = st.one_of(text_names, byte_names.map(os.fsdecode)).filter(lambda n: n not in (".", ".."))


def encoded_text():
    return st.tuples(st.text(alphabet=st.sampled_from(SAMPLE + "abc 123\n\t\u3000\ufeff"), max_size=300),
                     st.sampled_from(ENCODINGS)).map(lambda t: t[0].encode(t[1], "replace"))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12)


def jsonl_bytes():
    record = st.fixed_dictionaries({}, optional={"id": json_values, "text": st.one_of(st.text(SAMPLE, max_size=80), json_values),
                                                 "title": json_values, "year": json_values})
    line = st.one_of(record.map(lambda r: json.dumps(r, ensure_ascii=False)), st.text(max_size=40))
    return st.lists(line, max_size=8).map(lambda ls: "\n".join(ls).encode("utf-8", "surrogatepass"))


contents = st.one_of(st.binary(max_size=2000), encoded_text(), jsonl_bytes())


def write(folder: Path, name: str, suffix: str, data: bytes) -> Path:
    path = Path(os.fsdecode(os.fsencode(str(folder)) + b"/" + os.fsencode(name[:40] + suffix)))
    if suffix == ".jsonl.gz":
        data = gzip.compress(data)[: len(data) if len(data) % 3 == 0 else None]  # sometimes cut short
    path.write_bytes(data)
    return path


def check_documents(docs) -> None:
    ids = [d.doc_id for d in docs]
    passages = [p.passage_id for d in docs for p in d.passages]
    assert len(ids) == len(set(ids)) and len(passages) == len(set(passages))
    for doc_id in ids:
        assert doc_id and doc_id.isprintable() and not any(c in doc_id for c in " \t\n#?%\\")
        assert doc_id.encode("utf-8")  # no lone surrogates
    for doc in docs:
        assert doc.source.isprintable() and doc.source.encode("utf-8")


@FAST
@given(files=st.lists(st.tuples(st.sampled_from(["", "a/", "b/"]), names, st.sampled_from(SUFFIXES), contents),
                      min_size=1, max_size=4))
def test_any_file_is_read_or_refused_in_one_line(files):
    from kb.cli.common import Found, read_files

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        found = []
        for folder, name, suffix, data in files:
            (root / folder).mkdir(exist_ok=True)
            path = write(root / folder, name, suffix, data)
            found.append(Found(path, path.relative_to(root).as_posix()))
        problems: list[str] = []
        docs, _read = read_files(found, problems)
        check_documents(docs)
        assert all("\n" not in p and p.isprintable() for p in problems)


@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(files=st.lists(st.tuples(st.sampled_from(["", "a/", "b/"]), st.sampled_from(["notes", "通知", "x y"]),
                                st.sampled_from([".txt", ".md"]), st.integers(0, 3)), min_size=2, max_size=6))
def test_a_real_index_holds_each_passage_once(files):
    from whoosh import index as windex

    from kb.cli.common import expand_paths, read_all
    from kb.ingest.pipeline import rebuild as build

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "corpus"
        for n, (folder, name, suffix, variant) in enumerate(files):
            (root / folder).mkdir(parents=True, exist_ok=True)
            (root / folder / f"{name}{suffix}").write_text(f"{SAMPLE}第{n}篇，变体{variant}。", encoding="utf-8")
        found, problems = expand_paths([root])
        docs = read_all(found, problems)
        build(Path(tmp) / "index", docs)
        with windex.open_dir(str(Path(tmp) / "index")).searcher() as searcher:
            stored = [f["passage_id"] for f in searcher.all_stored_fields()]
        assert len(stored) == len(set(stored)) == sum(len(d.passages) for d in docs)
        assert len({f.path for f in found}) == len({d.doc_id for d in docs})


@FAST
@given(docs=st.lists(st.tuples(st.sampled_from(["notes", "notes~2", "a/notes"]), st.sampled_from(["x.txt", "y.txt", "a/x.txt"])),
                     max_size=8),
       taken=st.dictionaries(st.sampled_from(["notes", "notes~2", "notes~3", "a/notes"]), st.sampled_from(["x.txt", "z.txt"]), max_size=3))
def test_unique_ids_are_unique_and_stable(docs, taken):
    from kb.text.documents import Document, unique_ids

    def run():
        made = [Document(i, s, "正文").split() for i, s in docs]
        return [(d.doc_id, d.source) for d in unique_ids(made, taken)]

    first = run()
    assert first == run()
    assert len({i for i, _ in first}) == len(first)
    for doc_id, source in first:
        assert taken.get(doc_id, source) == source  # never takes another file's id


# ------------------------------------------------------------------ the basket API, live

@pytest.fixture(scope="module")
def server(index_dir, tmp_path_factory):
    live = LiveServer(index_dir, tmp_path_factory.mktemp("var") / "basket.sqlite")
    yield live
    live.stop()


def request(server, method, path, body=None, cookie=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    headers = {"Content-Type": "application/json", **({"Cookie": f"kb_basket={cookie}"} if cookie else {})}
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data, (response.getheader("Set-Cookie") or "").split(";")[0].partition("=")[2]


@pytest.fixture(scope="module")
def session(server):
    status, data, _ = request(server, "GET", "/api/search?q=%E7%A4%BE%E5%8C%BA&limit=20")
    passages = [h["passage_id"] for h in json.loads(data)["hits"]]
    status, _, cookie = request(server, "POST", "/api/basket/items", json.dumps({"passage_id": passages[0]}).encode())
    assert status == 201 and cookie
    return server, cookie, passages


def body_of(value) -> bytes:
    return json.dumps(value).encode("utf-8")  # NaN/Infinity and escaped lone surrogates included


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_random_json_at_every_basket_write_is_never_a_500(session, data):
    server, cookie, passages = session
    items = [i["id"] for i in json.loads(request(server, "GET", "/api/basket", cookie=cookie)[1])["items"]]
    pick, other = data.draw(st.tuples(st.integers(0, 9), st.integers(0, 10**30)))  # never drawn from state
    item = data.draw(st.sampled_from([items[pick % len(items)] if items else 1, other]))
    fields = st.fixed_dictionaries({}, optional={"passage_id": st.one_of(st.sampled_from(passages), json_values),
                                                 "note": json_values, "move": json_values, "ids": json_values})
    body = data.draw(st.one_of(fields.map(body_of), json_values.map(body_of), st.binary(max_size=300),
                               st.just(b"[" * 3000), st.just(b'{"move": 1e999}')))
    method, path = data.draw(st.sampled_from([("POST", "/api/basket/items"), ("PATCH", f"/api/basket/items/{item}"),
                                              ("PUT", "/api/basket/order"), ("DELETE", f"/api/basket/items/{item}")]))
    status, answer, _ = request(server, method, path, body, cookie)
    assert status < 500, (method, path, body[:200], answer[:300])
    if status >= 400:
        message = json.loads(answer)["error"]
        assert any("\u4e00" <= ch <= "\u9fff" for ch in message)
    basket = json.loads(request(server, "GET", "/api/basket", cookie=cookie)[1])["items"]
    ids = [i["passage_id"] for i in basket]
    assert len(ids) == len(set(ids))  # nothing collected twice
