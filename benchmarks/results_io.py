"""Helpers shared by the benchmark scripts: the machine description and a lock for merging results."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Any, Callable


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


def machine(device: str = "cpu") -> str:
    """CPU model, usable cores and torch threads (and the GPU when ``device`` is a CUDA one), for the results files."""
    import torch

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    text = f"{cpu}, {len(os.sched_getaffinity(0))} cores, {torch.get_num_threads()} torch thread(s)"
    if torch.device(device).type == "cuda":
        text += f", GPU: {torch.cuda.get_device_name(torch.device(device))}"
    return text


def merge_records(path: Path, new: list[dict[str, Any]], key: Callable[[dict], Any],
                  order: Callable[[dict], Any]) -> list[dict[str, Any]]:
    """Merge ``new`` into the ``records`` of the JSON file ``path`` (same key: replaced), written atomically.

    Call it inside ``locked(path)``; returns the merged records sorted by ``order``.
    """
    old = json.loads(path.read_text()).get("records", []) if path.exists() else []
    records = {key(r): r for r in old}
    records.update({key(r): r for r in new})
    merged = sorted(records.values(), key=order)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(dict(records=merged), indent=1))
    os.replace(tmp, path)
    return merged
