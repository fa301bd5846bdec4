"""The localization / tracking metric of agents.evaluation: exact values on hand-built cases, the reference policies,
agreement with the retina, and counting only the episodes that count."""

from __future__ import annotations

import numpy as np
import pytest

from agents.evaluation import (AttentionMeter, AttentionResult, evaluate, finest_patch_corner, patch_overlaps,
                               uniform_mean_distance, uniform_overlap_probability)
from ram_env import make_sb3_vec_env
from ram_env.envs.catch import scripted_policy
from ram_env.retina import Retina


class FixedLooker:
    """An 'agent' that always looks at ``location`` and names class 0 (or stays, in Catch)."""

    def __init__(self, venv, location=(0.0, 0.0)):
        self.venv, self.location = venv, np.asarray(location, np.float32)

    def predict(self, obs, state=None, episode_start=None, deterministic=True):
        n = self.venv.num_envs
        scores = np.zeros((n, self.venv.n_choices), np.float32)
        scores[:, 0] = 1.0
        return np.concatenate([np.repeat(self.location[None], n, 0), scores], axis=1), state


class Scripted:
    """Catch's scripted player (it reads the game state): glimpses where the ball will be."""

    def __init__(self, venv, look="ball"):
        self.venv, self.look = venv, look

    def predict(self, obs, state=None, episode_start=None, deterministic=True):
        return scripted_policy(self.venv, look=self.look), state


def one_pixel(row: int, col: int, n: int = 1):
    digits = np.zeros((n, 28, 28), np.uint8)
    digits[:, row, col] = 255
    return digits, np.arange(n) % 10


def test_hand_built_case_exact_distance_hit_and_random_figures():
    # 28x28 centred task (no translation): the frame's centre is pixel point (14, 14), the digit one pixel at
    # row 20, column 5. The agent looks at l = (-0.5, 0.5): pixel point (7, 21), finest 8x8 patch at columns
    # 3..10, rows 17..24, which holds the pixel.
    venv = make_sb3_vec_env("RAM-MNIST-v0", n_envs=4, seed=0, monitor=False, dataset=one_pixel(20, 5, 10),
                            n_glimpses=3, initial_location=(-0.5, 0.5))
    result = evaluate(FixedLooker(venv, (-0.5, 0.5)), venv, 10)
    a = result.attention
    assert a.target == "digit" and a.counts == [10, 10, 10] and a.summary_from == 1
    assert a.distance == pytest.approx([np.hypot(7, 7)] * 3, abs=1e-9)
    assert a.hit_rate == [1.0, 1.0, 1.0]
    assert a.centre_distance == [0.0] * 3 and a.centre_hit_rate == [0.0] * 3  # (10..17)^2 misses row 20
    # Uniform centres on [0, 28]^2: the patch holds pixel 5 iff cx in [1.5, 9.5), pixel 20 iff cy in [16.5, 24.5).
    assert a.random_hit_rate == pytest.approx([(8 / 28) ** 2] * 3, abs=1e-12)
    # The mean distance from the square's centre to a uniform point: side * (sqrt 2 + ln(1 + sqrt 2)) / 6.
    assert a.random_distance == pytest.approx([28 * (np.sqrt(2) + np.log(1 + np.sqrt(2))) / 6] * 3, abs=1e-9)
    assert a.summary()["distance"] == pytest.approx(np.hypot(7, 7))
    d = result.as_dict()["attention"]
    assert d["summary"]["hit_rate"] == 1.0 and d["random_method"] == "analytic"


def test_always_centre_agent_scores_the_centre_baseline_exactly():
    rng = np.random.default_rng(0)
    images = np.zeros((30, 28, 28), np.uint8)
    for image, (r, c) in zip(images, rng.integers(0, 25, (30, 2))):
        image[r:r + 3, c:c + 3] = 255  # small digits, so the centre patch misses some
    venv = make_sb3_vec_env("RAM-ClutteredMNIST-v0", n_envs=7, seed=3, dataset=(images, np.arange(30) % 10),
                            n_glimpses=4, initial_location="center", shuffle=False)
    a = evaluate(FixedLooker(venv), venv, 30).attention
    assert a.distance == a.centre_distance and a.hit_rate == a.centre_hit_rate
    assert a.counts == [30] * 4  # 30 episodes counted, though 35 were played
    assert 0 < a.centre_hit_rate[0] < 1 and a.random_distance[0] > a.centre_distance[0] > 0


