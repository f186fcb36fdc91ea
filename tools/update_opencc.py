"""Refresh kb/data/opencc/ from an unpacked OpenCC source tree (Apache-2.0).

    pip download --no-deps --no-binary :all: opencc -d /tmp/occ && tar xzf /tmp/occ/opencc-*.tar.gz -C /tmp/occ
    python tools/update_opencc.py /tmp/occ/opencc-<version>

Writes the tables kb's conversion chain reads (OpenCC's tw2s chain: Taiwan variants, then
phrases and characters), as plain ``key<TAB>value value…`` lines without comments: the format
opencc-python-reimplemented's loader reads. Two tables are derived the way OpenCC's build derives
them: TWVariantsRev.txt (TWVariants.txt reversed, honouring ``# @reverse-prefer:``) and
TSCharactersExt.txt (the ``# @tofu-risk:`` entries of TSCharacters.txt, rare forms only).
"""
from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "kb" / "data" / "opencc"
COPIED = ("TSPhrases.txt", "TSCharacters.txt", "TWVariantsRevPhrases.txt",
          "CJK_Compatibility_Ideographs.txt")
TOFU, PREFER = "# @tofu-risk:", "# @reverse-prefer:"


def entries(path: Path) -> list[tuple[str, list[str]]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, values = line.split("\t", 1)
            out.append((key, values.split(" ")))
    return out


def tofu_entries(path: Path) -> list[tuple[str, list[str]]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    out = []
    for i, line in enumerate(lines[:-1]):
        if line.startswith(TOFU):
            key, values = lines[i + 1].split("\t", 1)
            out.append((key, [v for v in values.split(" ") if v != key]))
    return out


def reversed_entries(path: Path) -> list[tuple[str, list[str]]]:
    table: dict[str, list[str]] = {}
    for key, values in entries(path):
        for value in values:
            table.setdefault(value, []).append(key)
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith(PREFER):
            fields = line[len(PREFER):].split()
            keys = table[fields[0]]
            keys.insert(0, keys.pop(keys.index(fields[-1])))
    return sorted(table.items())


def write(name: str, rows: list[tuple[str, list[str]]]) -> None:
    text = "".join(f"{key}\t{' '.join(values)}\n" for key, values in rows)
    (OUT / name).write_text(text, encoding="utf-8")


def main(source: str) -> None:
    root = Path(source)
    dictionary = root / "data" / "dictionary"
    OUT.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        write(name, entries(dictionary / name))
    write("TSCharactersExt.txt", tofu_entries(dictionary / "TSCharacters.txt"))
    write("TWVariantsRev.txt", reversed_entries(dictionary / "TWVariants.txt"))
    shutil.copy(root / "LICENSE", OUT / "LICENSE")
    version = re.search(r"^Version: (\S+)", (root / "PKG-INFO").read_text(), re.M)
    (OUT / "VERSION").write_text((version.group(1) if version else "unknown") + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
