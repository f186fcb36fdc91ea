"""``kb index``, ``add``, ``remove``, ``optimize``, ``check`` and ``serve``: building and keeping the index."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from kb.cli.common import (expand_paths, fail, index_option, main, read_files, resolve_index,
                           shown, corpus_dir, ensure_index, stream_files)
from kb.index.errors import StoreError
from kb.text.documents import printable_name


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
    read = [0]
    seen = [0]
    bar = tqdm(desc="索引 / indexing", unit="doc", file=sys.stderr, disable=not sys.stderr.isatty())

    def on_doc(_doc) -> None:
        seen[0] += 1
        bar.update()

    from kb.ingest.pipeline import NothingToIndex, rebuild

    copies: list[tuple[str, str]] = []
    try:  # the documents are read as they are indexed (a stream: the corpus is never held whole)
        passages = rebuild(target, stream_files(files, problems, read), on_doc=on_doc,
                           on_copy=lambda copy, original: copies.append((copy, original)),
                           require_documents=True)
    except NothingToIndex:
        bar.close()
        for problem in problems:
            click.echo(f"跳过 / skipped: {problem}", err=True)
        fail("没有可索引的文档 / nothing to index")
    except StoreError as exc:
        bar.close()
        fail(str(exc))
    bar.close()
    for problem in problems:
        click.echo(f"跳过 / skipped: {problem}", err=True)
    report_copies(copies)
    click.echo(f"已索引 / indexed: {seen[0] - len(copies)} 篇文档 documents, {passages} 个段落 passages, "
               f"{read[0]} 个文件 files → {shown(target)} "
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
