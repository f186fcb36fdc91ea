"""``kb search``, ``eval``, ``learn`` and ``models``: reading the index."""
from __future__ import annotations

import json
import os
from pathlib import Path

import click

from kb.cli.common import clean_arg, fail, index_option, main, open_searcher


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
    from kb.search import evaluate as ev  # here, not at the top: kb add/index need none of search

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
