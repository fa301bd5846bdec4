"""Tests for the glimpse sensor (ram_env.retina).

Geometry under test (see the module docstring): cx = (lx + 1) / 2 * W, patch width w = g * 2**s,
top-left x0 = floor(cx - w/2 + 0.5), output pixel j of scale s = mean of columns
x0 + j*2**s .. x0 + (j+1)*2**s - 1 (same for rows), pixels outside the image are 0.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import ram_env.retina as retina_mod
from ram_env.retina import (
    UINT8_MAX_PIXELS,
    _integral_torch_native,
    Retina,
    glimpse,
    glimpse_from_integral,
    integral_image,
)


@pytest.fixture(autouse=True, params=["small-batch", "torch-kernel"])
def torch_cpu_kernel(request, monkeypatch):
    """Run every test twice: small CPU torch batches normally use the numpy kernel on zero-copy
    views; the second run forces the torch kernel (what large batches and GPUs use)."""
    if request.param == "torch-kernel":
        monkeypatch.setattr(retina_mod, "TORCH_CPU_NUMPY_BELOW", 0)
    return request.param


# --------------------------------------------------------------------------------------------------
# slow, obviously-correct reference: explicit zero padding + loops + mean
# --------------------------------------------------------------------------------------------------
def reference_glimpse(images: np.ndarray, locations: np.ndarray, g: int, k: int) -> np.ndarray:
    images = np.asarray(images)
    n, h, w_img = images.shape
    scale = 255.0 if images.dtype == np.uint8 else 1.0
    out = np.zeros((n, k, g, g), np.float64)
    for b in range(n):
        lx, ly = (float(v) for v in locations[b])
        cx = (lx + 1.0) / 2.0 * w_img
        cy = (ly + 1.0) / 2.0 * h
        for s in range(k):
            w = g * 2**s
            x0 = math.floor(cx - w / 2 + 0.5)
            y0 = math.floor(cy - w / 2 + 0.5)
            pad = abs(x0) + abs(y0) + w + 1
            padded = np.zeros((h + 2 * pad, w_img + 2 * pad), np.float64)
            padded[pad : pad + h, pad : pad + w_img] = images[b] / scale
            patch = padded[pad + y0 : pad + y0 + w, pad + x0 : pad + x0 + w]
            assert patch.shape == (w, w)
            f = 2**s
            for i in range(g):
                for j in range(g):
                    out[b, s, i, j] = patch[i * f : (i + 1) * f, j * f : (j + 1) * f].mean()
    return out


def both(images, locations, g, k):
    """numpy and torch results of glimpse() as numpy arrays."""
    a = glimpse(images, locations, g, k)
    t = glimpse(torch.from_numpy(np.ascontiguousarray(images)), torch.from_numpy(np.asarray(locations)), g, k)
    assert isinstance(a, np.ndarray) and isinstance(t, torch.Tensor)
    return a, t.numpy()


# --------------------------------------------------------------------------------------------------
# exact, hand-computed values
# --------------------------------------------------------------------------------------------------
def _expected_pos(row, col, loc, g, s, size=28):
    """Where pixel (row, col) lands in scale s, by the documented geometry (None: not covered)."""
    cx = (loc[0] + 1) / 2 * size
    cy = (loc[1] + 1) / 2 * size
    w = g * 2**s
    x0 = math.floor(cx - w / 2 + 0.5)
    y0 = math.floor(cy - w / 2 + 0.5)
    if not (0 <= col - x0 < w and 0 <= row - y0 < w):
        return None
    return ((row - y0) // 2**s, (col - x0) // 2**s)


# (location, pixel (row, col), hand-computed positions for g=8, scales 0, 1, 2 on 28x28)
HAND_CASES = [
    # centre: cx = cy = 14; x0 = 10, 6, -2 for w = 8, 16, 32
    ((0.0, 0.0), (13, 14), [(3, 4), (3, 4), (3, 4)]),
    ((0.0, 0.0), (10, 17), [(0, 7), (2, 5), (3, 4)]),
    # cx = 7, cy = 17.5: x0 = 3, -1, -9; y0 = 14, 10, 2
    ((-0.5, 0.25), (15, 5), [(1, 2), (2, 3), (3, 3)]),
    # cx = cy = 17.5: 17.5 - 4 + 0.5 = 14 exactly -> x0 = 14 (round half up), 10, 2
    ((0.25, 0.25), (14, 14), [(0, 0), (2, 2), (3, 3)]),
    ((0.25, 0.25), (13, 13), [None, (1, 1), (2, 2)]),
    # top-left corner: cx = 0; x0 = -4, -8, -16
    ((-1.0, -1.0), (0, 0), [(4, 4), (4, 4), (4, 4)]),
    ((-1.0, -1.0), (3, 0), [(7, 4), (5, 4), (4, 4)]),
    # bottom-right: cx = 28; x0 = 24, 20, 12
    ((1.0, 1.0), (27, 27), [(3, 3), (3, 3), (3, 3)]),
    ((1.0, 1.0), (20, 27), [None, (0, 3), (2, 3)]),
]


@pytest.mark.parametrize("loc,pix,expected", HAND_CASES)
def test_single_bright_pixel_lands_where_expected(loc, pix, expected):
    img = np.zeros((28, 28), np.uint8)
    img[pix] = 255
    for s in range(3):  # the hand-computed table agrees with the geometry helper
        assert _expected_pos(*pix, loc, 8, s) == expected[s]
    for out in both(img, np.array(loc), 8, 3):
        assert out.shape == (3, 8, 8) and out.dtype == np.float32
        for s, pos in enumerate(expected):
            want = np.zeros((8, 8), np.float32)
            if pos is not None:
                want[pos] = 1.0 / 4**s
            np.testing.assert_array_equal(out[s], want, err_msg=f"scale {s}")


def test_single_bright_pixel_random_positions():
    rng = np.random.default_rng(1)
    for _ in range(30):
        row, col = rng.integers(0, 28, 2)
        loc = rng.uniform(-1.2, 1.2, 2)
        g = int(rng.integers(2, 9))
        img = np.zeros((28, 28), np.uint8)
        img[row, col] = 255
        out = glimpse(img, loc, g, 4)
        for s in range(4):
            pos = _expected_pos(row, col, loc, g, s)
            want = np.zeros((g, g), np.float32)
            if pos is not None:
                want[pos] = 1.0 / 4**s
            np.testing.assert_array_equal(out[s], want)


def test_constant_image_inside():
    img = np.full((3, 100, 100), 200, np.uint8)
    locs = np.array([[0.0, 0.0], [0.2, -0.3], [-0.1, 0.1]])
    for out in both(img, locs, 8, 3):  # widest patch 32 px stays inside
        np.testing.assert_array_equal(out, np.float32(200) / np.float32(255))
    out = glimpse(np.full((100, 100), 0.75), np.zeros(2), 12, 3)
    np.testing.assert_array_equal(out, np.float32(0.75))
    full = glimpse(np.full((60, 60), 255, np.uint8), np.zeros(2), 12, 2)
    assert (full == 1.0).all()  # true division: never 1 + ulp


def test_corner_fractions():
    """g=5 so that blocks straddle the border: 0.25 = quarter-covered block, 0.5 = half."""
    img = np.ones((28, 28))
    # top-left, cx = cy = 0: x0 = -2, -5, -10 for w = 5, 10, 20
    f = {0: [0, 0, 1, 1, 1], 1: [0, 0, 0.5, 1, 1], 2: [0, 0, 0.5, 1, 1]}
    for out in both(img, np.array([-1.0, -1.0]), 5, 3):
        for s in range(3):
            np.testing.assert_array_equal(out[s], np.outer(f[s], f[s]).astype(np.float32))
        assert out[1, 2, 2] == 0.25 and out[2, 2, 2] == 0.25
    # bottom-right, cx = cy = 28: x0 = 26, 23, 18
    f = {0: [1, 1, 0, 0, 0], 1: [1, 1, 0.5, 0, 0], 2: [1, 1, 0.5, 0, 0]}
    for out in both(img, np.array([1.0, 1.0]), 5, 3):
        for s in range(3):
            np.testing.assert_array_equal(out[s], np.outer(f[s], f[s]).astype(np.float32))
    # top-right (x = 1, y = -1): rows like top-left, columns like bottom-right
    out = glimpse((img * 255).astype(np.uint8), np.array([1.0, -1.0]), 5, 3)
    np.testing.assert_array_equal(out[1], np.outer([0, 0, 0.5, 1, 1], [1, 1, 0.5, 0, 0]).astype(np.float32))


@pytest.mark.parametrize("loc", [(5.0, 5.0), (-5.0, 0.0), (0.0, 5.0), (1e30, -1e30), (-1e300, 1e300)])
def test_far_outside_is_zero(loc):
    img = np.full((2, 28, 28), 255, np.uint8)
    locs = np.array([loc, loc])
    for out in both(img, locs, 8, 4):
        assert out.shape == (2, 4, 8, 8)
        assert not out.any()


# --------------------------------------------------------------------------------------------------
# against the reference, backends agree
# --------------------------------------------------------------------------------------------------
def _random_case(rng, dtype):
    n = int(rng.integers(1, 5))
    h, w = (int(v) for v in rng.integers(1, 70, 2))
    g = int(rng.integers(1, 9))
    k = int(rng.integers(1, 5))
    if dtype == np.uint8:
        images = rng.integers(0, 256, (n, h, w), dtype=np.uint8)
    else:
        images = rng.random((n, h, w)).astype(dtype)
    locs = rng.uniform(-1.4, 1.4, (n, 2))
    if rng.random() < 0.3:
        locs = locs.astype(np.float32)
    return images, locs, g, k


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_matches_reference(dtype):
    rng = np.random.default_rng(123)
    for _ in range(40):
        images, locs, g, k = _random_case(rng, dtype)
        ref = reference_glimpse(images, locs, g, k)
        a, t = both(images, locs, g, k)
        assert a.shape == t.shape == ref.shape == (len(images), k, g, g)
        assert a.dtype == t.dtype == np.float32
        np.testing.assert_allclose(a, ref, rtol=0, atol=1e-6)
        np.testing.assert_allclose(t, ref, rtol=0, atol=1e-6)
        if dtype == np.uint8:
            np.testing.assert_array_equal(a, t)  # exact: same integer sums, same float32 division
            assert a.min() >= 0.0 and a.max() <= 1.0
        else:
            np.testing.assert_allclose(a, t, rtol=0, atol=1e-6)


def test_hypothesis_against_reference():
    hyp = pytest.importorskip("hypothesis")
    st = hyp.strategies

    @hyp.settings(max_examples=60, deadline=None, derandomize=True)
    @hyp.given(
        h=st.integers(1, 40),
        w=st.integers(1, 40),
        g=st.integers(1, 7),
        k=st.integers(1, 4),
        lx=st.floats(-1.5, 1.5),
        ly=st.floats(-1.5, 1.5),
        seed=st.integers(0, 2**16),
    )
    def check(h, w, g, k, lx, ly, seed):
        img = np.random.default_rng(seed).integers(0, 256, (1, h, w), dtype=np.uint8)
        locs = np.array([[lx, ly]])
        a, t = both(img, locs, g, k)
        np.testing.assert_allclose(a, reference_glimpse(img, locs, g, k), rtol=0, atol=1e-6)
        np.testing.assert_array_equal(a, t)

    check()


def test_batch_is_independent():
    rng = np.random.default_rng(7)
    images = rng.integers(0, 256, (6, 60, 60), dtype=np.uint8)
    locs = rng.uniform(-1, 1, (6, 2))
    batch = glimpse(images, locs, 12, 3)
    singles = np.stack([glimpse(images[i], locs[i], 12, 3) for i in range(6)])
    np.testing.assert_array_equal(batch, singles)
    tb = glimpse(torch.from_numpy(images), torch.from_numpy(locs), 12, 3)
    np.testing.assert_array_equal(tb.numpy(), singles)
    # a single row of the batch only depends on its own image and location
    images2 = images.copy()
    images2[0] = 255
    np.testing.assert_array_equal(glimpse(images2, locs, 12, 3)[1:], batch[1:])


def test_bool_image_is_0_1():
    img = np.zeros((10, 10), bool)
    img[4, 5] = True
    out = glimpse(img, np.zeros(2), 2, 2)  # cx = 5: x0 = 4 (scale 0), 3 (scale 1)
    assert out[0, 0, 1] == 1.0 and out[1, 0, 1] == 0.25 and out.sum() == 1.25


# --------------------------------------------------------------------------------------------------
# tables, API, torch specifics
# --------------------------------------------------------------------------------------------------
def test_integral_image_values_and_dtypes():
    img = np.arange(12, dtype=np.uint8).reshape(1, 3, 4)
    t = integral_image(img)
    assert t.shape == (1, 4, 5) and t.dtype == np.int32
    assert (t[:, 0] == 0).all() and (t[:, :, 0] == 0).all()
    assert t[0, 3, 4] == img.sum() and t[0, 2, 3] == img[0, :2, :3].sum()
    assert integral_image(img.astype(np.float32)).dtype == np.float64
    tt = integral_image(torch.from_numpy(img))
    assert isinstance(tt, torch.Tensor) and tt.dtype == torch.int32
    np.testing.assert_array_equal(tt.numpy(), t)
    assert integral_image(torch.from_numpy(img).float()).dtype == torch.float64
    assert integral_image(img[0]).shape == (4, 5)  # unbatched


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_one_image_table_equals_its_row_of_a_batch_table(dtype):
    # A batch of one takes its own path (one cumsum instead of a row loop): the same table, bit for bit.
    images = np.random.default_rng(5).integers(0, 256, (3, 24, 31)).astype(dtype)
    if dtype == np.float32:
        images = images / np.float32(255.0) + np.float32(1e-3)  # sums that round
    batch = integral_image(images)
    for i in range(3):
        np.testing.assert_array_equal(integral_image(images[i:i + 1]), batch[i:i + 1])
    # and the exact sums, on the uint8 images
    if dtype == np.uint8:
        assert integral_image(images[1:2])[0, 17, 9] == images[1, :17, :9].astype(np.int64).sum()


def test_retina_read_is_the_checked_call_without_its_checks():
    r = Retina(12, 3)
    rng = np.random.default_rng(4)
    images = rng.integers(0, 256, (5, 60, 60), dtype=np.uint8)
    locs = rng.uniform(-1.2, 1.2, (5, 2)).astype(np.float32)
    table = r.table(images)
    np.testing.assert_array_equal(r.read(table, locs), r(table, locs))
    floats = r.table(images / 255.0)
    np.testing.assert_array_equal(r.read(floats, locs), r(floats, locs))


def test_retina_class():
    r = Retina(12, 3)
    assert r.output_shape == (3, 12, 12)
    assert repr(r) == "Retina(glimpse_size=12, n_scales=3)"
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (4, 60, 60), dtype=np.uint8)
    locs = rng.uniform(-1, 1, (4, 2))
    table = r.table(images)
    out = r(table, locs)
    assert out.shape == (4,) + r.output_shape
    np.testing.assert_array_equal(out, glimpse(images, locs, 12, 3))
    # the table is reusable: another step, other locations
    np.testing.assert_array_equal(r(table, -locs), glimpse(images, -locs, 12, 3))
    # float images: float table, no /255
    np.testing.assert_array_equal(r(r.table(images / 255.0), locs), glimpse(images / 255.0, locs, 12, 3))
    out_t = r(r.table(torch.from_numpy(images)), torch.from_numpy(locs))
    np.testing.assert_array_equal(out_t.numpy(), out)


def test_torch_backend_types():
    img = torch.randint(0, 256, (3, 30, 30), dtype=torch.uint8)
    locs = torch.rand(3, 2) * 2 - 1
    out = glimpse(img, locs, 6, 3)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and out.shape == (3, 3, 6, 6)
    assert out.device == img.device
    # numpy locations with a torch table are accepted (moved to the table's device)
    table = integral_image(img)
    out2 = glimpse_from_integral(table, locs.numpy(), 6, 3, image_is_uint8=True)
    torch.testing.assert_close(out, out2, rtol=0, atol=0)
    # float16 image -> float64 table
    assert integral_image(img.half()).dtype == torch.float64
    # the pure-torch table code (used off-CPU; on CPU for bfloat16 / requires_grad) matches numpy's
    imgs = np.random.default_rng(0).random((2, 9, 13))
    for t_img in (torch.from_numpy(imgs).bfloat16(), torch.from_numpy(imgs).requires_grad_()):
        want = integral_image(t_img.detach().double().numpy())
        got = integral_image(t_img)
        assert got.dtype == torch.float64 and got.shape == (2, 10, 14)
        np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-12, atol=1e-12)
    u8 = torch.randint(0, 256, (2, 9, 13), dtype=torch.uint8)
    native = _integral_torch_native(u8, True)  # what a CUDA tensor gets
    assert native.dtype == torch.int32
    np.testing.assert_array_equal(native.numpy(), integral_image(u8.numpy()))


def test_empty_batch():
    out = glimpse(np.zeros((0, 10, 10), np.uint8), np.zeros((0, 2)), 4, 2)
    assert out.shape == (0, 2, 4, 4) and out.dtype == np.float32
    out = glimpse(torch.zeros(0, 10, 10), torch.zeros(0, 2), 4, 2)
    assert out.shape == (0, 2, 4, 4)


# --------------------------------------------------------------------------------------------------
# bad inputs
# --------------------------------------------------------------------------------------------------
IMG = np.zeros((2, 20, 20), np.uint8)
LOCS = np.zeros((2, 2))


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize(
    "images,locs,g,k,words",
    [
        (IMG, np.zeros((2, 3)), 4, 1, "locations must have shape"),
        (IMG, np.zeros(2), 4, 1, "locations must have shape"),
        (IMG, np.zeros((3, 2)), 4, 1, "batch size mismatch"),
        (IMG[0], np.zeros((1, 2)), 4, 1, "shape (2,)"),
        (IMG, np.array([[0.0, np.nan], [0, 0]]), 4, 1, "locations contain NaN"),
        (IMG, np.array([[0.0, 0.0], [np.inf, 0]]), 4, 1, "locations contain NaN"),
        (IMG, LOCS, 0, 1, "glimpse_size"),
        (IMG, LOCS, 4, 0, "n_scales"),
        (IMG, LOCS, 2.5, 1, "glimpse_size"),
        (np.zeros((2, 2, 20, 20), np.uint8), LOCS, 4, 1, "images must have shape"),
        (np.zeros((2, 0, 20), np.uint8), LOCS, 4, 1, "H, W >= 1"),
        (np.zeros((2, 20, 20), np.int64), LOCS, 4, 1, "uint8, bool or floating"),
        (np.zeros((2, 20, 20), np.complex64), LOCS, 4, 1, "uint8, bool or floating"),
    ],
)
def test_bad_inputs(backend, images, locs, g, k, words):
    if backend == "torch":
        images, locs = torch.from_numpy(images), torch.from_numpy(locs)
    with pytest.raises(ValueError) as e:
        glimpse(images, locs, g, k)
    assert words in str(e.value)


def test_bad_inputs_numpy_only():
    with pytest.raises(ValueError, match="uint8, bool or floating"):
        integral_image(np.array([[["a"]]]))
    with pytest.raises(ValueError, match="uint8, bool or floating"):
        integral_image(np.zeros((1, 2, 2), object))
    with pytest.raises(ValueError, match="too large"):
        integral_image(np.zeros((1, 2902, 2902), np.uint8))  # 2902**2 * 255 >= 2**31
    assert 2901**2 <= UINT8_MAX_PIXELS < 2902**2
    assert integral_image(np.full((1, 2901, 2901), 255, np.uint8))[0, -1, -1] == 255 * 2901**2
    with pytest.raises(ValueError, match="numeric"):
        glimpse_from_integral(integral_image(IMG), np.array([["a", "b"]] * 2), 4, 1, image_is_uint8=True)
    with pytest.raises(ValueError, match="table must have shape"):
        glimpse_from_integral(np.zeros((2, 1, 5), np.int32), LOCS, 4, 1, image_is_uint8=True)
    with pytest.raises(ValueError, match="Retina|glimpse_size"):
        Retina(0, 1)


@pytest.mark.parametrize("to_torch", [False, True])
def test_uint8_flag_must_match_table(to_torch):
    t_int = integral_image(IMG)
    t_float = integral_image(IMG.astype(np.float32))
    if to_torch:
        t_int, t_float = torch.from_numpy(t_int), torch.from_numpy(t_float)
    with pytest.raises(ValueError, match="image_is_uint8"):
        glimpse_from_integral(t_int, LOCS, 4, 1, image_is_uint8=False)
    with pytest.raises(ValueError, match="image_is_uint8"):
        glimpse_from_integral(t_float, LOCS, 4, 1, image_is_uint8=True)
    with pytest.raises(ValueError, match="32 or 64 bit"):
        glimpse_from_integral(t_int.to(torch.int16) if to_torch else t_int.astype(np.uint16), LOCS, 4, 1,
                              image_is_uint8=True)
    # int64 tables (e.g. built by hand) work
    t64 = t_int.long() if to_torch else t_int.astype(np.int64)
    out = glimpse_from_integral(t64, np.full((2, 2), 0.3), 4, 2, image_is_uint8=True)
    np.testing.assert_array_equal(np.asarray(out), glimpse(IMG, np.full((2, 2), 0.3), 4, 2))


def test_the_widest_patch_is_bounded():
    from ram_env.retina import MAX_PATCH_WIDTH

    Retina(8, 14)  # 8 * 2**13 = 65536: the largest allowed
    for g, k in ((8, 15), (1, 62), (2**17, 1)):
        with pytest.raises(ValueError, match=f"wider than {MAX_PATCH_WIDTH} pixels"):
            Retina(g, k)
