"""The write lock and what a killed writer leaves behind.

Whoosh's ``MAIN_WRITELOCK`` is the one lock of an index folder (a second writer waits for it);
this module takes it without waiting, recovers a swap interrupted between its two renames, removes
the staging folders of dead builders, makes worker processes die with their parent, and holds the
test-only crash points (``KB_CRASH_AT``) that the fault tests kill a writer at.
"""
from __future__ import annotations

import ctypes
import errno
import os
import re
import shutil
import signal
import sys

from pathlib import Path

from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC

from kb.index.schema import INDEXNAME

CRASH_ENV = "KB_CRASH_AT"
CRASH_POINTS = ("after-catalogue", "mid-merge", "after-commit", "between-renames", "enospc")


_crash_counts: dict[str, int] = {}


def crash_point(name: str) -> None:
    """Test-only switch: ``KB_CRASH_AT=name`` kills this process right here (as ``kill -9``
    would), ``KB_CRASH_AT=name:n`` the n-th time it gets here; ``KB_CRASH_AT=enospc`` makes the
    commit fail as on a full disk, after the passages were written."""
    wanted = os.environ.get(CRASH_ENV)
    if not wanted or wanted.partition(":")[0] != name:
        return
    _crash_counts[name] = _crash_counts.get(name, 0) + 1
    if _crash_counts[name] < int(wanted.partition(":")[2] or 1):
        return
    if name == "enospc":
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    os.kill(os.getpid(), signal.SIGKILL)


def die_with_parent() -> None:
    """Ask Linux to kill this (worker) process when its parent dies (PR_SET_PDEATHSIG); a no-op
    elsewhere. A plain libc call, so no package is needed for it."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the parent died before we asked
        os._exit(1)


def _patch_whoosh_workers() -> None:
    """Whoosh's parallel writer forks worker processes; make them die with the writer."""
    from whoosh.multiproc import SubWriterTask

    if getattr(SubWriterTask.run, "_kb_dies_with_parent", False):
        return
    original = SubWriterTask.run

    def run(self):
        die_with_parent()
        return original(self)

    run._kb_dies_with_parent = True
    SubWriterTask.run = run


_patch_whoosh_workers()


def pid_alive(pid: int | None) -> bool:
    """Whether a process with this id runs (on this machine; another user's counts)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def exists(folder: Path | str) -> bool:
    """True if ``folder`` holds a committed index (after recovering an interrupted swap)."""
    folder = Path(folder)
    recover(folder)
    return has_toc(folder)


def has_toc(folder: Path) -> bool:
    try:
        return any(TOC._pattern(INDEXNAME).match(n) for n in os.listdir(folder))
    except OSError:
        return False


def recover(folder: Path) -> None:
    """Undo what a killed ``kb index`` left: ``X.old`` without ``X`` (killed between the two
    renames of a swap) is put back; ``X.old`` beside a good ``X`` and ``X.building-<pid>-*``
    folders of dead processes are removed. Best effort (a read-only mount is left as it is)."""
    retired = folder.with_name(folder.name + ".old")
    try:
        if retired.is_dir():
            holder = try_lock(retired)
            if holder is not None:  # no swap in progress
                try:
                    if not has_toc(folder) and has_toc(retired):
                        if folder.exists():
                            shutil.rmtree(folder)
                        retired.rename(folder)
                    elif has_toc(folder):
                        shutil.rmtree(retired, ignore_errors=True)
                finally:
                    holder.release()
        for staging in folder.parent.glob(folder.name + ".building-*"):
            match = re.match(r".*\.building-(\d+)-", staging.name)
            if match and not pid_alive(int(match.group(1))):
                shutil.rmtree(staging, ignore_errors=True)
    except OSError:
        pass


def try_lock(folder: Path):
    """Whoosh's write lock of ``folder`` if free, else None."""
    try:
        lock = FileStorage(str(folder)).lock(INDEXNAME + "_WRITELOCK")
        return lock if lock.acquire(blocking=False) else None
    except OSError:
        return None
