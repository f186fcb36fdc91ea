"""Every fault and bad input (issue 16): real files, a real index on disk, `kb` as a subprocess,
the real server over HTTP. Each test failed on main before the fix."""
import gzip
import http.client
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest

from conftest import ROOT
from webfixtures import LiveServer

KB = [sys.executable, "-m", "kb.cli"]

TEXT_A = ("社区议事协商是基层治理的重要方式。居民代表每月开会，讨论小区停车、加装电梯和垃圾分类，"
          "形成共识后交由物业和居委会落实，议事记录张贴在楼道公告栏。识别码ALPHA001。")
TEXT_B = ("红色物业把党组织的作用延伸到楼栋。楼道党员认领服务岗位，收集居民诉求，"
          "每周向社区党委汇报进展，年底由居民投票评议服务质量。识别码BRAVO002。")
RECORD = ("第{n}号记录：网格员走访独居老人{n}户，登记用药和就医需求，协调志愿者每周上门。"
          "街道为此建立台账，按月回访，问题清零后销号。识别码REC{n:03d}X。")


def kb(*args, env=None):
    cmd = KB + [a if isinstance(a, bytes) else str(a) for a in args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, env={**os.environ, **(env or {})},
                          timeout=600)


def out(done) -> str:
    return done.stdout.decode("utf-8", "replace")


def err(done) -> str:
    return done.stderr.decode("utf-8", "replace")


def records(first: int, last: int) -> list[str]:
    return [json.dumps({"id": f"rec-{n:03d}", "title": f"走访记录{n}", "text": RECORD.format(n=n)},
                       ensure_ascii=False) for n in range(first, last + 1)]


