"""The ``kb`` command: index, search, eval, serve (bilingual messages)."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import NamedTuple

import click

from kb.search import evaluate as ev
from kb.text.documents import Document, printable_name, unique_ids
from kb.index.store import StoreError, default_index_dir
from kb.ingest.readers import ReadError, read_path, supported

SHIPPED_CORPUS = Path(__file__).resolve().parents[2] / "corpus"


def corpus_dir() -> Path:
    local = Path("corpus")
    return local if local.is_dir() else SHIPPED_CORPUS


index_option = click.option("--index", "index_dir", type=click.Path(file_okay=False, path_type=Path),
                            default=None, help="索引目录 / index directory (default: index/ or $KB_INDEX)")


def resolve_index(index_dir: Path | None) -> Path:
    return index_dir or default_index_dir()


def fail(message: str, code: int = 1) -> None:
    click.echo(f"错误 / error: {message}", err=True)
    sys.exit(code)


class Found(NamedTuple):
    """A file to read and its name: its path below the folder given (a file given: its name)."""
    path: Path
    name: str


def expand_paths(paths: list[Path]) -> tuple[list[Found], list[str]]:
    """Files to read under ``paths`` (folders recursively, in sorted order) and one-line problems."""
    files, problems = [], []
    for path in paths:
        try:
            if path.is_dir():
                files.extend(Found(p, p.relative_to(path).as_posix()) for p in sorted(path.rglob("*"))
                             if p.is_file() and supported(p) and not p.name.endswith(".meta.json"))
            elif path.is_file():
                files.append(Found(path, path.name))
            else:
                problems.append(f"{shown(path)}: 路径不存在 / no such file or folder")
        except OSError as exc:
            problems.append(f"{shown(path)}: 无法读取文件夹 / cannot list the folder ({exc.strerror})")
    return files, problems


def shown(path: Path | str) -> str:
    return printable_name(str(path))


def read_files(files: list[Found | Path], problems: list[str]) -> tuple[list[Document], int]:
    """Documents of every file and the number of files that gave any; every reader failure is
    one line in ``problems`` and the other files are still read (a JSON-lines file keeps its
    good records). Ids are made unique in the order read."""
    from tqdm import tqdm

    docs: list[Document] = []
    read = 0
    bar = tqdm(files, desc="读取 / reading", unit="file", disable=len(files) < 20,
               file=sys.stderr)
    for found in bar:
        path, name = found if isinstance(found, Found) else (found, found.name)
        before = len(docs)
        try:
            docs.extend(read_path(path, name))
        except ReadError as exc:
            problems.append(str(exc))
        except Exception as exc:  # noqa: BLE001 — one bad file must not stop the batch
            problems.append(f"{shown(path)}: 无法读取 / unreadable ({type(exc).__name__})")
        read += len(docs) > before
    return list(unique_ids(docs)), read


def read_all(files: list[Found | Path], problems: list[str]) -> list[Document]:
    return read_files(files, problems)[0]


@click.group()
def main() -> None:
    """kb — 基层党建与社区治理知识库 / knowledge base for community-governance texts."""
    for stream in (sys.stdout, sys.stderr):  # an odd byte in a name never ends in a traceback
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def clean_arg(value: str) -> str:
    """A command-line argument as text: bytes the locale could not decode become U+FFFD."""
    return os.fsencode(value).decode("utf-8", "replace") if any(
        "\udc80" <= ch <= "\udcff" for ch in value) else value


@main.command("index")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--rebuild", is_flag=True, help="从头重建（kb index 总是从头重建）/ rebuild from scratch (always)")
@index_option
def index_cmd(paths: tuple[Path, ...], rebuild: bool, index_dir: Path | None) -> None:
    """从文件、文件夹或 .jsonl(.gz) 重建索引 / build the index from files, folders, JSONL records."""
    from tqdm import tqdm

    target = resolve_index(index_dir)
    began = time.perf_counter()
    files, problems = expand_paths(list(paths) or [corpus_dir()])
    docs, read = read_files(files, problems)
    for problem in problems:
        click.echo(f"跳过 / skipped: {problem}", err=True)
    if not docs:
        fail("没有可索引的文档 / nothing to index")
    bar = tqdm(total=len(docs), desc="索引 / indexing", unit="doc", file=sys.stderr,
               disable=len(docs) < 50)
    from kb.ingest.pipeline import rebuild

    copies: list[tuple[str, str]] = []
    try:
        passages = rebuild(target, docs, on_doc=lambda _d: bar.update(),
                           on_copy=lambda copy, original: copies.append((copy, original)))
    except StoreError as exc:
        fail(str(exc))
    bar.close()
    report_copies(copies)
    click.echo(f"已索引 / indexed: {len(docs) - len(copies)} 篇文档 documents, {passages} 个段落 passages, "
               f"{read} 个文件 files → {shown(target)} "
               f"({time.perf_counter() - began:.1f}s)")
    if problems:
        click.echo(f"失败 / failed: {len(problems)}", err=True)
        sys.exit(1)


@main.command("add")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--wait", default=60.0, show_default=True, help="等待另一个写入结束的秒数 / seconds to wait for another writer")
@index_option
def add_cmd(paths: tuple[Path, ...], wait: float, index_dir: Path | None) -> None:
    """增量加入文件或文件夹（递归）/ add files or folders (recursively) to the index."""
    from kb.ingest import pipeline

    target = resolve_index(index_dir)
    files, problems = expand_paths(list(paths))
    docs, _read = read_files(files, problems)
    for problem in problems:
        click.echo(f"失败 / failed: {problem}", err=True)
    try:
        outcome = pipeline.add(target, docs, lock_timeout=wait) if docs else pipeline.Outcome()
    except StoreError as exc:
        fail(str(exc))
    report_copies(outcome.copies)
    rows = [("新增 / added", len(outcome.added)), ("替换 / replaced", len(outcome.replaced)),
            ("未变 / unchanged", len(outcome.unchanged)), ("完全相同，跳过 / exact copies", len(outcome.copies)),
            ("有相似文档 / with near-duplicates", len(outcome.similar)),
            ("失败 / failed", len(problems)), ("段落 / passages written", outcome.passages)]
    click.echo("汇总 / summary")
    for label, value in rows:
        click.echo(f"  {label:<28}{value:>8}")
    if problems:
        sys.exit(1)


def report_copies(copies: list[tuple[str, str]]) -> None:
    for copy, original in copies:
        click.echo(f"完全相同 / exact copy: {copy} = {original}，已跳过 / skipped {copy}")


@main.command("remove")
@click.argument("refs", nargs=-1, required=True)
@click.option("--wait", default=60.0, show_default=True)
@index_option
def remove_cmd(refs: tuple[str, ...], wait: float, index_dir: Path | None) -> None:
    """按文档编号、来源文件名或路径删除 / remove documents by id, source file or path."""
    from kb.ingest import pipeline

    refs = tuple(printable_name(r) for r in refs)
    try:
        outcome = pipeline.remove(resolve_index(index_dir), refs, lock_timeout=wait)
    except (StoreError, ValueError) as exc:
        fail(str(exc))
    if not outcome.removed:
        fail("没有找到要删除的文档 / nothing matched: " + " ".join(refs))
    click.echo(f"已删除 / removed {len(outcome.removed)}: " + " ".join(outcome.removed))


def open_searcher(index_dir: Path | None):
    from kb.search import Searcher

    try:
        searcher = Searcher(resolve_index(index_dir))
        searcher.view()
        return searcher
    except StoreError as exc:
        fail(str(exc))


def format_hit(rank: int, hit: dict) -> str:
    """A hit for the terminal: title, where it comes from, the snippet with 【marks】."""
    from kb.search import pieces

    meta = " · ".join(str(x) for x in (hit["unit"], hit["place"], hit["year"], hit["type"]) if x)
    snippet = "".join(f"【{text}】" if marked else text for text, marked in pieces(hit["snippet"], hit["marks"]))
    version = hit.get("version") or {}
    status = "" if not version else "  [现行 / current]" if version["is_current"] else (
        f"  [已有新版本 / superseded by {version['doc_id']}]")
    collapsed = ""
    if hit.get("collapsed"):
        collapsed = (f"\n    另有 {hit['collapsed']} 篇相似文档 / {hit['collapsed']} similar: "
                     + " ".join(row["doc_id"] for row in hit["similar"]))
    article = f" {hit['article']}" if hit.get("article") else ""
    pages = f"{hit['page']}–{hit['page_end']}" if hit.get("page_end", 0) > hit.get("page", 0) else hit.get("page")
    page = f"  第{pages}页 / p. {pages}" if hit.get("page") else ""
    ocr = "  来源：OCR / from a scan" if hit.get("ocr") else ""
    return (f"{rank:>2}. {hit['title']}{article}  [{hit['score']:.2f}]{status}\n"
            f"    {meta}\n    {hit['source']}  {hit['passage_id']}{page}{ocr}\n    "
            + snippet.replace("\n", "\n    ") + collapsed)


@main.command("search")
@click.argument("query", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print hits as JSON")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 200))
@click.option("--page", default=1, show_default=True, type=click.IntRange(1, None))
@index_option
def search_cmd(query: tuple[str, ...], as_json: bool, limit: int, page: int,
               index_dir: Path | None) -> None:
    """检索段落 / search passages. 语法: "短语"  -排除词  地区:上海  单位:…  年份:2019  类型:经验案例"""
    searcher = open_searcher(index_dir)
    result = searcher.search(" ".join(clean_arg(q) for q in query), limit=limit, page=page)
    if result.error:
        fail(result.error, 2)
    if as_json:
        body = {"query": result.query.raw, "total": result.total, "hits": result.hits}
        if result.query.question is not None:
            body["question"] = result.query.question.to_dict()
        click.echo(json.dumps(body, ensure_ascii=False, indent=1))
        return
    if not result.hits:
        click.echo("没有找到结果 / no results")
        return
    if result.query.question is not None and result.query.question.summary():
        click.echo(result.query.question.summary())
    click.echo(f"共 {result.total} 个段落 / {result.total} passages ({result.elapsed * 1000:.0f} ms)")
    for rank, hit in enumerate(result.hits, (page - 1) * limit + 1):
        click.echo(format_hit(rank, hit))


@main.command("eval")
@click.argument("judgments", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--run-out", type=click.Path(dir_okay=False, path_type=Path),
              help="把检索结果写成 JSON lines / write the run as JSON lines")
@click.option("--verbose", "-v", is_flag=True, help="逐条显示 / per-query figures")
@index_option
def eval_cmd(judgments: Path, run_out: Path | None, verbose: bool, index_dir: Path | None) -> None:
    """用评测集计算 nDCG@10、Recall@10、hit@1、hit@5 / score the index on judged queries."""
    try:
        judged = ev.load_judgments(judgments)
    except ValueError as exc:
        fail(str(exc))
    searcher = open_searcher(index_dir)
    run = []
    for item in judged:
        hits = searcher.search(item.query, limit=ev.K).hits
        results = [{"source": h["source"], "text": h["passage"]} for h in hits]
        run.append((item, results))
        if verbose:
            click.echo(f"{item.id} ndcg={ev.ndcg(results, item):.3f} "
                       f"hit1={int(bool(results) and ev.passage_hit(results[0], item))} "
                       f"{item.query} → {[r['source'][:3] for r in results]}")
    if run_out:
        with run_out.open("w", encoding="utf-8") as handle:
            for item, results in run:
                handle.write(json.dumps({"id": item.id, "results": results}, ensure_ascii=False) + "\n")
    click.echo(ev.format_metrics(ev.evaluate(run)))


@main.command("learn")
@click.argument("judgments", required=False,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--basket-db", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="素材篮数据库 / basket SQLite file (default: var/basket.sqlite or $KB_BASKET_DB)")
@click.option("--out", "data_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="写入目录 / folder for expansions.tsv (default: kb/data)")
@index_option
def learn_cmd(judgments: Path | None, basket_db: Path | None, data_dir: Path | None,
              index_dir: Path | None) -> None:
    """重建问句扩展表 / rebuild the question expansion table (kb/data/expansions.tsv) from judged
    questions (lines with "articles", looked up in the index) and the searches followed by
    adding a passage to the basket."""
    import os

    from kb.search import learn, question
    from kb.materials.basket import BasketStore
    from kb.text.normalize import DATA_DIR
    from kb.search import stopwords

    pairs: list[tuple[str, dict]] = []
    searcher = open_searcher(index_dir)
    if judgments:
        cache: dict[str, list[dict]] = {}

        def passages_of(source: str) -> list[dict]:
            if source not in cache:
                cache[source] = [dict(r) for r in searcher.searcher.documents(source=source)]
            return cache[source]

        try:
            judged = learn.judged_pairs(judgments.read_text(encoding="utf-8").splitlines(), passages_of)
        except (ValueError, KeyError, TypeError) as exc:
            fail(f"{judgments}: 评测行无效 / bad judgment line ({exc})")
        pairs += judged
        click.echo(f"评测问句 / judged pairs: {len(judged)}")
    db = basket_db or Path(os.environ.get("KB_BASKET_DB") or "var/basket.sqlite")
    if db.exists():
        used = BasketStore(db).search_pairs()
        pairs += used
        click.echo(f"素材篮 / basket pairs: {len(used)}")
    if not pairs:
        fail("没有可学习的问句 / nothing to learn from: give a judgment file or use the basket")
    texts = [(q, p.get("text", "")) for q, p in pairs]
    reader = searcher.searcher.reader()
    common = learn.common_terms(texts, lambda w: reader.doc_frequency("text", w), reader.doc_count())
    table = learn.learn(texts, stopwords(), common=common)
    path = learn.write_table(table, data_dir or DATA_DIR, f"{len(pairs)} pairs")
    types = learn.type_weights(learn.answer_types(pairs), learn.index_types(searcher.columns()))
    types_path = learn.write_types(types, data_dir or DATA_DIR, f"{len(pairs)} pairs")
    question.reload()
    click.echo(f"已写入 / written: {path} ({len(table)} 个问句词 question words, "
               f"{sum(len(v) for v in table.values())} 条 pairs); {types_path} ({len(types)} 类 types)")


@main.command("models")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print the catalogue as JSON")
@click.option("--compare", "compare", multiple=True, help="对比 2–4 个模式（编号或名称）/ compare models")
@index_option
def models_cmd(as_json: bool, compare: tuple[str, ...], index_dir: Path | None) -> None:
    """实践模式目录 / the catalogue of named practice models."""
    searcher = open_searcher(index_dir)
    catalogue = searcher.catalogue
    models = catalogue.models
    if compare:
        chosen = []
        for ref in compare:
            model = catalogue.get(ref) or next(iter(catalogue.named_in(ref)), None)
            if model is None:
                fail(f"没有这个模式 / no such model: {ref}")
            chosen.append(model)
        if not 2 <= len(chosen) <= 4:
            fail("请给出 2–4 个模式 / give 2 to 4 models")
        models = chosen
    if as_json:
        click.echo(json.dumps([m.to_dict() for m in models], ensure_ascii=False, indent=1))
        return
    if not models:
        click.echo("目录为空 / no models")
        return
    click.echo(f"共 {len(models)} 个实践模式 / {len(models)} models")
    for m in models:
        where = " · ".join(str(x) for x in (m.place, m.unit, m.year) if x)
        if len(m.places) > 1:
            where = f"{len(m.places)} 地 / places: " + "；".join(
                " ".join(str(x) for x in (p["place"], p["unit"], p["year"]) if x) for p in m.places)
        click.echo(f"{m.model_id}  {m.name}  —  {where}")
        if m.parts:
            click.echo("    组成 / parts: " + "；".join(p["name"] + (f"（{p['meaning']}）" if p["meaning"] else "") for p in m.parts))
        if compare:
            click.echo("    定义 / definition: " + m.definition[:160])
            for result in m.results:
                click.echo("    成效 / results: " + result[:120])
        click.echo(f"    提及 / mentions: {len(m.mentions)}  来源 / source: {m.source}")


def ensure_index(target: Path) -> None:
    """Build the index from the shipped corpus when it is missing (first start)."""
    from kb.index import store
    from kb.ingest.pipeline import rebuild

    if store.exists(target):
        return
    click.echo(f"首次启动：正在从 {corpus_dir()} 建立索引 / first start: building the index …", err=True)
    files, problems = expand_paths([corpus_dir()])
    docs = read_all(files, problems)
    if not docs:
        fail("语料目录里没有可索引的文档 / no documents in the corpus folder")
    from tqdm import tqdm

    with tqdm(total=len(docs), desc="索引 / indexing", unit="doc", file=sys.stderr) as bar:
        try:
            rebuild(target, docs, on_doc=lambda _d: bar.update())
        except StoreError as exc:
            fail(str(exc))


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址 / bind address")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=None, type=click.IntRange(1, 64),
              help="进程数（默认：CPU 核数）/ worker processes (default: number of cores)")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64),
              help="每个进程的线程数 / threads per worker")
@index_option
def serve_cmd(host: str, port: int, workers: int | None, threads: int, index_dir: Path | None) -> None:
    """启动网页界面与 JSON API / serve the web UI and JSON API (gunicorn; waitress on Windows)."""
    from kb.web import serve

    target = resolve_index(index_dir)
    ensure_index(target)
    try:
        serve.check_index(target)
    except StoreError as exc:
        fail(str(exc))
    workers = workers or os.cpu_count() or 1
    click.echo(f"kb 已启动 / serving on http://{host}:{port}/  ({serve.describe(workers, threads)}; "
               f"Ctrl+C 退出 / to stop)", err=True)
    serve.run(target, host, port, workers, threads)


@main.command("optimize")
@click.option("--wait", default=60.0, show_default=True, help="等待另一个写入结束的秒数 / seconds to wait for another writer")
@index_option
def optimize_cmd(wait: float, index_dir: Path | None) -> None:
    """把索引合并为一个段 / merge every segment of the index into one."""
    from kb.index.store import IndexStore

    try:
        stats = IndexStore(resolve_index(index_dir)).optimize(wait)
    except StoreError as exc:
        fail(str(exc))
    click.echo(f"已合并 / merged: {stats['segments']} 个段 segment(s), {stats['passages']} 个段落 passages")


@main.command("check")
@click.option("--repair", is_flag=True, help="重建能从索引本身重建的部分 / rebuild what the index itself can give")
@index_option
def check_cmd(repair: bool, index_dir: Path | None) -> None:
    """检查索引的每个段、列与模式目录 / verify every segment, column and catalogue entry."""
    from kb.index.store import IndexStore

    target = resolve_index(index_dir)
    try:
        problems = IndexStore(target).check(repair=repair)
        remaining = IndexStore(target).check() if repair and problems else problems
    except StoreError as exc:
        fail(str(exc))
    for problem in problems:
        click.echo(problem, err=True)
    if remaining:
        fail(f"还有 {len(remaining)} 个问题，需用 kb index 重建 / {len(remaining)} problem(s) left, rebuild "
             f"with `kb index`" if repair else
             f"发现 {len(problems)} 个问题，可运行 kb check --repair / {len(problems)} problem(s) found, "
             f"run `kb check --repair`")
    click.echo("索引完好 / the index is sound" if not problems else f"已修复 / repaired: {len(problems)}")


@main.command("handout")
@click.argument("query", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="输出文件 / output file (.docx; with --md: .md, default: stdout)")
@click.option("--md", "as_markdown", is_flag=True, help="输出 Markdown / write Markdown instead of Word")
@index_option
def handout_cmd(query: tuple[str, ...], output: Path | None, as_markdown: bool, index_dir: Path | None) -> None:
    """生成专题汇编（Word，GB/T 7714 参考文献）/ a theme's handout as .docx or Markdown."""
    from kb.materials.export import to_docx, to_markdown
    from kb.materials.handout import handout_for

    theme = " ".join(query).strip()
    if not output and not as_markdown:
        fail("请用 -o 指定输出文件，例如 -o 汇编.docx / give an output file with -o", 2)
    target = resolve_index(index_dir)
    if index_dir is None:
        ensure_index(target)
    searcher = open_searcher(index_dir)
    try:
        handout = handout_for(searcher, theme)
    except ValueError as exc:
        fail(str(exc), 2)
    if not handout.sections:
        fail(f"没有找到与“{theme}”相关的段落 / no passages for this theme")
    if as_markdown:
        text = to_markdown(handout)
        if output is None:
            click.echo(text)
            return
        data = text.encode("utf-8")
    else:
        data = to_docx(handout)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        tmp = output.with_name(output.name + ".part")
        tmp.write_bytes(data)
        tmp.replace(output)
    except OSError as exc:
        fail(f"{output}: 无法写入 / cannot write ({exc.strerror or exc})")
    click.echo(f"已写入 / written: {output}（{len(handout.sections)} 个条目 sections，"
               f"{handout.source_count} 篇来源 sources）")


