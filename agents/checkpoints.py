"""Atomic checkpoint files, shared by RAM and every SB3 algorithm ``ram train`` offers.

A checkpoint is written to a temp file in the same folder, flushed to disk and renamed over the
old one, so a crash or ``kill -9`` at any moment leaves either the old checkpoint or the new one,
never a truncated zip. A kill during the write leaves only the temp file behind;
:func:`remove_stale_temp_files` clears those when a run starts or resumes.
"""

from __future__ import annotations

import os
import pathlib
from typing import Callable, BinaryIO

TEMP_GLOB = ".*.zip.*.tmp"


def zip_path(path: str | os.PathLike) -> pathlib.Path:
    """``path`` with SB3's ``.zip`` suffix rule applied (``model`` -> ``model.zip``)."""
    path = pathlib.Path(path)
    if path.suffix != ".zip":
        path = path.with_suffix(path.suffix + ".zip") if path.suffix else path.with_suffix(".zip")
    return path


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> pathlib.Path:
    """Call ``write(file)`` on a temp file beside ``path``, fsync it and rename it to ``path``.

    Returns the final path. The temp file is ``.<name>.<pid>.tmp`` (hidden, and unique per
    process so two writers never share one).
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)  # the rename itself must survive a power cut too
    return path


def save_model(model, path: str | os.PathLike) -> pathlib.Path:
    """``model.save`` (any SB3 ``BaseAlgorithm``) made atomic: write to a temp file, then rename."""
    path = zip_path(path)
    return atomic_write(path, model.save)


def remove_stale_temp_files(folder: str | os.PathLike) -> list[pathlib.Path]:
    """Delete the temp files of checkpoint saves that were killed midway; returns what was removed.

    Call it only while holding the folder's run lock: a live writer's temp file looks the same.
    """
    removed = []
    for tmp in pathlib.Path(folder).glob(TEMP_GLOB):
        try:
            tmp.unlink()
            removed.append(tmp)
        except FileNotFoundError:
            pass
    return removed


def _fsync_dir(folder: pathlib.Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