def make_faulty_folder(root: Path) -> Path:
    """Two notes.txt in two folders, a JSON-lines file with a broken line 6, a truncated
    .jsonl.gz, a name with a newline and one with an undecodable byte."""
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    (root / "a" / "notes.txt").write_text(TEXT_A, encoding="utf-8")
    (root / "b" / "notes.txt").write_text(TEXT_B, encoding="utf-8")
    lines = records(1, 10)
    lines[5] = '{"id": "rec-006", "text": "断了'
    (root / "visits.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    packed = gzip.compress("\n".join(records(20, 69)).encode("utf-8"))
    (root / "cut.jsonl.gz").write_bytes(packed[: len(packed) // 2])
    (root / "line\nbreak.txt").write_text("换行文件名：" + TEXT_A.replace("ALPHA001", "NEWLINE03"),
                                          encoding="utf-8")
    odd = os.fsencode(str(root)) + b"/odd\xff.txt"
    with open(odd, "wb") as handle:
        handle.write(("怪字节文件名：" + TEXT_B.replace("BRAVO002", "ODDBYTE04")).encode("utf-8"))
    return root


def search(index: Path, query: str) -> list[dict]:
    """Hits from the index on disk (in process: `kb search` itself is run below)."""
    from kb.search import Searcher

    with Searcher(index) as searcher:
        return searcher.search(query, limit=50).hits


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    return make_faulty_folder(tmp_path_factory.mktemp("faulty") / "root")


@pytest.fixture(scope="module")
def built(faulty, tmp_path_factory):
    index = tmp_path_factory.mktemp("built") / "index"
    return index, kb("index", faulty, "--index", index)


def test_index_reports_each_bad_file_in_one_line_and_indexes_the_rest(built):
    index, done = built
    assert done.returncode == 1
    problems = err(done).strip().splitlines()
    assert "Aborted" not in err(done) and "Traceback" not in err(done)
    assert len([p for p in problems if "跳过 / skipped" in p]) == 2, problems
    jsonl_line = next(p for p in problems if "visits.jsonl" in p)
    assert "第 6 行" in jsonl_line
    assert next(p for p in problems if "cut.jsonl.gz" in p).count("\n") == 0
    for code in ("REC005X", "REC007X", "REC010X", "ALPHA001", "BRAVO002", "NEWLINE03", "ODDBYTE04"):
        assert search(index, code), code
    assert not search(index, "REC006X")


def test_same_file_name_in_two_folders_gets_two_readable_ids(built, faulty, tmp_path):
    index, _ = built
    a, b = search(index, "ALPHA001")[0], search(index, "BRAVO002")[0]
    assert (a["doc_id"], a["source"]) == ("a/notes", "a/notes.txt")
    assert (b["doc_id"], b["source"]) == ("b/notes", "b/notes.txt")
    added = tmp_path / "added"
    first = kb("add", faulty, "--index", added)
    assert "already exists" not in err(first) and "Traceback" not in err(first)
    assert first.returncode == 1  # the bad files, each one line
    assert {h["doc_id"] for h in search(added, "识别码")} >= {"a/notes", "b/notes"}
    again = kb("add", faulty, "--index", added)  # stable: the same files get the same ids
    unchanged = [line for line in out(again).splitlines() if "未变" in line][0]
    added_line = [line for line in out(again).splitlines() if "新增" in line][0]
    assert added_line.split()[-1] == "0" and int(unchanged.split()[-1]) >= 4
    ambiguous = kb("remove", "notes.txt", "--index", added)
    assert ambiguous.returncode == 1 and "a/notes.txt" in err(ambiguous) and "b/notes.txt" in err(ambiguous)
    assert len(search(added, "ALPHA001")) == 1 and len(search(added, "BRAVO002")) == 1
    gone = kb("remove", faulty / "a" / "notes.txt", "--index", added)
    assert gone.returncode == 0 and "a/notes" in out(gone)
    assert not search(added, "ALPHA001") and search(added, "BRAVO002")[0]["doc_id"] == "b/notes"


def test_names_in_two_arguments_are_told_apart(faulty, tmp_path):
    index = tmp_path / "index"
    done = kb("add", faulty / "a" / "notes.txt", faulty / "b" / "notes.txt", "--index", index)
    assert done.returncode == 0, err(done)
    ids = {search(index, "ALPHA001")[0]["doc_id"], search(index, "BRAVO002")[0]["doc_id"]}
    assert ids == {"notes", "notes~2"}


def test_odd_names_give_printable_url_safe_ids(built):
    index, _ = built
    for code in ("NEWLINE03", "ODDBYTE04"):
        hit = search(index, code)[0]
        assert hit["doc_id"].isprintable() and not any(c in hit["doc_id"] for c in " \n#?%")
        assert hit["source"].isprintable()


def test_search_with_an_undecodable_byte(built):
    index, _ = built
    done = kb("search", b"\xff", "--index", index)
    assert done.returncode == 0 and "Traceback" not in err(done)
    both = kb("search", b"ALPHA001\xff", "--json", "--index", index)
    assert both.returncode == 0 and "Traceback" not in err(both)


def _zip_bomb(path: Path, inflated_mb: int) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as package:
        package.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with package.open("word/document.xml", "w", force_zip64=True) as part:
            chunk = b" " * 2**20
            for _ in range(inflated_mb):
                part.write(chunk)


def test_limits_on_what_readers_inflate_and_on_a_record(tmp_path):
    folder = tmp_path / "bombs"
    folder.mkdir()
    _zip_bomb(folder / "bomb.docx", 130)  # default limit: 100 MB inflated
    long_record = json.dumps({"id": "huge", "text": "长" * (2 * 2**20)}, ensure_ascii=False)
    (folder / "long.jsonl").write_text("\n".join([records(1, 1)[0], long_record, records(2, 2)[0]]),
                                       encoding="utf-8")
    with gzip.open(folder / "zeros.jsonl.gz", "wb") as handle:  # 60 MB of newlines: a 60 KB file
        for _ in range(60):
            handle.write(b"\n" * 2**20)
    (folder / "good.txt").write_text(TEXT_A, encoding="utf-8")
    index = tmp_path / "index"
    done = kb("add", folder, "--index", index, env={"KB_MAX_FILE_MB": "1", "KB_MAX_INFLATED_MB": "2"})
    problems = err(done).strip().splitlines()
    assert done.returncode == 1 and "Traceback" not in err(done)
    assert "压缩炸弹" in next(p for p in problems if "bomb.docx" in p)
    assert "第 2 行" in next(p for p in problems if "long.jsonl" in p)
    assert "压缩炸弹" in next(p for p in problems if "zeros.jsonl.gz" in p)
    assert search(index, "ALPHA001") and search(index, "REC001X") and search(index, "REC002X")
    assert not search(index, "长长长")


def test_reader_failures_are_one_line_for_add_too(faulty, tmp_path):
    index = tmp_path / "index"
    done = kb("add", faulty / "cut.jsonl.gz", faulty / "a", "--index", index)
    assert done.returncode == 1
    assert [p for p in err(done).splitlines() if "cut.jsonl.gz" in p] and "Traceback" not in err(done)
    assert search(index, "ALPHA001") and search(index, "REC020X")  # records before the damage


# ------------------------------------------------------------------ the server over HTTP

@pytest.fixture(scope="module")
def server(built, tmp_path_factory):
    index, _ = built
    var = tmp_path_factory.mktemp("var")
    live = LiveServer(index, var / "basket.sqlite")
    live.var = var
    yield live
    live.stop()


def call(server, method: str, path: str, body: bytes | None = None, cookie: str | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    headers = {"Content-Type": "application/json"}
    if cookie:
        headers["Cookie"] = f"kb_basket={cookie}"
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    cookie_out = (response.getheader("Set-Cookie") or "").split(";")[0].partition("=")[2] or None
    try:
        parsed = json.loads(data)
    except ValueError:
        parsed = None
    return response.status, parsed, cookie_out


def a_passage(server) -> str:
    status, body, _ = call(server, "GET", "/api/search?q=ALPHA001")
    return body["hits"][0]["passage_id"]


def test_every_result_link_opens(server):
    status, body, _ = call(server, "GET", f"/api/search?q={quote('识别码')}&limit=50")
    assert status == 200 and body["hits"]
    for hit in body["hits"]:
        for path in (f"/doc/{quote(hit['doc_id'])}", f"/api/docs/{quote(hit['doc_id'], safe='')}"):
            assert call(server, "GET", path)[0] == 200, path


@pytest.mark.parametrize("body", [b'{"move": Infinity}', b'{"move": 1e400}', b'{"move": NaN}',
                                  b"[" * 5000, b'{"move": ' + b"9" * 5000 + b"}", b'{"note": "\\udcff"}',
                                  b'{"move": true}', b'{"move": 1.5}', b'{"note": {"a": [[[[[[[[1]]]]]]]]}}',
                                  b"\xff\xfe", b'"just a string"'])
def test_bad_basket_json_is_a_4xx_in_chinese(server, body):
    status, _, cookie = call(server, "POST", "/api/basket/items", json.dumps({"passage_id": a_passage(server)}).encode())
    assert status == 201
    items = call(server, "GET", "/api/basket", cookie=cookie)[1]["items"]
    status, answer, _ = call(server, "PATCH", f"/api/basket/items/{items[0]['id']}", body, cookie=cookie)
    assert status == 400, (body, status, answer)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in answer["error"])


def test_huge_item_ids_and_bodies_are_refused(server):
    huge = "123456789012345678901234567890"
    assert call(server, "PATCH", f"/api/basket/items/{huge}", b'{"move": 1}')[0] == 404
    assert call(server, "DELETE", f"/api/basket/items/{huge}")[0] == 404
    assert call(server, "PUT", "/api/basket/order", ('{"ids": [%s]}' % huge).encode())[0] == 400
    status, answer, _ = call(server, "POST", "/api/basket/items", b" " * 300_000)
    assert status == 413 and "过大" in answer["error"]
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)  # 50 MB: never read
    conn.putrequest("POST", "/api/basket/items")
    conn.putheader("Content-Length", str(50 * 2**20))
    conn.endheaders()
    conn.send(b" " * 65536)
    assert conn.getresponse().status == 413
    conn.close()


def test_basket_ids_are_issued_and_signed_by_the_server(server):
    status, _, issued = call(server, "POST", "/api/basket/items",
                             json.dumps({"passage_id": a_passage(server)}).encode())
    assert status == 201 and issued and "." in issued
    assert len(call(server, "GET", "/api/basket", cookie=issued)[1]["items"]) == 1
    status, _, given = call(server, "POST", "/api/basket/items",
                            json.dumps({"passage_id": a_passage(server)}).encode(), cookie="a" * 16)
    assert status == 201 and given and not given.startswith("a" * 16)  # a new basket, signed
    forged = "a" * 16 + issued[issued.index("."):]
    body = call(server, "GET", "/api/basket", cookie=forged)[1]
    assert body["items"] == []
    assert (server.var / "secret.key").stat().st_mode & 0o077 == 0  # the owner's only


# ------------------------------------------------------------------ bounded cost

def test_did_you_mean_does_bounded_work(searcher, monkeypatch):
    from whoosh.searching import Searcher as WhooshSearcher

    from kb import search as ks
    from kb.search import related

    table = related.neighbours(searcher.columns())
    looked: list[str] = []

    class Counting(dict):
        def get(self, key, default=None):
            looked.append(key)
            return table.get(key, default)

    def scan_every_term(*_args, **_kwargs):
        raise AssertionError("did-you-mean must not walk the whole term list")

    monkeypatch.setattr(related, "neighbours", lambda cols: Counting())
    monkeypatch.setattr(WhooshSearcher, "suggest", scan_every_term)
    long_query = " ".join(f"qzv{n:02d}k" for n in range(34))[:200]  # 34 unknown words, no hit
    assert len(long_query) == 200 and not searcher.search(long_query).hits
    searcher.suggestions(long_query)
    assert len(looked) <= (ks.SUGGEST_WORDS + 1) * (ks.SUGGEST_MAX_LEN + 1)
    assert searcher.suggestions("两楼连动") == ["两楼联动"]  # the typo is still caught
