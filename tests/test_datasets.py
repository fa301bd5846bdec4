"""Tests for ram_env.datasets: search order, IDX parsing, splits, caching, verified download."""

from __future__ import annotations

import gzip
import io
import os
import pathlib
import shutil
import urllib.error
import urllib.request

import numpy as np
import pytest

from ram_env import datasets as ds
from ram_env.datasets import (
    DATASETS,
    ENV_VAR,
    DatasetNotFoundError,
    canonical_name,
    default_search_dirs,
    load_dataset,
    parse_split,
    read_idx,
)

ALL_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


# --------------------------------------------------------------------------- fixtures and helpers


def _shared_data_root() -> pathlib.Path:
    env = os.environ.get(ENV_VAR)
    if env:
        return pathlib.Path(env)
    # ../shared/data from the project root.
    return pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data"


_DATA_ROOT = _shared_data_root()  # captured before any test monkeypatches the env var


@pytest.fixture
def data_root() -> pathlib.Path:
    """Root holding mnist/ and fashion-mnist/ with the real files; skip when absent."""
    if not (_DATA_ROOT / "mnist" / "train-labels-idx1-ubyte.gz").is_file():
        pytest.skip(f"MNIST data not found under {_DATA_ROOT}; set {ENV_VAR} to a folder holding mnist/")
    return _DATA_ROOT


@pytest.fixture
def fashion_root(data_root: pathlib.Path) -> pathlib.Path:
    if not (data_root / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz").is_file():
        pytest.skip(f"Fashion-MNIST data not found under {data_root}")
    return data_root


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Point every search location at tmp_path and make any real network access fail loudly."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "env-root"))
    monkeypatch.setattr(ds, "DEBIAN_FASHION_DIR", tmp_path / "debian-fashion")

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    return tmp_path


def idx_bytes(arr: np.ndarray) -> bytes:
    """Encode an array as an IDX file (big-endian, like the originals)."""
    codes = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}
    code = codes[arr.dtype.str[1:]]
    header = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write_file(folder: pathlib.Path, base: str, data: bytes, gz: bool) -> pathlib.Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (base + ".gz" if gz else base)
    path.write_bytes(gzip.compress(data, compresslevel=1) if gz else data)
    return path


def write_split(folder, images, labels, split="train", gz=False):
    img_base, lbl_base = ds.FILES[split]
    return (
        write_file(folder, img_base, idx_bytes(images), gz),
        write_file(folder, lbl_base, idx_bytes(labels), gz),
    )


def synthetic(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    return images, labels


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    "alias, expected",
    [
        ("mnist", "mnist"),
        ("MNIST", "mnist"),
        ("fashion-mnist", "fashion-mnist"),
        ("fashion_mnist", "fashion-mnist"),
        ("FashionMNIST", "fashion-mnist"),
    ],
)
def test_canonical_name_aliases(alias, expected):
    assert canonical_name(alias) == expected
    assert expected in DATASETS


@pytest.mark.parametrize("bad", ["cifar10", "emnist", "", "mnist2"])
def test_unknown_dataset_name_lists_known_ones(bad):
    with pytest.raises(ValueError) as info:
        canonical_name(bad)
    msg = str(info.value)
    assert repr(bad) in msg and "mnist" in msg and "fashion-mnist" in msg
    with pytest.raises(ValueError):
        load_dataset(bad, download=False)


# --------------------------------------------------------------------------- real data


def test_mnist_train_and_test(data_root):
    x, y = load_dataset("mnist", "train", data_dir=data_root)
    assert x.shape == (60000, 28, 28) and x.dtype == np.uint8
    assert y.shape == (60000,) and y.dtype == np.int64
    assert x.flags.c_contiguous and y.flags.c_contiguous
    assert int(y[0]) == 5  # the famous first MNIST digit
    assert set(np.unique(y).tolist()) == set(range(10))
    assert x.max() == 255 and x.min() == 0

    xt, yt = load_dataset("MNIST", "test", data_dir=data_root)
    assert xt.shape == (10000, 28, 28) and yt.shape == (10000,)
    assert int(yt[0]) == 7


