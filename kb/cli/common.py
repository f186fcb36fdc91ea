"""What every ``kb`` command shares: the group, ``--index``, reading files, one-line failures."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterator, NamedTuple

import click

from kb.text.documents import Document, printable_name, unique_ids
from kb.index.errors import StoreError
from kb.index.schema import default_index_dir
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


def stream_files(files: list[Found | Path], problems: list[str], read: list[int]) -> Iterator[Document]:
    """:func:`read_files` as a stream: the documents of one file after another, ids made unique in
    the order read; each failure is one line in ``problems``; ``read[0]`` counts the files that
    gave any document."""
    def documents() -> Iterator[Document]:
        for found in files:
            path, name = found if isinstance(found, Found) else (found, found.name)
            gave = False
            try:
                for doc in read_path(path, name):
                    gave = True
                    yield doc
            except ReadError as exc:
                problems.append(str(exc))
            except Exception as exc:  # noqa: BLE001 — one bad file must not stop the batch
                problems.append(f"{shown(path)}: 无法读取 / unreadable ({type(exc).__name__})")
            read[0] += gave

    return unique_ids(documents())


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


def open_searcher(index_dir: Path | None):
    from kb.search import Searcher

    try:
        searcher = Searcher(resolve_index(index_dir))
        searcher.view()
        return searcher
    except StoreError as exc:
        fail(str(exc))


def ensure_index(target: Path) -> None:
    """Build the index from the shipped corpus when it is missing (first start)."""
    from kb.index import locking
    from kb.ingest.pipeline import rebuild

    if locking.exists(target):
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
