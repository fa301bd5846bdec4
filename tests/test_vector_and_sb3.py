"""The batched versions: Gymnasium's vector API and the SB3 VecEnv, over the same core as the single env."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import PPO

import ram_env
from ram_env.envs.classification import ClassificationEnv, ClassificationVectorEnv
from ram_env.sb3 import RAMVecEnv
from tests.conftest import requires_mnist
from tests.conftest import toy_dataset

KW = dict(dataset=toy_dataset(), image_size=60, n_clutter=4, glimpse_size=12, n_scales=3, n_glimpses=3)


def test_vector_env_with_one_env_matches_the_single_env():
    single = ClassificationEnv(**KW)
    vector = ClassificationVectorEnv(num_envs=1, **KW)
    s_obs, _ = single.reset(seed=9)
    v_obs, _ = vector.reset(seed=9)
    rng = np.random.default_rng(1)
    for _ in range(3):
        np.testing.assert_array_equal(v_obs["glimpse"][0], s_obs["glimpse"])
        np.testing.assert_array_equal(v_obs["location"][0], s_obs["location"])
        a = rng.uniform(-1, 1, 12).astype(np.float32)
        s_obs, s_r, s_term, *_ = single.step(a)
        v_obs, v_r, v_term, *_ = vector.step(a[None])
        assert s_r == v_r[0] and s_term == v_term[0]


def test_vector_env_next_step_autoreset():
    envs = ClassificationVectorEnv(num_envs=4, **KW)
    obs, _ = envs.reset(seed=0)
    assert obs["glimpse"].shape == (4, 3, 12, 12) and envs.observation_space.contains(obs)
    labels = envs.core.task.labels.copy()
    actions = envs.core.codec.encode(None, labels)
    for _ in range(2):
        obs, reward, terminated, truncated, info = envs.step(actions)
        assert not terminated.any() and (reward == 0).all()
        assert set(info) == {"target_center", "_target_center", "target_box", "_target_box"}
    obs, reward, terminated, truncated, info = envs.step(actions)
    assert terminated.all() and (reward == 1).all() and not truncated.any()
    np.testing.assert_array_equal(info["label"], labels)
    assert info["_label"].all() and info["is_success"].all()
    canvas = envs.core.task.canvas.copy()
    obs, reward, terminated, _, info = envs.step(actions)  # the reset step: actions ignored
    assert (obs["step"] == 0).all() and (reward == 0).all() and not terminated.any()
    assert not np.array_equal(canvas, envs.core.task.canvas)


def test_vector_env_same_step_autoreset_and_reset_mask():
    envs = ClassificationVectorEnv(num_envs=3, autoreset_mode="SameStep", **KW)
    envs.reset(seed=0)
    actions = envs.action_space.sample()
    for _ in range(2):
        envs.step(actions)
    obs, _, terminated, _, info = envs.step(actions)
    assert terminated.all() and (obs["step"] == 0).all()
    assert info["_final_obs"].all() and (info["final_obs"]["step"] == 2).all()
    assert "is_success" in info["final_info"]

    envs = ClassificationVectorEnv(num_envs=3, **KW)
    envs.reset(seed=0)
    envs.step(envs.action_space.sample())
    before = envs.core.task.canvas.copy()
    obs, _ = envs.reset(options={"reset_mask": np.array([False, True, False])})
    np.testing.assert_array_equal(obs["step"], [1, 0, 1])
    np.testing.assert_array_equal(envs.core.task.canvas[[0, 2]], before[[0, 2]])


def test_vector_env_seeding_and_bad_actions():
    a = ClassificationVectorEnv(num_envs=5, **KW)
    b = ClassificationVectorEnv(num_envs=5, **KW)
    np.testing.assert_array_equal(a.reset(seed=3)[0]["glimpse"], b.reset(seed=3)[0]["glimpse"])
    assert not np.array_equal(a.reset(seed=4)[0]["glimpse"], b.reset(seed=3)[0]["glimpse"])
    with pytest.raises(ValueError, match="shape"):
        a.step(np.zeros((4, 12), np.float32))
    bad = np.zeros((5, 12), np.float32)
    bad[2, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or inf"):
        a.step(bad)


@requires_mnist
def test_make_vec_uses_the_batched_entry_point():
    envs = gym.make_vec("RAM-ClutteredMNIST-v0", num_envs=16, vectorization_mode="vector_entry_point")
    assert isinstance(envs.unwrapped, ClassificationVectorEnv) and envs.num_envs == 16
    obs, _ = envs.reset(seed=0)
    assert obs["glimpse"].shape == (16, 3, 12, 12)
    envs.step(envs.action_space.sample())


def test_sb3_vec_env_resets_at_once_with_terminal_observation():
    venv = RAMVecEnv(ClassificationVectorEnv(num_envs=4, **KW))
    venv.seed(0)
    obs = venv.reset()
    for t in range(3):
        obs, rewards, dones, infos = venv.step(venv.action_space.sample()[None].repeat(4, 0))
    assert dones.all() and (obs["step"] == 0).all()
    for info in infos:
        assert info["terminal_observation"]["step"] == 2
        assert {"label", "prediction", "is_success"} <= set(info)
        assert info["TimeLimit.truncated"] is False


def test_sb3_vec_env_seed_reproduces():
    def first_obs(seed):
        venv = RAMVecEnv(ClassificationVectorEnv(num_envs=4, **KW))
        venv.seed(seed)
        return venv.reset()["glimpse"]

    np.testing.assert_array_equal(first_obs(1), first_obs(1))
    assert not np.array_equal(first_obs(1), first_obs(2))


@requires_mnist
def test_ppo_trains_on_cluttered_mnist_through_the_sb3_vec_env():
    venv = ram_env.make_sb3_vec_env("RAM-ClutteredMNIST-v0", n_envs=16, seed=0, split="train[:2000]")
    model = PPO("MultiInputPolicy", venv, n_steps=64, batch_size=256, n_epochs=2, seed=0, device="cpu")
    model.learn(total_timesteps=3000)
    assert model.num_timesteps >= 3000
    assert len(model.ep_info_buffer) > 0 and len(model.ep_success_buffer) > 0


@pytest.mark.parametrize("env_id", ["RAM-MNIST-v0", "RAM-Catch-v0"])
def test_dqn_and_a2c_train_with_the_discrete_and_multidiscrete_modes(env_id):
    from stable_baselines3 import A2C, DQN

    kwargs = dict(dataset=toy_dataset(), n_glimpses=3) if "MNIST" in env_id else {}
    venv = ram_env.make_sb3_vec_env(env_id, n_envs=4, seed=0, env_kwargs=dict(kwargs, action_mode="discrete"))
    model = DQN("MultiInputPolicy", venv, learning_starts=50, buffer_size=1000, seed=0, device="cpu")
    model.learn(300)
    assert model.num_timesteps >= 300
    venv = ram_env.make_sb3_vec_env(env_id, n_envs=4, seed=0, env_kwargs=dict(kwargs, action_mode="multidiscrete"))
    A2C("MultiInputPolicy", venv, n_steps=5, seed=0, device="cpu").learn(200)


def test_an_untrained_ppo_answers_every_class_alike():
    # SB3 clips Box actions: many sampled score vectors hold several +1s. Ties at random keep the answers uniform.
    from agents import GlimpseExtractor

    venv = ram_env.make_sb3_vec_env("RAM-MNIST-v0", n_envs=500, seed=0,
                                    env_kwargs=dict(dataset=toy_dataset(100), n_glimpses=2))
    model = PPO("MultiInputPolicy", venv, seed=0, device="cpu",
                policy_kwargs=dict(features_extractor_class=GlimpseExtractor))
    obs, predictions, ties = venv.reset(), [], 0
    while len(predictions) < 2000:
        action, _ = model.predict(obs, deterministic=False)
        clipped = np.clip(action[:, 2:], -1, 1)
        ties += int(((clipped == clipped.max(axis=1, keepdims=True)).sum(axis=1) > 1).sum())
        obs, _, dones, infos = venv.step(action)
        predictions += [info["prediction"] for info, done in zip(infos, dones) if done]
    counts = np.bincount(predictions[:2000], minlength=10)
    assert ties > 500  # the case the rule is for really happens
    chi2 = float((((counts - 200.0) ** 2) / 200.0).sum())
    assert chi2 < 27.88, counts  # the chi-square test at p = 0.001 with 9 degrees of freedom


@pytest.mark.parametrize("call", [
    lambda: ram_env.make_sb3_vec_env("RAM-Catch-v0", n_envs=2, seed=-1),
    lambda: gym.make_vec("RAM-Catch-v0", num_envs=2, vectorization_mode="vector_entry_point").reset(seed=-1),
])
def test_negative_seeds_are_one_line_errors(call):
    with pytest.raises(ValueError, match=r"^seed must be None or an integer >= 0, got -1$"):
        call()


def test_spawned_workers_find_the_ids_through_the_module_prefix():
    # A spawned worker is a fresh interpreter that never imported ram_env: "ram_env:ID" imports it first.
    envs = gym.vector.AsyncVectorEnv([lambda: gym.make("ram_env:RAM-Catch-v0")], context="spawn")
    try:
        obs, _ = envs.reset(seed=0)
        assert obs["glimpse"].shape == (1, 3, 6, 6)
        envs.step(envs.action_space.sample())
    finally:
        envs.close()