def test_env_var_root_is_used(data_root, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(data_root))
    _, y = load_dataset("mnist", "test", download=False)
    assert len(y) == 10000 and int(y[0]) == 7


def test_fashion_mnist_test(fashion_root):
    x, y = load_dataset("fashion_mnist", "test", data_dir=fashion_root)
    xm, _ = load_dataset("mnist", "test", data_dir=fashion_root)
    assert x.shape == (10000, 28, 28) and y.dtype == np.int64
    assert int(y[0]) == 9  # ankle boot
    assert np.bincount(y).tolist() == [1000] * 10
    assert not np.array_equal(x, xm)


def test_arrays_are_read_only_and_cached(data_root):
    x1, y1 = load_dataset("mnist", "test", data_dir=data_root)
    x2, y2 = load_dataset("mnist", "test[:100]", data_dir=data_root)
    assert not x1.flags.writeable and not y1.flags.writeable
    with pytest.raises(ValueError):
        x1[0, 0, 0] = 1
    with pytest.raises(ValueError):
        y2[0] = 3
    # Second call returns views of the same cached buffers, not a fresh read.
    assert np.shares_memory(x1, x2) and np.shares_memory(y1, y2)
    # A caller's copy is writable and independent.
    c = x2.copy()
    c[0] = 0
    assert x1[0].any()


def test_verify_md5_passes_on_real_data(data_root):
    x, y = load_dataset("mnist", "test", data_dir=data_root, verify=True)
    assert len(x) == len(y) == 10000


