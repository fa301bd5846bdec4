"""agents.extractors: the glimpse network as an SB3 features extractor."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces

from agents.extractors import GlimpseExtractor

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
