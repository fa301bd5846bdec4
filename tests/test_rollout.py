"""RAM's device path (agents.rollout): same episodes, loss and parameters as the SB3 path; exact resume; errors."""

from __future__ import annotations

import gymnasium as gym
import pytest
import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import configure

from agents import RAM
from agents.rollout import DeviceVecEnv, make_device_vec_env
from ram_env import make_sb3_vec_env
from tests.conftest import toy_dataset

KW = dict(dataset=toy_dataset(200), image_size=40, n_glimpses=3, glimpse_size=8, n_scales=2)
CATCH = dict(screen_size=8, glimpse_size=4, n_scales=2)
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _env(env_id: str, kwargs: dict, path: str, seed: int, n: int = 8):
    if path == "sb3":
        return make_sb3_vec_env(env_id, n_envs=n, seed=seed, env_kwargs=kwargs)
    device, engine = path.split("-")
    return make_device_vec_env(env_id, n_envs=n, seed=seed, env_kwargs={**kwargs, "engine": engine}, device=device)


def _trained(env_id, kwargs, path, seed=3, batches=4, tmp_path=None, **ram):
    env = _env(env_id, kwargs, path, seed)
    model = RAM("RAMPolicy", env, seed=seed, device="cpu", **ram)
    values = []

    class Record(BaseCallback):
        def _on_rollout_end(self) -> None:
            values.append(dict(self.model.logger.name_to_value))

        def _on_step(self) -> bool:
            return True

    model.set_logger(configure(None, []))
    model.learn(8 * env.episode_length * batches, callback=Record(), log_interval=0)  # no dump: the values stay readable
    return model, values


def _assert_same_parameters(a: RAM, b: RAM) -> None:
    for (name, p), q in zip(a.policy.state_dict().items(), b.policy.state_dict().values()):
        torch.testing.assert_close(p, q, rtol=0, atol=0, msg=name)


@pytest.mark.parametrize("path", ["cpu-numpy", "cpu-torch", "cpu-auto"])
def test_device_path_trains_to_the_same_parameters_as_the_sb3_path(path):
    reference, ref_logs = _trained("RAM-MNIST-v0", KW, "sb3")
    model, logs = _trained("RAM-MNIST-v0", KW, path)
    assert isinstance(model.env, DeviceVecEnv) and model.env_device == "cpu"
    _assert_same_parameters(reference, model)
    assert model.num_timesteps == reference.num_timesteps and model._episode_num == reference._episode_num
    # The same loss on every batch (the logs of batch k are read at the end of batch k + 1's rollout).
    for key in ("train/loss", "train/loss_action", "train/loss_reinforce", "train/loss_baseline"):
        assert [v[key] for v in logs[1:]] == [v[key] for v in ref_logs[1:]], key
    for key in ("train/target_distance_px",):
        assert [v[key] for v in logs[1:]] == pytest.approx([v[key] for v in ref_logs[1:]], rel=1e-6)
    assert [ep["r"] for ep in model.ep_info_buffer] == [ep["r"] for ep in reference.ep_info_buffer]
    assert list(model.ep_success_buffer) == list(reference.ep_success_buffer)


@pytest.mark.parametrize("path,location_reward", [("cpu-numpy", "success"), ("cpu-torch", "success"),
                                                  ("cpu-torch", "landing")])
def test_catch_on_the_device_path_samples_the_same_game_actions_and_logs_the_same_figures(path, location_reward):
    ram = dict(hybrid=False, entropy_coef=0.01, normalize_advantage=True, location_reward=location_reward)
    reference, ref_logs = _trained("RAM-Catch-v0", CATCH, "sb3", **ram)
    model, logs = _trained("RAM-Catch-v0", CATCH, path, **ram)
    _assert_same_parameters(reference, model)
    keys = ("train/loss", "train/choice_entropy") + (("train/loss_outcome",) if location_reward == "landing" else ())
    for key in keys:
        assert [v[key] for v in logs[1:]] == [v[key] for v in ref_logs[1:]], key
    for key in ("train/target_distance_px", "train/target_distance_late_px"):
        assert [v[key] for v in logs[1:]] == pytest.approx([v[key] for v in ref_logs[1:]], rel=1e-6), key
    # What rollout/success_rate and rollout/ep_rew_mean, ep_len_mean are computed from.
    assert list(model.ep_success_buffer) == list(reference.ep_success_buffer)
    assert [(ep["r"], ep["l"]) for ep in model.ep_info_buffer] == [(ep["r"], ep["l"]) for ep in reference.ep_info_buffer]
    dumped = {}
    model.logger.dump = lambda step=0: dumped.update(model.logger.name_to_value)
    model._dump_logs()
    assert dumped["rollout/success_rate"] == pytest.approx(sum(reference.ep_success_buffer) / 32) and \
        0 < dumped["rollout/success_rate"] < 1


