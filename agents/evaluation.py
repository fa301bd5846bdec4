"""Batched evaluation of any ram-env agent (RAM or an SB3 model): success rate with a confidence interval."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass
class EvalResult:
    """Success rate (accuracy or catch rate) over ``episodes`` with a 95% Wilson interval."""

    rate: float
    ci_low: float
    ci_high: float
    episodes: int
    mean_return: float

    @property
    def error_percent(self) -> float:
        """Test error in percent (classification tasks)."""
        return 100.0 * (1.0 - self.rate)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return (f"success rate {100 * self.rate:.2f}% (95% CI {100 * self.ci_low:.2f}-{100 * self.ci_high:.2f}%) "
                f"over {self.episodes} episodes")


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (well-behaved near 0 and 1)."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def evaluate(model, venv, n_episodes: int, deterministic: bool = True) -> EvalResult:
    """Run ``n_episodes`` on the SB3 ``VecEnv`` ``venv`` with ``model.predict`` (recurrent state handled).

    Episodes are counted in the order they end; the first ``n_episodes`` to end count, so a
    ``shuffle=False`` classification env with ``n_episodes = len(split)`` scores every image once.
    """
    if n_episodes < 1:
        raise ValueError(f"n_episodes must be >= 1, got {n_episodes}")
    obs = venv.reset()
    state = None
    starts = np.ones(venv.num_envs, bool)
    successes, returns = [], []
    running = np.zeros(venv.num_envs)
    while len(successes) < n_episodes:
        action, state = model.predict(obs, state=state, episode_start=starts, deterministic=deterministic)
        obs, rewards, dones, infos = venv.step(action)
        running += rewards
        starts = dones
        for i in np.flatnonzero(dones):
            successes.append(bool(infos[i].get("is_success", rewards[i] > 0)))
            returns.append(running[i])
            running[i] = 0.0
    successes, returns = successes[:n_episodes], returns[:n_episodes]
    k = int(np.sum(successes))
    low, high = wilson_interval(k, n_episodes)
    return EvalResult(k / n_episodes, low, high, n_episodes, float(np.mean(returns)))