# ---------------------------------------------------------------- administrators (issue 12)

def accounts_store(db: Path | None):
    from kb.accounts.users import Accounts, accounts_path

    return Accounts(db or accounts_path(Path(os.environ.get("KB_BASKET_DB") or "var/basket.sqlite")))


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("密码 / password", hide_input=True, confirmation_prompt="再输一次 / repeat")


accounts_option = click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=None,
                               help="账户数据库 / accounts file (default: accounts.sqlite beside the basket, "
                                    "var/ or the folder of $KB_BASKET_DB)")
stdin_option = click.option("--password-stdin", is_flag=True,
                            help="从标准输入读一行作为密码 / read the password from one line of stdin")


@main.group("admin")
def admin_group() -> None:
    """管理员账户：上传与删除需要管理员 / administrator accounts (uploads and removals need one)."""


@admin_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "reader"]), default="admin", show_default=True,
              help="角色：admin 可写，reader 只能登录 / admin may write, reader may only sign in")
@stdin_option
@accounts_option
def admin_add(name: str, role: str, password_stdin: bool, db: Path | None) -> None:
    """新增用户并设置密码 / add a user and set the password."""
    from kb.accounts.users import AccountError

    store = accounts_store(db)
    try:
        store.add(clean_arg(name), read_password(password_stdin), role)
    except AccountError as exc:
        fail(str(exc))
    click.echo(f"已添加 / added: {name} ({role}) → {shown(store.path)}")


