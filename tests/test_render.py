"""ram_env.render: frames with the retina's squares drawn where it reads, outcomes, GIFs."""

from __future__ import annotations

import numpy as np
import pytest

from ram_env.render import GREEN, RED, SCALE_COLOURS, draw_glimpse_frame, draw_outcome, upscale_factor, write_gif
from ram_env.retina import glimpse, patch_corner, pixel_centre


def test_upscale_brings_the_larger_side_to_about_256():
    assert [upscale_factor(28, 28), upscale_factor(60, 60), upscale_factor(24, 100), upscale_factor(400, 400)] == \
        [10, 5, 3, 1]


@pytest.mark.parametrize("location", [(0.0, 0.0), (-0.37, 0.61), (0.5, -1.0)])
def test_the_squares_are_drawn_where_the_retina_reads(location):
    image = np.zeros((24, 24), np.uint8)
    frame = draw_glimpse_frame(image, np.array(location, np.float32), glimpse_size=4, n_scales=2)
    z = upscale_factor(24, 24)
    for s in range(2):
        width = 4 * 2**s
        x0, y0 = patch_corner(pixel_centre(np.array(location, np.float32), (24, 24)), width)
        # The square's top-left and bottom-right pixels (where they fall on the frame) have the scale's colour.
        for x, y in ((x0 * z, y0 * z), ((x0 + width) * z - 1, (y0 + width) * z - 1)):
            if 0 <= x < frame.shape[1] and 0 <= y < frame.shape[0]:
                assert tuple(frame[y, x]) == SCALE_COLOURS[s]
    # The same corner the retina uses: a lit pixel at the finest patch's top-left reads as its first pixel.
    x0, y0 = patch_corner(pixel_centre(np.array(location, np.float32), (24, 24)), 4)
    if 0 <= x0 < 24 and 0 <= y0 < 24:
        image[y0, x0] = 255
        assert glimpse(image, np.array(location, np.float32), 4, 1)[0, 0, 0] == 1.0


def test_a_full_frame_has_no_squares_and_the_scene_upscaled():
    image = np.arange(16, dtype=np.uint8).reshape(4, 4) * 16
    frame = draw_glimpse_frame(image, None, 2, 1)
    z = upscale_factor(4, 4)
    assert frame.shape == (4 * z, 4 * z, 3)
    np.testing.assert_array_equal(frame[::z, ::z, 0], image)


def test_the_outcome_is_green_on_success_and_red_otherwise():
    frame = np.zeros((60, 200, 3), np.uint8)
    won, lost = draw_outcome(frame, "caught!", True), draw_outcome(frame, "missed", False)
    assert frame.max() == 0  # drawn on a copy
    def has(image, colour):
        return bool((image.reshape(-1, 3) == colour).all(axis=1).any())

    assert has(won, GREEN) and not has(won, RED) and has(lost, RED) and not has(lost, GREEN)
    assert won[:40].max() == 0  # at the bottom: the frame above the text is untouched


def test_write_gif_writes_every_frame_atomically(tmp_path):
    from PIL import Image

    frames = [np.full((8, 8, 3), v, np.uint8) for v in (0, 120, 255)] + [np.zeros((4, 4, 3), np.uint8)]
    path = write_gif(frames, tmp_path / "sub" / "a.gif", fps=4)
    with Image.open(path) as gif:
        assert gif.n_frames == 4 and gif.size == (8, 8) and gif.info["duration"] == 250
    assert not list((tmp_path / "sub").glob("*.tmp"))
    with pytest.raises(ValueError, match="write_gif needs at least one frame"):
        write_gif([], tmp_path / "b.gif")
