"""agents.evaluation: the success rate's interval, how a checkpoint is scored (split, episodes), and the
analytic random-policy references (the attention scores themselves: test_attention.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents.evaluation import evaluation_env_kwargs, evaluation_episodes, uniform_mean_distance, wilson_interval
from agents.models import SetupError
from tests.conftest import requires_mnist


def test_wilson_interval_exact_values():
    low, high = wilson_interval(8, 10)
    # p = 0.8, n = 10, z = 1.96: centre (0.8 + 0.19208) / 1.38416, half 1.96 sqrt(0.016 + 0.0096040) / 1.38416.
    centre, half = (0.8 + 1.96**2 / 20) / (1 + 1.96**2 / 10), 1.96 * math.sqrt(0.016 + 1.96**2 / 400) / (1 + 1.96**2 / 10)
    assert (low, high) == pytest.approx((centre - half, centre + half), abs=1e-12)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_a_classification_checkpoint_is_scored_on_its_split_in_order():
    meta = dict(env_id="RAM-MNIST-v0", env_kwargs=dict(n_glimpses=3, split="train"), eval_split="test")
    assert evaluation_env_kwargs(meta, None) == dict(n_glimpses=3, split="test", shuffle=False)
    assert evaluation_env_kwargs(meta, "train[55000:]")["split"] == "train[55000:]"
    catch = dict(env_id="RAM-Catch-v0", env_kwargs=dict(screen_size=24))
    assert evaluation_env_kwargs(catch, None) == dict(screen_size=24)  # games, no split


def test_catch_scores_1000_games_by_default():
    meta = dict(env_id="RAM-Catch-v0", env_kwargs={})
    assert evaluation_episodes(meta, None, {}) == 1000 and evaluation_episodes(meta, 7, {}) == 7
    with pytest.raises(SetupError, match="must be >= 1, got 0"):
        evaluation_episodes(meta, 0, {})


@requires_mnist
def test_a_split_is_never_scored_twice():
    meta = dict(env_id="RAM-MNIST-v0", env_kwargs={})
    kwargs = dict(split="test[:100]", shuffle=False)
    assert evaluation_episodes(meta, None, kwargs) == 100
    with pytest.raises(SetupError, match="101 episodes is more than the 100 images"):
        evaluation_episodes(meta, 101, kwargs)


def test_uniform_mean_distance_from_a_corner_of_a_square():
    # Mean distance from a corner of the unit square to a uniform point: (sqrt(2) + ln(1 + sqrt(2))) / 3.
    expected = 10 * (math.sqrt(2) + math.log(1 + math.sqrt(2))) / 3
    got = uniform_mean_distance(np.array([[0.0, 0.0], [10.0, 10.0]]), (10, 10))
    np.testing.assert_allclose(got, [expected, expected], rtol=1e-12)
