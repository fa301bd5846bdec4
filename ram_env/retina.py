"""Glimpse sensor (the "retina") of the Recurrent Attention Model, Mnih et al. 2014.

``rho(x, l)`` extracts ``k`` square patches centred at ``l``: the first is ``g x g`` pixels, each
next one twice as wide (``g, 2g, 4g, ...``); scale ``s`` is area-averaged down to ``g x g`` (each
output pixel is the MEAN of a ``2**s x 2**s`` block) and the results are stacked to ``(k, g, g)``.
Pixels outside the image count as 0.

Geometry (fixed; tests pin it):

* ``l = (lx, ly)`` in ``[-1, 1]**2``: ``(0, 0)`` is the image centre, ``(-1, -1)`` the top-left
  corner, ``(1, 1)`` the bottom-right; ``lx`` is horizontal (column), ``ly`` vertical (row).
  Locations outside ``[-1, 1]`` are allowed: the patches then read (partly or only) zeros.
* Centre in continuous pixel coordinates (pixel ``c`` covers ``[c, c+1)``), computed in float64:
  ``cx = (lx + 1) * 0.5 * W``, ``cy = (ly + 1) * 0.5 * H``.
* Scale ``s`` (``0 <= s < k``) has width ``w = g * 2**s`` and integer top-left corner
  ``x0 = floor(cx + (0.5 - w / 2))`` (``cx - w/2`` rounded half up), ``y0`` likewise; it covers
  columns ``x0 .. x0 + w - 1`` and rows ``y0 .. y0 + w - 1``.  Example: 28x28 image, ``g = 8``,
  ``l = (0, 0)``: ``cx = 14``, ``x0 = 10``, columns 10..17.
* Output pixel ``(i, j)`` of scale ``s`` is the mean of rows ``y0 + i*2**s .. y0 + (i+1)*2**s - 1``
  and columns ``x0 + j*2**s .. x0 + (j+1)*2**s - 1``, out-of-image pixels counting as 0, always
  divided by the full block area ``4**s`` (so a block half outside the image gives half the mean).

Implementation: a summed-area table (integral image) ``T[n, y, x] = sum(img[n, :y, :x])`` with a
leading zero row/column is built once per image; any block sum is then 4 lookups.  Clamping the
block edges to ``[0, H] x [0, W]`` is exactly zero padding, so no padded copy of the image is needed
and the cost of one glimpse depends on ``k`` and ``g`` only (``k * (g+1)**2`` table reads), never on
the image size.  The ``(g+1) x (g+1)`` corner grid of every (image, scale) is fetched with one
vectorised gather for the whole batch; the 2-D difference is taken on the flattened corner array
(contiguous shifted views, which is much faster than small strided slices).

Backends: numpy arrays in -> numpy arrays out; torch tensors in -> torch tensors out on the same
device (nothing goes to the host; on CPU, small torch batches run the numpy kernel on zero-copy
views because torch's per-op overhead dominates there, see ``TORCH_CPU_NUMPY_BELOW``).

Tables: uint8 images -> int32 table (exact; 4 bytes per pixel; images with ``H*W >
UINT8_MAX_PIXELS``, about 2901x2901, are refused because the sums could overflow); bool/float
images -> float64 table on both backends (8 bytes per pixel; a float32 table would already lose
~1e-4 absolute precision at 60x60 since the corner values grow like ``H*W``).  Outputs are float32;
uint8 images are divided by 255, so the output is in ``[0, 1]`` exactly (a full-white block gives
exactly 1.0); float images are not rescaled (absolute error ~``H*W*1e-16`` from the float64 sums,
so a black region can read e.g. 6e-14 instead of 0; float32 images of 8-bit data / 255 sum exactly).

Speed (``python -m benchmarks.retina_speed``; figures in the README, "Retina speed"): the cost per glimpse is
flat in the image size until the table falls out of cache; small batches are dominated by Python overhead.
Torch's intra-op threads slow down sharply when the cores are oversubscribed (env worker processes plus a
trainer): then use numpy or ``torch.set_num_threads(1)``.  The numpy kernel keeps ~16 bytes of scratch per
corner read (about 8 MB at batch 1024) per calling thread, reused across calls.
"""

from __future__ import annotations

import functools
import sys
import threading
from typing import Any

import numpy as np

