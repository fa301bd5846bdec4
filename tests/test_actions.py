"""ram_env.actions: the three action modes, decoding and encoding, the box encoding and tie-breaking."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces

from ram_env.actions import ActionCodec, box_actions


def test_each_mode_builds_its_space():
    assert ActionCodec("box", 10).space == spaces.Box(-1.0, 1.0, (12,), np.float32)
    assert ActionCodec("box", 3, with_location=False).space == spaces.Box(-1.0, 1.0, (3,), np.float32)
    assert ActionCodec("multidiscrete", 10, location_grid=5).space == spaces.MultiDiscrete([5, 5, 10])
    assert ActionCodec("discrete", 3, location_grid=4).space == spaces.Discrete(4 * 4 * 3)
    assert ActionCodec("discrete", 3, with_location=False).space == spaces.Discrete(3)


def test_box_actions_are_the_location_then_plus_one_for_the_choice():
    got = box_actions(np.array([[0.25, -0.5], [1.0, 0.0]]), np.array([2, 0]), 3)
    np.testing.assert_array_equal(got, [[0.25, -0.5, -1, -1, 1], [1.0, 0.0, 1, -1, -1]])
    assert got.dtype == np.float32
    np.testing.assert_array_equal(box_actions(None, np.array([1]), 2), [[-1, 1]])


@pytest.mark.parametrize("mode", ["box", "multidiscrete", "discrete"])
def test_decode_inverts_encode_on_the_grid(mode):
    codec = ActionCodec(mode, 4, location_grid=5)
    grid = np.linspace(-1, 1, 5, dtype=np.float32)
    locations = np.array([[grid[0], grid[4]], [grid[2], grid[1]], [grid[3], grid[3]]], np.float32)
    choices = np.array([3, 0, 2])
    loc, got = codec.decode(codec.encode(locations, choices), 3)
    np.testing.assert_array_equal(loc, locations)
    np.testing.assert_array_equal(got, choices)


def test_discrete_modes_snap_a_location_to_the_nearest_cell():
    codec = ActionCodec("multidiscrete", 2, location_grid=5)  # cells at -1, -0.5, 0, 0.5, 1
    np.testing.assert_array_equal(codec.encode(np.array([[0.3, -0.8]]), np.array([1])), [[3, 0, 1]])
    np.testing.assert_array_equal(codec.decode(np.array([[3, 0, 1]]), 1)[0], [[0.5, -1.0]])


def test_box_locations_are_clipped_and_the_largest_score_wins():
    loc, choices = ActionCodec("box", 3).decode(np.array([[2.0, -3.0, 0.1, 0.7, -0.2]], np.float32), 1)
    np.testing.assert_array_equal(loc, [[1.0, -1.0]])
    assert choices.tolist() == [1]


@pytest.mark.parametrize("mode,action,message", [
    ("box", np.zeros((2, 4), np.float32), r"action has shape \(2, 4\), expected \(2, 5\)"),
    ("box", np.array([[0, 0, np.nan, 0, 0]] * 2, np.float32), "NaN or inf"),
    ("multidiscrete", np.array([[5, 0, 0]] * 2), "multidiscrete action out of range"),
    ("discrete", np.array([0.5, 1.0]), "must hold integers"),
    ("discrete", np.array([75, 0]), r"discrete action out of range: must lie in \[0, 75\)"),
])
def test_bad_actions_are_one_line_errors(mode, action, message):
    with pytest.raises(ValueError, match=message):
        ActionCodec(mode, 3).decode(action, 2)


def test_bad_codec_settings_are_refused():
    with pytest.raises(ValueError, match="action_mode must be one of"):
        ActionCodec("continuous", 3)
    with pytest.raises(ValueError, match="n_choices must be >= 2"):
        ActionCodec("box", 1)
    with pytest.raises(ValueError, match="location_grid must be >= 2"):
        ActionCodec("discrete", 3, location_grid=1)


def test_ties_are_broken_at_random_from_the_env_generator():
    from ram_env.actions import ActionCodec

    codec = ActionCodec("box", 4, with_location=False)
    scores = np.array([[1.0, 1.0, -1.0, 1.0]] * 3000, np.float32)
    _, choices = codec.decode(scores, 3000, rng=np.random.default_rng(0))
    assert set(np.unique(choices)) == {0, 1, 3} and np.bincount(choices)[[0, 1, 3]].min() > 900
    _, again = codec.decode(scores, 3000, rng=np.random.default_rng(0))
    assert np.array_equal(choices, again)  # seeded: reproducible
    _, single = codec.decode(np.array([[0.2, 0.9, 0.1, -1.0]], np.float32), 1, rng=np.random.default_rng(0))
    assert single.tolist() == [1]  # no tie, no draw
