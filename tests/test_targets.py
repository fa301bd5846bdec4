"""Where the target is: the digit's centre and box, and Catch's ball and paddle, in ``info`` (never observed),
for the single, Gymnasium vector and SB3 envs; and the public task attributes."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import ram_env
from ram_env import make_sb3_vec_env
from ram_env.envs.catch import CatchEnv, CatchVectorEnv, scripted_policy
from ram_env.envs.classification import ClassificationEnv, ClassificationVectorEnv
from ram_env.scenes import SceneGenerator
from tests.conftest import toy_dataset


def one_pixel_dataset(row: int = 5, col: int = 7) -> tuple[np.ndarray, np.ndarray]:
    digit = np.zeros((1, 28, 28), np.uint8)
    digit[0, row, col] = 255
    return digit, np.array([3])


def loc(c: float, size: int) -> np.float32:
    """Pixel coordinate -> location coordinate, as the retina maps them."""
    return np.float32(2.0 * c / size - 1.0)


# ---------------------------------------------------------------- empty digits


def test_empty_digit_box_is_zero_and_reports_nan():
    gen = SceneGenerator(np.zeros((1, 28, 28), np.uint8), np.array([0]), image_size=60)
    np.testing.assert_array_equal(gen.digit_boxes, [[0, 0, 0, 0]])
    env = ClassificationEnv(dataset=(np.zeros((1, 28, 28), np.uint8), np.array([1])), image_size=60,
                            glimpse_size=12, n_scales=3)
    _, info = env.reset(seed=0)
    assert np.isnan(info["target_box"]).all() and np.isfinite(info["target_center"]).all()


# ---------------------------------------------------------------- classification info
def test_one_pixel_digit_centre_and_box_in_location_coordinates():
    env = ClassificationEnv(dataset=one_pixel_dataset(row=5, col=7), image_size=60, n_glimpses=3,
                            glimpse_size=12, n_scales=3, obs_mode="full")
    for seed in range(5):
        obs, info = env.reset(seed=seed)
        (r, c), = np.argwhere(obs["image"][0])
        ox, oy = c - 7, r - 5  # the frame's top-left corner on the canvas
        assert info["target_center"].dtype == np.float32 and info["target_box"].dtype == np.float32
        np.testing.assert_array_equal(info["target_center"], [loc(ox + 14, 60), loc(oy + 14, 60)])
        np.testing.assert_array_equal(info["target_box"], [loc(c, 60), loc(r, 60), loc(c + 1, 60), loc(r + 1, 60)])
        box = info["target_box"]
        assert (box[2] - box[0]) * 30 == pytest.approx(1, abs=1e-5)  # one pixel wide
        for _ in range(3):  # the same target on every step, the terminal one included
            _, _, terminated, _, step_info = env.step(env.action_space.sample())
            np.testing.assert_array_equal(step_info["target_center"], info["target_center"])
            np.testing.assert_array_equal(step_info["target_box"], info["target_box"])
        assert terminated and "label" in step_info
        assert "target_center" not in obs and set(env.observation_space.spaces) == {"image", "step"}


def test_centred_task_target_is_the_image_centre():
    env = gym.make("RAM-MNIST-v0", dataset=one_pixel_dataset(row=0, col=27))
    _, info = env.reset(seed=0)
    np.testing.assert_array_equal(info["target_center"], [0.0, 0.0])
    np.testing.assert_array_equal(info["target_box"], [loc(27, 28), -1.0, 1.0, loc(1, 28)])


def test_vector_env_targets_batched_with_masks_and_partial_resets():
    images, labels = toy_dataset()
    kw = dict(dataset=(images, labels), image_size=60, n_glimpses=2, glimpse_size=12, n_scales=3)
    envs = ClassificationVectorEnv(num_envs=4, **kw)
    _, info = envs.reset(seed=0)
    assert info["target_center"].shape == (4, 2) and info["target_box"].shape == (4, 4)
    assert info["_target_center"].all() and info["_target_box"].all()
    task = envs.core.task
    expected = (task.offsets + 14) * (2 / 60) - 1
    np.testing.assert_allclose(info["target_center"], expected, rtol=0, atol=1e-6)
    first = info["target_center"].copy()
    _, info = envs.reset(options={"reset_mask": np.array([False, True, False, False])})
    np.testing.assert_array_equal(info["_target_center"], [False, True, False, False])
    np.testing.assert_array_equal(info["target_center"][[0, 2, 3]], first[[0, 2, 3]])
    # NextStep: the step after the last reports the new episodes' targets, as a reset would.
    envs.step(envs.action_space.sample())
    _, _, terminated, _, info = envs.step(envs.action_space.sample())
    assert terminated.all()
    ended = info["target_center"].copy()
    _, _, _, _, info = envs.step(envs.action_space.sample())
    assert info["_target_center"].all() and not np.array_equal(info["target_center"], ended)
    np.testing.assert_allclose(info["target_center"], (task.offsets + 14) * (2 / 60) - 1, rtol=0, atol=1e-6)


def test_vector_env_same_step_final_info_holds_the_ended_episode():
    images, labels = toy_dataset()
    envs = ClassificationVectorEnv(num_envs=3, autoreset_mode="SameStep", dataset=(images, labels), image_size=60,
                                   n_glimpses=2, glimpse_size=12, n_scales=3)
    _, info = envs.reset(seed=1)
    ended = info["target_box"].copy()
    envs.step(envs.action_space.sample())
    _, _, terminated, _, info = envs.step(envs.action_space.sample())
    assert terminated.all()
    np.testing.assert_array_equal(info["final_info"]["target_box"], ended)
    assert info["final_info"]["_target_box"].all() and "label" in info["final_info"]
    box = envs.core.task.boxes * (2 / 60) - 1
    np.testing.assert_allclose(info["target_box"], box, rtol=0, atol=1e-6)
    assert not np.array_equal(info["target_box"], ended)


def test_sb3_infos_every_step_and_reset_infos_after_autoreset():
    images, labels = toy_dataset()
    venv = make_sb3_vec_env("RAM-TranslatedMNIST-v0", n_envs=3, seed=2, env_kwargs=dict(
        dataset=(images, labels), n_glimpses=3))
    venv.reset()
    base = venv.unwrapped
    start = [info["target_center"].copy() for info in base.reset_infos]
    assert all(info["target_center"].shape == (2,) for info in base.reset_infos)
    for _ in range(2):
        _, _, dones, infos = venv.step(venv.action_space.sample()[None].repeat(3, 0))
        assert not dones.any()
        for info, centre in zip(infos, start):
            np.testing.assert_array_equal(info["target_center"], centre)
            assert set(info) == {"target_center", "target_box"}
    _, _, dones, infos = venv.step(venv.action_space.sample()[None].repeat(3, 0))
    assert dones.all()
    new = (base.core.task.offsets + 14) * (2 / 60) - 1
    for i in range(3):
        np.testing.assert_array_equal(infos[i]["target_center"], start[i])  # the episode that ended
        assert "label" in infos[i] and "episode" in infos[i]
        np.testing.assert_allclose(base.reset_infos[i]["target_center"], new[i], rtol=0, atol=1e-6)
    assert not np.array_equal(np.stack([r["target_center"] for r in base.reset_infos]), np.stack(start))


# ---------------------------------------------------------------- Catch
@pytest.mark.parametrize("size,width", [(24, 2), (11, 3)])
def test_catch_ball_and_paddle_positions_match_the_screen(size, width):
    env = CatchEnv(screen_size=size, paddle_width=width, obs_mode="full")
    rng = np.random.default_rng(0)
    for episode in range(4):
        obs, info = env.reset(seed=episode)
        for t in range(size):
            screen = obs["image"][0]
            assert info["ball_position"].dtype == np.float32 and info["paddle_position"].dtype == np.float32
            (r, c), = np.argwhere(screen[:-1]) if t < size - 1 else [(size - 1, int(env.core.task.ball_x[0]))]
            assert r == t and screen[r, c] == 255
            bottom = np.flatnonzero(screen[size - 1])
            px = int(bottom.min()) if t < size - 1 else int(env.core.task.paddle_x[0])
            assert (screen[size - 1, px:px + width] == 255).all() and (t == size - 1 or len(bottom) == width)
            np.testing.assert_array_equal(info["ball_position"], [loc(c + 0.5, size), loc(r + 0.5, size)])
            np.testing.assert_array_equal(info["paddle_position"], [loc(px + width / 2, size), loc(size - 0.5, size)])
            if t < size - 1:
                obs, _, terminated, _, info = env.step(np.eye(3, dtype=np.float32)[rng.integers(0, 3)])
        assert terminated


def test_catch_vector_and_sb3_report_the_ball_every_step():
    envs = CatchVectorEnv(num_envs=5, screen_size=9)
    _, info = envs.reset(seed=3)
    task = envs.core.task
    np.testing.assert_array_equal(info["ball_position"][:, 1], np.full(5, loc(0.5, 9)))
    for _ in range(3):
        _, _, _, _, info = envs.step(scripted_policy(envs))
        np.testing.assert_allclose(info["ball_position"], np.stack([(task.ball_x + 0.5) * 2 / 9 - 1,
                                                                    (task.ball_y + 0.5) * 2 / 9 - 1], 1), atol=1e-6)
    venv = make_sb3_vec_env("RAM-Catch-v0", n_envs=2, seed=0, screen_size=6)
    venv.reset()
    rows = []
    for _ in range(5):
        _, _, dones, infos = venv.step(scripted_policy(venv))
        rows.append(infos[0]["ball_position"][1])
    assert dones.all()
    np.testing.assert_allclose(rows, [loc(r + 0.5, 6) for r in range(1, 6)], atol=1e-6)  # the last: the bottom row
    np.testing.assert_allclose(venv.unwrapped.reset_infos[0]["ball_position"][1], loc(0.5, 6), atol=1e-6)


# ---------------------------------------------------------------- public attributes
def test_public_task_attributes_on_single_vector_and_sb3_envs():
    images, labels = toy_dataset()
    single = gym.make("RAM-ClutteredMNIST-v0", dataset=(images, labels), n_glimpses=7).unwrapped
    vector = gym.make_vec("RAM-ClutteredMNIST-v0", num_envs=2, vectorization_mode="vector_entry_point",
                          dataset=(images, labels), n_glimpses=7)
    sb3 = make_sb3_vec_env("RAM-ClutteredMNIST-v0", n_envs=2, dataset=(images, labels), n_glimpses=7)
    for env in (single, vector, sb3, sb3.unwrapped):
        assert (env.episode_length, env.is_classification, env.n_choices) == (7, True, 10)
        assert (env.image_shape, env.glimpse_size, env.n_scales) == ((60, 60), 12, 3)
    assert sb3.get_attr("episode_length") == [7, 7]
    catch = make_sb3_vec_env("RAM-Catch48-v0", n_envs=2)
    assert (catch.episode_length, catch.is_classification, catch.n_choices, catch.image_shape) == (
        47, False, 3, (48, 48))
    assert gym.make("RAM-Catch48-v0").unwrapped.choice_names == ("left", "stay", "right")
    assert "RAM-Catch48-v0" in ram_env.ENVIRONMENTS