__all__ = ["integral_image", "glimpse_from_integral", "glimpse", "Retina", "UINT8_MAX_PIXELS", "MAX_IMAGE_SIDE",
           "MAX_PATCH_WIDTH", "check_image_side", "pixel_centre", "patch_corner"]

#: Largest ``H * W`` for which a uint8 image's int32 summed-area table cannot overflow.
UINT8_MAX_PIXELS = (2**31 - 1) // 255
#: Largest side of a square uint8 image (the envs' canvases are bounded by it).
MAX_IMAGE_SIDE = int(np.sqrt(UINT8_MAX_PIXELS))
#: Widest retina patch, ``glimpse_size * 2**(n_scales - 1)``: far beyond any image's side, where a
#: patch would read zeros (and its integer offsets would overflow).
MAX_PATCH_WIDTH = 2**16

Array = Any  # np.ndarray or torch.Tensor (torch is imported lazily: numpy users do not pay for it)


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def _torch_module():
    """Return the torch module if it is already imported, else None (a tensor implies it is)."""
    return sys.modules.get("torch")


def _is_tensor(x: Any) -> bool:
    """True when ``x`` is a torch.Tensor, without importing torch for numpy users."""
    torch = _torch_module()
    return torch is not None and isinstance(x, torch.Tensor)


