"""Batched, seeded scene generators for the classification tasks.

A scene is a uint8 canvas holding one digit (the label) and, on cluttered tasks, pieces cut from
other digits. Every call draws fresh positions and pieces from the generator it is given, so every
episode is a new translation and a new clutter: the network cannot memorise a fixed set of scenes.

Task definitions (docs/model.md, "Tasks"):
- centred: the 28x28 digit itself (``image_size == 28``, no translation).
- translated: the 28x28 digit at a uniformly random position on a blank ``image_size`` canvas.
- cluttered: translated, plus ``n_clutter`` random ``clutter_size`` x ``clutter_size`` pieces, each cut
  at a random position from a random digit of the same split and pasted at a random position.
  Overlaps combine by pixel-wise maximum (keeps uint8 without overflow; the paper does not say how
  pieces combine).

Where the digit went: ``sample(..., return_positions=True)`` also returns each scene's digit offset (the
top-left corner of its 28x28 frame on the canvas) and the tight bounding box of the digit's nonzero
pixels on the canvas, so environments can report the target's position (never to the agent). Asking for
them draws nothing more from the generator: the scenes for a seed are the same either way.
"""

from __future__ import annotations

import numpy as np


class SceneGenerator:
    """Draws batches of scenes from a digit dataset.

    Args:
        images: uint8 ``(M, h, w)`` digits (28x28 for MNIST).
        labels: int ``(M,)`` labels.
        image_size: side of the square canvas; equal to the digit size means the centred task.
        n_clutter: number of clutter pieces per scene.
        clutter_size: side of each piece.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, image_size: int, n_clutter: int = 0,
                 clutter_size: int = 8):
        if images.ndim != 3 or images.dtype != np.uint8:
            raise ValueError(f"images must be uint8 (M, h, w), got {images.dtype} {images.shape}")
        if labels.shape != (images.shape[0],):
            raise ValueError(f"labels must have shape ({images.shape[0]},), got {labels.shape}")
        if images.shape[0] == 0:
            raise ValueError("the dataset split is empty")
        h, w = images.shape[1:]
        if image_size < max(h, w):
            raise ValueError(f"image_size={image_size} is smaller than the digits ({h}x{w})")
        if n_clutter < 0:
            raise ValueError(f"n_clutter must be >= 0, got {n_clutter}")
        if n_clutter and not 1 <= clutter_size <= min(h, w, image_size):
            raise ValueError(f"clutter_size must lie in [1, {min(h, w)}], got {clutter_size}")
        self.images, self.labels = images, labels.astype(np.int64, copy=False)
        self.image_size, self.n_clutter, self.clutter_size = int(image_size), int(n_clutter), int(clutter_size)
        self.translate = self.image_size != h or self.image_size != w
        self._boxes: np.ndarray | None = None

    @property
    def digit_boxes(self) -> np.ndarray:
        """int64 ``(M, 4)``: each digit's tight box of nonzero pixels in its own frame, ``(x0, y0, x1, y1)``
        with exclusive ends (pixel edges: a one-pixel digit at column c has ``x0 = c, x1 = c + 1``); an
        all-zero digit has ``(0, 0, 0, 0)``. Computed once, on first use."""
        if self._boxes is None:
            ink = self.images > 0
            cols, rows = ink.any(axis=1), ink.any(axis=2)  # (M, w), (M, h)
            h, w = self.images.shape[1:]
            x0, y0 = cols.argmax(axis=1), rows.argmax(axis=1)
            x1, y1 = w - cols[:, ::-1].argmax(axis=1), h - rows[:, ::-1].argmax(axis=1)
            empty = ~cols.any(axis=1)
            boxes = np.stack([x0, y0, x1, y1], axis=1).astype(np.int64)
            boxes[empty] = 0
            self._boxes = boxes
        return self._boxes

    def sample(self, rng: np.random.Generator, n: int, indices: np.ndarray | None = None,
               return_positions: bool = False):
        """Draw ``n`` scenes: ``(canvases uint8 (n, S, S), labels int64 (n,))``.

        ``indices`` picks the digits (e.g. to walk a test split in order); by default they are drawn
        uniformly with replacement. Positions and clutter are always drawn from ``rng``.

        With ``return_positions=True`` it returns ``(canvases, labels, offsets, boxes)``: ``offsets`` int64
        ``(n, 2)`` the ``(x, y)`` (column, row) of the digit frame's top-left pixel on the canvas (zeros on the
        centred task), ``boxes`` int64 ``(n, 4)`` the digit's :attr:`digit_boxes` moved onto the canvas,
        ``(x0, y0, x1, y1)`` with exclusive ends (all equal to the offset for an all-zero digit). The same
        draws are made either way.
        """
        params = self.draw(rng, n, indices)
        canvas = self.compose(params)
        labels = self.labels[params["digit"]]
        if return_positions:
            return self._with_positions(canvas, labels, params["digit"], params["offset"])
        return canvas, labels

    def draw(self, rng: np.random.Generator, n: int, indices: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """The random part of :meth:`sample`, the rules of a scene: every draw, in their one order.

        Returns int64 arrays: ``digit`` ``(n,)`` (dataset rows), ``offset`` ``(n, 2)`` (x, y of the digit
        frame's top-left pixel), and on cluttered tasks ``clutter`` ``(n, n_clutter, 5)``: per piece, the
        source digit and the ``(sy, sx)`` of the cut and ``(dy, dx)`` of the paste. :meth:`compose` (numpy) and
        the torch tasks (:mod:`ram_env.envs.torch_tasks`) turn them into canvases.
        """
        m, h, w = self.images.shape
        digit = rng.integers(0, m, n) if indices is None else np.asarray(indices, np.int64) % m
        out = {"digit": np.asarray(digit, np.int64)}
        if not self.translate and not self.n_clutter:
            out["offset"] = np.zeros((n, 2), np.int64)
            return out
        s, c = self.image_size, self.clutter_size
        if self.n_clutter:
            pieces = np.empty((n, self.n_clutter, 5), np.int64)
            for j in range(self.n_clutter):
                pieces[:, j, 0] = rng.integers(0, m, n)
                pieces[:, j, 1], pieces[:, j, 2] = rng.integers(0, h - c + 1, n), rng.integers(0, w - c + 1, n)
                pieces[:, j, 3], pieces[:, j, 4] = rng.integers(0, s - c + 1, n), rng.integers(0, s - c + 1, n)
            out["clutter"] = pieces
        oy, ox = rng.integers(0, s - h + 1, n), rng.integers(0, s - w + 1, n)
        out["offset"] = np.stack([ox, oy], axis=1).astype(np.int64)
        return out

    def compose(self, params: dict[str, np.ndarray]) -> np.ndarray:
        """The canvases ``uint8 (n, S, S)`` of the scenes :meth:`draw` described."""
        digits = self.images[params["digit"]]
        if not self.translate and not self.n_clutter:
            return np.ascontiguousarray(digits)
        n = digits.shape[0]
        h, w = self.images.shape[1:]
        s, c = self.image_size, self.clutter_size
        canvas = np.zeros((n, s, s), np.uint8)
        batch = np.arange(n)
        if self.n_clutter:
            # Windows views make every paste a copy of whole c x c blocks, not a per-pixel gather.
            sources = _windows(self.images, c)
            targets = _windows(canvas, c)
            for src, sy, sx, dy, dx in params["clutter"].transpose(1, 2, 0):
                # Pieces are pasted one at a time so overlapping pieces combine by max, not last-write.
                targets[batch, dy, dx] = np.maximum(targets[batch, dy, dx], sources[src, sy, sx])
        ox, oy = params["offset"][:, 0], params["offset"][:, 1]
        targets = _windows(canvas, h, w)
        targets[batch, oy, ox] = np.maximum(targets[batch, oy, ox], digits)
        return canvas

    def _with_positions(self, canvas: np.ndarray, labels: np.ndarray, idx: np.ndarray, offsets: np.ndarray):
        boxes = self.digit_boxes[idx] + np.concatenate([offsets, offsets], axis=1)
        return canvas, labels, offsets, boxes


def _windows(images: np.ndarray, h: int, w: int | None = None) -> np.ndarray:
    """A writeable view ``(n, H - h + 1, W - w + 1, h, w)`` of every h x w window of a batch of images."""
    w = h if w is None else w
    n, height, width = images.shape
    s0, s1, s2 = images.strides
    return np.lib.stride_tricks.as_strided(images, (n, height - h + 1, width - w + 1, h, w), (s0, s1, s2, s1, s2))