def test_verify_md5_rejects_tampered_file(data_root, tmp_path):
    # Flip one label: the file stays structurally valid, only the checksum can notice.
    folder = tmp_path / "tampered"
    folder.mkdir()
    shutil.copy(data_root / "mnist" / "t10k-images-idx3-ubyte.gz", folder)
    labels = gzip.decompress((data_root / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes())
    labels = bytearray(labels)
    labels[8] = (labels[8] + 1) % 10
    write_file(folder, "t10k-labels-idx1-ubyte", bytes(labels), gz=False)

    _, y = load_dataset("mnist", "test", data_dir=folder, verify=False)  # structure alone is fine
    assert int(y[0]) == 8
    for verify in (True, None):  # None, the default: an official-shaped file is checked
        with pytest.raises(ValueError, match="md5") as info:
            load_dataset("mnist", "test", data_dir=folder, verify=verify)
        assert "t10k-labels-idx1-ubyte" in str(info.value)


def test_raw_files_match_gz(data_root, tmp_path):
    folder = tmp_path / "raw"
    for base in ds.FILES["test"]:
        write_file(folder, base, gzip.decompress((data_root / "mnist" / f"{base}.gz").read_bytes()), gz=False)
    xr, yr = load_dataset("mnist", "test", data_dir=folder, verify=True)
    xg, yg = load_dataset("mnist", "test", data_dir=data_root)
    assert np.array_equal(xr, xg) and np.array_equal(yr, yg)
    assert not np.shares_memory(xr, xg)  # really read from the raw files


# --------------------------------------------------------------------------- splits


def test_split_slices_are_disjoint_and_cover(data_root):
    x, y = load_dataset("mnist", "train", data_dir=data_root)
    xa, ya = load_dataset("mnist", "train[:55000]", data_dir=data_root)
    xb, yb = load_dataset("mnist", "train[55000:]", data_dir=data_root)
    assert len(xa) == len(ya) == 55000 and len(xb) == len(yb) == 5000
    assert not np.shares_memory(xa, xb)
    assert np.array_equal(np.concatenate([xa, xb]), x)
    assert np.array_equal(np.concatenate([ya, yb]), y)
    xc, _ = load_dataset("mnist", " train [ -5000 : ] ", data_dir=data_root)
    assert np.array_equal(xc, xb)
    assert xa.flags.c_contiguous and xb.flags.c_contiguous


def test_percent_splits(data_root):
    x90, _ = load_dataset("mnist", "train[:90%]", data_dir=data_root)
    assert len(x90) == 54000
    xt, yt = load_dataset("mnist", "test", data_dir=data_root)
    x, y = load_dataset("mnist", "test[10%:20%]", data_dir=data_root)
    assert len(x) == 1000
    assert np.array_equal(x, xt[1000:2000]) and np.array_equal(y, yt[1000:2000])


@pytest.mark.parametrize(
    "split, expected",
    [
        ("train", ("train", slice(0, 60000))),
        ("test", ("test", slice(0, 10000))),
        ("train[:55000]", ("train", slice(0, 55000))),
        ("train[55000:]", ("train", slice(55000, 60000))),
        ("train[-5000:]", ("train", slice(55000, 60000))),
        ("train[:90%]", ("train", slice(0, 54000))),
        ("test[10%:20%]", ("test", slice(1000, 2000))),
        ("test[-10%:]", ("test", slice(9000, 10000))),
        ("  test [ 10 % : 20 % ]  ", ("test", slice(1000, 2000))),
        ("train[:]", ("train", slice(0, 60000))),
    ],
)
def test_parse_split_valid(split, expected):
    assert parse_split(split) == expected


def test_parse_split_percent_rounding_and_sizes():
    # int(round(pct * n / 100)): 33% of 10 -> 3.3 -> 3; 25% of 10 -> 2.5 -> 2 (half to even, like TFDS).
    assert parse_split("train[:33%]", n_train=10) == ("train", slice(0, 3))
    assert parse_split("train[:25%]", n_train=10) == ("train", slice(0, 2))
    assert parse_split("test[:67%]", n_test=10) == ("test", slice(0, 7))
    # Complementary percent splits never overlap or drop examples.
    a, b = parse_split("train[:35%]", n_train=7)[1], parse_split("train[35%:]", n_train=7)[1]
    assert a.stop == b.start and a.start == 0 and b.stop == 7


@pytest.mark.parametrize(
    "split",
    [
        "valid",
        "validation",
        "train[:abc]",
        "train[5:2]",
        "train[5:5]",
        "train[:70000]",
        "train[-70000:]",
        "test[:101%]",
        "train[1.5%:]",
        "train[::2]",
        "train[",
        "train+test",
        "",
    ],
)
def test_parse_split_invalid(split):
    with pytest.raises(ValueError) as info:
        parse_split(split)
    msg = str(info.value)
    assert repr(split) in msg
    assert "train[:55000]" in msg and "test[10%:20%]" in msg


def test_bad_split_fails_before_searching(tmp_path):
    # A syntax error must not be masked by a "dataset not found" error.
    with pytest.raises(ValueError, match="valid"):
        load_dataset("mnist", "valid", data_dir=tmp_path / "nothing", download=False)


def test_split_out_of_range_for_actual_file_size(tmp_path):
    write_split(tmp_path / "small", *synthetic(20))
    x, _ = load_dataset("mnist", "train[-5:]", data_dir=tmp_path / "small")
    assert len(x) == 5
    with pytest.raises(ValueError, match="out of range"):
        load_dataset("mnist", "train[:55000]", data_dir=tmp_path / "small")


# --------------------------------------------------------------------------- search order


def test_search_dirs_order(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "envroot"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    explicit = default_search_dirs("Fashion_MNIST", tmp_path / "explicit")
    assert explicit[0] == tmp_path / "explicit" / "fashion-mnist" and explicit[-1] == tmp_path / "explicit"
    assert len(explicit) == len(ds._SUBDIRS["fashion-mnist"]) + 1  # an explicit data_dir is searched alone
    dirs = default_search_dirs("Fashion_MNIST")
    assert dirs[0] == tmp_path / "envroot" / "fashion-mnist"
    assert dirs.index(tmp_path / "envroot") < dirs.index(tmp_path / "xdg" / "ram-env" / "fashion-mnist")
    assert dirs[-1] == ds.DEBIAN_FASHION_DIR
    mnist_dirs = default_search_dirs("mnist")
    assert ds.DEBIAN_FASHION_DIR not in mnist_dirs
    assert mnist_dirs[-1] == tmp_path / "xdg" / "ram-env" / "mnist"


def test_cache_dir_defaults_to_home(monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_search_dirs("mnist")[-1] == tmp_path / "home" / ".cache" / "ram-env" / "mnist"


def test_explicit_data_dir_beats_env_var(data_root, tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(data_root))
    write_split(tmp_path / "mine", *synthetic(3))
    x, y = load_dataset("mnist", data_dir=tmp_path / "mine")  # files directly in data_dir
    assert len(x) == 3 and y.tolist() == [0, 1, 2]
    # tmp_path holds neither mnist/ nor the files themselves: an error, not the env var's data.
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("mnist", data_dir=tmp_path, download=False)
    assert str(data_root) not in str(info.value) and str(tmp_path / "mnist") in str(info.value)


def test_root_with_subfolder_and_env_direct_files(tmp_path, monkeypatch):
    write_split(tmp_path / "root" / "mnist", *synthetic(4), gz=True)
    assert len(load_dataset("mnist", data_dir=tmp_path / "root", download=False)[1]) == 4
    write_split(tmp_path / "flat", *synthetic(6))
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "flat"))
    assert len(load_dataset("mnist", download=False)[1]) == 6


def test_user_cache_folder_is_searched(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    write_split(tmp_path / "xdg" / "ram-env" / "fashion-mnist", *synthetic(7), split="test")
    _, y = load_dataset("fashion-mnist", "test", download=False)
    assert len(y) == 7
    with pytest.raises(FileNotFoundError):  # same folder name must not serve MNIST
        load_dataset("mnist", "test", download=False)


def test_debian_folder_for_fashion_only(tmp_path, monkeypatch):
    write_split(tmp_path / "debian-fashion", *synthetic(5), gz=True)
    assert len(load_dataset("fashion-mnist", download=False)[1]) == 5
    with pytest.raises(FileNotFoundError):
        load_dataset("mnist", download=False)


def test_mnist_folder_never_serves_fashion(data_root):
    # Identical file names: data_dir=.../mnist must not satisfy a Fashion-MNIST request.
    with pytest.raises(DatasetNotFoundError):
        load_dataset("fashion-mnist", "test", data_dir=data_root / "mnist", download=False)


def test_replaced_file_invalidates_cache(tmp_path):
    folder = tmp_path / "changing"
    write_split(folder, *synthetic(3))
    assert len(load_dataset("mnist", data_dir=folder)[1]) == 3
    write_split(folder, *synthetic(9, seed=1))
    assert len(load_dataset("mnist", data_dir=folder)[1]) == 9


# --------------------------------------------------------------------------- missing data


def test_missing_dataset_error_names_folders_files_and_fix(tmp_path, monkeypatch):
    calls = []

    def failing_download(name, bases, dest_dir, timeout=ds.DOWNLOAD_TIMEOUT):
        calls.append((name, bases, dest_dir))
        raise OSError("simulated: no route to host")

    monkeypatch.setattr(ds, "_download", failing_download)
    explicit = tmp_path / "explicit"
    explicit.mkdir()
    with pytest.raises(FileNotFoundError) as info:
        load_dataset("fashion-mnist", "test", data_dir=explicit)
    err = info.value
    assert isinstance(err, DatasetNotFoundError)
    msg = str(err)
    assert "fashion-mnist" in msg
    searched = default_search_dirs("fashion-mnist", explicit)
    assert err.searched == searched
    for folder in searched:
        assert str(folder) in msg
    assert searched == [explicit / sub for sub in ds._SUBDIRS["fashion-mnist"]] + [explicit]
    for base in ALL_FILES:
        assert base in msg
    assert "simulated: no route to host" in msg
    assert ENV_VAR in msg and "data_dir=" in msg
    # The download goes where the caller pointed, not into the cache.
    assert calls == [("fashion-mnist", ds.FILES["test"], explicit / "fashion-mnist")]
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("fashion-mnist", "test")
    msg = str(info.value)
    assert str(tmp_path / "env-root" / "fashion-mnist") in msg
    assert str(tmp_path / "xdg-cache" / "ram-env" / "fashion-mnist") in msg and str(ds.DEBIAN_FASHION_DIR) in msg
    assert calls[-1] == ("fashion-mnist", ds.FILES["test"], tmp_path / "xdg-cache" / "ram-env" / "fashion-mnist")


def test_missing_dataset_without_download(monkeypatch):
    def must_not_run(*args, **kwargs):
        raise AssertionError("download attempted although download=False")

    monkeypatch.setattr(ds, "_download", must_not_run)
    with pytest.raises(DatasetNotFoundError, match="not attempted"):
        load_dataset("mnist", download=False)


def test_offline_download_falls_through_to_not_found(tmp_path):
    # The autouse fixture's urlopen raises URLError, as on a machine without network.
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("mnist", "test")
    msg = str(info.value)
    assert "network disabled in tests" in msg
    assert "ossci-datasets" in msg and "cvdf-datasets" in msg  # every mirror was tried
    assert not (tmp_path / "xdg-cache" / "ram-env" / "mnist").exists()  # no empty folder left


def test_split_files_must_come_from_one_folder(tmp_path):
    imgs, lbls = synthetic(4)
    write_file(tmp_path / "a", "train-images-idx3-ubyte", idx_bytes(imgs), gz=False)
    write_file(tmp_path / "env-root" / "mnist", "train-labels-idx1-ubyte", idx_bytes(lbls), gz=False)
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("mnist", data_dir=tmp_path / "a", download=False)
    assert "missing: train-labels-idx1-ubyte" in str(info.value)


# --------------------------------------------------------------------------- corrupt files


def test_read_idx_roundtrip_dtypes(tmp_path):
    for arr in (
        np.arange(24, dtype=np.int32).reshape(2, 3, 4) - 7,
        np.linspace(-1, 1, 10, dtype=np.float32),
        np.arange(6, dtype=np.int16).reshape(3, 2),
        np.arange(5, dtype=np.float64),
    ):
        for gz in (False, True):
            path = write_file(tmp_path, f"a{arr.dtype}{gz}", idx_bytes(arr), gz)
            out = read_idx(path)
            assert out.dtype == arr.dtype and out.dtype.isnative
            assert np.array_equal(out, arr) and out.flags.c_contiguous


@pytest.mark.parametrize(
    "mutate, problem",
    [
        (lambda b: b[:-1], "truncated"),
        (lambda b: b + b"\x00", "trailing"),
        (lambda b: b[:6], "header"),
        (lambda b: b"\x01" + b[1:], "magic"),
        (lambda b: b[:2] + b"\x07" + b[3:], "type code"),
        (lambda b: b"", "too short"),
    ],
)
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_rejects_damage(tmp_path, mutate, problem, gz):
    good = idx_bytes(np.zeros((3, 28, 28), np.uint8))
    path = write_file(tmp_path, "train-images-idx3-ubyte", mutate(good), gz)
    with pytest.raises(ValueError, match=problem) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_truncated_gzip_is_value_error(tmp_path):
    images, labels = synthetic(50)
    img_path, _ = write_split(tmp_path / "d", images, labels, gz=True)
    data = img_path.read_bytes()
    img_path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="gzip") as info:
        load_dataset("mnist", data_dir=tmp_path / "d")
    assert str(img_path) in str(info.value)


def test_truncated_real_gz_copy(data_root, tmp_path):
    folder = tmp_path / "cut"
    folder.mkdir()
    shutil.copy(data_root / "mnist" / "t10k-labels-idx1-ubyte.gz", folder)
    data = (data_root / "mnist" / "t10k-images-idx3-ubyte.gz").read_bytes()
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(data[:-100])
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte"):
        load_dataset("mnist", "test", data_dir=folder)


@pytest.mark.parametrize(
    "make, problem",
    [
        (lambda i, l: (i, l[:-1]), "labels but"),
        (lambda i, l: (i, np.where(np.arange(len(l)) == 3, 10, l).astype(np.uint8)), "outside 0..9"),
        (lambda i, l: (i[:, :27, :], l), r"\(N, 28, 28\)"),
        (lambda i, l: (i.astype(np.int32), l), "uint8 images"),
        (lambda i, l: (i, l.astype(np.int32)), "uint8 label"),
        (lambda i, l: (i, l.reshape(-1, 1)), "1-D"),
    ],
)
def test_inconsistent_files_are_value_errors(tmp_path, make, problem):
    images, labels = make(*synthetic(10))
    write_split(tmp_path / "bad", images, labels)
    with pytest.raises(ValueError, match=problem):
        load_dataset("mnist", data_dir=tmp_path / "bad")


# --------------------------------------------------------------------------- download


class FakeMirror:
    """Stands in for urllib.request.urlopen, serving .gz files from a folder."""

    def __init__(self, folder: pathlib.Path, dest: pathlib.Path, fail_prefixes=(), tamper=None):
        self.folder, self.dest = folder, dest
        self.fail_prefixes, self.tamper = fail_prefixes, tamper
        self.urls: list[str] = []
        self.timeouts: list[object] = []

    def __call__(self, url, timeout=None, **kwargs):
        self.urls.append(url)
        self.timeouts.append(timeout)
        if any(url.startswith(p) for p in self.fail_prefixes):
            raise urllib.error.URLError("mirror down")
        name = url.rsplit("/", 1)[-1]
        # Atomicity: the final file must not exist while its bytes are still arriving.
        assert not (self.dest / name).exists()
        data = (self.folder / name).read_bytes()
        if self.tamper is not None:
            data = self.tamper(data)
        return io.BytesIO(data)


def _cache(tmp_path, name="mnist"):
    return tmp_path / "xdg-cache" / "ram-env" / name


def test_download_lands_in_cache_verified_and_atomic(data_root, tmp_path, monkeypatch):
    dest = _cache(tmp_path)
    mirror = FakeMirror(data_root / "mnist", dest)
    monkeypatch.setattr(urllib.request, "urlopen", mirror)
    replaced = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (replaced.append((str(a), str(b))), real_replace(a, b)))

    x, y = load_dataset("mnist", "test")
    assert len(x) == 10000 and int(y[0]) == 7
    assert sorted(p.name for p in dest.iterdir()) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert all(u.startswith(ds.MIRRORS["mnist"][0]) for u in mirror.urls) and len(mirror.urls) == 2
    assert all(t is not None and 0 < t <= 60 for t in mirror.timeouts)
    # Each file was written under a temporary name in the same folder, then renamed.
    replaced = [(a, b) for a, b in replaced if not b.endswith(ds.VERIFIED_FILE)]
    assert len(replaced) == 2
    for src, dst in replaced:
        assert pathlib.Path(src).parent == dest and src.endswith(".part") and dst.startswith(str(dest))
    xr, yr = load_dataset("mnist", "test", data_dir=data_root)
    assert np.array_equal(x, xr) and np.array_equal(y, yr)
    # Second load finds the cache: no more network.
    load_dataset("mnist", "test[:10]")
    assert len(mirror.urls) == 2
    load_dataset("mnist", "test", verify=True)


