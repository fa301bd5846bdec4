"""MNIST and Fashion-MNIST loading: local folders first, verified download last.

The public entry point is :func:`load_dataset`, which returns
``(images, labels)`` as a read-only ``uint8`` array of shape ``(N, 28, 28)``
and a read-only ``int64`` array of shape ``(N,)``.

Where the four IDX files of a dataset are looked for, in order:

1. ``data_dir`` if given: the folder itself, or its ``<name>/`` subfolder;
2. the ``RAM_ENV_DATA`` environment variable: a root holding ``mnist/`` and
   ``fashion-mnist/`` (or the files directly; several roots may be joined with
   ``os.pathsep``);
3. the user cache, ``$XDG_CACHE_HOME/ram-env/<name>`` or ``~/.cache/ram-env/<name>``;
4. for Fashion-MNIST only, ``/usr/share/datasets/fashion-mnist`` (Debian's
   ``dataset-fashion-mnist`` package).

An explicit ``data_dir`` is the only place searched (and where a download goes):
a folder that holds nothing is an error, never a silent fall-back to
``$RAM_ENV_DATA``.

Each file may be stored raw (``X``) or gzipped (``X.gz``). When a split's files
are nowhere to be found and ``download=True``, they are fetched from the public
mirrors and kept only if the md5 of the decompressed content matches the
official value.

Files that declare the official shape (60,000 or 10,000 examples of 28x28) are
checked against the official md5 by default, whatever their origin; the verdict
is cached per file (path, size, mtime) in ``verified.json`` in the user cache, so
each file is hashed once per machine. A corrupt file, or the other dataset's
file under this one's name, is a ``ValueError`` naming the file.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.client
import os
import pathlib
import re
import shutil
import tempfile
import urllib.error
import urllib.request
import zlib
from typing import Iterable

import numpy as np

__all__ = [
    "DATASETS",
    "ENV_VAR",
    "FILES",
    "MD5",
    "MIRRORS",
    "DatasetNotFoundError",
    "canonical_name",
    "clear_cache",
    "default_search_dirs",
    "load_dataset",
    "parse_split",
    "read_idx",
]

DATASETS: tuple[str, ...] = ("mnist", "fashion-mnist")
ENV_VAR = "RAM_ENV_DATA"

# Base names (without ".gz") of the image and label files of each split.
FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_ALL_FILES: tuple[str, ...] = FILES["train"] + FILES["test"]

# md5 of the *decompressed* IDX files. Hashing the content rather than the .gz
# wrapper lets one table verify downloads, recompressed copies and raw files.
MD5: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
        "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
        "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
        "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
        "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
        "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
    },
}

# Tried in order; each serves "<base>.gz".
MIRRORS: dict[str, tuple[str, ...]] = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    "fashion-mnist": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
}

# Module-level so tests (and unusual systems) can point it elsewhere.
DEBIAN_FASHION_DIR = pathlib.Path("/usr/share/datasets/fashion-mnist")

DOWNLOAD_TIMEOUT = 20.0  # seconds per socket operation; offline machines fail fast

# Subfolder spellings accepted under a data root, canonical first.
_SUBDIRS: dict[str, tuple[str, ...]] = {
    "mnist": ("mnist", "MNIST"),
    "fashion-mnist": ("fashion-mnist", "fashion_mnist", "FashionMNIST"),
}

_NUM_CLASSES = 10
_IMAGE_SHAPE = (28, 28)

# IDX type byte -> big-endian numpy dtype (http://yann.lecun.com/exdb/mnist/).
_IDX_DTYPES: dict[int, str] = {
    0x08: ">u1",
    0x09: ">i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}

_SPLIT_EXAMPLES = (
    '"train", "test", "train[:55000]", "train[55000:]", "train[:90%]", '
    '"test[10%:20%]", "train[-5000:]"'
)


class DatasetNotFoundError(FileNotFoundError):
    """The files of a dataset split were found in no searched folder and could not be downloaded."""

    def __init__(
        self,
        message: str,
        *,
        dataset: str,
        searched: list[pathlib.Path],
        expected: tuple[str, ...],
        download_error: str | None = None,
    ) -> None:
        super().__init__(message)
        self.dataset = dataset
        self.searched = searched
        self.expected = expected
        self.download_error = download_error

    def __str__(self) -> str:  # FileNotFoundError's default would show only args[0] anyway
        return str(self.args[0])


# --------------------------------------------------------------------------- names


def canonical_name(name: str) -> str:
    """Return the canonical dataset name (one of :data:`DATASETS`).

    Case, ``-``, ``_`` and spaces are ignored, so ``"MNIST"``, ``"fashion_mnist"``
    and ``"FashionMNIST"`` are accepted. Raises ``ValueError`` for anything else.
    """
    if not isinstance(name, str):
        raise TypeError(f"dataset name must be a str, got {type(name).__name__}")
    key = re.sub(r"[-_\s]", "", name).lower()
    for canonical in DATASETS:
        if key == canonical.replace("-", ""):
            return canonical
    raise ValueError(f"Unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}")


# --------------------------------------------------------------------------- splits


_SPLIT_RE = re.compile(
    r"^\s*(?P<base>[A-Za-z]+)\s*"
    r"(?:\[\s*(?P<start>-?\d+\s*%?)?\s*:\s*(?P<stop>-?\d+\s*%?)?\s*\])?\s*$"
)


def _split_error(split: object, why: str) -> ValueError:
    return ValueError(f"Invalid split {split!r}: {why}. Valid examples: {_SPLIT_EXAMPLES}")


def _parse_split_spec(split: str) -> tuple[str, str | None, str | None]:
    """Syntax-only part of :func:`parse_split`: ``(base, start_token, stop_token)``."""
    if not isinstance(split, str):
        raise _split_error(split, "a split must be a str")
    m = _SPLIT_RE.match(split)
    if m is None:
        raise _split_error(split, "expected 'train' or 'test', optionally followed by [start:stop]")
    base = m.group("base").lower()
    if base not in FILES:
        raise _split_error(split, f"unknown split {m.group('base')!r}, expected 'train' or 'test'")
    start = m.group("start")
    stop = m.group("stop")
    return base, (start.replace(" ", "") if start else None), (stop.replace(" ", "") if stop else None)


def _resolve_bound(split: str, token: str | None, n: int, default: int) -> int:
    """Turn an absolute (``-5000``) or percent (``90%``) bound into an index in ``[0, n]``."""
    if token is None:
        return default
    if token.endswith("%"):
        pct = int(token[:-1])
        if not -100 <= pct <= 100:
            raise _split_error(split, f"percent bound {token} is outside -100%..100%")
        # TFDS "closest" rounding: int(round(pct * n / 100)), Python's round-half-even.
        value = int(round(pct * n / 100))
    else:
        value = int(token)
        if not -n <= value <= n:
            raise _split_error(split, f"index {value} is out of range for {n} examples")
    return value + n if value < 0 else value


def _resolve_split(split: str, base: str, start: str | None, stop: str | None, n: int) -> slice:
    lo = _resolve_bound(split, start, n, 0)
    hi = _resolve_bound(split, stop, n, n)
    if hi <= lo:
        raise _split_error(split, f"it selects no examples (rows {lo}:{hi} of {n} in {base!r})")
    return slice(lo, hi)


def parse_split(split: str, n_train: int = 60000, n_test: int = 10000) -> tuple[str, slice]:
    """Parse a TFDS/Hugging Face style split string into ``(base, slice)``.

    ``base`` is ``"train"`` or ``"test"``; ``slice`` has concrete, non-negative
    ``start < stop`` bounds (step ``None``) for a split of ``n_train`` / ``n_test``
    examples. Accepted forms: ``"train"``, ``"test"``, ``"train[:55000]"``,
    ``"train[55000:]"``, ``"train[-5000:]"``, ``"train[:90%]"``,
    ``"test[10%:20%]"``; whitespace is ignored. Percent bounds are integers and
    round like TFDS: ``int(round(pct * n / 100))``. Empty or out-of-range
    selections and anything else raise ``ValueError`` quoting the split.
    """
    base, start, stop = _parse_split_spec(split)
    n = n_train if base == "train" else n_test
    return base, _resolve_split(split, base, start, stop, n)


# --------------------------------------------------------------------------- IDX files


def _read_decompressed(path: pathlib.Path) -> bytes:
    """File content with any gzip layer removed; gzip damage becomes ``ValueError``."""
    raw = path.read_bytes()
    # Sniff the gzip magic instead of trusting the suffix: an IDX file always
    # starts with two zero bytes, so the two cases cannot be confused.
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path}: corrupt or truncated gzip data ({exc})") from exc


def _parse_idx(data: bytes, path: os.PathLike | str) -> np.ndarray:
    """Decode IDX bytes; the payload must match the header's size exactly."""
    if len(data) < 4:
        raise ValueError(f"{path}: too short for an IDX header ({len(data)} bytes)")
    zero0, zero1, type_code, ndim = data[0], data[1], data[2], data[3]
    if zero0 != 0 or zero1 != 0:
        raise ValueError(
            f"{path}: bad IDX magic {data[:4].hex()} (first two bytes must be 0; "
            "is this an IDX file?)"
        )
    if type_code not in _IDX_DTYPES:
        raise ValueError(f"{path}: unknown IDX data type code 0x{type_code:02x}")
    if ndim == 0:
        raise ValueError(f"{path}: IDX header declares 0 dimensions")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise ValueError(
            f"{path}: truncated IDX header ({len(data)} bytes, {ndim} dimensions need {header_len})"
        )
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[type_code])
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header_len
    if actual != expected:
        problem = "truncated" if actual < expected else "has trailing bytes"
        raise ValueError(
            f"{path}: payload {problem}: header says shape {dims} of {dtype.name} "
            f"({expected} bytes) but {actual} bytes follow the header"
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header_len).reshape(dims)
    # Native byte order and an owned, writable buffer (frombuffer over bytes is read-only).
    return arr.astype(dtype.newbyteorder("="), order="C", copy=True)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (raw or gzipped) into a new native-endian, C-contiguous array.

    Validates the magic (two zero bytes, a known type code, at least one
    dimension) and that the payload length equals exactly what the header
    declares. Any damage, including a corrupt or truncated gzip stream, raises
    ``ValueError`` naming the file; a missing file raises ``FileNotFoundError``.
    """
    path = pathlib.Path(path)
    return _parse_idx(_read_decompressed(path), path)


def _md5_decompressed(path: pathlib.Path) -> str:
    """md5 of the decompressed content, streamed so memory stays flat."""
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    try:
        with (gzip.open(path, "rb") if gz else open(path, "rb")) as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise ValueError(f"{path}: corrupt or truncated gzip data ({exc})") from exc
    return digest.hexdigest()


# --------------------------------------------------------------------------- search


def _cache_root() -> pathlib.Path:
    # The XDG spec says to ignore an empty or relative XDG_CACHE_HOME.
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = pathlib.Path(xdg) if xdg and os.path.isabs(xdg) else pathlib.Path.home() / ".cache"
    return base / "ram-env"


def _cache_dir(name: str) -> pathlib.Path:
    return _cache_root() / name


def _other_dataset_folder(folder: pathlib.Path, name: str) -> bool:
    """True when ``folder`` is named after a *different* known dataset.

    Guards against silently returning MNIST when ``data_dir=".../mnist"`` is
    passed while Fashion-MNIST (which has identical file names) was requested.
    """
    try:
        return canonical_name(folder.name) != name
    except ValueError:
        return False


def _root_candidates(root: pathlib.Path, name: str) -> list[pathlib.Path]:
    out = [root / sub for sub in _SUBDIRS[name]]
    if not _other_dataset_folder(root, name):
        out.append(root)
    return out


def default_search_dirs(name: str, data_dir: str | os.PathLike | None = None) -> list[pathlib.Path]:
    """Folders searched for the files of dataset ``name``, in priority order.

    With ``data_dir``: its ``<name>/`` subfolder, then itself, and nothing else.
    Without: every root in ``$RAM_ENV_DATA`` (same rule; ``os.pathsep``-separated), then the user
    cache ``$XDG_CACHE_HOME/ram-env/<name>`` (default ``~/.cache/ram-env/<name>``),
    then, for Fashion-MNIST, ``/usr/share/datasets/fashion-mnist``. Folders need
    not exist. A root folder named after a different dataset is not used
    directly, so ``.../mnist`` never satisfies a Fashion-MNIST request.
    """
    name = canonical_name(name)
    dirs: list[pathlib.Path] = []
    if data_dir is not None:
        # Explicit means explicit: falling back elsewhere would load data the caller did not point at.
        return _root_candidates(pathlib.Path(data_dir).expanduser(), name)
    for root in os.environ.get(ENV_VAR, "").split(os.pathsep):
        if root.strip():
            dirs += _root_candidates(pathlib.Path(root.strip()).expanduser(), name)
    dirs.append(_cache_dir(name))
    if name == "fashion-mnist":
        dirs.append(DEBIAN_FASHION_DIR)
    # Drop duplicates (e.g. data_dir equal to $RAM_ENV_DATA), keeping first position.
    seen: set[str] = set()
    unique = []
    for d in dirs:
        key = os.path.abspath(d)
        if key not in seen:
            seen.add(key)
            unique.append(d)
    return unique


def _find_file(folder: pathlib.Path, base: str) -> pathlib.Path | None:
    # Raw first: it loads faster and is what a user who unpacked the files meant.
    for candidate in (folder / base, folder / f"{base}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _find_split(folders: Iterable[pathlib.Path], bases: tuple[str, ...]) -> list[pathlib.Path] | None:
    """First folder holding every file in ``bases`` (so a split is never mixed across folders)."""
    for folder in folders:
        found = [_find_file(folder, b) for b in bases]
        if all(p is not None for p in found):
            return found  # type: ignore[return-value]
    return None


def _describe_folder(folder: pathlib.Path, bases: tuple[str, ...]) -> str:
    if not folder.exists():
        return f"{folder}  (does not exist)"
    if not folder.is_dir():
        return f"{folder}  (not a folder)"
    missing = [b for b in bases if _find_file(folder, b) is None]
    return f"{folder}  (missing: {', '.join(missing)})"


# --------------------------------------------------------------------------- download


def _download_file(name: str, base: str, dest_dir: pathlib.Path, timeout: float) -> pathlib.Path:
    """Fetch ``<base>.gz`` into ``dest_dir`` from the first mirror that serves verified bytes.

    The file is streamed to a temporary name in ``dest_dir`` and renamed into
    place only after the md5 of its decompressed content matches :data:`MD5`,
    so readers never see a partial or wrong file. Raises ``OSError`` listing
    every mirror's failure.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / f"{base}.gz"
    want = MD5[name][base]
    errors = []
    for mirror in MIRRORS[name]:
        url = f"{mirror}{base}.gz"
        fd, tmp_name = tempfile.mkstemp(prefix=f".{base}.", suffix=".part", dir=dest_dir)
        tmp = pathlib.Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
                shutil.copyfileobj(resp, out, 1 << 20)
                out.flush()
                os.fsync(out.fileno())
            got = _md5_decompressed(tmp)
            if got != want:
                raise ValueError(f"md5 mismatch: got {got}, expected {want}")
            os.replace(tmp, target)  # atomic on POSIX and Windows within one folder
            return target
        except (OSError, ValueError, EOFError, zlib.error, http.client.HTTPException) as exc:
            # URLError, HTTPError and timeouts are OSError subclasses.
            reason = getattr(exc, "reason", None) or exc
            errors.append(f"{url}: {type(exc).__name__}: {reason}")
        finally:
            tmp.unlink(missing_ok=True)
    raise OSError("; ".join(errors))


