"""The index folder's owner: every state a crash, a full disk or a damaged file can leave is one kb
opens, reports in one line, or repairs. Crashes are deterministic: the writer kills itself at a
named point (KB_CRASH_AT, a test-only switch) and the index must open with exactly the old or the
new state — passages, catalogue and harvested terms together."""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import CORPUS, ROOT

BASE = [CORPUS / "000_3cea6dff0efccbce.txt", CORPUS / "002_001294e5f676bdea.txt"]
MORE = sorted(set(CORPUS.glob("*.txt")) - set(BASE))[:2]


def kb(*args, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "kb.cli", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


def state(index: Path):
    """What a reader sees: live documents, catalogue entries, harvested terms."""
    from kb.index.store import IndexStore

    store = IndexStore(index)
    try:
        with store.reading() as view:
            cols = view.columns()
            stored = [view.searcher.stored_fields(int(n)) for n in cols.alive.nonzero()[0]]
            return (sorted({f["doc_id"] for f in stored}), sorted(m["model_id"] for m in view.catalogue),
                    frozenset(view.terms))
    finally:
        store.close()


@pytest.fixture()
def base(tmp_path, built_index):
    return built_index(tmp_path / "idx", *BASE)


def added_state(base: Path, tmp_path: Path):
    """The state after `kb add MORE` completes, on a copy of ``base``."""
    ref = tmp_path / "ref"
    shutil.copytree(base, ref)
    done = kb("add", *MORE, "--index", ref)
    assert done.returncode == 0, done.stderr
    return state(ref)


@pytest.mark.parametrize("point,survives", [("after-catalogue", "old"), ("mid-merge", "old"),
                                            ("after-commit", "new")])
def test_kill_at_each_point_of_a_commit_leaves_old_or_new_state(tmp_path, base, point, survives):
    old, new = state(base), added_state(base, tmp_path)
    assert old != new and len(new[1]) > len(old[1])  # the added files bring documents and models
    crashed = kb("add", *MORE, "--index", base, env={"KB_CRASH_AT": point, "KB_MAX_SEGMENTS": "1"})
    assert crashed.returncode == -signal.SIGKILL
    assert state(base) == (old if survives == "old" else new)
    assert kb("check", "--index", base).returncode == 0
    again = kb("add", *MORE, "--index", base)
    assert again.returncode == 0, again.stderr
    assert state(base) == new  # no model twice, none of a document never indexed


def test_kill_between_the_renames_of_a_rebuild_keeps_the_old_index(tmp_path, base):
    old = state(base)
    crashed = kb("index", *MORE, "--index", base, env={"KB_CRASH_AT": "between-renames"})
    assert crashed.returncode == -signal.SIGKILL
    assert not base.exists() and base.with_name("idx.old").exists()  # killed exactly there
    assert list(tmp_path.glob("idx.building-*"))
    found = kb("search", "社区", "--index", base)  # the next open puts the old index back
    assert found.returncode == 0, found.stderr
    assert state(base) == old
    assert not base.with_name("idx.old").exists() and not list(tmp_path.glob("idx.building-*"))


def test_killed_rebuild_leaves_no_staging_folder_and_no_change(tmp_path, base):
    old = state(base)
    crashed = kb("index", *MORE, "--index", base, env={"KB_CRASH_AT": "after-catalogue"})
    assert crashed.returncode == -signal.SIGKILL
    assert list(tmp_path.glob("idx.building-*"))
    assert kb("search", "社区", "--index", base).returncode == 0
    assert state(base) == old and not list(tmp_path.glob("idx.building-*"))


def test_full_disk_writes_nothing_and_says_so_in_one_line(tmp_path, base):
    old = state(base)
    before = sorted(p.name for p in base.iterdir())
    full = kb("add", *MORE, "--index", base, env={"KB_CRASH_AT": "enospc"})
    assert full.returncode == 1
    lines = [line for line in full.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "磁盘已满" in lines[0] and "Traceback" not in full.stderr
    assert sorted(p.name for p in base.iterdir()) == before and state(base) == old


@pytest.mark.skipif(os.geteuid() != 0 or not sys.platform.startswith("linux"), reason="needs mount (root)")
def test_really_full_disk(tmp_path, base):
    """The same on a real 3 MB filesystem that fills up mid-segment."""
    small = tmp_path / "small"
    small.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(small)]).returncode:
        pytest.skip("tmpfs mount not permitted here")
    try:
        target = small / "idx"
        shutil.copytree(base, target, ignore=shutil.ignore_patterns(".cache"))
        before = sorted(p.name for p in target.iterdir())
        big = tmp_path / "big.txt"
        big.write_text("\n".join(p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt"))) * 8,
                       encoding="utf-8")
        full = kb("add", big, "--index", target)
        assert full.returncode == 1 and "磁盘已满" in full.stderr and "Traceback" not in full.stderr
        assert sorted(p.name for p in target.iterdir() if p.name != ".cache") == before
        assert kb("search", "社区", "--index", target).returncode == 0
    finally:
        subprocess.run(["umount", str(small)])


def test_refused_writer_writes_nothing(base):
    from whoosh import index as windex

    holder = windex.open_dir(str(base)).writer()  # another writer (its own new segment files appear)
    try:
        before = {p.name: p.stat().st_mtime_ns for p in base.rglob("*")}
        busy = kb("add", *MORE, "--wait", "1", "--index", base)
        after = {p.name: p.stat().st_mtime_ns for p in base.rglob("*")}
    finally:
        holder.cancel()
    assert busy.returncode == 1 and "索引正忙" in busy.stderr
    assert after == before


def test_workers_die_with_their_parent(tmp_path):
    from whoosh.multiproc import SubWriterTask

    import kb.index.store  # noqa: F401 — installs the patch on Whoosh's writer workers

    assert getattr(SubWriterTask.run, "_kb_dies_with_parent", False)
    code = ("import os, time\nfrom kb.index.locking import die_with_parent\npid = os.fork()\n"
            "if pid == 0:\n    die_with_parent()\n    time.sleep(120)\n    os._exit(0)\n"
            "print(pid, flush=True)\ntime.sleep(120)\n")
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    time.sleep(0.5)
    parent.kill()
    parent.wait()
    for _ in range(100):
        try:
            status = Path(f"/proc/{child}/status").read_text()
        except FileNotFoundError:
            break
        if "\nState:\tZ" in status:
            break
        time.sleep(0.1)
    else:
        os.kill(child, signal.SIGKILL)
        pytest.fail("the worker outlived its parent")


def test_a_small_commit_leaves_large_segments_alone():
    from kb.index.merging import MERGE_FACTOR, TIER_BASE, segments_to_merge

    large = [(5 * TIER_BASE, 5 * TIER_BASE)] * 8  # eight similar large segments (one kb add of the laws)
    assert segments_to_merge(50, large) == set()
    small = [(60, 60)] * (MERGE_FACTOR - 1)
    assert segments_to_merge(50, large + small) == set(range(8, 8 + MERGE_FACTOR - 1))
    assert segments_to_merge(50, large[:2] + [(100, 1000)]) == {2}  # mostly deleted
    assert segments_to_merge(50, [(0, 300)]) == {0}


def test_segment_count_grows_with_the_logarithm_of_the_index():
    from kb.index.merging import MAX_SEGMENTS, MERGE_FACTOR, segments_to_merge, size_tier

    segments: list[tuple[int, int]] = []
    rewritten = 0
    for _ in range(400):
        chosen = segments_to_merge(2000, segments)
        merged = 2000 + sum(segments[i][0] for i in chosen)
        rewritten += merged
        segments = [s for i, s in enumerate(segments) if i not in chosen] + [(merged, merged)]
        assert len(segments) <= MAX_SEGMENTS
    total = sum(live for live, _ in segments)
    assert total == 400 * 2000
    tiers = size_tier(total) + 1
    assert len(segments) <= (MERGE_FACTOR - 1) * tiers
    assert rewritten <= total * (tiers + 1)  # each passage written about once a tier


def test_segments_stay_bounded_and_optimize_merges_all(tmp_path, base):
    from kb.index.merging import MERGE_FACTOR
    from kb.index.store import IndexStore

    folder = tmp_path / "many"
    folder.mkdir()
    texts = [p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt"))]
    runs = 11
    for i in range(runs):
        (folder / f"m{i}.txt").write_text(f"第{i}批：唯一码SEG{i:03d}Q。\n" + texts[i % len(texts)][:400],
                                          encoding="utf-8")
        assert kb("add", folder / f"m{i}.txt", "--index", base).returncode == 0
    store = IndexStore(base)
    # all small: one tier, merged whenever it holds MERGE_FACTOR segments
    assert store.generation().stats()["segments"] < MERGE_FACTOR
    store.close()
    assert kb("search", f"SEG{runs - 1:03d}Q", "--index", base).returncode == 0
    merged = kb("optimize", "--index", base)
    assert merged.returncode == 0 and "1 个段" in merged.stdout
    assert kb("check", "--index", base).returncode == 0
    hit = kb("search", "SEG000Q", "--json", "--index", base)
    assert '"m0.txt"' in hit.stdout
    columns = {p.name for p in (base / "columns").iterdir() if not (p / "RETIRED").exists()}
    assert len(columns) == 1  # columns follow the merged segment


def test_damaged_index_one_line_and_check_repair(tmp_path, base):
    # a column file lost: kb check finds it, --repair rebuilds it from the index
    columns = next((base / "columns").iterdir())
    (columns / "text.docs.npy").unlink()
    found = kb("check", "--index", base)
    assert found.returncode == 1 and "columns" in found.stderr and "Traceback" not in found.stderr
    assert kb("check", "--repair", "--index", base).returncode == 0
    assert kb("check", "--index", base).returncode == 0
    # a truncated table of contents: one line naming what to run
    toc = next(base.glob("_MAIN_*.toc"))
    toc.write_bytes(toc.read_bytes()[:40])
    broken = kb("search", "社区", "--index", base)
    assert broken.returncode == 1 and "Traceback" not in broken.stderr
    assert "kb check --repair" in broken.stderr or "kb index" in broken.stderr
    assert len([line for line in broken.stderr.splitlines() if line.strip()]) == 1


def test_truncated_term_file_is_reported_not_a_traceback(tmp_path, base):
    trm = next(base.glob("MAIN_*.trm"))
    trm.write_bytes(trm.read_bytes()[: trm.stat().st_size // 3])
    checked = kb("check", "--index", base)
    assert checked.returncode == 1 and "segment" in checked.stderr and "Traceback" not in checked.stderr
    searched = kb("search", "社区", "--index", base)
    assert "Traceback" not in searched.stderr
    assert searched.returncode == 0 or "kb index" in searched.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_read_only_folder_one_line(base):
    os.chmod(base, 0o555)
    try:
        out = kb("add", *MORE, "--index", base)
        assert out.returncode == 1 and "不可写" in out.stderr and "Traceback" not in out.stderr
    finally:
        os.chmod(base, 0o755)


@pytest.mark.skipif(os.geteuid() != 0 or not sys.platform.startswith("linux"), reason="needs mount (root)")
def test_read_only_mount_without_cache(tmp_path, base):
    """A read-only mount of an index that has no .cache/: searching works, writing is one line."""
    shutil.rmtree(base / ".cache", ignore_errors=True)
    ro = tmp_path / "ro"
    ro.mkdir()
    if subprocess.run(["mount", "--bind", str(base), str(ro)]).returncode:
        pytest.skip("bind mount not permitted here")
    try:
        if subprocess.run(["mount", "-o", "remount,ro,bind", str(ro)]).returncode:
            pytest.skip("read-only remount not permitted here")
        env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
        found = kb("search", "社区", "--index", ro, env=env)
        assert found.returncode == 0 and "Traceback" not in found.stderr, found.stderr
        for args in (("add", *MORE), ("remove", "000_3cea6dff0efccbce")):
            out = kb(*args, "--index", ro, env=env)
            assert out.returncode == 1 and "不可写" in out.stderr and "Traceback" not in out.stderr, out.stderr
    finally:
        subprocess.run(["umount", str(ro)])


def test_a_parallel_build_keeps_each_document_in_one_segment(tmp_path, monkeypatch):
    """`kb index` of a large collection writes with several processes; a document's passages
    must not be spread over two segments (it would count as two documents and escape the
    same-document rules of ranking)."""
    from whoosh import index as windex

    from kb.ingest import pipeline
    from kb.ingest.readers import read_path
    from kb.index.store import IndexStore

    monkeypatch.setattr(pipeline, "PARALLEL_MIN_PASSAGES", 1)
    monkeypatch.setattr(pipeline.os, "cpu_count", lambda: 2)
    docs = list(read_path(ROOT / "tests" / "data" / "laws-sample.jsonl.gz"))
    target = tmp_path / "parallel"
    pipeline.rebuild(target, docs)
    ix = windex.open_dir(str(target), indexname="MAIN")
    owner: dict[str, int] = {}
    with ix.searcher() as searcher:
        readers = [r for r, _ in searcher.reader().leaf_readers()]
        assert len(readers) > 1  # the build did run in parallel
        for n, reader in enumerate(readers):
            for fields in reader.all_stored_fields():
                assert owner.setdefault(fields["doc_id"], n) == n, fields["doc_id"]
    ix.close()
    store = IndexStore(target)
    assert store.stats()["documents"] == len({d.doc_id for d in docs})
    store.close()
