"""The classification environments: registration, spaces, episode rules, seeding, modes, errors, checkers."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import ram_env
from ram_env.envs.classification import ClassificationEnv, ClassificationVectorEnv
from ram_env.retina import Retina
from tests.conftest import requires_mnist, toy_dataset

CLASSIFICATION_IDS = [i for i in ram_env.ENVIRONMENTS if "MNIST" in i]


def make(**kwargs) -> ClassificationEnv:
    kwargs.setdefault("dataset", toy_dataset())
    return ClassificationEnv(**kwargs)


# ---------------------------------------------------------------- registration and spaces
@requires_mnist
@pytest.mark.parametrize("env_id,shape,steps", [
    ("RAM-MNIST-v0", (1, 8, 8), 6), ("RAM-TranslatedMNIST-v0", (3, 12, 12), 6),
    ("RAM-ClutteredMNIST-v0", (3, 12, 12), 6), ("RAM-ClutteredMNIST100-v0", (4, 12, 12), 8),
    ("RAM-FashionMNIST-v0", (1, 8, 8), 6), ("RAM-ClutteredFashionMNIST-v0", (3, 12, 12), 6),
])
def test_registered_ids_have_the_paper_settings(env_id, shape, steps):
    env = gym.make(env_id)
    obs, _ = env.reset(seed=0)
    assert env.observation_space["glimpse"].shape == shape
    assert obs["glimpse"].shape == shape and obs["glimpse"].dtype == np.float32
    assert env.observation_space["step"].n == steps
    assert env.action_space.shape == (12,)
    image_size = env.unwrapped.core.task.image_shape[0]
    assert image_size == (100 if "100" in env_id else 28 if env_id in ("RAM-MNIST-v0", "RAM-FashionMNIST-v0") else 60)
    n = 0
    terminated = False
    while not terminated:
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        n += 1
        assert not truncated
    assert n == steps and {"label", "prediction", "is_success"} <= set(info)


@requires_mnist
def test_cluttered_scene_has_four_pieces_and_a_digit():
    env = gym.make("RAM-ClutteredMNIST-v0").unwrapped
    plain = gym.make("RAM-TranslatedMNIST-v0").unwrapped
    env.reset(seed=1)
    plain.reset(seed=1)
    counts = []
    for seed in range(20):
        env.reset(seed=seed)
        plain.reset(seed=seed)
        counts.append((np.count_nonzero(env.core.task.canvas), np.count_nonzero(plain.core.task.canvas)))
    cluttered, translated = np.mean(counts, axis=0)
    assert cluttered > translated + 40  # 4 pieces of 8x8 add pixels on average


@requires_mnist
def test_gymnasium_make_passes_kwargs_and_rejects_bad_ones():
    env = gym.make("RAM-ClutteredMNIST-v0", n_glimpses=8, n_clutter=2, glimpse_size=10, split="test[:100]")
    assert env.observation_space["glimpse"].shape == (3, 10, 10)
    assert env.observation_space["step"].n == 8
    assert env.unwrapped.core.task.n_images == 100
    with pytest.raises(TypeError, match="unknown keyword argument.*n_glimpse"):
        gym.make("RAM-MNIST-v0", n_glimpse=3)
    with pytest.raises(ValueError, match="n_glimpses"):
        gym.make("RAM-MNIST-v0", n_glimpses=0)
    with pytest.raises(ValueError, match="image_size"):
        gym.make("RAM-MNIST-v0", image_size=20)
    with pytest.raises(ValueError, match="action_mode"):
        gym.make("RAM-MNIST-v0", action_mode="continuous")
    with pytest.raises(ValueError, match="unknown dataset|dataset"):
        gym.make("RAM-MNIST-v0", dataset="cifar")
    with pytest.raises(gym.error.Error):
        gym.make("RAM-NoSuchTask-v0")


# ---------------------------------------------------------------- episode rules
def test_episode_length_reward_only_at_the_end_and_info():
    env = make(n_glimpses=4)
    obs, info = env.reset(seed=3)
    targets = {"target_center", "target_box"}
    assert obs["step"] == 0 and set(info) == targets
    label = int(env.core.task.labels[0])
    right = env.core.codec.encode(None, np.array([label]))[0]
    wrong = env.core.codec.encode(None, np.array([(label + 1) % 10]))[0]
    for t in range(3):
        obs, reward, terminated, truncated, info = env.step(right)
        assert (reward, terminated, truncated, set(info)) == (0.0, False, False, targets)
        assert obs["step"] == t + 1
    obs, reward, terminated, _, info = env.step(right)
    assert terminated and reward == 1.0
    assert {k: v for k, v in info.items() if k not in targets} == {"label": label, "prediction": label,
                                                                    "is_success": True}
    env.reset(seed=3)
    for _ in range(3):
        env.step(right)
    _, reward, terminated, _, info = env.step(wrong)
    assert terminated and reward == 0.0 and info["is_success"] is False


def test_step_after_termination_needs_reset():
    env = make(n_glimpses=1)
    env.reset(seed=0)
    env.step(env.action_space.sample())
    with pytest.raises(RuntimeError, match="reset"):
        env.step(env.action_space.sample())


def test_glimpse_is_the_retina_at_the_chosen_location():
    env = make(image_size=60, n_clutter=3, glimpse_size=12, n_scales=3)
    obs, _ = env.reset(seed=5)
    retina = Retina(12, 3)
    canvas = env.core.task.canvas[:1]
    np.testing.assert_array_equal(obs["glimpse"], retina(retina.table(canvas), obs["location"][None])[0])
    action = np.zeros(12, np.float32)
    action[:2] = [0.25, -0.5]
    obs, *_ = env.step(action)
    np.testing.assert_array_equal(obs["location"], [0.25, -0.5])
    np.testing.assert_array_equal(obs["glimpse"], retina(retina.table(canvas), np.array([[0.25, -0.5]]))[0])


def test_location_is_clipped_and_score_ties_go_to_the_lowest_index():
    env = make(n_glimpses=2)
    env.reset(seed=0)
    action = np.full(12, 1.0, np.float32)  # every score 1: a tie, as SB3 clipping can make
    action[:2] = [7.0, -3.0]
    obs, *_ = env.step(action)
    np.testing.assert_array_equal(obs["location"], [1.0, -1.0])
    *_, info = env.step(action)
    assert info["prediction"] == 0


@pytest.mark.parametrize("bad,match", [
    (np.full(12, np.nan, np.float32), "NaN"),
    (np.zeros(11, np.float32), "shape"),
    (np.zeros((1, 12), np.float32), "shape"),
])
def test_bad_actions_raise_clear_errors(bad, match):
    env = make()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=match):
        env.step(bad)


def test_discrete_modes_put_locations_on_the_grid_and_decode_classes():
    env = make(action_mode="multidiscrete", location_grid=5, n_glimpses=2)
    assert env.action_space == gym.spaces.MultiDiscrete([5, 5, 10])
    env.reset(seed=0)
    obs, *_ = env.step(np.array([0, 4, 3]))
    np.testing.assert_array_equal(obs["location"], [-1.0, 1.0])
    label = int(env.core.task.labels[0])
    *_, reward, _, _, info = env.step(np.array([2, 2, label]))
    assert reward == 1.0 and info["prediction"] == label

    env = make(action_mode="discrete", location_grid=3, n_glimpses=2)
    assert env.action_space == gym.spaces.Discrete(3 * 3 * 10)
    env.reset(seed=0)
    obs, *_ = env.step(np.ravel_multi_index((2, 0, 0), (3, 3, 10)))
    np.testing.assert_array_equal(obs["location"], [1.0, -1.0])
    with pytest.raises(ValueError, match="out of range"):
        env.step(90)


def test_full_frame_mode_shows_the_scene_and_takes_only_the_class():
    env = make(obs_mode="full", image_size=40)
    obs, _ = env.reset(seed=2)
    assert set(obs) == {"image", "step"}
    np.testing.assert_array_equal(obs["image"][0], env.core.task.canvas[0])
    assert env.action_space.shape == (10,)


def test_initial_location_policies():
    assert np.all(make(initial_location="center").reset(seed=0)[0]["location"] == 0)
    np.testing.assert_allclose(make(initial_location=(0.5, -0.25)).reset(seed=0)[0]["location"], [0.5, -0.25])
    locations = np.array([make().reset(seed=s)[0]["location"] for s in range(30)])
    assert locations.std() > 0.3 and np.abs(locations).max() <= 1
    with pytest.raises(ValueError, match="initial_location"):
        make(initial_location=(2.0, 0.0))


# ---------------------------------------------------------------- seeding
def _rollout(env, seed, steps=5):
    obs, _ = env.reset(seed=seed)
    out = [obs["glimpse"].copy()]
    rng = np.random.default_rng(0)
    for _ in range(steps):
        a = rng.uniform(-1, 1, env.action_space.shape).astype(np.float32)
        obs, *_ = env.step(a)
        out.append(obs["glimpse"].copy())
    return np.stack(out)


def test_same_seed_same_episodes_different_seed_different():
    a = _rollout(make(image_size=60, n_clutter=4, glimpse_size=12, n_scales=3), 11)
    b = _rollout(make(image_size=60, n_clutter=4, glimpse_size=12, n_scales=3), 11)
    c = _rollout(make(image_size=60, n_clutter=4, glimpse_size=12, n_scales=3), 12)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_every_reset_draws_a_fresh_scene():
    env = make(image_size=60, n_clutter=4)
    env.reset(seed=0)
    first = env.core.task.canvas.copy()
    env.reset()
    assert not np.array_equal(first, env.core.task.canvas)


def test_sequential_order_walks_the_split_once():
    images, labels = toy_dataset(7)
    envs = ClassificationVectorEnv(num_envs=3, dataset=(images, labels), shuffle=False)
    envs.reset(seed=0)
    seen = [envs.core.task.labels.copy()]
    for _ in range(2):
        envs.reset()
        seen.append(envs.core.task.labels.copy())
    np.testing.assert_array_equal(np.concatenate(seen), labels[np.arange(9) % 7])


# ---------------------------------------------------------------- rendering
def test_render_draws_the_glimpse_squares():
    env = make(image_size=60, glimpse_size=12, n_scales=3, render_mode="rgb_array", initial_location="center")
    env.reset(seed=0)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3 and frame.shape[0] >= 240
    coloured = (frame[..., 0] != frame[..., 1]) | (frame[..., 1] != frame[..., 2])
    assert coloured.sum() > 100
    z = frame.shape[0] // 60
    # The smallest square's left edge: column round(30 - 6) = 24, drawn in the first scale's colour.
    assert tuple(frame[30 * z, 24 * z]) == (60, 220, 60)


# ---------------------------------------------------------------- checkers
@pytest.mark.parametrize("mode", ["box", "multidiscrete", "discrete"])
@pytest.mark.parametrize("obs_mode", ["glimpse", "full"])
def test_env_checkers_pass_for_every_mode(mode, obs_mode):
    env = make(action_mode=mode, obs_mode=obs_mode, image_size=40, n_clutter=2)
    gym_check_env(env, skip_render_check=True)
    sb3_check_env(make(action_mode=mode, obs_mode=obs_mode, image_size=40, n_clutter=2), warn=False)


@requires_mnist
@pytest.mark.parametrize("env_id", CLASSIFICATION_IDS)
def test_env_checkers_pass_for_every_registered_id(env_id):
    gym_check_env(gym.make(env_id, split="test[:200]").unwrapped, skip_render_check=True)
    sb3_check_env(gym.make(env_id, split="test[:200]").unwrapped, warn=False)


def test_scene_repeats_show_each_scene_to_a_group_of_envs_and_reset_whole_groups():
    import gymnasium as gym

    envs = gym.make_vec("RAM-MNIST-v0", num_envs=6, vectorization_mode="vector_entry_point",
                        dataset=toy_dataset(), image_size=40, scene_repeats=3)
    envs.reset(seed=0)
    task = envs.unwrapped.core.task
    for group in (range(0, 3), range(3, 6)):
        assert all(np.array_equal(task.canvas[group[0]], task.canvas[i]) for i in group)
        assert len({int(task.labels[i]) for i in group}) == 1
    assert not np.array_equal(task.canvas[0], task.canvas[3])
    first = envs.unwrapped.core.location.copy()
    assert not np.allclose(first[0], first[1])  # same scene, different first glimpse
    with pytest.raises(ValueError, match="whole groups of 3"):
        task.reset(np.array([0, 1]), np.random.default_rng(0))
    with pytest.raises(ValueError, match="must divide num_envs"):
        gym.make_vec("RAM-MNIST-v0", num_envs=4, vectorization_mode="vector_entry_point",
                     dataset=toy_dataset(), scene_repeats=3)
    with pytest.raises(ValueError, match="shuffle=False"):
        gym.make_vec("RAM-MNIST-v0", num_envs=3, vectorization_mode="vector_entry_point",
                     dataset=toy_dataset(), scene_repeats=3, shuffle=False)


def test_shuffle_must_be_a_bool():
    with pytest.raises(ValueError, match="shuffle must be True or False, got 'False'"):
        ClassificationEnv(dataset=toy_dataset(10), shuffle="False")


def test_tuple_datasets_honour_split_slices():
    images, labels = toy_dataset(50)
    envs = ClassificationVectorEnv(num_envs=5, dataset=(images, labels), split="train[10:15]", shuffle=False)
    assert envs.core.task.n_images == 5
    envs.reset(seed=0)
    assert envs.core.task.labels.tolist() == labels[10:15].tolist()
    with pytest.raises(ValueError, match="a tuple dataset is a single split"):
        ClassificationEnv(dataset=(images, labels), split="test")


@pytest.mark.parametrize("kwargs,message", [
    (dict(image_size=10**6), r"image_size must be in \[1, 2901\]"),
    (dict(n_scales=62), "wider than 65536 pixels"),
    (dict(n_scales=20), "wider than 65536 pixels"),
])
def test_sizes_are_bounded(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ClassificationEnv(dataset=toy_dataset(10), **kwargs)
