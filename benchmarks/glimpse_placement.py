"""Glimpses the agent does not choose: the paper tables' random / centre / oracle rows, and forced_glimpses.

:func:`fixed_glimpses` wraps an SB3 vector env and overwrites the (x, y) part of every box action, so the glimpse
network, core and classifier learn (or are scored) on locations placed by something else.
"""

from __future__ import annotations

import numpy as np
from stable_baselines3.common.vec_env import VecEnvWrapper

LOCATIONS = ("random", "centre", "oracle")
ORACLE_STD = 0.1  # the oracle's noise around the digit's centre, in [-1, 1] units


class FixedGlimpses(VecEnvWrapper):
    """Overwrites the (x, y) part of box actions with locations the agent does not choose (see
    :func:`fixed_glimpses`)."""

    def __init__(self, venv, seed: int, locations: str, std: float):
        super().__init__(venv)
        self.rng = np.random.default_rng(seed)
        self.locations, self.std = locations, std
        self.passthrough = False  # True: the agent's own locations go to the env; the targets are still tracked

    def reset(self):
        obs = self.venv.reset()
        if self.locations == "oracle":
            infos = self.venv.unwrapped.reset_infos
            # The digit's centre on classification tasks; in Catch the ball.
            self.key = "target_center" if "target_center" in infos[0] else "ball_position"
            self.seen = np.array([i[self.key] for i in infos], np.float32)
            self.targets = self.seen.copy()
        return obs

    def placed(self, n: int) -> np.ndarray:
        """The next ``n`` locations this placement draws, (n, 2)."""
        if self.locations == "random":
            return self.rng.uniform(-1.0, 1.0, (n, 2))
        if self.locations == "centre":
            return np.clip(self.rng.normal(0.0, self.std, (n, 2)), -1.0, 1.0)
        return np.clip(self.targets + self.rng.normal(0.0, ORACLE_STD, (n, 2)), -1.0, 1.0)

    def step_async(self, actions: np.ndarray) -> None:
        actions = np.array(actions, dtype=np.float32, copy=True)
        if not self.passthrough:
            actions[:, :2] = self.placed(actions.shape[0])
        self.venv.step_async(actions)

    def step_wait(self):
        obs, rewards, dones, infos = self.venv.step_wait()
        if self.locations != "oracle":
            return obs, rewards, dones, infos
        # The episode each env is in now: a finished env's new scene is in reset_infos.
        reset_infos = self.venv.unwrapped.reset_infos
        seen = np.array([reset_infos[i][self.key] if done else info[self.key]
                         for i, (done, info) in enumerate(zip(dones, infos))], np.float32)
        self.targets = seen
        if self.key == "ball_position":
            # The next glimpse sees the next screen: where the ball goes if it keeps its last step's velocity
            # (exact but at a bounce); a new game's first step has no velocity yet.
            self.targets = np.where(dones[:, None], seen, 2 * seen - self.seen)
        self.seen = seen
        return obs, rewards, dones, infos


def fixed_glimpses(venv, seed: int, locations: str = "random", std: float = 0.2) -> FixedGlimpses:
    """``venv`` with every action's location replaced: uniform in [-1, 1]^2 (``"random"``), drawn from
    N(0, std^2) (``"centre"``) or from N(digit centre, ORACLE_STD^2) (``"oracle"``, the centre read from the env's
    ``info["target_center"]``; in Catch where the ball will be on the next screen, extrapolated from
    ``info["ball_position"]`` on the last two), clipped to [-1, 1], seeded."""
    if locations not in LOCATIONS:
        raise ValueError(f"locations must be 'random', 'centre' or 'oracle', got {locations!r}")
    return FixedGlimpses(venv, seed, locations, std)
