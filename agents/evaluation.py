"""Batched evaluation of any ram-env agent (RAM or an SB3 model): success rate with a confidence interval, and
where its glimpses went; and how a checkpoint is scored (:func:`run_evaluation`: its evaluation split, every
image once, on the scenes of :data:`agents.config.EVAL_SEED`).

Attention scores (:class:`AttentionResult`), collected in the same deterministic run as the success rate from the
target the env reports in ``info`` (``target_center`` / ``target_box`` on classification tasks, ``ball_position`` in
Catch) and the location each observation was taken at:

- *localization* (classification): per glimpse index, the mean distance in pixels from the glimpse centre to the
  digit frame's centre, and the share of glimpses whose finest patch overlaps the digit's ink box;
- *tracking* (Catch): per step, the mean distance in screen pixels from the glimpse centre to the ball's pixel
  centre, and the share of steps whose finest patch contains the ball; summarised over the episode's second half.

Beside each, the same figures for two reference policies on the same scenes: *centre* (every glimpse at (0, 0),
computed with the same code as the agent's, so an agent that always looks at the centre scores it exactly) and
*random* (locations uniform on [-1, 1]^2, the env's own initial-location law: computed analytically, the exact
expectation for each scene, no sampling). Index 0 is the glimpse the env places at reset (uniform by default on
classification tasks, the centre in Catch); the agent chooses the rest. The finest patch is located exactly as the
retina places it (:func:`ram_env.retina.patch_corner`: top-left ``floor(c + 0.5 - g / 2)``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np

from agents.config import EVAL_SEED, task_family
from agents.models import SetupError
from ram_env.retina import patch_corner, pixel_centre


@dataclass
class AttentionResult:
    """Where the glimpses went, per glimpse index (classification) or step (Catch), against the digit or the ball.

    Lists are indexed by the observation's ``"step"`` (0 = the glimpse given at reset). ``distance`` is in pixels,
    ``hit_rate`` a share in [0, 1] (finest patch overlaps the digit's box / contains the ball); ``random_*`` are the
    exact expectations for uniform locations, ``centre_*`` the figures for locations at (0, 0), on the same scenes.
    ``summary_from`` is the first index the summary averages over: 1 on classification tasks (the glimpses the
    agent places), ``episode_length // 2`` in Catch (the episode's second half).
    """

    target: str
    distance: list[float]
    hit_rate: list[float]
    random_distance: list[float]
    random_hit_rate: list[float]
    centre_distance: list[float]
    centre_hit_rate: list[float]
    counts: list[int]
    summary_from: int
    random_method: str = "analytic"

    def summary(self) -> dict[str, float]:
        """Each figure averaged over the indices from ``summary_from`` on (weighted by their counts)."""
        counts = np.asarray(self.counts[self.summary_from:], np.float64)
        out = {}
        for name in ("distance", "hit_rate", "random_distance", "random_hit_rate", "centre_distance",
                     "centre_hit_rate"):
            values = np.asarray(getattr(self, name)[self.summary_from:], np.float64)
            out[name] = float(np.sum(values * counts) / counts.sum()) if counts.sum() else float("nan")
        return out

    def as_dict(self) -> dict[str, Any]:
        return dict(asdict(self), summary=self.summary())

    def __str__(self) -> str:
        what = "glimpse" if self.target == "digit" else "step"
        contact = "patch on digit" if self.target == "digit" else "patch on ball"
        lines = [f"distance to the {self.target} (px) and share with the finest {contact}, per {what} "
                 f"(random: exact expectation for uniform locations; centre: always (0, 0)):",
                 f"  {what:>7} | {'agent':>14} | {'random':>14} | {'centre':>14}"]
        rows = [(str(i), self.distance[i], self.hit_rate[i], self.random_distance[i], self.random_hit_rate[i],
                 self.centre_distance[i], self.centre_hit_rate[i]) for i in range(len(self.counts)) if self.counts[i]]
        s = self.summary()
        span = f"{self.summary_from}+"
        rows.append((span, s["distance"], s["hit_rate"], s["random_distance"], s["random_hit_rate"],
                     s["centre_distance"], s["centre_hit_rate"]))
        for name, *v in rows:
            lines.append(f"  {name:>7} | {v[0]:6.2f} {100 * v[1]:6.1f}% | {v[2]:6.2f} {100 * v[3]:6.1f}% | "
                         f"{v[4]:6.2f} {100 * v[5]:6.1f}%")
        return "\n".join(lines)


@dataclass
class EvalResult:
    """Success rate (accuracy or catch rate) over ``episodes`` with a 95% Wilson interval, and where the glimpses
    went (``attention``; None when the env reports no target or observes no location)."""

    rate: float
    ci_low: float
    ci_high: float
    episodes: int
    mean_return: float
    attention: AttentionResult | None = None

    @property
    def error_percent(self) -> float:
        """Test error in percent (classification tasks)."""
        return 100.0 * (1.0 - self.rate)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["attention"] = self.attention.as_dict() if self.attention is not None else None
        return out

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
    Where the env reports its target in ``info`` and observes a ``"location"``, the same episodes are scored
    for attention (:class:`AttentionResult`, in ``result.attention``).
    """
    if n_episodes < 1:
        raise ValueError(f"n_episodes must be >= 1, got {n_episodes}")
    obs = venv.reset()
    meter = AttentionMeter.for_venv(venv)
    targets = [dict(info) for info in venv.unwrapped.reset_infos]
    state = None
    starts = np.ones(venv.num_envs, bool)
    successes, returns = [], []
    running = np.zeros(venv.num_envs)
    while len(successes) < n_episodes:
        if meter is not None:
            meter.record(obs, targets)
        action, state = model.predict(obs, state=state, episode_start=starts, deterministic=deterministic)
        obs, rewards, dones, infos = venv.step(action)
        running += rewards
        starts = dones
        reset_infos = venv.unwrapped.reset_infos
        for i in range(venv.num_envs):
            targets[i] = reset_infos[i] if dones[i] else infos[i]
        for i in np.flatnonzero(dones):
            if meter is not None:
                meter.end_episode(i, counted=len(successes) < n_episodes)
            successes.append(bool(infos[i].get("is_success", rewards[i] > 0)))
            returns.append(running[i])
            running[i] = 0.0
    successes, returns = successes[:n_episodes], returns[:n_episodes]
    k = int(np.sum(successes))
    low, high = wilson_interval(k, n_episodes)
    attention = meter.result() if meter is not None else None
    return EvalResult(k / n_episodes, low, high, n_episodes, float(np.mean(returns)), attention)


# ---------------------------------------------------------------------- attention scores
TARGET_KEYS = {"digit": ("target_center", "target_box"), "ball": ("ball_position", "ball_position")}


def finest_patch_corner(location: np.ndarray, image_shape: tuple[int, int], glimpse_size: int) -> np.ndarray:
    """Integer top-left ``(x0, y0)`` of the retina's finest ``g x g`` patch at ``location`` (as the retina places it)."""
    return patch_corner(pixel_centre(location, image_shape), glimpse_size)


def patch_overlaps(corner: np.ndarray, box: np.ndarray, glimpse_size: int) -> np.ndarray:
    """Whether the g x g patches at ``corner`` (n, 2) overlap the pixel boxes ``box`` (n, 4) = (x0, y0, x1, y1)
    with exclusive ends (a NaN box overlaps nothing)."""
    with np.errstate(invalid="ignore"):
        return ((corner[:, 0] < box[:, 2]) & (corner[:, 0] + glimpse_size > box[:, 0])
                & (corner[:, 1] < box[:, 3]) & (corner[:, 1] + glimpse_size > box[:, 1]))


def _quadrant_distance_integral(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The integral of sqrt(x^2 + y^2) over [0, a] x [0, b] (closed form; 0 when a or b is 0)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    d = np.hypot(a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        la = np.where(a > 0, a ** 3 * np.log((b + d) / np.where(a > 0, a, 1.0)), 0.0)
        lb = np.where(b > 0, b ** 3 * np.log((a + d) / np.where(b > 0, b, 1.0)), 0.0)
    return (2 * a * b * d + la + lb) / 6.0


def uniform_mean_distance(point: np.ndarray, image_shape: tuple[int, int]) -> np.ndarray:
    """Exact mean distance (pixels) from ``point`` (n, 2) pixel coordinates inside the image to a point uniform on
    the whole image ``[0, W] x [0, H]`` (where uniform locations on [-1, 1]^2 put the glimpse centre)."""
    h, w = image_shape
    x, y = np.clip(point[:, 0], 0, w), np.clip(point[:, 1], 0, h)
    total = sum(_quadrant_distance_integral(a, b) for a in (x, w - x) for b in (y, h - y))
    return total / (w * h)


def uniform_overlap_probability(box: np.ndarray, image_shape: tuple[int, int], glimpse_size: int) -> np.ndarray:
    """Exact probability that the finest patch at a uniform location on [-1, 1]^2 overlaps ``box`` (n, 4) pixels.

    The patch's x0 = floor(cx + 0.5 - g/2) overlaps [x0_box, x1_box) iff cx lies in
    [x0_box + 0.5 - g/2, x1_box - 0.5 + g/2), and cx is uniform on [0, W]; x and y are independent.
    """
    h, w = image_shape
    g = glimpse_size

    def share(lo, hi, size):
        return np.clip(np.minimum(hi, size) - np.maximum(lo, 0.0), 0.0, None) / size

    with np.errstate(invalid="ignore"):
        p = (share(box[:, 0] + 0.5 - g / 2, box[:, 2] - 0.5 + g / 2, w)
             * share(box[:, 1] + 0.5 - g / 2, box[:, 3] - 0.5 + g / 2, h))
    return np.nan_to_num(p, nan=0.0)


class AttentionMeter:
    """Accumulates :class:`AttentionResult` figures over the episodes of a batched evaluation.

    Args:
        target: ``"digit"`` (classification) or ``"ball"`` (Catch).
        image_shape: ``(H, W)`` of the scene.
        glimpse_size: side of the retina's finest patch.
        episode_length: steps per episode (observations indexed 0 .. episode_length - 1 are scored).
        n_envs: parallel episodes.
    """

    FIELDS = ("distance", "hit_rate", "random_distance", "random_hit_rate", "centre_distance", "centre_hit_rate")

    def __init__(self, target: str, image_shape: tuple[int, int], glimpse_size: int, episode_length: int,
                 n_envs: int):
        if target not in TARGET_KEYS:
            raise ValueError(f"target must be one of {sorted(TARGET_KEYS)}, got {target!r}")
        self.target, self.image_shape, self.g = target, tuple(image_shape), int(glimpse_size)
        self.length, self.n_envs = int(episode_length), int(n_envs)
        self.buffer = np.zeros((len(self.FIELDS), self.n_envs, self.length))
        self.seen = np.zeros((self.n_envs, self.length), bool)
        self.totals = np.zeros((len(self.FIELDS), self.length))
        self.counts = np.zeros(self.length, np.int64)
        self.centre = np.zeros((1, 2), np.float32)

    @classmethod
    def for_venv(cls, venv) -> AttentionMeter | None:
        """A meter for an SB3 ``VecEnv`` of a ram-env task just reset, or None where attention cannot be scored
        (no ``"location"`` observed, e.g. ``obs_mode="full"``, or no target in ``reset_infos``)."""
        space = getattr(venv.observation_space, "spaces", {})
        infos = venv.unwrapped.reset_infos
        if "location" not in space or "glimpse" not in space or not infos:
            return None
        target = next((t for t, (key, _) in TARGET_KEYS.items() if key in infos[0]), None)
        if target is None:
            return None
        image_shape = tuple(venv.get_attr("image_shape")[0])
        return cls(target, image_shape, space["glimpse"].shape[-1], venv.get_attr("episode_length")[0], venv.num_envs)

    def _boxes(self, targets: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        """Target centres (n, 2) and boxes (n, 4), in pixels."""
        centre_key, box_key = TARGET_KEYS[self.target]
        centre = pixel_centre(np.stack([t[centre_key] for t in targets]), self.image_shape)
        if self.target == "ball":
            pixel = np.floor(centre)
            box = np.concatenate([pixel, pixel + 1], axis=1)
        else:
            raw = np.stack([t[box_key] for t in targets])
            box = np.rint(np.concatenate([pixel_centre(raw[:, :2], self.image_shape),
                                          pixel_centre(raw[:, 2:], self.image_shape)], axis=1))
        return centre, box

    def score(self, locations: np.ndarray, targets: list[dict]) -> np.ndarray:
        """The six figures (FIELDS order) for glimpses at ``locations`` (n, 2) on scenes whose targets are ``targets``."""
        centre, box = self._boxes(targets)
        n = len(targets)
        out = np.empty((len(self.FIELDS), n))
        for row, where in ((0, np.asarray(locations, np.float32)), (4, np.repeat(self.centre, n, axis=0))):
            out[row] = np.hypot(*(pixel_centre(where, self.image_shape) - centre).T)
            out[row + 1] = patch_overlaps(finest_patch_corner(where, self.image_shape, self.g), box, self.g)
        out[2] = uniform_mean_distance(centre, self.image_shape)
        out[3] = uniform_overlap_probability(box, self.image_shape, self.g)
        return out

    def record(self, obs: dict[str, np.ndarray], targets: list[dict]) -> None:
        """Score every env's current observation (its ``"location"`` and ``"step"``) against its target."""
        steps = np.asarray(obs["step"], np.int64).reshape(-1)
        envs = np.arange(self.n_envs)
        self.buffer[:, envs, steps] = self.score(obs["location"], targets)
        self.seen[envs, steps] = True

    def end_episode(self, env: int, counted: bool = True) -> None:
        """Env ``env``'s episode ended: add its figures to the totals if ``counted``, and clear its buffer."""
        if counted:
            seen = self.seen[env]
            self.totals[:, seen] += self.buffer[:, env, seen]
            self.counts[seen] += 1
        self.seen[env] = False
        self.buffer[:, env] = 0.0

    def result(self) -> AttentionResult:
        with np.errstate(invalid="ignore", divide="ignore"):
            means = self.totals / self.counts
        lists = {name: [float(v) for v in means[i]] for i, name in enumerate(self.FIELDS)}
        return AttentionResult(target=self.target, counts=[int(c) for c in self.counts],
                               summary_from=1 if self.target == "digit" else self.length // 2, **lists)


def evaluate_paths(model, make_venv: Callable[[], Any], n_episodes: int, paths: int = 10,
                   seed: int = 0) -> EvalResult:
    """RAM's classification accuracy with the class probabilities averaged over ``paths`` glimpse paths.

    Some public reproductions score a test image by averaging the softmax over M sampled glimpse paths
    (M = 10); docs/model.md asks for M = 1 (:func:`evaluate`, deterministic) as the headline and M = 10
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
                act = policy.act(out, generator=generator)
                action = policy.encode_action(act.location, act.choice)
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


# ---------------------------------------------------------------------- evaluating a checkpoint
def evaluation_env_kwargs(meta: dict, split: str | None) -> dict:
    """The env kwargs a checkpoint (its ``ram_meta``) is scored with: its own, and on classification tasks the
    evaluation split (``split``, else the meta's ``eval_split``) walked in order."""
    kwargs = dict(meta.get("env_kwargs", {}))
    if task_family(meta["env_id"]) == "classification":
        kwargs["split"] = split or meta.get("eval_split", "test")
        kwargs["shuffle"] = False  # walk the split: every test image once
    return kwargs


def evaluation_episodes(meta: dict, episodes: int | None, kwargs: dict, seed: int = EVAL_SEED) -> int:
    """The episode count of an evaluation: the whole split (or 1000 games) by default; never more
    episodes than a classification split holds, since the extra ones would score images twice and
    the interval would claim more certainty than the split gives."""
    from ram_env import make_sb3_vec_env

    if episodes is not None and episodes < 1:
        raise SetupError(f"the number of evaluation episodes must be >= 1, got {episodes}")
    try:
        venv = make_sb3_vec_env(meta["env_id"], n_envs=1, seed=seed, env_kwargs=kwargs, monitor=False)
    except (ValueError, TypeError) as exc:  # a bad --split names itself
        raise SetupError(str(exc)) from None
    n_images = venv.n_images
    venv.close()
    if n_images is None:
        return 1000 if episodes is None else episodes
    if episodes is None:
        return n_images
    if episodes > n_images:
        raise SetupError(f"{episodes} episodes is more than the {n_images} images of split "
                       f"{kwargs.get('split')!r}: each image is scored once (at most {n_images})")
    return episodes


def run_evaluation(model, meta: dict, episodes: int | None, split: str | None = None, seed: int = EVAL_SEED,
                   n_envs: int = 500, paths: int = 1):
    """Deterministic success rate (``paths=1``), or RAM's accuracy averaged over ``paths`` sampled glimpse paths."""
    from ram_env import make_sb3_vec_env

    if paths != 1:
        if paths < 1:
            raise SetupError(f"--paths must be >= 1, got {paths}")
        if meta["algo"] != "ram" or task_family(meta["env_id"]) != "classification":
            raise SetupError("--paths averages RAM's class probabilities: it is for RAM on classification tasks")

    kwargs = evaluation_env_kwargs(meta, split)
    episodes = evaluation_episodes(meta, episodes, kwargs, seed)
    n = min(n_envs, episodes)
    if task_family(meta["env_id"]) == "classification":
        while episodes % n:  # a batch size that divides the split, so no image counts twice
            n -= 1
    if paths != 1:
        def make():
            return make_sb3_vec_env(meta["env_id"], n_envs=n, seed=seed, env_kwargs=kwargs, monitor=False)

        return evaluate_paths(model, make, episodes, paths=paths, seed=seed), dict(kwargs, paths=paths)
    venv = make_sb3_vec_env(meta["env_id"], n_envs=n, seed=seed, env_kwargs=kwargs, monitor=False)
    return evaluate(model, venv, episodes, deterministic=True), kwargs
