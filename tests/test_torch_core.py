"""The batched core on a torch device (``make_vec(..., device=)``) and per-env seeding: same rules, same episodes."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import ram_env  # noqa: F401
from ram_env.envs.catch import CatchEnv, CatchVectorEnv
from ram_env.envs.catch import move_ball as move_ball_np
from ram_env.envs.classification import ClassificationEnv, ClassificationTask, ClassificationVectorEnv
from ram_env.envs.torch_tasks import TorchClassificationTask, move_ball
from ram_env.sb3 import RAMVecEnv
from tests.conftest import toy_dataset

CLUTTERED = dict(dataset=toy_dataset(), image_size=60, n_clutter=4, glimpse_size=12, n_scales=3, n_glimpses=4)
CENTRED = dict(dataset=toy_dataset(), image_size=28, n_clutter=0, glimpse_size=8, n_scales=1, n_glimpses=3)
CATCH = dict(screen_size=8, paddle_width=2, ball_speed=2)
CASES = [(ClassificationVectorEnv, CLUTTERED), (ClassificationVectorEnv, CENTRED), (CatchVectorEnv, CATCH)]
# Every device env: the numpy engine behind tensors (the CPU default) and the torch engine, on CPU and on CUDA.
TARGETS = [dict(device="cpu", engine="numpy"), dict(device="cpu", engine="torch")] + \
    ([dict(device="cuda", engine="torch")] if torch.cuda.is_available() else [])
TARGET_IDS = [f"{t['device']}-{t['engine']}" for t in TARGETS]
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _host(x):
    return x.cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _flat(tree, prefix=""):
    """Every array of a (nested) output as (name, host array), in a fixed order."""
    if isinstance(tree, dict):
        return [item for key in sorted(tree) for item in _flat(tree[key], f"{prefix}/{key}")]
    if isinstance(tree, (tuple, list)):
        return [item for i, v in enumerate(tree) for item in _flat(v, f"{prefix}[{i}]")]
    return [(prefix, _host(tree))]


def _episodes(cls, kwargs, target, n=6, steps=14, seed=5, autoreset_mode="NextStep", tensor_actions=False):
    env = cls(num_envs=n, autoreset_mode=autoreset_mode, **target, **kwargs)
    device = target.get("device")
    rng = np.random.default_rng(0)
    out = _flat(env.reset(seed=seed), "reset")
    for step in range(steps):
        a = rng.uniform(-1, 1, env.action_space.shape).astype(np.float32)
        a[:, 2:] = np.round(a[:, 2:])  # many exact ties: the tie draws must match too
        if tensor_actions and step % 2:
            a = torch.as_tensor(a, device=device)
        out += _flat(env.step(a), f"step{step}")
    return out


def _assert_same(a, b):
    assert [name for name, _ in a] == [name for name, _ in b]
    for (name, x), (_, y) in zip(a, b):
        assert x.shape == y.shape and x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name)


@pytest.mark.parametrize("target", TARGETS, ids=TARGET_IDS)
@pytest.mark.parametrize("autoreset_mode", ["NextStep", "SameStep"])
@pytest.mark.parametrize("cls, kwargs", CASES)
def test_torch_path_plays_the_numpy_episodes(cls, kwargs, autoreset_mode, target):
    numpy_run = _episodes(cls, kwargs, {}, autoreset_mode=autoreset_mode)
    torch_run = _episodes(cls, kwargs, target, autoreset_mode=autoreset_mode, tensor_actions=True)
    _assert_same(numpy_run, torch_run)
    assert any(name.endswith("/is_success") for name, _ in numpy_run)  # episodes ended within the run


@pytest.mark.parametrize("target", TARGETS, ids=TARGET_IDS)
def test_device_env_returns_tensors_on_its_device(target):
    device = target["device"]
    env = gym.make_vec("RAM-ClutteredMNIST-v0", num_envs=4, vectorization_mode="vector_entry_point", **target,
                       dataset=toy_dataset(), n_glimpses=2)
    assert env.unwrapped.engine == target["engine"]
    obs, info = env.reset(seed=0)
    actions = torch.zeros((4, 12), device=device)
    _, reward, terminated, truncated, info = env.step(actions)
    _, reward, terminated, truncated, info = env.step(actions)
    for value in [*obs.values(), reward, terminated, truncated, *info.values()]:
        assert isinstance(value, torch.Tensor) and value.device.type == torch.device(device).type
    assert obs["glimpse"].dtype == torch.float32 and obs["glimpse"].shape == (4, 3, 12, 12)
    assert terminated.dtype == torch.bool and bool(terminated.all()) and info["_label"].dtype == torch.bool
    assert torch.equal(reward, info["is_success"].to(torch.float32))


def test_without_device_everything_stays_numpy():
    env = ClassificationVectorEnv(num_envs=3, **CENTRED)
    obs, _ = env.reset(seed=0)
    *_, info = env.step(np.zeros((3, 12), np.float32))
    assert env.device is None
    assert all(isinstance(v, np.ndarray) for v in [*obs.values(), *info.values()])


@pytest.mark.parametrize("target", TARGETS, ids=TARGET_IDS)
def test_partial_reset_with_a_tensor_mask_matches_numpy(target):
    runs = []
    for t in ({}, target):
        env = ClassificationVectorEnv(num_envs=4, **t, **CLUTTERED)
        env.reset(seed=1)
        mask = np.array([True, False, True, False])
        obs, info = env.reset(options={"reset_mask": torch.as_tensor(mask, device=t["device"]) if t else mask})
        runs.append(_flat((obs, info)))
    _assert_same(*runs)


@pytest.mark.parametrize("target", TARGETS, ids=TARGET_IDS)
@pytest.mark.parametrize("mode", ["multidiscrete", "discrete"])
def test_discrete_action_modes_match_numpy(mode, target):
    runs = []
    for t in ({}, target):
        dev = t.get("device")
        env = ClassificationVectorEnv(num_envs=5, action_mode=mode, **t, **CLUTTERED)
        out = _flat(env.reset(seed=2))
        rng = np.random.default_rng(3)
        space = env.single_action_space
        high = space.nvec if mode == "multidiscrete" else space.n
        for _ in range(6):
            a = rng.integers(0, high, (5,) + space.shape)
            out += _flat(env.step(a if dev is None else torch.as_tensor(a, device=dev)))
        runs.append(out)
    _assert_same(*runs)


@pytest.mark.parametrize("obs_mode", ["full"])
def test_full_frame_mode_and_scene_repeats_match_numpy(obs_mode):
    kwargs = dict(CLUTTERED, obs_mode=obs_mode, scene_repeats=2)
    runs = []
    for t in ({}, dict(device="cpu", engine="torch")):
        env = ClassificationVectorEnv(num_envs=4, **t, **kwargs)
        out = _flat(env.reset(seed=4))
        for _ in range(5):
            out += _flat(env.step(np.tile(np.eye(10, dtype=np.float32)[3], (4, 1))))
        runs.append(out)
    _assert_same(*runs)


@pytest.mark.parametrize("target", TARGETS, ids=TARGET_IDS)
def test_bad_actions_give_the_numpy_errors(target):
    device = target["device"]
    env = ClassificationVectorEnv(num_envs=2, **target, **CENTRED)
    env.reset(seed=0)
    bad = torch.zeros((2, 12), device=device)
    bad[1, 3] = float("nan")
    with pytest.raises(ValueError, match=r"^action contains NaN or inf$"):
        env.step(bad)
    with pytest.raises(ValueError, match=r"^action has shape \(2, 11\), expected \(2, 12\)"):
        env.step(torch.zeros((2, 11), device=device))
    discrete = ClassificationVectorEnv(num_envs=2, action_mode="discrete", **target, **CENTRED)
    discrete.reset(seed=0)
    with pytest.raises(ValueError, match=r"^discrete action out of range: must lie in \[0, 250\)$"):
        discrete.step(torch.tensor([0, 250], device=device))


def test_torch_composition_equals_numpy_composition():
    # On CPU the torch tasks compose with numpy (faster there); this checks the device code itself.
    base = ClassificationTask(64, dataset=toy_dataset(), image_size=40, n_clutter=6, clutter_size=9)
    task = TorchClassificationTask(ClassificationTask(64, dataset=toy_dataset(), image_size=40, n_clutter=6,
                                                      clutter_size=9), "cpu")
    _, params = base.sample(np.arange(64), np.random.default_rng(0))
    tensors = {key: torch.as_tensor(value) for key, value in params.items()}
    canvas = task.compose(tensors["digit"], tensors["offset"], tensors["clutter"])
    np.testing.assert_array_equal(canvas.numpy(), base.scenes.compose(params))
    assert (base.scenes.compose(params) > 0).mean() > 0.1  # scenes with ink, where overlaps happen


@pytest.mark.parametrize("speed", [0, 1, 3, 9])
def test_torch_ball_physics_equals_numpy(speed):
    x = np.tile(np.arange(7), 2)
    direction = np.repeat([-1, 1], 7)
    want = move_ball_np(x, direction, speed, 7)
    got = move_ball(torch.as_tensor(x), torch.as_tensor(direction), speed, 7)
    np.testing.assert_array_equal(got[0].numpy(), want[0])
    np.testing.assert_array_equal(got[1].numpy(), want[1])


def test_device_env_renders_and_refuses_sb3():
    env = ClassificationVectorEnv(num_envs=2, device="cpu", engine="torch", render_mode="rgb_array", **CENTRED)
    ref = ClassificationVectorEnv(num_envs=2, render_mode="rgb_array", **CENTRED)
    env.reset(seed=0), ref.reset(seed=0)
    np.testing.assert_array_equal(env.render()[1], ref.render()[1])
    with pytest.raises(TypeError, match="needs a numpy vector env"):
        RAMVecEnv(env)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_cuda_without_a_gpu_is_a_one_line_error():
    with pytest.raises(ValueError, match=r"^device='cuda' but CUDA is not available"):
        ClassificationVectorEnv(num_envs=2, device="cuda", **CENTRED)
    with pytest.raises(ValueError, match=r"^device must be None or a torch device"):
        ClassificationVectorEnv(num_envs=2, device="gpu0", **CENTRED)


def test_engine_errors_are_one_line():
    with pytest.raises(ValueError, match=r"^engine must be 'auto', 'numpy' or 'torch', got 'jax'$"):
        ClassificationVectorEnv(num_envs=2, device="cpu", engine="jax", **CENTRED)
    with pytest.raises(ValueError, match=r"^engine='torch' needs a device"):
        ClassificationVectorEnv(num_envs=2, engine="torch", **CENTRED)
    assert ClassificationVectorEnv(num_envs=2, device="cpu", **CENTRED).engine == "numpy"  # CPU: the faster one


@cuda
def test_cuda_catch_and_cluttered_match_numpy_on_larger_batches():
    assert ClassificationVectorEnv(num_envs=2, device="cuda", **CENTRED).engine == "torch"
    for cls, kwargs in CASES:
        _assert_same(_episodes(cls, kwargs, {}, n=257, steps=9),
                     _episodes(cls, kwargs, dict(device="cuda"), n=257, steps=9, tensor_actions=True))


# ---------------------------------------------------------------------- per-env seeding
def _single_run(cls, kwargs, seed, actions):
    env = cls(**kwargs)
    out = [env.reset(seed=seed)[0]]
    for a in actions:
        obs, reward, terminated, _, _ = env.step(a)
        out.append(obs)
        if terminated:
            out.append(env.reset()[0])
    return out


@pytest.mark.parametrize("target", [{}] + TARGETS, ids=["numpy"] + TARGET_IDS)
@pytest.mark.parametrize("single_cls, vector_cls, kwargs", [
    (ClassificationEnv, ClassificationVectorEnv, CLUTTERED),
    (CatchEnv, CatchVectorEnv, dict(CATCH, initial_location="random")),
])
def test_a_seed_list_gives_every_env_the_episodes_of_a_single_env(single_cls, vector_cls, kwargs, target):
    seeds = [11, 3, 11, 7]
    envs = vector_cls(num_envs=4, autoreset_mode="SameStep", **target, **kwargs)
    rng = np.random.default_rng(0)
    length = envs.episode_length
    actions = rng.uniform(-1, 1, (2 * length,) + envs.action_space.shape).astype(np.float32)
    actions[..., 2:] = np.round(actions[..., 2:])  # ties, drawn from each env's own stream
    obs, _ = envs.reset(seed=seeds)
    per_env = [[{k: _host(v[i]) for k, v in obs.items()}] for i in range(4)]
    for a in actions:
        obs, _, terminated, _, info = envs.step(a)
        for i in range(4):
            if _host(terminated)[i]:
                per_env[i].append({k: _host(v[i]) for k, v in info["final_obs"].items()})
            per_env[i].append({k: _host(v[i]) for k, v in obs.items()})
    for i, seed in enumerate(seeds):
        alone = _single_run(single_cls, kwargs, seed, actions[:, i])
        assert len(alone) == len(per_env[i])
        for got, want in zip(per_env[i], alone):
            np.testing.assert_array_equal(got["glimpse"], want["glimpse"])
            np.testing.assert_array_equal(got["location"], want["location"])
    first = [env[0]["glimpse"] for env in per_env]
    np.testing.assert_array_equal(first[0], first[2])  # same seed, same episode
    assert not np.array_equal(first[0], first[1])


def test_per_env_streams_do_not_depend_on_the_other_envs():
    def env1_glimpses(seeds):
        envs = ClassificationVectorEnv(num_envs=3, **CLUTTERED)
        out = [envs.reset(seed=seeds)[0]["glimpse"][1]]
        for _ in range(8):
            a = np.zeros((3, 12), np.float32)  # every score ties: every env draws its tie
            out.append(envs.step(a)[0]["glimpse"][1])
        return np.stack(out)

    np.testing.assert_array_equal(env1_glimpses([0, 5, 1]), env1_glimpses([9, 5, 4]))


def test_per_env_rng_state_replays_the_batch():
    envs = ClassificationVectorEnv(num_envs=3, **CLUTTERED)
    envs.reset(seed=[1, 2, 3])
    envs.reset()
    state = envs.core.rng_state_at_reset
    assert isinstance(state, list) and len(state) == 3
    canvas = envs.core.task.canvas.copy()
    envs.reset()
    envs.core.set_rng_state(state)
    envs.core.reset()
    np.testing.assert_array_equal(envs.core.task.canvas, canvas)


def test_a_seed_list_of_the_wrong_length_is_a_one_line_error():
    envs = ClassificationVectorEnv(num_envs=3, **CENTRED)
    with pytest.raises(ValueError, match=r"^seed must be an int, None or a list of num_envs=3 seeds, got a list of 2$"):
        envs.reset(seed=[1, 2])
    with pytest.raises(ValueError, match=r"^seed must be None or an integer >= 0, got -1$"):
        envs.reset(seed=[1, 2, -1])