def test_download_falls_back_to_second_mirror(data_root, tmp_path, monkeypatch):
    mirror = FakeMirror(data_root / "mnist", _cache(tmp_path), fail_prefixes=(ds.MIRRORS["mnist"][0],))
    monkeypatch.setattr(urllib.request, "urlopen", mirror)
    _, y = load_dataset("mnist", "test")
    assert len(y) == 10000
    assert [u.split("/")[2] for u in mirror.urls[:2]] == [
        ds.MIRRORS["mnist"][0].split("/")[2],
        ds.MIRRORS["mnist"][1].split("/")[2],
    ]


def _flip_payload_byte(gz_bytes: bytes) -> bytes:
    raw = bytearray(gzip.decompress(gz_bytes))
    raw[-1] ^= 0xFF
    return gzip.compress(bytes(raw), compresslevel=1)


@pytest.mark.parametrize(
    "tamper, reason",
    [(_flip_payload_byte, "md5 mismatch"), (lambda b: b[: len(b) // 2], "gzip")],
)
def test_download_with_bad_content_is_rejected(data_root, tmp_path, monkeypatch, tamper, reason):
    dest = _cache(tmp_path)
    dest.mkdir(parents=True)  # pre-existing cache folder: must stay empty
    mirror = FakeMirror(data_root / "mnist", dest, tamper=tamper)
    monkeypatch.setattr(urllib.request, "urlopen", mirror)
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("mnist", "test")
    assert reason in str(info.value)
    assert list(dest.iterdir()) == []  # neither the bad file nor a .part leftover
    assert len(mirror.urls) == len(ds.MIRRORS["mnist"])  # every mirror tried, then gave up


def test_fashion_download_uses_fashion_mirror(fashion_root, tmp_path, monkeypatch):
    mirror = FakeMirror(fashion_root / "fashion-mnist", _cache(tmp_path, "fashion-mnist"))
    monkeypatch.setattr(urllib.request, "urlopen", mirror)
    _, y = load_dataset("fashion-mnist", "test")
    assert int(y[0]) == 9
    assert all(u.startswith(ds.MIRRORS["fashion-mnist"][0]) for u in mirror.urls)


# --------------------------------------------------------------------------- md5 by default (issue 23, item 8)


def _raw_copy(src: pathlib.Path, dest: pathlib.Path, name: str = "mnist") -> pathlib.Path:
    for base in ds.FILES["test"]:
        write_file(dest / name, base, gzip.decompress((src / f"{base}.gz").read_bytes()), gz=False)
    return dest


def test_corrupt_raw_file_is_an_error_by_default(data_root, tmp_path):
    root = _raw_copy(data_root / "mnist", tmp_path / "raw")
    path = root / "mnist" / "t10k-images-idx3-ubyte"
    data = bytearray(path.read_bytes())
    data[5000] ^= 0x40  # one pixel: the header and the size still look right
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="md5") as info:
        load_dataset("mnist", "test", data_dir=root)
    assert str(path) in str(info.value)
    assert len(load_dataset("mnist", "test", data_dir=root, verify=False)[0]) == 10000  # the way out


def test_fashion_files_in_the_mnist_folder_are_named(fashion_root, tmp_path):
    root = _raw_copy(fashion_root / "fashion-mnist", tmp_path / "swapped", name="mnist")
    with pytest.raises(ValueError, match="fashion-mnist's t10k-") as info:
        load_dataset("mnist", "test", data_dir=root)
    assert str(root / "mnist" / "t10k-") in str(info.value)


def test_md5_verdict_is_cached_across_processes_and_invalidated_by_a_change(data_root, tmp_path, monkeypatch):
    root = _raw_copy(data_root / "mnist", tmp_path / "raw")
    load_dataset("mnist", "test", data_dir=root)
    table = tmp_path / "xdg-cache" / "ram-env" / ds.VERIFIED_FILE
    assert str(root / "mnist" / "t10k-labels-idx1-ubyte") in table.read_text()
    ds.clear_cache()  # as a new process would start

    def no_hashing(path):
        raise AssertionError(f"hashed {path} again")

    monkeypatch.setattr(ds, "_md5_decompressed", no_hashing)
    assert len(load_dataset("mnist", "test", data_dir=root)[1]) == 10000
    ds.clear_cache()
    labels = root / "mnist" / "t10k-labels-idx1-ubyte"
    os.utime(labels, ns=(labels.stat().st_atime_ns, labels.stat().st_mtime_ns + 10**9))
    with pytest.raises(AssertionError, match="hashed .*t10k-labels"):
        load_dataset("mnist", "test", data_dir=root)


def test_small_files_with_official_names_are_not_md5_checked(tmp_path):
    # A user's own data in IDX form: its shape says it is not the official file, so no md5 applies.
    write_split(tmp_path / "own", *synthetic(5))
    assert len(load_dataset("mnist", data_dir=tmp_path / "own")[1]) == 5
    with pytest.raises(ValueError, match="md5"):
        load_dataset("mnist", data_dir=tmp_path / "own", verify=True)
