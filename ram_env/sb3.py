"""Stable-Baselines3 ``VecEnv`` over the batched core, so SB3 collects rollouts at batched speed.

SB3's contract differs from Gymnasium's vector API: a finished env resets within the same
``step_wait`` call and its last observation goes into ``info["terminal_observation"]``. The
adapter implements that contract on the same :class:`~ram_env.envs.base.GlimpseCore` the Gymnasium
envs use, so the rules cannot drift apart.

Target info (see :mod:`ram_env.envs.base`): ``infos[i]`` carries the task's target keys on every step
(on the step that ends an episode, those of the episode that ended) and ``reset_infos[i]`` those of the
episode started by the last reset of env ``i``.
"""

from __future__ import annotations

from typing import Any, Sequence

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecMonitor

from ram_env.envs.base import GlimpseVectorEnv, TaskAttributes, check_seed


class SharedCoreAttrs:
    """SB3 ``VecEnv`` attribute plumbing for an adapter over one batched ram-env vector env (``self.vector_env``).

    Attributes live on the single shared core, so every index reads the same value. The adapter's own
    attributes come first (its spaces are the per-env ones SB3 expects), then the vector env's.
    """

    def get_attr(self, attr_name: str, indices=None) -> list[Any]:
        try:
            value = getattr(self, attr_name)
        except AttributeError:
            value = getattr(self.vector_env, attr_name)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        setattr(self.vector_env, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list[Any]:
        method = getattr(self.vector_env, method_name)
        return [method(*method_args, **method_kwargs) for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices=None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]


class RAMVecEnv(SharedCoreAttrs, TaskAttributes, VecEnv):
    """An SB3 ``VecEnv`` running ``vector_env``'s episodes in array code.

    Args:
        vector_env: a ram-env vector env (``gymnasium.make_vec(..., vectorization_mode="vector_entry_point")``).
    """

    def __init__(self, vector_env: GlimpseVectorEnv):
        base = vector_env.unwrapped
        if not isinstance(base, GlimpseVectorEnv):
            raise TypeError(f"RAMVecEnv needs a ram-env vector env, got {type(base).__name__}")
        if getattr(base, "device", None) is not None:
            raise TypeError(f"RAMVecEnv needs a numpy vector env (SB3 works on numpy), got one on "
                            f"device={base.device}: build it without device=")
        self.vector_env = base
        self.core = base.core
        self.render_mode = base.render_mode
        super().__init__(base.num_envs, base.single_observation_space, base.single_action_space)
        self._actions: np.ndarray | None = None
        self._seeded = False

    def reset(self):
        seed = self._seeds[0]
        if seed is not None or not self._seeded:
            self.core.seed(seed)
            self._seeded = True
        self._reset_seeds()
        self._reset_options()
        self.core.reset()
        self.reset_infos = _per_env(self.core.target_info(), self.num_envs)
        return self.core.observe()

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self):
        if self._actions is None:
            raise RuntimeError("step_wait() called without step_async()")
        reward, terminated, info = self.core.step(self._actions)
        self._actions = None
        obs = self.core.observe()
        infos = _per_env(self.core.target_info(), self.num_envs)
        done_idx = np.flatnonzero(terminated)
        if done_idx.size:
            for i in done_idx:
                infos[i].update({key: value[i].item() for key, value in info.items()})
                infos[i]["terminal_observation"] = {key: value[i] for key, value in obs.items()}
                infos[i]["TimeLimit.truncated"] = False
            self.core.reset(done_idx)
            obs = self.core.observe()
            targets = self.core.target_info()
            for i in done_idx:
                self.reset_infos[i] = {key: value[i] for key, value in targets.items()}
        return obs, reward, terminated.copy(), infos

    def close(self) -> None:
        self.vector_env.close()

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [self.core.render(i) for i in range(self.num_envs)]

    @property
    def rng_state_at_reset(self) -> dict | list | None:
        """State of the batch generator just before the last reset of every env (for exact resumes); one
        state per env after a per-env seeding (``core.seed([...])``)."""
        return self.core.rng_state_at_reset

    def restore_rng_state(self, state: dict) -> dict[str, np.ndarray]:
        """Set the batch generator to ``state`` and reset every env: replays the batch drawn from it."""
        self.core.set_rng_state(state)
        self._seeded = True
        self.core.reset()
        self.reset_infos = _per_env(self.core.target_info(), self.num_envs)
        return self.core.observe()


def _per_env(batched: dict[str, np.ndarray], n: int) -> list[dict[str, Any]]:
    """One dict per env from batched arrays (rows are views of the given arrays)."""
    return [{key: value[i] for key, value in batched.items()} for i in range(n)]


def make_sb3_vec_env(env_id: str, n_envs: int = 16, seed: int | None = None, env_kwargs: dict | None = None,
                     monitor: bool = True, **kwargs) -> VecEnv:
    """Build an SB3 ``VecEnv`` of ``n_envs`` batched episodes of ``env_id``.

    Args:
        env_id: a registered ram-env id, e.g. ``"RAM-ClutteredMNIST-v0"``.
        n_envs: number of parallel episodes.
        seed: seed of the batch generator (SB3's ``seed()`` works too).
        env_kwargs: keyword arguments of the environment (as for ``gymnasium.make``); plain
            ``**kwargs`` are merged into them.
        monitor: wrap in SB3's ``VecMonitor`` so episode returns and lengths are logged.
    """
    import ram_env  # noqa: F401  (registers the ids)

    check_seed(seed)
    if isinstance(n_envs, bool) or not isinstance(n_envs, (int, np.integer)) or n_envs < 1:
        raise ValueError(f"n_envs must be a positive integer, got {n_envs!r}")
    env_kwargs = {**(env_kwargs or {}), **kwargs}
    spec = gym.spec(env_id)
    if spec.vector_entry_point is None:
        raise ValueError(f"{env_id} has no batched version; use SB3's make_vec_env instead")
    venv = RAMVecEnv(gym.make_vec(env_id, num_envs=n_envs, vectorization_mode="vector_entry_point", **env_kwargs))
    if seed is not None:
        venv.seed(seed)
    return VecMonitor(venv) if monitor else venv
