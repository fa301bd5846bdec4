"""RAMPolicy: the one action rule (act) and the box encoding it sends to the env."""

from __future__ import annotations

import numpy as np
import torch

from agents import RAMPolicy
from agents.policy import PolicyStep
from ram_env import make_sb3_vec_env
from tests.conftest import toy_dataset

KW = dict(dataset=toy_dataset(20), image_size=40, n_glimpses=3, glimpse_size=8, n_scales=2)


def _policy(**kwargs) -> RAMPolicy:
    venv = make_sb3_vec_env("RAM-MNIST-v0", n_envs=2, env_kwargs=KW)
    return RAMPolicy(venv.observation_space, venv.action_space, lambda _: 1e-3, **kwargs)


def _step(batch: int = 256) -> PolicyStep:
    mu = torch.full((batch, 2), 0.3)
    logits = torch.tensor([[0.0, 2.0, 1.0] + [-9.0] * 7]).repeat(batch, 1)
    return PolicyStep(None, None, mu, logits, torch.zeros(batch))


def test_act_deterministic_is_the_mean_and_the_argmax():
    act = _policy(stochastic_choice=True).act(_step(), deterministic=True)
    assert torch.equal(act.location, torch.full((256, 2), 0.3)) and (act.choice == 1).all()
    assert act.choice_dist is None


def test_act_samples_the_choice_only_with_stochastic_choice():
    torch.manual_seed(0)
    argmax = _policy().act(_step())
    assert (argmax.choice == 1).all() and argmax.choice_dist is None
    assert argmax.location.std() > 0.05  # the location is sampled anyway
    sampled = _policy(stochastic_choice=True).act(_step())
    assert set(sampled.choice.tolist()) >= {0, 1, 2} and sampled.choice_dist is not None
    assert torch.allclose(sampled.choice_dist.probs[0], torch.softmax(_step().logits[0], 0))


def test_act_with_a_generator_is_reproducible_and_leaves_the_global_one():
    policy = _policy(location_std=0.2)
    torch.manual_seed(1)
    before = torch.get_rng_state()
    a = policy.act(_step(), generator=torch.Generator().manual_seed(5)).location
    b = policy.act(_step(), generator=torch.Generator().manual_seed(5)).location
    assert torch.equal(a, b) and torch.equal(torch.get_rng_state(), before)
    noise = torch.randn((256, 2), generator=torch.Generator().manual_seed(5))
    assert torch.allclose(a, 0.3 + 0.2 * noise)


def test_encode_action_clips_the_location_and_writes_one_plus_one():
    policy = _policy()
    action = policy.encode_action(torch.tensor([[1.7, -0.2], [-3.0, 0.5]]), torch.tensor([4, 0]))
    assert action.dtype == np.float32 and action.shape == (2, 12)
    np.testing.assert_array_equal(action[:, :2], np.float32([[1.0, -0.2], [-1.0, 0.5]]))
    assert action[0, 2 + 4] == 1 and action[1, 2] == 1 and (action[:, 2:] == -1).sum() == 18
