"""``kb handout``: a 专题汇编 (Word or Markdown) for a theme, from the command line."""
from __future__ import annotations

from pathlib import Path

import click

from kb.cli.common import ensure_index, fail, index_option, main, open_searcher, resolve_index


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