class StopAt(BaseCallback):
    def __init__(self, at: int, path):
        super().__init__()
        self.at, self.path = at, path

    def _on_step(self) -> bool:
        if self.model.num_timesteps >= self.at:
            self.model.save(self.path)
            return False
        return True


@pytest.mark.parametrize("path", ["cpu-numpy", "cpu-torch"])
def test_device_path_resumes_a_mid_batch_checkpoint_exactly(tmp_path, path):
    total = 8 * 3 * 5
    reference = RAM("RAMPolicy", _env("RAM-MNIST-v0", KW, path, 3), seed=3, device="cpu")
    reference.learn(total)
    interrupted = RAM("RAMPolicy", _env("RAM-MNIST-v0", KW, path, 3), seed=3, device="cpu")
    interrupted.learn(total, callback=StopAt(8 * 3 * 2 + 8, tmp_path / "ckpt"))
    resumed = RAM.load(tmp_path / "ckpt.zip", env=_env("RAM-MNIST-v0", KW, path, 3), device="cpu")
    assert resumed.num_timesteps == 8 * 3 * 2 and resumed.env_device == "cpu"
    resumed.learn(total - resumed.num_timesteps, reset_num_timesteps=False)
    _assert_same_parameters(reference, resumed)


def test_a_device_vector_env_from_make_vec_is_taken_as_is_and_loads_back(tmp_path):
    venv = gym.make_vec("RAM-MNIST-v0", num_envs=4, vectorization_mode="vector_entry_point", device="cpu", **KW)
    model = RAM("RAMPolicy", venv, seed=0, device="cpu")
    assert isinstance(model.env, DeviceVecEnv)
    model.learn(4 * 3)
    model.save(tmp_path / "m")
    again = gym.make_vec("RAM-MNIST-v0", num_envs=4, vectorization_mode="vector_entry_point", device="cpu", **KW)
    loaded = RAM.load(tmp_path / "m.zip", env=again, device="cpu")
    assert isinstance(loaded.env, DeviceVecEnv)
    loaded.learn(4 * 3, reset_num_timesteps=False)
    assert loaded.num_timesteps == 4 * 3 * 2


def test_ram_builds_the_device_env_from_an_id_when_asked():
    model = RAM("RAMPolicy", "RAM-MNIST-v0", n_envs=4, env_device="cpu", env_kwargs=KW, seed=0, device="cpu")
    assert isinstance(model.env, DeviceVecEnv) and model.env.num_envs == 4
    obs = model.env.reset()
    assert isinstance(obs["glimpse"], torch.Tensor) and obs["glimpse"].shape == (4, 2, 8, 8)


def test_device_path_errors_are_one_line_and_name_the_problem():
    with pytest.raises(ValueError, match="env_device builds the env from an env id"):
        RAM("RAMPolicy", make_sb3_vec_env("RAM-MNIST-v0", n_envs=2, env_kwargs=KW), env_device="cpu")
    numpy_vec = gym.make_vec("RAM-MNIST-v0", num_envs=2, vectorization_mode="vector_entry_point", **KW)
    with pytest.raises(ValueError, match="device=...\\), not GlimpseVectorEnv|not .*VectorEnv"):
        RAM("RAMPolicy", numpy_vec)
    env = make_device_vec_env("RAM-MNIST-v0", n_envs=2, env_kwargs=KW)
    env.reset()
    with pytest.raises(TypeError, match="SB3 algorithms step numpy envs"):
        env.step(torch.zeros(2, 12))
    with pytest.raises(TypeError, match="built with device="):
        DeviceVecEnv(numpy_vec)


@cuda
def test_device_path_on_cuda_trains_and_resumes_exactly(tmp_path):
    total = 8 * 3 * 4
    reference = RAM("RAMPolicy", _env("RAM-MNIST-v0", KW, "cuda-torch", 3), seed=3, device="cuda")
    reference.learn(total)
    assert all(torch.isfinite(p).all() for p in reference.policy.parameters())
    assert reference.policy.device.type == "cuda"
    interrupted = RAM("RAMPolicy", _env("RAM-MNIST-v0", KW, "cuda-torch", 3), seed=3, device="cuda")
    interrupted.learn(total, callback=StopAt(8 * 3 + 8, tmp_path / "ckpt"))
    resumed = RAM.load(tmp_path / "ckpt.zip", env=_env("RAM-MNIST-v0", KW, "cuda-torch", 3), device="cuda")
    resumed.learn(total - resumed.num_timesteps, reset_num_timesteps=False)
    _assert_same_parameters(reference, resumed)