@admin_group.command("passwd")
@click.argument("name")
@stdin_option
@accounts_option
def admin_passwd(name: str, password_stdin: bool, db: Path | None) -> None:
    """修改密码（已登录的会话随之失效）/ change a password (signed-in sessions end)."""
    from kb.accounts.users import AccountError

    try:
        accounts_store(db).set_password(clean_arg(name), read_password(password_stdin))
    except AccountError as exc:
        fail(str(exc))
    click.echo(f"密码已更新 / password changed: {name}")


@admin_group.command("token")
@click.argument("name")
@click.option("--revoke", is_flag=True, help="作废该用户全部令牌 / revoke all of the user's tokens")
@accounts_option
def admin_token(name: str, revoke: bool, db: Path | None) -> None:
    """生成 API 令牌（Authorization: Bearer …，只显示一次）/ print a new API token (shown once)."""
    from kb.accounts.users import AccountError

    store = accounts_store(db)
    if revoke:
        click.echo(f"已作废 / revoked: {store.revoke_tokens(clean_arg(name))}")
        return
    try:
        click.echo(store.issue_token(clean_arg(name)))
    except AccountError as exc:
        fail(str(exc))


@admin_group.command("list")
@accounts_option
def admin_list(db: Path | None) -> None:
    """列出用户 / list the users."""
    users = accounts_store(db).users()
    if not users:
        click.echo("还没有用户，用 kb admin add NAME 添加 / no users yet: kb admin add NAME")
    for user in users:
        click.echo(f"{user['name']}\t{user['role']}\t{time.strftime('%Y-%m-%d', time.localtime(user['created']))}"
                   f"\t令牌 tokens: {user['tokens']}")


@admin_group.command("remove")
@click.argument("name")
@accounts_option
def admin_remove(name: str, db: Path | None) -> None:
    """删除用户及其令牌 / remove a user and their tokens."""
    from kb.accounts.users import AccountError

    try:
        accounts_store(db).remove(clean_arg(name))
    except AccountError as exc:
        fail(str(exc))
    click.echo(f"已删除 / removed: {name}")


if __name__ == "__main__":
    main()
