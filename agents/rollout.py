"""RAM's batch collection: one batch of whole episodes run in lock-step, the graph kept for BPTT.

Two collectors fill the same :class:`Batch`, so :meth:`agents.ram.RAM.learn` has one loss for both:

- :func:`collect_sb3` on the numpy SB3 ``VecEnv`` (:func:`ram_env.make_sb3_vec_env`): every glimpse step goes
  numpy -> torch -> numpy and through SB3's per-env info dicts (``VecMonitor``), as SB3 algorithms train.
- :func:`collect_device` on a :class:`DeviceVecEnv`, a ram-env Gymnasium vector env built with ``device=``
  (``"cpu"`` or ``"cuda"``): the env's batched tensors go straight to the policy and its actions straight back,
  with no numpy arrays and no per-env Python work per glimpse step. Episode statistics (``rollout/*``) are
  recorded once per batch.

For a seed both give the same episodes, the same torch draws and so the same parameters
(``tests/test_rollout.py``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.vec_env import VecEnv

from ram_env.envs.base import GlimpseVectorEnv, TaskAttributes, check_seed
from ram_env.sb3 import SharedCoreAttrs


class Batch(NamedTuple):
    """What the loss needs from one batch of ``n`` episodes of ``T`` steps (tensors on the policy's device)."""

    returns: torch.Tensor               # the episodes' final rewards (n,)
    labels: torch.Tensor | None         # the true classes (n,) on classification tasks with the hybrid loss
    baselines: list[torch.Tensor]       # b_t, T of (n,)
    step_logits: list[torch.Tensor]     # the action network's logits, T of (n, n_choices)
    location_logp: list[torch.Tensor]   # log N(l_{t+1} | mu_t), T - 1 of (n,) (the last location is never used)
    choice_logp: list[torch.Tensor]     # log-probability of the sampled game action (Catch), T of (n,)
    choice_entropy: list[torch.Tensor]  # entropy of the game-action distribution (Catch), T of (n,)
    last: Any                           # the last step's PolicyStep
    distances: list[float]              # per step (but the last) mean distance in pixels of the next glimpse to the target
    stopped: bool                       # a callback asked to stop (the batch is not trained on)
    outcome_logits: list[torch.Tensor]  # the policy's outcome head, T of (n, outcome_classes); empty without one
    outcomes: torch.Tensor | None       # how the episodes ended, the outcome head's target (Catch: the ball's landing column)


def _labels(infos: list[dict[str, Any]]) -> np.ndarray:
    try:
        return np.array([info["label"] for info in infos], dtype=np.int64)
    except KeyError:
        raise RuntimeError(_NO_LABEL) from None


def _outcomes(ball_x: Any, outcome_classes: int) -> torch.Tensor | None:
    """The outcome head's targets from the last step's info (Catch's ``ball_x``: the column where the ball landed)."""
    if not outcome_classes:
        return None
    if ball_x is None:
        raise RuntimeError("an outcome head needs the ball's landing column (info 'ball_x', Catch) at the end of "
                           "each episode; this env gives none")
    return torch.as_tensor(np.asarray(ball_x) if not torch.is_tensor(ball_x) else ball_x, dtype=torch.int64)


_NO_LABEL = ("hybrid training needs the label in info at the end of each episode; this env gives none (is it a "
             "classification task?). Pass hybrid=False.")


def _step_policy(model, obs_glimpse, obs_location, state, lists):
    """One policy step and its action; appends the choice's log-probability and entropy where it is sampled."""
    policy = model.policy
    out = policy(obs_glimpse, obs_location, state)
    act = policy.act(out)
    if act.choice_dist is not None:
        lists[0].append(act.choice_dist.log_prob(act.choice))
        lists[1].append(act.choice_dist.entropy())
    return out, act


def _record_step(model, out, act, done: bool, baselines, step_logits, location_logp, outcome_logits) -> bool:
    """Keeps the step's baseline and logits (and the outcome head's) and, unless the episodes ended (their last
    location is never used), the log-probability of the location it chose; says whether they ended."""
    baselines.append(out.baseline)
    step_logits.append(out.logits)
    if out.outcome_logits is not None:
        outcome_logits.append(out.outcome_logits)
    if done:
        return True
    scored = act.location.clamp(-1.0, 1.0) if model.clip_logprob else act.location
    location_logp.append(act.location_dist.log_prob(scored).sum(dim=1))
    return False


def _mismatch(n: int, ended: int, steps: int) -> RuntimeError:
    return RuntimeError("RAM needs episodes that end together (fixed-length ram-env tasks); "
                        f"{ended} of {n} envs ended at step {steps}")


def collect_sb3(model, env: VecEnv, callback) -> Batch:
    """One batch on a numpy SB3 ``VecEnv`` (it resets the envs itself when their episodes end)."""
    policy, n, device = model.policy, env.num_envs, model.device
    target_key = "target_center" if model.hybrid else "ball_position"
    half_size = np.array(_env_attr(env, "image_shape", (2, 2))[::-1], np.float32) / 2  # (W/2, H/2)
    obs = model._last_obs
    state = policy.initial_state(n)
    location_logp, choice_logp, choice_entropy, baselines, distances, step_logits = [], [], [], [], [], []
    outcome_logits: list[torch.Tensor] = []
    stopped = False
    while True:
        out, act = _step_policy(model, torch.as_tensor(obs["glimpse"], device=device),
                                torch.as_tensor(obs["location"], device=device), state, (choice_logp, choice_entropy))
        state = out.state
        action = policy.encode_action(act.location, act.choice)
        obs, rewards, dones, infos = env.step(action)
        if not dones.any() and target_key in infos[0]:
            # Where the next glimpse went against the target of the episode it is in (pixels).
            target = np.array([info[target_key] for info in infos], np.float32)
            distances.append(np.linalg.norm((action[:, :2] - target) * half_size, axis=1).mean())
        model.num_timesteps += n
        model._update_info_buffer(infos, dones)
        callback.update_locals(locals())
        if not callback.on_step():
            stopped = True
        if _record_step(model, out, act, bool(dones.any()), baselines, step_logits, location_logp, outcome_logits):
            break
    if not dones.all():
        raise _mismatch(n, int(dones.sum()), len(baselines))
    model._last_obs = obs
    returns = torch.as_tensor(rewards, dtype=torch.float32, device=device)
    labels = torch.as_tensor(_labels(infos), device=device) if model.hybrid else None
    landed = [info.get("ball_x") for info in infos]
    outcomes = _outcomes(None if None in landed else landed, policy.outcome_classes)
    return Batch(returns, labels, baselines, step_logits, location_logp, choice_logp, choice_entropy, out,
                 [float(d) for d in distances], stopped, outcome_logits,
                 None if outcomes is None else outcomes.to(device))


def collect_device(model, env: "DeviceVecEnv", callback) -> Batch:
    """One batch on a :class:`DeviceVecEnv`: tensors in and out, then a reset of every env for the next batch.

    The episodes' length is known on the host, so the loop never waits on the device to learn that they ended;
    the per-step work is the policy, the env's batched step and a few tensor ops.
    """
    policy, n, device = model.policy, env.num_envs, model.device
    target_key = "target_center" if model.hybrid else "ball_position"
    half_size = torch.tensor(_env_attr(env, "image_shape", (2, 2))[::-1], dtype=torch.float32, device=device) / 2
    obs = model._last_obs
    state = policy.initial_state(n)
    location_logp, choice_logp, choice_entropy, baselines, distances, step_logits = [], [], [], [], [], []
    outcome_logits: list[torch.Tensor] = []
    stopped = False
    episode_return = torch.zeros(n, dtype=torch.float32, device=device)
    core = env.vector_env.core
    while True:
        out, act = _step_policy(model, obs["glimpse"].to(device), obs["location"].to(device), state,
                                (choice_logp, choice_entropy))
        state = out.state
        action = policy.encode_action_tensor(act.location, act.choice)
        obs, rewards, _, _, info = env.vector_env.step(action)
        dones = core.done  # host flags: no device sync
        rewards = rewards.to(device)
        episode_return += rewards
        if not dones.any() and target_key in info:
            distances.append(torch.linalg.vector_norm((action[:, :2] - info[target_key].to(device)) * half_size,
                                                      dim=1).mean())
        model.num_timesteps += n
        callback.update_locals(locals())
        if not callback.on_step():
            stopped = True
        if _record_step(model, out, act, bool(dones.any()), baselines, step_logits, location_logp, outcome_logits):
            break
    if not dones.all():
        raise _mismatch(n, int(dones.sum()), len(baselines))
    labels = None
    if model.hybrid:
        if "label" not in info:
            raise RuntimeError(_NO_LABEL)
        labels = info["label"].to(device)
    _record_episodes(model, episode_return, info.get("is_success"), len(baselines))
    model._last_obs = env.reset_all()
    outcomes = _outcomes(info.get("ball_x"), policy.outcome_classes)
    return Batch(rewards, labels, baselines, step_logits, location_logp, choice_logp, choice_entropy, out,
                 torch.stack(distances).tolist() if distances else [], stopped,  # one copy to the host
                 outcome_logits, None if outcomes is None else outcomes.to(device))


def _record_episodes(model, returns: torch.Tensor, success: torch.Tensor | None, length: int) -> None:
    """The batch's episodes into SB3's ``ep_info_buffer``/``ep_success_buffer`` (what ``rollout/*`` reads), as
    ``VecMonitor`` would; only as many as the buffers keep cross to the host."""
    keep = model.ep_info_buffer.maxlen or returns.shape[0]
    r = returns[-keep:].tolist()
    model.ep_info_buffer.extend({"r": round(v, 6), "l": length} for v in r)
    if success is not None:
        model.ep_success_buffer.extend(bool(v) for v in success[-keep:].tolist())


def _env_attr(env: VecEnv, name: str, default: Any) -> Any:
    try:
        return env.get_attr(name)[0]
    except AttributeError:
        return default


# ---------------------------------------------------------------------- the device env under SB3's interface
class DeviceVecEnv(SharedCoreAttrs, TaskAttributes, VecEnv):
    """A ram-env Gymnasium vector env on a torch device, held under SB3's ``VecEnv`` interface for RAM.

    SB3's :class:`~stable_baselines3.common.base_class.BaseAlgorithm` seeds, resets and reads attributes through a
    ``VecEnv``; this adapter gives it those (``seed``, ``reset``, ``get_attr``, the generator state for exact
    resumes) and leaves the stepping to :func:`collect_device`, which calls the vector env directly. Its
    observations are the vector env's tensors; SB3 algorithms, which work on numpy, cannot step it
    (``step_wait`` refuses): they train through :func:`ram_env.make_sb3_vec_env`.

    Args:
        vector_env: ``gymnasium.make_vec(id, num_envs=N, vectorization_mode="vector_entry_point", device=...)``.
    """

    def __init__(self, vector_env: gym.vector.VectorEnv):
        base = getattr(vector_env, "unwrapped", vector_env)
        if not isinstance(base, GlimpseVectorEnv) or getattr(base, "device", None) is None:
            raise TypeError(f"DeviceVecEnv needs a ram-env vector env built with device=, got {type(base).__name__}"
                            + ("" if not isinstance(base, GlimpseVectorEnv) else " without a device"))
        if base.autoreset_mode != gym.vector.AutoresetMode.NEXT_STEP:
            raise ValueError("DeviceVecEnv needs the vector env's default autoreset_mode='NextStep'")
        self.vector_env = base
        self.core = base.core
        self.device = base.device
        self.render_mode = base.render_mode
        super().__init__(base.num_envs, base.single_observation_space, base.single_action_space)

    def reset(self) -> dict[str, torch.Tensor]:
        obs, _ = self.vector_env.reset(seed=self._seeds[0])
        self._reset_seeds()
        self._reset_options()
        return obs

    def reset_all(self) -> dict[str, torch.Tensor]:
        """Start new episodes in every env, from the generator as it stands (the next batch)."""
        obs, _ = self.vector_env.reset()
        return obs

    @property
    def rng_state_at_reset(self) -> dict | list | None:
        """State of the env's host generator just before the last reset of every env (for exact resumes)."""
        return self.core.rng_state_at_reset

    def restore_rng_state(self, state: dict | list) -> dict[str, torch.Tensor]:
        """Set the generator to ``state`` and reset every env: replays the batch drawn from it."""
        self.core.set_rng_state(state)
        self.vector_env._seeded = True  # a reset without a seed must not draw fresh entropy now
        return self.reset_all()

    def step_async(self, actions) -> None:
        raise TypeError("DeviceVecEnv is RAM's device path (agents.rollout.collect_device); SB3 algorithms step "
                        "numpy envs: use ram_env.make_sb3_vec_env")

    def step_wait(self):
        raise TypeError("DeviceVecEnv is RAM's device path; use ram_env.make_sb3_vec_env for SB3 algorithms")

    def close(self) -> None:
        self.vector_env.close()


def is_device_vector_env(env: Any) -> bool:
    """True for a ram-env Gymnasium vector env built with ``device=`` (what :class:`DeviceVecEnv` holds)."""
    base = getattr(env, "unwrapped", None)
    return isinstance(base, GlimpseVectorEnv) and getattr(base, "device", None) is not None


def make_device_vec_env(env_id: str, n_envs: int = 16, seed: int | None = None, env_kwargs: dict | None = None,
                        device: Any = "cpu") -> DeviceVecEnv:
    """``n_envs`` batched episodes of ``env_id`` on ``device`` for RAM's device path.

    ``env_kwargs`` go to the env (``engine="torch"`` runs the torch core on CPU too; see
    :class:`~ram_env.envs.base.GlimpseVectorEnv`); ``seed`` seeds the batch generator as
    :func:`ram_env.make_sb3_vec_env`'s does, so both envs give the same episodes for a seed.
    """
    import ram_env  # noqa: F401  (registers the ids)

    check_seed(seed)
    if isinstance(n_envs, bool) or not isinstance(n_envs, (int, np.integer)) or n_envs < 1:
        raise ValueError(f"n_envs must be a positive integer, got {n_envs!r}")
    if gym.spec(env_id).vector_entry_point is None:
        raise ValueError(f"{env_id} has no batched version")
    venv = DeviceVecEnv(gym.make_vec(env_id, num_envs=int(n_envs), vectorization_mode="vector_entry_point",
                                     device=device, **(env_kwargs or {})))
    if seed is not None:
        venv.seed(seed)
    return venv


__all__ = ["Batch", "DeviceVecEnv", "collect_device", "collect_sb3", "is_device_vector_env", "make_device_vec_env"]
