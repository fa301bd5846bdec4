"""Helpers shared by the benchmark scripts: a lock so parallel runs can merge into one results file."""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from pathlib import Path


@contextlib.contextmanager
def locked(path: Path):
    """An exclusive lock for ``path`` (POSIX; no lock elsewhere), held while a script merges its results."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover
        yield
        return
    # The lock file lives in the temp folder (keyed by the results path), not beside the results.
    name = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]
    with open(Path(tempfile.gettempdir()) / f"ram-env-{path.stem}-{name}.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