def test_only_counted_episodes_are_scored():
    # 5 envs, 7 episodes: the 3 extra episodes that end in the second batch must not count.
    venv = make_sb3_vec_env("RAM-MNIST-v0", n_envs=5, seed=0, monitor=False, dataset=one_pixel(14, 14, 10),
                            n_glimpses=2, initial_location="center")
    a = evaluate(FixedLooker(venv, (0.5, 0.5)), venv, 7).attention
    assert a.counts == [7, 7]
    assert a.distance[1] == pytest.approx(np.hypot(7, 7))
    assert a.distance[0] == pytest.approx(0.0) and a.hit_rate[0] == 1.0  # the reset glimpse, at the centre


def test_catch_tracking_scripted_looker_follows_the_ball():
    venv = make_sb3_vec_env("RAM-Catch-v0", n_envs=8, seed=1)
    result = evaluate(Scripted(venv), venv, 16)
    a = result.attention
    assert result.rate == 1.0 and a.target == "ball" and len(a.counts) == 23 and a.counts == [16] * 23
    assert a.summary_from == 11
    # It aims a quarter pixel down-right of the ball's centre (pixel_location's offset 0.75).
    assert a.distance[1:] == pytest.approx([np.hypot(0.25, 0.25)] * 22, abs=1e-5)
    assert a.hit_rate[1:] == [1.0] * 22
    assert a.distance[0] == a.centre_distance[0]  # the first glimpse is the env's, at the centre
    centre = evaluate(Scripted(venv, "center"), venv, 16).attention
    assert centre.distance == centre.centre_distance and centre.hit_rate == centre.centre_hit_rate
    assert centre.summary()["distance"] > 3 and a.summary()["distance"] < 0.4
    text = str(a)
    assert "random" in text and "11+" in text


def test_finest_patch_and_uniform_figures_agree_with_the_retina():
    size, g = 60, 12
    rng = np.random.default_rng(0)
    n = 4000
    pixels = rng.integers(0, size, (n, 2))  # (col, row) of a one-pixel image
    images = np.zeros((n, size, size), np.uint8)
    images[np.arange(n), pixels[:, 1], pixels[:, 0]] = 255
    locations = rng.uniform(-1, 1, (n, 2)).astype(np.float32)
    retina = Retina(g, 3)
    seen = retina(retina.table(images), locations)[:, 0].max(axis=(1, 2)) > 0
    box = np.concatenate([pixels, pixels + 1], axis=1).astype(np.float64)
    np.testing.assert_array_equal(patch_overlaps(finest_patch_corner(locations, (size, size), g), box, g), seen)
    # The exact uniform figures against a Monte-Carlo draw through the retina (one box, many locations).
    one = np.zeros((1, size, size), np.uint8)
    one[0, 40:47, 3:9] = 255
    table = retina.table(np.repeat(one, n, 0))
    hits = retina(table, locations)[:, 0].max(axis=(1, 2)) > 0
    p = uniform_overlap_probability(np.array([[3.0, 40.0, 9.0, 47.0]]), (size, size), g)[0]
    assert p == pytest.approx(14.5 / 60 * 18 / 60)  # cx in [-2.5, 14.5) cut at 0, cy in [34.5, 52.5)
    assert abs(hits.mean() - p) < 3 * np.sqrt(p * (1 - p) / n)
    point = np.array([[10.0, 50.0]])
    centres = (locations.astype(np.float64) + 1) * 30
    mc = np.hypot(*(centres - point).T)
    assert uniform_mean_distance(point, (size, size))[0] == pytest.approx(mc.mean(), abs=3 * mc.std() / np.sqrt(n))


def test_full_frame_envs_and_the_meter_arguments():
    venv = make_sb3_vec_env("RAM-MNIST-v0", n_envs=2, seed=0, dataset=one_pixel(3, 3, 4), obs_mode="full")
    venv.reset()
    assert AttentionMeter.for_venv(venv) is None
    with pytest.raises(ValueError, match="target"):
        AttentionMeter("face", (28, 28), 8, 6, 1)
    empty = AttentionResult("digit", [], [], [], [], [], [], [0, 0], 1)
    assert np.isnan(empty.summary()["distance"])
