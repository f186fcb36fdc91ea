"""What can go wrong with an index folder, each as one line a user can act on.

Imports nothing from kb: every module of the index (and above) may raise these.
"""
from __future__ import annotations

import errno
import pickle
import struct
from pathlib import Path

from whoosh import index as whoosh_index


class StoreError(Exception):
    """An index problem the user can act on; ``str()`` is the one line to show."""


class IndexMissing(StoreError):
    """No index at the given directory."""


class IndexBusy(StoreError):
    """Another writer holds the index lock."""


class IndexDamaged(StoreError):
    pass


class IndexReadOnly(StoreError):
    pass


class DiskFull(StoreError):
    pass


# what Whoosh raises when it reads a truncated or garbled file
DAMAGE_ERRORS = (EOFError, struct.error, pickle.UnpicklingError, ValueError, TypeError, IndexError,
                 KeyError, AttributeError, AssertionError, OverflowError, MemoryError,
                 whoosh_index.IndexError, whoosh_index.IndexVersionError)


def read_only(folder: Path) -> IndexReadOnly:
    return IndexReadOnly(f"{folder}: 索引目录不可写，请检查权限或换一个目录（--index）/ "
                         f"the index folder is not writable: check its permissions or use --index")


def os_error(folder: Path, exc: OSError) -> StoreError:
    """The one line for an OSError met while writing ``folder``."""
    if exc.errno == errno.ENOSPC:
        return DiskFull(f"{folder}: 磁盘已满，本次写入未生效，已清理；请腾出空间后重试 / "
                        f"disk full: nothing was written, leftovers removed; free some space and retry")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return read_only(folder)
    return StoreError(f"{folder}: {exc.strerror or exc}")


def damaged(folder: Path, what: str) -> IndexDamaged:
    return IndexDamaged(f"{folder}: 索引文件损坏（{what}），请运行 kb check --repair，"
                        f"仍不行则用 kb index 重建 / the index is damaged ({what}): run "
                        f"`kb check --repair`, or rebuild with `kb index`")
