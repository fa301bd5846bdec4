"""Batched evaluation of any ram-env agent (RAM or an SB3 model): success rate with a confidence interval."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Callable

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


def evaluate_paths(model, make_venv: Callable[[], Any], n_episodes: int, paths: int = 10,
                   seed: int = 0) -> EvalResult:
    """RAM's classification accuracy with the class probabilities averaged over ``paths`` glimpse paths.

    Some public reproductions score a test image by averaging the softmax over M sampled glimpse paths
    (M = 10); PAPER.md asks for M = 1 (:func:`evaluate`, deterministic) as the headline and M = 10
    labelled where used. Each path replays the same scenes: ``make_venv()`` must build the same
    ``shuffle=False`` env with the same seed every call, so that episode k of every pass is the same
    image (checked against the labels). The locations are sampled from the Gaussian policy with a torch
    generator seeded by ``seed``; the class is the argmax of the averaged probabilities.
    """
    import torch

    if n_episodes < 1:
        raise ValueError(f"n_episodes must be >= 1, got {n_episodes}")
    if paths < 1:
        raise ValueError(f"paths must be >= 1, got {paths}")
    policy = model.policy
    policy.set_training_mode(False)
    generator = torch.Generator(device=policy.device).manual_seed(seed)
    total_probs, labels = None, None
    for _ in range(paths):
        venv = make_venv()
        obs, n = venv.reset(), venv.num_envs
        state = policy.initial_state(n)
        probs, path_labels = [], []
        with torch.no_grad():
            while len(path_labels) < n_episodes:
                out = policy(torch.as_tensor(obs["glimpse"], device=policy.device).float(),
                             torch.as_tensor(obs["location"], device=policy.device).float(), state)
                noise = torch.randn(out.location_mean.shape, generator=generator, device=policy.device)
                location = out.location_mean + policy.location_std * noise
                action = policy.encode_action(location, out.logits.argmax(dim=1)).cpu().numpy()
                obs, _, dones, infos = venv.step(action)
                state = out.state
                if dones.any():
                    if not dones.all():
                        raise RuntimeError("evaluate_paths needs episodes that end together (fixed-length tasks)")
                    if "label" not in infos[0]:
                        raise ValueError("evaluate_paths is for classification tasks (no label in info)")
                    probs.append(torch.softmax(out.logits, dim=1).cpu().numpy())
                    path_labels.extend(info["label"] for info in infos)
                    state = policy.initial_state(n)
        venv.close()
        path_probs, path_labels = np.concatenate(probs)[:n_episodes], np.asarray(path_labels[:n_episodes])
        if labels is None:
            total_probs, labels = path_probs, path_labels
        else:
            if not np.array_equal(labels, path_labels):
                raise ValueError("make_venv() gave other images on a later pass: it must build the same "
                                 "shuffle=False env with the same seed every call")
            total_probs += path_probs
    k = int(np.sum(total_probs.argmax(axis=1) == labels))
    low, high = wilson_interval(k, n_episodes)
    return EvalResult(k / n_episodes, low, high, n_episodes, k / n_episodes)