def _download(name: str, bases: tuple[str, ...], dest_dir: pathlib.Path, timeout: float = DOWNLOAD_TIMEOUT) -> None:
    """Download the files in ``bases`` that ``dest_dir`` lacks; raise ``OSError`` on the first failure."""
    existed = dest_dir.is_dir()
    try:
        for base in bases:
            if _find_file(dest_dir, base) is None:
                _download_file(name, base, dest_dir, timeout)
    except OSError:
        # Do not leave an empty cache folder behind after an offline attempt.
        if not existed:
            try:
                dest_dir.rmdir()
            except OSError:
                pass
        raise


# --------------------------------------------------------------------------- loading


def _file_key(path: pathlib.Path) -> tuple[str, int, int]:
    # mtime and size in the key make a replaced file miss the cache instead of going stale.
    st = path.stat()
    return (str(path.resolve()), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=32)
def _md5_cached(key: tuple[str, int, int]) -> str:
    return _md5_decompressed(pathlib.Path(key[0]))


@functools.lru_cache(maxsize=8)
def _load_pair(img_key: tuple[str, int, int], lbl_key: tuple[str, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Read, validate and freeze one split; cached because environments are built many times."""
    img_path, lbl_path = img_key[0], lbl_key[0]
    images = read_idx(img_path)
    labels = read_idx(lbl_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != _IMAGE_SHAPE:
        raise ValueError(
            f"{img_path}: expected uint8 images of shape (N, 28, 28), got {images.dtype} {images.shape}"
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise ValueError(f"{lbl_path}: expected a 1-D uint8 label file, got {labels.dtype} {labels.shape}")
    if len(labels) != len(images):
        raise ValueError(
            f"{lbl_path}: {len(labels)} labels but {img_path} holds {len(images)} images"
        )
    if len(labels) == 0:
        raise ValueError(f"{lbl_path}: the file holds no examples")
    if int(labels.max()) >= _NUM_CLASSES:
        bad = int(np.argmax(labels >= _NUM_CLASSES))
        raise ValueError(
            f"{lbl_path}: label {int(labels[bad])} at index {bad} is outside 0..{_NUM_CLASSES - 1}"
        )
    labels = labels.astype(np.int64)
    # Read-only so callers' views cannot corrupt the shared cache.
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels


def clear_cache() -> None:
    """Forget every array and checksum cached in this process by :func:`load_dataset` (not ``verified.json``)."""
    _load_pair.cache_clear()
    _md5_cached.cache_clear()


_OFFICIAL_COUNT = {"train": 60000, "t10k": 10000}
VERIFIED_FILE = "verified.json"


def _official_dims(base: str) -> tuple[int, ...]:
    n = _OFFICIAL_COUNT[base.split("-")[0]]
    return (n,) + _IMAGE_SHAPE if "images" in base else (n,)


def _idx_dims(path: pathlib.Path) -> tuple[int, ...] | None:
    """The shape an IDX file's header declares (None when the header is unreadable: parsing will say why)."""
    try:
        with open(path, "rb") as fh:
            gz = fh.read(2) == b"\x1f\x8b"
        with (gzip.open(path, "rb") if gz else open(path, "rb")) as fh:
            head = fh.read(4 + 4 * 3)
    except (OSError, EOFError, zlib.error):
        return None
    if len(head) < 4 or head[:2] != b"\0\0" or not 1 <= head[3] <= 3 or len(head) < 4 + 4 * head[3]:
        return None
    return tuple(int(d) for d in np.frombuffer(head, ">u4", count=head[3], offset=4))


def _verified_table() -> pathlib.Path:
    return _cache_root() / VERIFIED_FILE


def _md5_remembered(key: tuple[str, int, int]) -> str:
    """md5 of a file, from ``verified.json`` when its path, mtime and size are unchanged, else hashed and stored."""
    import json

    table_path = _verified_table()
    try:
        table = json.loads(table_path.read_text())
        if not isinstance(table, dict):
            table = {}
    except (OSError, ValueError):
        table = {}
    entry = table.get(key[0])
    if isinstance(entry, list) and len(entry) == 3 and entry[:2] == [key[1], key[2]]:
        return str(entry[2])
    digest = _md5_cached(key)
    table[key[0]] = [key[1], key[2], digest]
    try:  # a read-only home only costs a re-hash next time
        table_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = table_path.with_name(f".{VERIFIED_FILE}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(table, indent=0))
        os.replace(tmp, table_path)
    except OSError:
        pass
    return digest


def _check_md5(name: str, base: str, path: pathlib.Path, key: tuple[str, int, int]) -> None:
    got, want = _md5_remembered(key), MD5[name][base]
    if got == want:
        return
    for other, table in MD5.items():
        for other_base, value in table.items():
            if value == got:
                raise ValueError(
                    f"{path}: this is {other}'s {other_base}, not {name}'s {base} (both datasets use the "
                    f"same file names: is it in the wrong folder?)"
                )
    raise ValueError(
        f"{path}: md5 of decompressed content is {got}, expected {want} for {name} {base}: the file is "
        "corrupt or not the official one (load_dataset(..., verify=False) skips the check)"
    )


def _download_dir(name: str, data_dir: str | os.PathLike | None) -> pathlib.Path:
    """Where a download of ``name`` goes: the explicit ``data_dir`` (its ``<name>/`` unless it is one), else the cache."""
    if data_dir is None:
        return _cache_dir(name)
    root = pathlib.Path(data_dir).expanduser()
    try:
        if canonical_name(root.name) == name:
            return root
    except ValueError:
        pass
    return root / name


def _not_found(
    name: str, split: str, bases: tuple[str, ...], searched: list[pathlib.Path], download_error: str | None,
    target: pathlib.Path | None = None,
) -> DatasetNotFoundError:
    lines = [
        f"Dataset {name!r} (split {split!r}) not found. Each folder must hold "
        f"{' and '.join(bases)} (raw or .gz). Folders searched, in order:",
        *(f"  - {_describe_folder(d, bases)}" for d in searched),
        "A complete dataset folder holds these files (each as X or X.gz): " + ", ".join(_ALL_FILES) + ".",
    ]
    if download_error is not None:
        lines.append(f"Download into {target or _cache_dir(name)} failed: {download_error}")
    else:
        lines.append("Download was not attempted (download=False).")
    fix = (
        f"To fix: set {ENV_VAR} to a folder holding {name}/ "
        f"(e.g. {ENV_VAR}=/path/to/data with /path/to/data/{name}/{bases[0]}.gz), "
        f"pass data_dir=..., or copy the files into {_cache_dir(name)}"
    )
    if name == "fashion-mnist":
        fix += f", or install Debian's dataset-fashion-mnist package ({DEBIAN_FASHION_DIR})"
    lines.append(fix + ".")
    return DatasetNotFoundError(
        "\n".join(lines), dataset=name, searched=searched, expected=_ALL_FILES, download_error=download_error
    )


def load_dataset(
    name: str,
    split: str = "train",
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    *,
    verify: bool | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Load a split of MNIST or Fashion-MNIST.

    Returns ``(images, labels)``: ``uint8`` of shape ``(N, 28, 28)`` and
    ``int64`` of shape ``(N,)``, both C-contiguous, **read-only** views of an
    in-process cache (call ``.copy()`` to modify). ``split`` follows
    :func:`parse_split` (``"train[:55000]"``, ``"test[10%:20%]"``, ...).

    Folders are searched as described by :func:`default_search_dirs`. If no
    folder holds the split's files and ``download`` is true, they are
    downloaded (into ``data_dir`` when given, else the user cache) and
    md5-verified. ``verify=None`` (the default) checks the md5 of every file
    whose header declares the official shape, so a corrupt copy or the other
    dataset's file is an error; ``verify=True`` checks every file (a file of
    another shape then fails), ``verify=False`` none. Each verdict is cached
    (see the module docstring).

    Raises ``DatasetNotFoundError`` (a ``FileNotFoundError``) naming every
    folder searched when the files are unavailable, and ``ValueError`` for an
    unknown name, a bad split, a corrupt file or an md5 mismatch.
    """
    name = canonical_name(name)
    base, start, stop = _parse_split_spec(split)  # syntax errors before any disk access
    bases = FILES[base]
    searched = default_search_dirs(name, data_dir)
    paths = _find_split(searched, bases)
    if paths is None:
        download_error = None
        target = _download_dir(name, data_dir)
        if download:
            try:
                _download(name, bases, target)
            except OSError as exc:
                download_error = str(exc) or type(exc).__name__
            else:
                paths = _find_split([target], bases)
        if paths is None:
            raise _not_found(name, split, bases, searched, download_error, target)

    keys = [_file_key(p) for p in paths]
    if verify is not False:
        for base_name, path, key in zip(bases, paths, keys):
            if verify or _idx_dims(path) == _official_dims(base_name):
                _check_md5(name, base_name, path, key)
    images, labels = _load_pair(keys[0], keys[1])
    sl = _resolve_split(split, base, start, stop, len(labels))
    return images[sl], labels[sl]
