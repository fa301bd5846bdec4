"""What every benchmark script shares: where results go, the record's provenance (command, date, machine), the
``--quick`` temp folder, and a lock for merging records into a results file."""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

#: The committed results folder.
RESULTS = Path(__file__).resolve().parent / "results"


def command(script: str, argv: list[str] | None = None) -> str:
    """How the run was started, as the README writes it: ``python -m benchmarks.<script> <args>``.

    ``script`` is the module's ``__file__`` (or its name); ``argv`` the arguments ``main`` was given (None: the
    command line's).
    """
    args = sys.argv[1:] if argv is None else argv
    return " ".join(["python -m", f"benchmarks.{Path(script).stem}", *args])


def provenance(script: str, argv: list[str] | None = None, device: str = "cpu") -> dict[str, str]:
    """The ``command``, ``date`` and ``machine`` every record carries (see :func:`command`, :func:`machine`)."""
    return dict(command=command(script, argv), date=datetime.datetime.now().isoformat(timespec="seconds"),
                machine=machine(device))


def out_folder(out: str | Path | None, quick: bool, script: str) -> Path:
    """``--out`` when given; else a new temp folder for ``--quick`` (a smoke run never touches the committed
    results), else :data:`RESULTS`."""
    if out is not None:
        return Path(out)
    return Path(tempfile.mkdtemp(prefix=f"{Path(script).stem}-")) if quick else RESULTS


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


def machine(device: str = "cpu", load: bool = False) -> str:
    """CPU model, usable cores and torch threads (and the GPU when ``device`` is a CUDA one; the 1-minute load
    average when ``load``: timings on a shared machine), for the results files."""
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
    if load and hasattr(os, "getloadavg"):
        text += f", load average {os.getloadavg()[0]:.1f}"
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
