"""The ``kb`` command (bilingual messages): one module a group of commands, all on one click group.

* :mod:`~kb.cli.common` — the group, ``--index``, reading files, one-line failures;
* :mod:`~kb.cli.building` — ``kb index``, ``add``, ``remove``, ``optimize``, ``check``, ``serve``;
* :mod:`~kb.cli.searching` — ``kb search``, ``eval``, ``learn``, ``models``;
* :mod:`~kb.cli.materials` — ``kb handout``;
* :mod:`~kb.cli.admin` — ``kb admin`` (accounts and tokens).

May import: every stage (the CLI, like :mod:`kb.web`, is a top layer).
"""
from kb.cli.common import main
from kb.cli import admin, building, materials, searching  # noqa: E402,F401 — each registers its commands

__all__ = ["main"]
