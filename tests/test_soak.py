"""Soak and fuzz: 10,000 episodes per task on the batched envs with memory and file handles watched, and a
hypothesis fuzz of actions in every action mode (either a valid step or a one-line ValueError)."""

from __future__ import annotations

import os

import gymnasium as gym
import numpy as np
import pytest

import ram_env
from tests.conftest import requires_mnist
from tests.conftest import toy_dataset

EPISODES = 10_000
NUM_ENVS = 2_500


def _rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _episodes(envs, n: int, rng: np.random.Generator) -> tuple[int, float]:
    """Run until ``n`` episodes have ended (random box actions); returns (episodes, successes)."""
    ended, successes = 0, 0.0
    envs.reset(seed=int(rng.integers(1 << 31)))
    low, high = envs.single_action_space.low, envs.single_action_space.high
    while ended < n:
        actions = rng.uniform(low, high, (envs.num_envs,) + low.shape).astype(np.float32)
        _, reward, terminated, truncated, _ = envs.step(actions)
        assert not truncated.any() and set(np.unique(reward)) <= {0.0, 1.0}
        ended += int(terminated.sum())
        successes += float(reward.sum())
    return ended, successes


IDS = [env_id for env_id in ram_env.ENVIRONMENTS]


@pytest.mark.parametrize("env_id", [pytest.param(i, marks=[] if "Catch" in i else [requires_mnist]) for i in IDS])
def test_soak_10000_episodes_without_leaks(env_id):
    rng = np.random.default_rng(0)
    kwargs = {} if "Catch" in env_id else {"split": "test"}
    envs = gym.make_vec(env_id, num_envs=NUM_ENVS, vectorization_mode="vector_entry_point", **kwargs)
    _episodes(envs, NUM_ENVS, rng)  # warm-up: caches, scratch buffers, the dataset
    rss, fds = _rss_bytes(), _open_fds()
    ended, successes = _episodes(envs, EPISODES, rng)
    envs.close()
    for _ in range(10):  # building and closing envs must not leak handles either
        gym.make_vec(env_id, num_envs=4, vectorization_mode="vector_entry_point", **kwargs).close()
    assert ended == EPISODES  # every batch ends together, NUM_ENVS divides EPISODES
    assert 0 < successes < ended  # random play: some right answers / catches, not all
    assert _open_fds() == fds
    assert _rss_bytes() - rss < 64 * 2**20, f"RSS grew by {(_rss_bytes() - rss) / 2**20:.0f} MiB"


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

MODES = ("box", "multidiscrete", "discrete")
_ENVS: dict = {}


def _env(env_id: str, mode: str):
    key = (env_id, mode)
    if key not in _ENVS:
        kwargs = dict(action_mode=mode, location_grid=3)
        if "MNIST" in env_id:
            kwargs.update(dataset=toy_dataset(20), n_glimpses=3)
        _ENVS[key] = gym.make_vec(env_id, num_envs=3, vectorization_mode="vector_entry_point", **kwargs)
    return _ENVS[key]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(env_id=st.sampled_from(["RAM-Catch-v0", "RAM-MNIST-v0"]), mode=st.sampled_from(MODES),
       data=st.data())
def test_fuzzed_actions_step_or_raise_one_line_value_errors(env_id, mode, data):
    envs = _env(env_id, mode)
    envs.reset(seed=0)
    shape = data.draw(st.sampled_from([(3,) + envs.single_action_space.shape, (3, 7), (2,), (3, 1, 1)]))
    dtype = data.draw(st.sampled_from([np.float32, np.float64, np.int64, np.uint8, np.bool_]))
    elements = None
    if np.dtype(dtype).kind == "f":
        elements = st.floats(allow_nan=True, allow_infinity=True, width=32 if dtype is np.float32 else 64)
    actions = data.draw(hnp.arrays(dtype, shape, elements=elements))
    try:
        envs.step(actions)
    except ValueError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    # Accepted: then it was a valid action of the right shape.
    assert actions.shape == (3,) + envs.single_action_space.shape
    if mode != "box":
        assert envs.single_action_space.contains(np.asarray(actions[0]).astype(np.int64))
