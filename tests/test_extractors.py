"""agents.extractors: the glimpse network and the full-frame CNN as SB3 features extractors, and which one a
space takes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces

from agents.extractors import GlimpseExtractor, SmallCNN, extractor_for

SPACE = spaces.Dict({"glimpse": spaces.Box(0.0, 1.0, (2, 4, 4), np.float32),
                     "location": spaces.Box(-1.0, 1.0, (2,), np.float32), "step": spaces.Discrete(3)})


def test_features_are_the_glimpse_code_then_the_one_hot_step():
    torch.manual_seed(0)
    extractor = GlimpseExtractor(SPACE, output_size=8)
    assert extractor.features_dim == 8 + 3
    obs = dict(glimpse=torch.rand(2, 2, 4, 4), location=torch.rand(2, 2), step=torch.eye(3)[[0, 2]])
    features = extractor(obs)
    torch.testing.assert_close(features[:, :8], extractor.glimpse_net(obs["glimpse"], obs["location"]))
    torch.testing.assert_close(features[:, 8:], torch.eye(3)[[0, 2]])


def test_a_step_stored_as_n_1_t_reads_as_n_t():
    # SB3's buffers keep a Discrete observation with shape (1,): the one-hot step arrives as (N, 1, T).
    torch.manual_seed(0)
    extractor = GlimpseExtractor(SPACE, output_size=8)
    obs = dict(glimpse=torch.rand(2, 2, 4, 4), location=torch.rand(2, 2), step=torch.eye(3)[[1, 2]])
    flat = extractor(obs)
    torch.testing.assert_close(extractor(dict(obs, step=obs["step"][:, None, :])), flat)


def test_without_a_step_the_features_are_the_glimpse_code():
    space = spaces.Dict({k: v for k, v in SPACE.spaces.items() if k != "step"})
    extractor = GlimpseExtractor(space, output_size=8)
    assert extractor.features_dim == 8
    assert extractor(dict(glimpse=torch.rand(2, 2, 4, 4), location=torch.rand(2, 2))).shape == (2, 8)


def test_other_observations_are_refused():
    with pytest.raises(ValueError, match="GlimpseExtractor needs ram-env glimpse observations"):
        GlimpseExtractor(spaces.Dict({"image": spaces.Box(0, 255, (28, 28), np.uint8)}))


def test_glimpse_extractor_with_recurrent_ppo_and_a2c():
    from sb3_contrib import RecurrentPPO
    from stable_baselines3 import A2C

    from agents import GlimpseExtractor
    from ram_env import make_sb3_vec_env

    venv = make_sb3_vec_env("RAM-Catch-v0", n_envs=4, seed=0)
    kwargs = dict(policy_kwargs=dict(features_extractor_class=GlimpseExtractor), seed=0, device="cpu")
    RecurrentPPO("MultiInputLstmPolicy", venv, n_steps=32, batch_size=64, **kwargs).learn(256)
    A2C("MultiInputPolicy", venv, n_steps=8, **kwargs).learn(256)


@pytest.mark.parametrize("size", [24, 28, 60, 100])
def test_small_cnn_features(size):
    space = spaces.Dict({"image": spaces.Box(0, 255, (1, size, size), np.uint8), "step": spaces.Discrete(6)})
    extractor = SmallCNN(space, features_dim=32)
    assert extractor.features_dim == 32 + 6
    obs = {"image": torch.rand(5, 1, size, size), "step": torch.nn.functional.one_hot(torch.arange(5), 6).float()}
    assert extractor(obs).shape == (5, 38)
    obs["step"] = obs["step"][:, None]  # SB3's buffers give (N, 1, T)
    assert extractor(obs).shape == (5, 38)
    with pytest.raises(ValueError, match="full"):
        SmallCNN(spaces.Dict({"glimpse": spaces.Box(0, 1, (1, 8, 8))}))


def test_small_cnn_trains_ppo_on_full_frame_catch():
    from stable_baselines3 import PPO

    from ram_env import make_sb3_vec_env

    venv = make_sb3_vec_env("RAM-Catch-v0", n_envs=4, seed=0, env_kwargs=dict(obs_mode="full"))
    assert venv.observation_space["image"].shape == (1, 24, 24)
    model = PPO("MultiInputPolicy", venv, n_steps=64, batch_size=64, n_epochs=1, seed=0, device="cpu",
                policy_kwargs=dict(features_extractor_class=SmallCNN, features_extractor_kwargs=dict(features_dim=64)))
    model.learn(512)
    assert model.num_timesteps >= 512
    action, _ = model.predict(venv.reset(), deterministic=True)
    assert action.shape == (4, 3)


def test_small_cnn_sizes_match_its_docstring():
    def space(size):
        return spaces.Dict({"image": spaces.Box(0, 255, (1, size, size), np.uint8), "step": spaces.Discrete(23)})

    cnn = SmallCNN(space(24))
    assert sum(p.numel() for p in cnn.cnn.parameters()) == 56_256
    assert sum(p.numel() for p in cnn.parameters()) == 203_968
    for size, side in ((24, 3), (28, 4), (48, 6), (60, 8), (100, 13)):
        assert SmallCNN(space(size)).linear[0].in_features == 64 * side * side
    with pytest.raises(ValueError, match="at least 8x8"):
        SmallCNN(space(6))


def test_old_checkpoints_find_small_cnn_where_it_lived():
    from agents import baselines

    assert baselines.SmallCNN is SmallCNN


def test_extractor_for_follows_the_observation_mode():
    from ram_env import make_sb3_vec_env

    for mode, expected in (("glimpse", GlimpseExtractor), ("full", SmallCNN)):
        venv = make_sb3_vec_env("RAM-Catch-v0", n_envs=1, seed=0, env_kwargs=dict(obs_mode=mode))
        assert extractor_for(venv.observation_space) is expected
    with pytest.raises(ValueError, match="no extractor for .*obs_mode='full'"):
        extractor_for(spaces.Box(0, 1, (4,)))
