"""The house rules of kb/ (docs/architecture.md), read from the code itself: stage packages import
one way, nothing below web imports Flask, only kb.index opens Whoosh's index files, every package
says in its docstring what it owns and may import, and the import graph has no cycle."""
from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

KB = ROOT / "kb"
# What each stage package may import of kb (besides itself); the top layers may import any stage.
MAY_IMPORT = {
    "text": set(),
    "accounts": set(),
    "index": {"text"},
    "catalogue": {"text"},
    "ingest": {"text", "index", "catalogue"},
    "search": {"text", "index", "catalogue"},
    "materials": {"text", "catalogue"},
    "web": {"text", "index", "catalogue", "ingest", "search", "materials", "accounts"},
    "cli": {"text", "index", "catalogue", "ingest", "search", "materials", "accounts", "web"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def kb_imports(path: Path) -> set[str]:
    """Every kb module a file imports, at module level or inside a function (``from kb.x import y``
    counts as kb.x and, where y is a module, kb.x.y)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "kb" or node.module.startswith("kb."):
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name == "kb" or a.name.startswith("kb."))
    return found


def third_party_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def sources() -> list[Path]:
    return sorted(KB.rglob("*.py"))


def stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in MAY_IMPORT else None


def test_every_module_lives_in_a_stage_package():
    loose = [p.name for p in KB.glob("*.py") if p.name != "__init__.py"]
    assert loose == [], f"modules outside the stage packages: {loose}"
    assert {p.name for p in KB.iterdir() if p.is_dir() and (p / "__init__.py").exists()} == set(MAY_IMPORT)


def test_stages_import_one_way():
    wrong = []
    for path in sources():
        here = stage(module_name(path))
        for target in kb_imports(path):
            there = stage(target)
            if here and there and there != here and there not in MAY_IMPORT[here]:
                wrong.append(f"{module_name(path)} → {target}")
    assert wrong == [], wrong


def test_nothing_below_web_imports_flask():
    wrong = [module_name(p) for p in sources() if stage(module_name(p)) != "web"
             and any(m.split(".")[0] in ("flask", "flask_wtf", "werkzeug") for m in third_party_imports(p))]
    assert wrong == [], wrong


def test_only_the_index_package_opens_whoosh_index_files():
    opening = ("whoosh.index", "whoosh.filedb", "whoosh.reading", "whoosh.searching", "whoosh.writing")
    wrong = [module_name(p) for p in sources() if stage(module_name(p)) != "index"
             and any(m == o or m.startswith(o + ".") for m in third_party_imports(p) for o in opening)]
    assert wrong == [], wrong


def test_every_package_says_what_it_owns_and_may_import():
    for name in MAY_IMPORT:
        doc = ast.get_docstring(ast.parse((KB / name / "__init__.py").read_text(encoding="utf-8")))
        assert doc and len(doc) > 80, name
        assert "May import" in doc, name


def test_no_import_cycle_between_modules():
    """Module-level imports only (a function-level import runs later and cannot cycle at load)."""
    graph: dict[str, set[str]] = {}
    modules = {module_name(p): p for p in sources()}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = set()
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("kb"):
                targets.add(node.module)
                targets.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                targets.update(a.name for a in node.names if a.name.startswith("kb"))
        # a package's __init__ runs before its modules: importing kb.x.y imports kb.x too
        graph[name] = {t for t in targets if t in modules and t != name}
    seen: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        seen[node] = 1
        for nxt in graph[node]:
            if nxt.startswith(node + "."):  # a package importing its own modules is no cycle
                continue
            if seen.get(nxt) == 1:
                raise AssertionError("import cycle: " + " → ".join(path[path.index(nxt):] + [nxt]))
            if nxt not in seen:
                visit(nxt, path + [nxt])
        seen[node] = 2

    for node in graph:
        if node not in seen:
            visit(node, [node])