def _check_sizes(glimpse_size: int, n_scales: int) -> None:
    """Validate g and k (plain ints >= 1, the widest patch ``g * 2**(k-1)`` at most ``MAX_PATCH_WIDTH``)."""
    for name, v in (("glimpse_size", glimpse_size), ("n_scales", n_scales)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise ValueError(f"{name} must be an int >= 1, got {v!r}")
        if v < 1:
            raise ValueError(f"{name} must be >= 1, got {v}")
    if int(n_scales) > 32 or int(glimpse_size) * 2 ** (int(n_scales) - 1) > MAX_PATCH_WIDTH:
        raise ValueError(f"glimpse_size={glimpse_size}, n_scales={n_scales} make the widest patch "
                         f"glimpse_size * 2**(n_scales - 1) wider than {MAX_PATCH_WIDTH} pixels (the "
                         f"largest image side is {MAX_IMAGE_SIDE}: wider scales would read zeros)")


def check_image_side(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as an int in ``[minimum, MAX_IMAGE_SIDE]``, else a ``ValueError`` naming ``name``.

    Bounds the canvas of the envs: a larger square's uint8 summed-area table could overflow int32.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not minimum <= value <= MAX_IMAGE_SIDE:
        raise ValueError(f"{name} must be in [{minimum}, {MAX_IMAGE_SIDE}], got {value}")
    return int(value)


def pixel_centre(location: Any, image_shape: tuple[int, int]) -> np.ndarray:
    """Locations ``(..., 2)`` in ``[-1, 1]`` -> continuous pixel coordinates ``(x, y)`` (pixel ``i`` spans
    ``[i, i + 1)``) of an ``(H, W)`` image, in the kernels' float64 arithmetic: ``(l + 1) * (size / 2)``."""
    h, w = image_shape
    return (np.asarray(location, np.float64) + 1.0) * (0.5 * np.array([w, h], np.float64))


def patch_corner(centre: Any, width: Any) -> np.ndarray:
    """Integer top-left ``(x0, y0)`` of a ``width x width`` patch centred at pixel coordinates ``centre``
    (:func:`pixel_centre`): ``centre - width / 2`` rounded half up. The one patch geometry of the retina, the
    renderer and the attention scores (the kernels apply it with the offsets ``0.5 - width / 2`` precomputed)."""
    return np.floor(np.asarray(centre, np.float64) + (0.5 - np.asarray(width, np.float64) / 2.0)).astype(np.int64)


@functools.lru_cache(maxsize=64)
def _np_consts(g: int, k: int, uint8: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Per-(g, k) constants, built once.

    Returns ``half`` (k,) = ``0.5 - w_s/2`` (so ``x0 = floor(cx + half)``), ``off`` (k, g+1) = block
    edge offsets ``arange(g+1) * 2**s``, ``denom`` (k, 1, 1) float32 = block area (times 255 for uint8),
    and ``margin`` = widest patch, used to clip far-away centres before the int conversion.
    """
    step = 2.0 ** np.arange(k)
    half = 0.5 - g * step / 2.0
    off = (np.arange(g + 1)[None, :] * (2 ** np.arange(k))[:, None]).astype(np.intp)
    denom = ((255.0 if uint8 else 1.0) * step * step).astype(np.float32)[:, None, None]
    for a in (half, off, denom):
        a.setflags(write=False)
    return half, off, denom, g * 2 ** (k - 1)


class _Scratch(threading.local):
    """Grow-only, per-thread scratch buffers for the numpy kernel's big temporaries.

    Why: allocating fresh multi-MB temporaries on every call can make glibc map and unmap them
    every time (page faults plus zeroing of the huge pages numpy requests), which makes a whole process
    several times slower depending only on what it allocated before (README, "Retina speed").  Reusing
    buffers makes the speed independent of the allocator's state.
    Holds ~16 bytes per corner read (about 8 MB at batch 1024, g=12, k=3) per thread that calls it.
    """

    def __init__(self) -> None:
        self.bufs: dict[str, np.ndarray] = {}

    def get(self, name: str, size: int, dtype: Any) -> np.ndarray:
        """A 1-D buffer of ``size`` elements of ``dtype`` (contents undefined)."""
        buf = self.bufs.get(name)
        if buf is None or buf.size < size or buf.dtype != dtype:
            buf = self.bufs[name] = np.empty(max(size, 1), dtype)
        return buf[:size]


_SCRATCH = _Scratch()


@functools.lru_cache(maxsize=64)
def _torch_consts(g: int, k: int, uint8: bool, device: Any):
    """Torch copies of :func:`_np_consts` cached per device (avoids a host->device copy per call)."""
    import torch

    half, off, denom, margin = _np_consts(g, k, uint8)
    return (
        torch.tensor(half, dtype=torch.float64, device=device),
        torch.tensor(off, dtype=torch.int64, device=device),
        torch.tensor(denom, dtype=torch.float32, device=device),
        margin,
    )


# --------------------------------------------------------------------------------------------------
# integral image
# --------------------------------------------------------------------------------------------------
def integral_image(images: Array) -> Array:
    """Summed-area table of a batch of images, zero-padded with one leading row and column.

    Args:
        images: ``(N, H, W)`` (or a single ``(H, W)``) numpy array or torch tensor, dtype uint8,
            bool or floating point.
    Returns:
        ``(N, H+1, W+1)`` (or ``(H+1, W+1)``) table ``T`` with ``T[..., y, x] = images[..., :y, :x].sum()``,
        same backend (and torch device) as the input.  uint8 -> int32 (exact); bool/float -> float64.
    Raises:
        ValueError: wrong ndim, empty image, unsupported dtype, or a uint8 image so large
            (``H*W > UINT8_MAX_PIXELS``, about 2900x2900) that int32 sums could overflow.
    """
    if _is_tensor(images):
        return _integral_torch(images)
    images = np.asarray(images)
    uint8 = _check_images(images.shape, images.dtype, _np_kind(images.dtype))
    dt = np.int32 if uint8 else np.float64
    table = np.zeros(images.shape[:-2] + (images.shape[-2] + 1, images.shape[-1] + 1), dt)
    inner = table[..., 1:, 1:]
    # Rows first: the running sum along the contiguous axis is the slow, sequential one; doing it
    # on the input (1-byte uint8 reads) and then adding whole rows is ~1.5x faster than the reverse.
    np.cumsum(images, axis=-1, dtype=dt, out=inner)  # bool/uint8 are cast up before summing
    if inner.ndim == 3 and (inner.shape[0] > 1 or inner.shape[2] > 512):
        # numpy accumulates along a middle axis with short strided inner loops (measured 3-4x slower than
        # along the last axis); adding whole (N, W) row slabs one row at a time gives the same sums.
        for y in range(1, inner.shape[1]):
            np.add(inner[:, y], inner[:, y - 1], out=inner[:, y])
    else:
        # One image up to 512 wide (a single env redrawing its screen every step): one call beats a call per
        # row there (wider, the strided accumulation loses again). The same sequential sums as the loop above.
        np.cumsum(inner, axis=-2, out=inner)
    return table


def _np_kind(dtype: np.dtype) -> str:
    """Classify a numpy dtype as 'uint8', 'float' (incl. bool) or 'bad'."""
    if dtype == np.uint8:
        return "uint8"
    if dtype.kind in "fb":
        return "float"
    return "bad"


def _check_images(shape: tuple, dtype: Any, kind: str) -> bool:
    """Shared validation of an image batch; returns True for uint8 images (``dtype`` named only in an error)."""
    if len(shape) not in (2, 3):
        raise ValueError(f"images must have shape (N, H, W) or (H, W), got shape {tuple(shape)}")
    if shape[-1] < 1 or shape[-2] < 1:
        raise ValueError(f"images must have H, W >= 1, got shape {tuple(shape)}")
    if kind == "bad":
        raise ValueError(f"images must be uint8, bool or floating point, got dtype {dtype}")
    if kind == "uint8" and shape[-1] * shape[-2] > UINT8_MAX_PIXELS:
        raise ValueError(
            f"uint8 image of {shape[-2]}x{shape[-1]} pixels is too large: its int32 summed-area table "
            f"could overflow (max {UINT8_MAX_PIXELS} pixels); pass float images instead"
        )
    return kind == "uint8"


def _torch_kind(dtype: Any) -> str:
    import torch

    if dtype == torch.uint8:
        return "uint8"
    if dtype.is_floating_point or dtype == torch.bool:
        return "float"
    return "bad"


def _integral_torch(images: Any) -> Any:
    import torch

    uint8 = _check_images(tuple(images.shape), images.dtype, _torch_kind(images.dtype))
    numpy_dtypes = (torch.uint8, torch.bool, torch.float16, torch.float32, torch.float64)
    if images.device.type == "cpu" and images.dtype in numpy_dtypes and not images.requires_grad:
        # On CPU numpy's cumsum is 2-5x faster than torch's, and numpy allocates big arrays on
        # huge pages (fewer TLB misses in the random gathers later, ~10% at 400x400).  Zero-copy.
        return torch.from_numpy(integral_image(images.detach().numpy()))
    return _integral_torch_native(images, uint8)


def _integral_torch_native(images: Any, uint8: bool) -> Any:
    """Table computed with torch ops on the images' own device (GPU path)."""
    import torch

    dt = torch.int32 if uint8 else torch.float64
    table = images.new_zeros(images.shape[:-2] + (images.shape[-2] + 1, images.shape[-1] + 1), dtype=dt)
    table[..., 1:, 1:] = images.cumsum(-1, dtype=dt).cumsum(-2)
    return table


# --------------------------------------------------------------------------------------------------
# glimpse from a table
# --------------------------------------------------------------------------------------------------
def glimpse_from_integral(
    table: Array, locations: Array, glimpse_size: int, n_scales: int, *, image_is_uint8: bool
) -> Array:
    """Multi-resolution glimpses read from summed-area tables (the hot path).

    Args:
        table: ``(N, H+1, W+1)`` table from :func:`integral_image` (or ``(H+1, W+1)`` for one image);
            integer dtype for uint8 images, floating point otherwise.
        locations: ``(N, 2)`` (or ``(2,)``) ``(x, y)`` centres in ``[-1, 1]`` (outside allowed: zeros
            are read there).  Converted to the table's backend/device (it is tiny).
        glimpse_size: ``g``, side of every output patch.
        n_scales: ``k``, number of scales (patch widths ``g, 2g, ..., g * 2**(k-1)``).
        image_is_uint8: the table was built from uint8 images; outputs are then divided by 255.
    Returns:
        ``(N, k, g, g)`` (or ``(k, g, g)``) float32, same backend/device as ``table``.
    Raises:
        ValueError: bad shapes, batch-size mismatch, non-finite locations (CPU; see below),
            ``glimpse_size``/``n_scales`` < 1, or a table dtype that contradicts ``image_is_uint8``.

    On non-CPU torch devices the NaN/inf check would force a device->host sync, so it is replaced
    by mapping non-finite locations far outside the image (the glimpse is then all zeros).
    """
    _check_sizes(glimpse_size, n_scales)
    if _is_tensor(table):
        return _glimpse_torch(table, locations, int(glimpse_size), int(n_scales), bool(image_is_uint8))
    if _is_tensor(locations):
        locations = locations.detach().cpu().numpy()
    table = np.asarray(table)
    locations = np.asarray(locations)
    single = _check_table_locs(table.ndim, tuple(table.shape), tuple(locations.shape))
    if table.dtype.kind not in "iuf" or locations.dtype.kind not in "iuf":
        raise ValueError(f"table and locations must be numeric, got {table.dtype} and {locations.dtype}")
    _check_uint8_flag(table.dtype.kind in "iu", table.dtype, image_is_uint8, table.dtype.itemsize)
    if single:
        table, locations = table[None], locations[None]
    loc = locations.astype(np.float64, copy=False)
    if not np.isfinite(loc).all():
        raise ValueError("locations contain NaN or infinite values")
    out = _glimpse_numpy(table, loc, int(glimpse_size), int(n_scales), bool(image_is_uint8))
    return out[0] if single else out


def _check_table_locs(t_ndim: int, t_shape: tuple, l_shape: tuple) -> bool:
    """Validate table/location shapes; returns True for the unbatched form."""
    if t_ndim not in (2, 3) or t_shape[-1] < 2 or t_shape[-2] < 2:
        raise ValueError(f"table must have shape (N, H+1, W+1) with H, W >= 1, got shape {t_shape}")
    if t_ndim == 2:
        if l_shape != (2,):
            raise ValueError(f"locations for a single (H+1, W+1) table must have shape (2,), got {l_shape}")
        return True
    if len(l_shape) != 2 or l_shape[1] != 2:
        raise ValueError(f"locations must have shape (N, 2), got {l_shape}")
    if l_shape[0] != t_shape[0]:
        raise ValueError(f"batch size mismatch: {t_shape[0]} tables/images but {l_shape[0]} locations")
    return False


def _check_uint8_flag(table_is_int: bool, dtype: Any, image_is_uint8: bool, itemsize: int) -> None:
    # ``dtype`` is turned into its name only for an error: formatting it on every call is not free.
    # An int table read as float data (or vice versa) would silently be off by a factor 255.
    if table_is_int and itemsize < 4:
        # (block sums are exact modulo 2**bits even if the table wrapped, but 8/16 bits are too few)
        raise ValueError(f"integer tables must be 32 or 64 bit (see integral_image), got {dtype}")
    if table_is_int != bool(image_is_uint8):
        raise ValueError(
            f"table dtype {dtype} does not match image_is_uint8={image_is_uint8}: uint8 images give "
            "integer tables, float images give floating-point tables"
        )


def _glimpse_numpy(table: np.ndarray, loc: np.ndarray, g: int, k: int, uint8: bool) -> np.ndarray:
    n, h1, w1 = table.shape
    out = np.empty((n, k, g, g), np.float32)
    if n == 0:
        return out
    half, off, denom, margin = _np_consts(g, k, uint8)
    lim = np.array([w1 - 1, h1 - 1])  # (W, H): x first, like the locations
    # Centres in pixels, clipped far outside the image (result unchanged: all zeros) so that the
    # float -> int conversion below can never overflow for huge locations.
    # (np.maximum/np.minimum rather than np.clip: same result, a third of the call overhead.)
    c = (loc + 1.0) * (0.5 * lim)
    np.minimum(np.maximum(c, -margin, out=c), lim + margin, out=c)
    corner = np.floor(c[:, :, None] + half).astype(np.intp)  # (N, 2, k) top-left x0, y0 per scale
    edges = corner[..., None] + off  # (N, 2, k, g+1) block edges
    # clamping the edges to [0, W] x [0, H] == zero padding outside the image
    np.minimum(np.maximum(edges, 0, out=edges), lim[:, None, None], out=edges)
    ex = edges[:, 0]
    ey = edges[:, 1] * w1 + (np.arange(n) * (h1 * w1))[:, None, None]  # flat row offsets (+ image base)
    g1 = g + 1
    m = n * k * g1 * g1
    idx = _SCRATCH.get("idx", m, np.intp)
    np.add(ey[..., None], ex[..., None, :], out=idx.reshape(n, k, g1, g1))  # corner-grid flat indices
    # mode='wrap' skips numpy's bounds-checked, buffered path (indices are in range by construction).
    corners = np.take(table.reshape(-1), idx, mode="wrap", out=_SCRATCH.get("corners", m, table.dtype))
    # 2-D difference on the flat (N*k*(g+1)*(g+1)) corner array, rows g+1 apart, columns 1 apart:
    # long contiguous ops instead of many tiny strided ones.  Entries that straddle two rows or
    # patches are garbage and never selected below.
    rows = np.subtract(corners[g1:], corners[:-g1], out=_SCRATCH.get("rows", m - g1, table.dtype))
    d = corners  # no longer needed: reuse it; its last g1+1 entries are stale but never selected
    np.subtract(rows[1:], rows[:-1], out=d[: m - g1 - 1])
    np.copyto(out, d.reshape(n, k, g1, g1)[:, :, :g, :g], casting="unsafe")
    out /= denom  # true division: a full 255-block gives exactly 1.0
    return out


#: Below this many corner reads (``N * k * (g+1)**2``) a CPU torch call runs the numpy kernel on
#: zero-copy views: torch's per-op overhead (~4 us vs ~1 us) dominates small batches and torch only
#: multi-threads ops above 32768 elements anyway.  E.g. g=12, k=3: batches below ~260 glimpses.
TORCH_CPU_NUMPY_BELOW = 2**17


def _glimpse_torch(table: Any, locations: Any, g: int, k: int, uint8: bool) -> Any:
    import torch

    dev = table.device
    if not isinstance(locations, torch.Tensor):
        locations = torch.as_tensor(np.asarray(locations))
    single = _check_table_locs(table.ndim, tuple(table.shape), tuple(locations.shape))
    bad = (torch.bool, torch.complex64, torch.complex128)
    if table.dtype in bad or locations.dtype in bad:
        raise ValueError(f"table and locations must be real numeric, got {table.dtype} and {locations.dtype}")
    _check_uint8_flag(not table.dtype.is_floating_point, table.dtype, uint8, table.element_size())
    if single:
        table, locations = table[None], locations[None]
    n = table.shape[0]
    if dev.type == "cpu":
        loc = locations.detach().to(dtype=torch.float64)
        if n * k * (g + 1) ** 2 < TORCH_CPU_NUMPY_BELOW and table.dtype != torch.bfloat16:
            loc_np = loc.numpy()
            if not np.isfinite(loc_np).all():
                raise ValueError("locations contain NaN or infinite values")
            out = torch.from_numpy(_glimpse_numpy(table.detach().numpy(), loc_np, g, k, uint8))
        else:
            if not bool(torch.isfinite(loc).all()):
                raise ValueError("locations contain NaN or infinite values")
            out = _torch_kernel(table, loc, g, k, uint8)
    else:
        # A NaN check here would cost a device->host sync per call; instead non-finite centres are
        # sent far outside the image, which gives an all-zero glimpse.
        loc = locations.to(device=dev, dtype=torch.float64)
        loc = torch.nan_to_num(loc, nan=1e9, posinf=1e9, neginf=-1e9)
        out = _torch_kernel(table, loc, g, k, uint8)
    return out[0] if single else out


@functools.lru_cache(maxsize=256)
def _torch_bounds(w: int, h: int, margin: int, device: Any):
    """Per-(image size, device) constant tensors for :func:`_torch_kernel`: centre scale, centre
    clip range, edge clip range (x first, like the locations)."""
    import torch

    f64 = dict(dtype=torch.float64, device=device)
    return (
        torch.tensor([0.5 * w, 0.5 * h], **f64),
        torch.tensor([-margin, -margin], **f64),
        torch.tensor([w + margin, h + margin], **f64),
        torch.zeros((), dtype=torch.int64, device=device),
        torch.tensor([w, h], dtype=torch.int64, device=device).view(2, 1, 1),
    )


def _torch_kernel(table: Any, loc: Any, g: int, k: int, uint8: bool) -> Any:
    """Same algorithm as :func:`_glimpse_numpy` in torch ops (any device); ``loc`` float64, finite."""
    import torch

    n, h1, w1 = table.shape
    if n == 0:
        return table.new_empty((0, k, g, g), dtype=torch.float32)
    half, off, denom, margin = _torch_consts(g, k, uint8, table.device)
    scale, cmin, cmax, emin, emax = _torch_bounds(w1 - 1, h1 - 1, margin, table.device)
    c = torch.clamp((loc + 1.0) * scale, cmin, cmax)  # (N, 2) centres in pixels, see _glimpse_numpy
    edges = torch.floor(c[:, :, None] + half).long()[..., None] + off  # (N, 2, k, g+1)
    edges = torch.clamp(edges, emin, emax)  # clamping == zero padding outside the image
    g1 = g + 1
    idx = ((edges[:, 1] * w1)[..., None] + edges[:, 0, :, None, :]).view(n, k * g1 * g1)
    corners = torch.gather(table.reshape(n, h1 * w1), 1, idx).view(-1)
    rows = corners[g1:] - corners[:-g1]  # flat 2-D difference, see _glimpse_numpy
    d = rows[1:] - rows[:-1]  # length m - g1 - 1; the strided view below stays inside it
    sel = d.as_strided((n, k, g, g), (k * g1 * g1, g1 * g1, g1, 1))
    return sel.to(torch.float32).div_(denom)


# --------------------------------------------------------------------------------------------------
# convenience
# --------------------------------------------------------------------------------------------------
def glimpse(images: Array, locations: Array, glimpse_size: int, n_scales: int = 1) -> Array:
    """Glimpses straight from images: builds the tables and calls :func:`glimpse_from_integral`.

    Args:
        images: ``(N, H, W)`` with ``locations`` ``(N, 2)``, or ``(H, W)`` with ``locations`` ``(2,)``;
            uint8 (output divided by 255), bool or float; numpy or torch.
        locations: ``(x, y)`` centres in ``[-1, 1]``.
        glimpse_size: ``g``.
        n_scales: ``k``.
    Returns:
        ``(N, k, g, g)`` or ``(k, g, g)`` float32, same backend/device as ``images``.

    Building the table costs O(H*W); when several glimpses are taken from the same image, build it
    once with :func:`integral_image` (or :meth:`Retina.table`) and reuse it.
    """
    _check_sizes(glimpse_size, n_scales)
    table = integral_image(images)
    is_int = _table_is_int(table)
    return glimpse_from_integral(table, locations, glimpse_size, n_scales, image_is_uint8=is_int)


def _table_is_int(table: Array) -> bool:
    """Integer tables come from uint8 images (see :func:`integral_image`)."""
    if _is_tensor(table):
        return not table.dtype.is_floating_point
    return np.asarray(table).dtype.kind in "iu"


class Retina:
    """Glimpse sensor with fixed ``glimpse_size`` (g) and ``n_scales`` (k).

    Usage::

        retina = Retina(12, 3)
        table = retina.table(images)      # once per image (or batch), O(H*W)
        g = retina(table, locations)      # every step, O(k*g*g): (N, 3, 12, 12) float32
    """

    def __init__(self, glimpse_size: int, n_scales: int = 1) -> None:
        """Args: glimpse_size: side g of each patch (>= 1); n_scales: number of scales k (>= 1)."""
        _check_sizes(glimpse_size, n_scales)
        self.glimpse_size = int(glimpse_size)
        self.n_scales = int(n_scales)

    @property
    def output_shape(self) -> tuple[int, int, int]:
        """Shape of one glimpse: ``(k, g, g)``."""
        return (self.n_scales, self.glimpse_size, self.glimpse_size)

    def table(self, images: Array) -> Array:
        """Summed-area table(s) of ``images``; see :func:`integral_image`."""
        return integral_image(images)

    def __call__(self, table: Array, locations: Array) -> Array:
        """Glimpses at ``locations`` from ``table``; an integer table means uint8 images (see
        :func:`glimpse_from_integral`)."""
        return glimpse_from_integral(
            table, locations, self.glimpse_size, self.n_scales, image_is_uint8=_table_is_int(table)
        )

    def read(self, table: np.ndarray, locations: np.ndarray) -> np.ndarray:
        """:meth:`__call__` for a caller that vouches for its inputs: a numpy ``(N, H+1, W+1)`` table from
        :meth:`table` and finite ``(N, 2)`` locations (an env's own state). The same kernel, without the
        argument checks a single env would otherwise pay at every step."""
        uint8 = table.dtype.kind in "iu"
        return _glimpse_numpy(table, locations.astype(np.float64, copy=False), self.glimpse_size, self.n_scales,
                              uint8)

    def __repr__(self) -> str:
        """``Retina(glimpse_size=g, n_scales=k)``."""
        return f"Retina(glimpse_size={self.glimpse_size}, n_scales={self.n_scales})"
