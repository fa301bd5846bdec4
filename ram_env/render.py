"""Drawing glimpses and trajectories (OpenCV), and writing animations (Pillow).

Frames are upscaled with nearest-neighbour so a person can see single pixels, then the k retina
squares are drawn with the retina's own geometry (:func:`ram_env.retina.pixel_centre`,
:func:`ram_env.retina.patch_corner`: a square of width ``g * 2**s`` whose top-left is ``centre - width / 2``
rounded half up).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from ram_env.retina import patch_corner, pixel_centre

GREEN, RED = (60, 220, 60), (230, 40, 40)  # RGB; also a success / a failure in draw_outcome
# One colour per scale (RGB), smallest patch first.
SCALE_COLOURS = (GREEN, (250, 210, 40), (250, 130, 30), RED, (200, 60, 200), (60, 160, 250))
TARGET_SIDE = 256


def upscale_factor(height: int, width: int) -> int:
    """Integer zoom that brings the larger side to about ``TARGET_SIDE`` pixels."""
    return max(1, math.ceil(TARGET_SIDE / max(height, width)))


def draw_glimpse_frame(image: np.ndarray, location: np.ndarray | None, glimpse_size: int, n_scales: int,
                       trajectory: np.ndarray | None = None, text: str = "") -> np.ndarray:
    """Render one frame: the image, the glimpse squares at ``location`` and the path of past locations.

    Args:
        image: uint8 ``(H, W)`` scene.
        location: ``(2,)`` in [-1, 1], or None to draw no glimpse (full-frame mode).
        glimpse_size, n_scales: the retina's g and k.
        trajectory: ``(T, 2)`` earlier locations, joined by a line.
        text: a caption drawn at the top-left.

    Returns:
        uint8 RGB ``(H * z, W * z, 3)`` with ``z = upscale_factor(H, W)``.
    """
    h, w = image.shape
    z = upscale_factor(h, w)
    frame = cv2.resize(image, (w * z, h * z), interpolation=cv2.INTER_NEAREST)
    frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
    thickness = max(1, z // 4)
    if trajectory is not None and len(trajectory) > 1:
        pts = pixel_centre(trajectory, (h, w))[:, None, :] * z
        cv2.polylines(frame, [pts.astype(np.int32)], False, (80, 160, 255), thickness, cv2.LINE_AA)
    if location is not None:
        centre = pixel_centre(location, (h, w))
        for s in range(n_scales):
            width = glimpse_size * 2**s
            x0, y0 = (int(v) for v in patch_corner(centre, width))
            colour = SCALE_COLOURS[s % len(SCALE_COLOURS)]
            cv2.rectangle(frame, (x0 * z, y0 * z), ((x0 + width) * z - 1, (y0 + width) * z - 1), colour, thickness)
    if text:
        scale = 0.4 + 0.1 * (frame.shape[1] // 256)
        cv2.putText(frame, text, (4, int(14 * scale / 0.4)), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1,
                    cv2.LINE_AA)
    return frame


def draw_outcome(frame: np.ndarray, text: str, success: bool) -> np.ndarray:
    """A copy of ``frame`` with the episode's outcome ``text`` at its bottom-left, green on success, else red."""
    frame = frame.copy()
    cv2.putText(frame, text, (4, frame.shape[0] - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.5, GREEN if success else RED, 1,
                cv2.LINE_AA)
    return frame


def write_gif(frames: Sequence[np.ndarray], path: str | os.PathLike, fps: float = 2.0) -> Path:
    """Write RGB frames as a looping GIF, atomically (a temp file renamed into place)."""
    from PIL import Image

    if not frames:
        raise ValueError("write_gif needs at least one frame")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = frames[0].shape
    images = []
    for frame in frames:
        if frame.shape != shape:  # pad to a common size so mixed scenes can share one animation
            pad = np.zeros(shape, np.uint8)
            pad[: frame.shape[0], : frame.shape[1]] = frame[: shape[0], : shape[1]]
            frame = pad
        images.append(Image.fromarray(frame))
    tmp = path.with_name(path.name + ".tmp")
    images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
    os.replace(tmp, path)
    return path
