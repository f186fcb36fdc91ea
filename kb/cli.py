"""The ``kb`` command: index, search, eval, serve (bilingual messages)."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from kb import evaluate as ev
from kb.documents import Document
from kb.index import IndexBusy, IndexMissing, build, default_index_dir
from kb.readers import ReadError, read_path, supported

SHIPPED_CORPUS = Path(__file__).resolve().parent.parent / "corpus"


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


def expand_paths(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """Files to read under ``paths`` (folders recursively) and one-line problems."""
    files, problems = [], []
    for path in paths:
        if path.is_dir():
            files.extend(p for p in sorted(path.rglob("*")) if p.is_file() and supported(p)
                         and not p.name.endswith(".meta.json"))
        elif path.is_file():
            files.append(path)
        else:
            problems.append(f"{path}: 路径不存在 / no such file or folder")
    return files, problems


def read_all(files: list[Path], problems: list[str]) -> list[Document]:
    from tqdm import tqdm

    docs: list[Document] = []
    bar = tqdm(files, desc="读取 / reading", unit="file", disable=len(files) < 20,
               file=sys.stderr)
    for path in bar:
        try:
            docs.extend(read_path(path))
        except ReadError as exc:
            problems.append(str(exc))
    return docs


@click.group()
def main() -> None:
    """kb — 基层党建与社区治理知识库 / knowledge base for community-governance texts."""


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
    docs = read_all(files, problems)
    for problem in problems:
        click.echo(f"跳过 / skipped: {problem}", err=True)
    if not docs:
        fail("没有可索引的文档 / nothing to index")
    bar = tqdm(total=len(docs), desc="索引 / indexing", unit="doc", file=sys.stderr,
               disable=len(docs) < 50)
    try:
        passages = build(target, docs, on_doc=lambda _d: bar.update())
    except IndexBusy as exc:
        fail(str(exc))
    bar.close()
    click.echo(f"已索引 / indexed: {len(docs)} 篇文档 documents, {passages} 个段落 passages, "
               f"{len(files) - len({p.split(':')[0] for p in problems})} 个文件 files → {target} "
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
    from tqdm import tqdm

    from kb import ingest

    target = resolve_index(index_dir)
    files, problems = expand_paths(list(paths))
    docs: list[Document] = []
    for path in tqdm(files, desc="读取 / reading", unit="file", file=sys.stderr,
                     disable=len(files) < 20):
        try:
            docs.extend(read_path(path))
        except ReadError as exc:
            problems.append(str(exc))
        except Exception as exc:  # noqa: BLE001 — one bad file must not stop the batch
            problems.append(f"{path}: 无法读取 / unreadable ({type(exc).__name__}: {exc})".split("\n")[0])
    for problem in problems:
        click.echo(f"失败 / failed: {problem}", err=True)
    try:
        outcome = ingest.add(target, docs, lock_timeout=wait) if docs else ingest.Outcome()
    except IndexBusy as exc:
        fail(str(exc))
    for new, kept in outcome.duplicates:
        click.echo(f"近似重复 / near-duplicate: {new} ≈ {kept}，保留 / kept {kept}")
    rows = [("新增 / added", len(outcome.added)), ("替换 / replaced", len(outcome.replaced)),
            ("未变 / unchanged", len(outcome.unchanged)), ("近似重复 / duplicates", len(outcome.duplicates)),
            ("失败 / failed", len(problems)), ("段落 / passages written", outcome.passages)]
    click.echo("汇总 / summary")
    for label, value in rows:
        click.echo(f"  {label:<28}{value:>8}")
    if problems:
        sys.exit(1)


@main.command("remove")
@click.argument("refs", nargs=-1, required=True)
@click.option("--wait", default=60.0, show_default=True)
@index_option
def remove_cmd(refs: tuple[str, ...], wait: float, index_dir: Path | None) -> None:
    """按文档编号、来源文件名或路径删除 / remove documents by id, source file or path."""
    from kb import ingest

    try:
        outcome = ingest.remove(resolve_index(index_dir), refs, lock_timeout=wait)
    except (IndexBusy, FileNotFoundError) as exc:
        fail(str(exc))
    if not outcome.removed:
        fail("没有找到要删除的文档 / nothing matched: " + " ".join(refs))
    click.echo(f"已删除 / removed {len(outcome.removed)}: " + " ".join(outcome.removed))


def open_searcher(index_dir: Path | None):
    from kb.search import Searcher

    try:
        return Searcher(resolve_index(index_dir))
    except IndexMissing as exc:
        fail(str(exc))


def format_hit(rank: int, hit: dict) -> str:
    """A hit for the terminal: title, where it comes from, the snippet with 【marks】."""
    import html

    meta = " · ".join(str(x) for x in (hit["unit"], hit["place"], hit["year"], hit["type"]) if x)
    snippet = html.unescape(hit["snippet"].replace("<mark>", "【").replace("</mark>", "】"))
    article = f" {hit['article']}" if hit.get("article") else ""
    return (f"{rank:>2}. {hit['title']}{article}  [{hit['score']:.2f}]\n"
            f"    {meta}\n    {hit['source']}  {hit['passage_id']}\n    "
            + snippet.replace("\n", "\n    "))


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
    result = searcher.search(" ".join(query), limit=limit, page=page)
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

    from kb import learn, question
    from kb.basket import BasketStore
    from kb.normalize import DATA_DIR
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
        click.echo(f"{m.model_id}  {m.name}  —  {where}")
        if m.parts:
            click.echo("    组成 / parts: " + "；".join(m.parts))
        if compare:
            click.echo("    定义 / definition: " + m.definition[:160])
            for result in m.results:
                click.echo("    成效 / results: " + result[:120])
        click.echo(f"    提及 / mentions: {len(m.mentions)}  来源 / source: {m.source}")


def ensure_index(target: Path) -> None:
    """Build the index from the shipped corpus when it is missing (first start)."""
    from whoosh import index as windex

    if windex.exists_in(str(target)):
        return
    click.echo(f"首次启动：正在从 {corpus_dir()} 建立索引 / first start: building the index …", err=True)
    files, problems = expand_paths([corpus_dir()])
    docs = read_all(files, problems)
    if not docs:
        fail("语料目录里没有可索引的文档 / no documents in the corpus folder")
    from tqdm import tqdm

    with tqdm(total=len(docs), desc="索引 / indexing", unit="doc", file=sys.stderr) as bar:
        build(target, docs, on_doc=lambda _d: bar.update())


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址 / bind address")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64))
@index_option
def serve_cmd(host: str, port: int, threads: int, index_dir: Path | None) -> None:
    """启动网页界面与 JSON API（waitress）/ serve the web UI and JSON API."""
    import waitress

    from kb.web import create_app

    target = resolve_index(index_dir)
    ensure_index(target)
    app = create_app(target)
    click.echo(f"kb 已启动 / serving on http://{host}:{port}/  (Ctrl+C 退出 / to stop)", err=True)
    waitress.serve(app, host=host, port=port, threads=threads, ident="kb")


if __name__ == "__main__":
    main()
