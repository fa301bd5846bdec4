"""ram_env.scenes: the scene generator (translated and cluttered canvases, digit positions and boxes)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from ram_env.scenes import SceneGenerator
from tests.conftest import toy_dataset


def test_the_same_seed_draws_the_same_scenes_and_another_seed_others():
    images, labels = toy_dataset()
    gen = SceneGenerator(images, labels, 60, n_clutter=4)
    a, la = gen.sample(np.random.default_rng(3), 16)
    b, lb = gen.sample(np.random.default_rng(3), 16)
    c, _ = gen.sample(np.random.default_rng(4), 16)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)
    assert not np.array_equal(a, c)


def test_indices_pick_the_digits_in_order_and_wrap():
    images, labels = toy_dataset(12)
    gen = SceneGenerator(images, labels, 28)  # the centred task: the canvas is the digit
    canvas, got = gen.sample(np.random.default_rng(0), 4, indices=np.array([10, 11, 12, 13]))
    assert got.tolist() == [0, 1, 0, 1]  # labels of digits 10, 11, 0, 1
    np.testing.assert_array_equal(canvas, images[[10, 11, 0, 1]])


@pytest.mark.parametrize("kwargs,message", [
    (dict(image_size=20), "image_size=20 is smaller than the digits"),
    (dict(image_size=60, n_clutter=-1), "n_clutter must be >= 0"),
])
def test_bad_scene_settings_are_refused(kwargs, message):
    images, labels = toy_dataset(4)
    with pytest.raises(ValueError, match=message):
        SceneGenerator(images, labels, **kwargs)
    with pytest.raises(ValueError, match="images must be uint8"):
        SceneGenerator(images.astype(np.float32), labels, 60)


def test_translated_scene_places_the_whole_digit_inside():
    digit = np.zeros((1, 28, 28), np.uint8)
    digit[0, 3:25, 5:20] = 200
    gen = SceneGenerator(digit, np.array([4]), image_size=60)
    canvases, labels = gen.sample(np.random.default_rng(0), 64)
    assert canvases.shape == (64, 60, 60) and (labels == 4).all()
    assert (canvases.reshape(64, -1).sum(1) == digit.sum()).all()  # never cropped
    corners = [tuple(np.argwhere(c)[0]) for c in canvases]
    assert len(set(corners)) > 30  # positions vary


def test_clutter_pieces_are_clutter_size_cuts_combined_by_max():
    digits = np.full((2, 28, 28), 255, np.uint8)
    gen = SceneGenerator(digits, np.array([0, 1]), image_size=60, n_clutter=1, clutter_size=8)
    canvases, _ = gen.sample(np.random.default_rng(0), 32)
    blank_digit = SceneGenerator(np.zeros((1, 28, 28), np.uint8), np.array([0]), image_size=60, n_clutter=1)
    clutter_only, _ = blank_digit.sample(np.random.default_rng(0), 32)
    assert clutter_only.max() == 0  # pieces come from the dataset's digits
    on = (canvases > 0).reshape(32, -1).sum(1)
    assert (on >= 28 * 28).all() and (on <= 28 * 28 + 64).all() and (on > 28 * 28).any()
    with pytest.raises(ValueError, match="clutter_size"):
        SceneGenerator(digits, np.array([0, 1]), image_size=60, n_clutter=1, clutter_size=40)


@pytest.mark.parametrize("size,clutter,digest", [(28, 0, "1b9fa37c94576226"), (60, 0, "77ff4687598130ea"),
                                                 (60, 4, "366dfafa94584350"), (100, 8, "5ae22f85b5af616b")])
def test_scenes_for_a_seed_are_unchanged_by_returning_positions(size, clutter, digest):
    images, labels = toy_dataset()
    plain, plain_labels = SceneGenerator(images, labels, size, clutter).sample(np.random.default_rng(7), 33)
    canvas, got_labels, offsets, boxes = SceneGenerator(images, labels, size, clutter).sample(
        np.random.default_rng(7), 33, return_positions=True)
    np.testing.assert_array_equal(canvas, plain)
    np.testing.assert_array_equal(got_labels, plain_labels)
    # The canvases drawn before positions were returned (digest of the code at the previous commit).
    assert hashlib.sha256(canvas.tobytes()).hexdigest()[:16] == digest
    assert offsets.shape == (33, 2) and boxes.shape == (33, 4)
    assert ((offsets >= 0) & (offsets <= size - 28)).all()


def test_scene_offsets_and_boxes_locate_the_digit_on_the_canvas():
    digit = np.zeros((2, 28, 28), np.uint8)
    digit[0, 4:9, 6:20] = 100  # ink box x 6..19, y 4..8
    digit[1, 27, 0] = 9  # one pixel in the bottom-left corner
    gen = SceneGenerator(digit, np.array([0, 1]), image_size=60)
    np.testing.assert_array_equal(gen.digit_boxes, [[6, 4, 20, 9], [0, 27, 1, 28]])
    canvas, labels, offsets, boxes = gen.sample(np.random.default_rng(1), 40, return_positions=True)
    for c, label, (ox, oy), box in zip(canvas, labels, offsets, boxes):
        np.testing.assert_array_equal(c[oy:oy + 28, ox:ox + 28], digit[label])
        ys, xs = np.nonzero(c)
        np.testing.assert_array_equal(box, [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    assert len({tuple(o) for o in offsets}) > 20
